"""Every refusal and failure answered in one place: JSON for the API, a page for people in the console.

The application's exception handlers, the body limit and the 500 of `AnswerServerErrors` all
end here. Under /api/ (and /healthz, /metrics, /openapi.json) the answer is the documented JSON
body `{"detail", "field"}`. Everywhere else it is an HTML page in the console's style that says
in plain words what went wrong, names the field at fault, keeps the status code and offers a
way back. The page needs no session: someone who is not logged in gets it without the
navigation. It never shows internals; a 500 does not even read the database, which may be
what failed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from trustdesk.web.console.views import render
from trustdesk.web.permissions import StaffContext, current_staff
from trustdesk.web.security_headers import is_api_path

SERVER_ERROR_DETAIL = "internal error; it has been logged"

# What a person is told for each status: a heading and what to do about it.
_WORDS: dict[int, tuple[str, str]] = {
    400: ("The request could not be read", "Something your browser sent could not be read. Go back and try again."),
    401: ("Not signed in", "The credentials sent with this request are not valid. Log in again."),
    403: ("Not allowed", "This is not open to you as things stand; the reason is given above. If your work needs it, ask an admin."),
    404: ("Not found", "There is nothing here, or it is not yours to see. Check the address or the link you followed."),
    405: ("Not available this way", "This address does not take that kind of request. Use the links and buttons on the pages."),
    409: ("Changed meanwhile", "This changed while you were working on it. Reload the page to see where it stands now."),
    413: ("Too large", "What you sent is larger than the limit. Send less at once."),
    422: ("Something you sent cannot be used", "Go back, correct the field named here and try again."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong on our side", "It has been logged. Try again in a moment; if it keeps happening, tell an admin."),
}


@dataclass(frozen=True)
class Refusal:
    """What went wrong, before it is put as JSON or as a page."""

    status: int
    detail: str
    field: str | None = None
    errors: list[dict[str, str]] | None = None  # invalid input: every field at fault
    extra: dict[str, object] = dataclasses.field(default_factory=dict)  # `FieldError.extra`, for the API
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def message(self) -> str:
        """The detail without its leading `field: `, or nothing when it only repeats the status."""
        if self.errors:
            return self.errors[0]["message"]
        if self.field and self.detail.startswith(f"{self.field}: "):
            return self.detail[len(self.field) + 2:]
        return "" if self.detail == _phrase(self.status) else self.detail


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def answer(request: Request, refusal: Refusal) -> Response:
    """The response for `refusal`: JSON on an API path, an HTML page on a console one."""
    headers = refusal.headers | ({"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {})
    if is_api_path(request.url.path):
        body: dict[str, object] = {"detail": refusal.detail}
        if refusal.status < 500:
            body["field"] = refusal.field
        if refusal.errors is not None:
            body["errors"] = refusal.errors
        body.update(refusal.extra)
        return JSONResponse(body, status_code=refusal.status, headers=headers)
    who = await _signed_in(request) if refusal.status < 500 else None
    title, advice = _WORDS.get(refusal.status, (_phrase(refusal.status), "Go back and try again."))
    context = {
        "who": who, "status": refusal.status, "title": title, "advice": advice, "field": refusal.field,
        "message": refusal.message, "errors": (refusal.errors or [])[1:10], "back": _came_from(request),
    }
    response = render(request, "error.html", context, status_code=refusal.status)
    response.headers.update(headers)
    return response


async def _signed_in(request: Request) -> StaffContext | None:
    """The person behind the request, for the page's navigation; none if that cannot be read."""
    try:
        return await run_in_threadpool(current_staff, request, request.app.state.db)
    except SQLAlchemyError:
        return None


def _came_from(request: Request) -> str | None:
    """The page the person came from, if it is one of the console's own and not this one."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/") or referer.path.startswith("//"):
        return None
    target = referer.path + (f"?{referer.query}" if referer.query else "")
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return None if target == current else target
