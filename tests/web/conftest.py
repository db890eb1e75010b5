"""Fixtures the web tests share."""

from tests.web.office import office  # noqa: F401
