"""Protective headers on every response, set in one place.

Console pages run under a strict Content-Security-Policy: script and style only from the
site's own static files, nothing inline, no plugins, no framing by another site. They send no
referrer to other sites and are never stored by a browser or proxy cache, since they show case
content. API answers get `nosniff` only. A response that sets its own policy keeps it: media
bytes are served with `MEDIA_CSP`, which sandboxes them even when opened on their own.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MEDIA_CSP = "sandbox; default-src 'none'"
_API_PATHS = ("/api/", "/healthz", "/metrics", "/openapi.json")
_STATIC_PATHS = ("/static/", "/favicon.ico")

_NOSNIFF = (("X-Content-Type-Options", "nosniff"),)
_CONSOLE = (
    *_NOSNIFF,
    ("Content-Security-Policy", CONSOLE_CSP),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),  # for browsers that predate frame-ancestors
)
_PAGE = (*_CONSOLE, ("Cache-Control", "no-store"))


def is_api_path(path: str) -> bool:
    """Whether a path answers machines (JSON, metrics) rather than people (the console's pages)."""
    return path.startswith(_API_PATHS)


def headers_for(path: str) -> tuple[tuple[str, str], ...]:
    if is_api_path(path):
        return _NOSNIFF
    if path.startswith(_STATIC_PATHS):
        return _CONSOLE  # cacheable: the same for everyone
    return _PAGE


class SecurityHeaders:
    """ASGI middleware adding `headers_for(path)` to each response that has not set them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
