"""Read a refusal the same way whether it came as API JSON or as a console error page."""

from __future__ import annotations

import re
from typing import Any

_PAGE_FIELD = re.compile(r'data-field="([^"]*)"')


def field_of(response: Any) -> str | None:
    """The field a refusal names: `field` of the JSON body, or the field marked on the error page."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()["field"]
    found = _PAGE_FIELD.search(response.text)
    return found.group(1) if found else None
