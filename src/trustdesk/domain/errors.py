"""Errors a caller can fix: each names the field at fault and maps to an HTTP status.

Services raise only these; the web layer maps them once (`trustdesk.web.error_pages`): JSON
`{"detail", "field"}` for the API, a page for people in the console.
"""

from __future__ import annotations


class FieldError(Exception):
    """Bad input (422); `field` is the path of the offending field, e.g. `items[3].country`."""

    status = 422
    # More for a program to act on, beside `detail` and `field` in the API's JSON (`hold_id`).
    extra: dict[str, object] = {}

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(FieldError):
    status = 404


class Conflict(FieldError):
    status = 409


class Held(Conflict):
    """Data that a standing legal hold covers, which nothing deletes (409): names the hold."""

    def __init__(self, hold_id: int, message: str) -> None:
        super().__init__("hold_id", message)
        self.hold_id = hold_id
        self.extra = {"hold_id": hold_id}


class Forbidden(FieldError):
    """The caller may not use an object whose existence is no secret, such as a queue (403)."""

    status = 403


class Unauthenticated(FieldError):
    """No credentials, or ones that are not valid (401): the caller is not known at all."""

    status = 401


class TooLarge(FieldError):
    """More than the limit at once, such as an uploaded file over the size limit (413)."""

    status = 413


class InvalidStatement(FieldError):
    """A DSA statement of reasons the Transparency Database would refuse (422).

    `violations` lists every (field, message); the first one is the error's own field.
    """

    def __init__(self, violations: list[tuple[str, str]]) -> None:
        super().__init__(*violations[0])
        self.violations = violations
