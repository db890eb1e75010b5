"""The ASGI application: JSON API under /api/v1, the console, health and metrics.

The web layer stays thin: it authenticates, validates and calls the services. Every error a
client can cause is answered as JSON `{"detail": ..., "field": ...}` with a 4xx; anything
else is logged and answered with a bare 500 that leaks no internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from trustdesk.audit import personal_data
from trustdesk.config import Settings
from trustdesk.domain.errors import FieldError
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.web import metrics
from trustdesk.web.api import account_events, appeals, cases, enforcement, reports, subjects
from trustdesk.web.api.responses import CLIENT_ERRORS
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console import appeals as console_appeals
from trustdesk.web.console import enforcement as console_enforcement
from trustdesk.web.console import policies as console_policies
from trustdesk.web.console import review as console_review
from trustdesk.web.console import staff as console_staff
from trustdesk.web.console import views as console
from trustdesk.web.permissions import LoginRequired, public
from trustdesk.web.security_headers import SecurityHeaders
from trustdesk.web.server_errors import AnswerServerErrors

log = logging.getLogger("trustdesk.web")


class BodyLimit:
    """Answer 413 once a request body passes the limit, whether or not it sent a length.

    A declared length over the limit is refused before the application runs. A body that grows
    past it while being read (chunked, or longer than declared) raises `BodyTooLarge` into the
    reader, an HTTP error that the application answers like any other, naming `body`.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": BodyTooLarge(self.max_bytes).detail, "field": "body"}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"body: larger than {max_bytes} bytes")


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    settings.check()
    personal_data.configure(settings.secret_key)
    app = FastAPI(
        title="TrustDesk",
        version="0.1.0",
        description="Trust & Safety operations: intake from the host platform, review, enforcement, compliance.",
        docs_url=None,  # the console serves /docs from vendored Swagger UI, not from a CDN
        redoc_url=None,
    )
    app.router.route_class = ClientInputRoute
    app.state.settings = settings
    app.state.db = db or Database(settings.effective_database_url)
    app.state.blobs = FileBlobStore(settings.blob_dir)

    @app.exception_handler(FieldError)
    async def _field_error(_request: Request, exc: FieldError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_of(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        return JSONResponse({"detail": detail, "field": errors[0]["field"] if errors else "body", "errors": errors[:100]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        field = str(exc.detail).split(":", 1)[0] if ":" in str(exc.detail) else None
        return JSONResponse({"detail": exc.detail, "field": field}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path}, exc_info=exc)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    # Not `exception_handler(Exception)`: Starlette raises again after that answers, and the
    # server then closes the keep-alive connection. Inside the metrics and the protective
    # headers, so a 500 is counted and sent with them.
    app.add_middleware(AnswerServerErrors, answer=_unexpected)
    app.add_middleware(metrics.RequestMetrics)

    @app.get("/healthz", dependencies=[Depends(public())], tags=["operations"])
    def healthz() -> dict[str, str]:
        with app.state.db.reader() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/metrics", dependencies=[Depends(public())], tags=["operations"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    for module in (subjects, reports, account_events, cases, enforcement, appeals):
        app.include_router(module.router, responses=CLIENT_ERRORS)
    app.include_router(console.router)
    app.include_router(console_policies.router)
    app.include_router(console_review.router)
    app.include_router(console_enforcement.router)
    app.include_router(console_staff.router)
    app.include_router(console_appeals.router)
    app.mount("/static", StaticFiles(directory=console.STATIC), name="static")
    if settings.trusted_proxies:
        # The client address (login limits and lockouts) comes from X-Forwarded-For only when
        # the connection is from one of these proxies; anyone else's header is ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
