"""Text banks: keyword, phrase and regex lists that rules name, stored and matched."""
