"""Hash banks of known-bad media: storage, import, and matching."""
