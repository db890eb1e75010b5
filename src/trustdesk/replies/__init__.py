"""Replies staff write to people from templates: the templates (`templates`) and their use on a
case (`case_replies`)."""
