"""The privacy tests work on the evidence tests' person: an account with a post and a photo."""

from tests.evidence.conftest import world  # noqa: F401  (the fixture)
