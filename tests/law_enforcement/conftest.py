"""The law-enforcement tests use the evidence tests' world: an account with a post, a photo, a
report and a login, and a second account whose photo is the same file."""

from tests.evidence.conftest import world

__all__ = ["world"]
