"""The ASGI application: JSON API under /api/v1, the console, health and metrics.

The web layer stays thin: it authenticates, validates and calls the services. Every error a
client can cause is a 4xx naming the field, anything else is logged and answered with a 500
that leaks no internals; both are mapped once (`trustdesk.web.error_pages`): JSON
`{"detail", "field"}` for the API, an HTML page for people in the console.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
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
from trustdesk.web import error_pages, metrics
from trustdesk.web.api import (
    account_events,
    appeals,
    canned_rationales,
    cases,
    enforcement,
    escalations,
    evaluate,
    holds,
    law_enforcement,
    notices,
    privacy_requests,
    replies,
    reports,
    rules,
    search,
    statements,
    subjects,
    text_banks,
    transparency,
    webhooks,
)
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console import appeals as console_appeals
from trustdesk.web.console import enforcement as console_enforcement
from trustdesk.web.console import escalations as console_escalations
from trustdesk.web.console import hash_banks as console_hash_banks
from trustdesk.web.console import holds as console_holds
from trustdesk.web.console import law_enforcement as console_law_enforcement
from trustdesk.web.console import notices as console_notices
from trustdesk.web.console import policies as console_policies
from trustdesk.web.console import privacy_requests as console_privacy_requests
from trustdesk.web.console import replies as console_replies
from trustdesk.web.console import review as console_review
from trustdesk.web.console import ncmec as console_ncmec
from trustdesk.web.console import rules as console_rules
from trustdesk.web.console import search as console_search
from trustdesk.web.console import staff as console_staff
from trustdesk.web.console import text_banks as console_text_banks
from trustdesk.web.console import transparency as console_transparency
from trustdesk.web.console import views as console
from trustdesk.web.console import webhooks as console_webhooks
from trustdesk.web.error_pages import Refusal
from trustdesk.web.permissions import LoginRequired, get_db, public
from trustdesk.web.security_headers import SecurityHeaders
from trustdesk.web.server_errors import AnswerServerErrors

log = logging.getLogger("trustdesk.web")

DESCRIPTION = """Trust & Safety operations: intake from the host platform, review, enforcement, compliance.

**Action delivery (webhooks).** Each action applied, reversed or ended is POSTed to every
endpoint of its app (`/api/v1/webhooks`, admins), following the Standard Webhooks
specification: headers `webhook-id` (the idempotency key: drop a repeat), `webhook-timestamp`
(Unix seconds; refuse one more than a few minutes off) and `webhook-signature` = `v1,` +
base64 HMAC-SHA256 of `id.timestamp.body` under the endpoint's `whsec_` secret, signed afresh on
each attempt. The body is `{"type", "timestamp", "data"}`; types `action.applied`,
`action.reversed`, `action.expired` (and `notice.requested`); `data` has `action_id`,
`decision_id`, `action`, `subject` `{"kind", "external_id"}`, `policy_code`, `ends_at`,
`statement_of_reasons_id`, `sequence` (per subject, increasing: ignore an event whose sequence
is not above the last one applied), `cascade_of`, `params`. Answer 2xx to accept; anything else
is retried after 5 s, 30 s, 2 min, 10 min, then hourly for a day, then dead-lettered.

**Notices.** For an app whose notice channel is `webhook` (the default), each notice to a person a
decision concerns arrives as `notice.requested`: `data` has `notice_id`, `kind` (decision,
report_outcome, appeal_outcome, escalation_outcome, reply), `recipient` `{"role": user | notifier |
requester, and "subject_external_id" | "report_external_id" | "requester_ref"}`, `locale`,
`subject_line`, `body` (send the text as it is), `subject`, `decision_id`,
`statement_of_reasons_id`, `sequence`. `GET /api/v1/notices/{id}` reads one and its state.
"""


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
            refusal = Refusal(413, BodyTooLarge(self.max_bytes).detail, "body")
            response = await error_pages.answer(Request(scope, receive), refusal)
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


# The routes' functions live here, not inside `create_app`: FastAPI keeps the callables it has
# classified in a process-wide cache, and a closure over the app would keep every app made alive.
def healthz(db: Database = Depends(get_db)) -> dict[str, str]:
    with db.reader() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


def prometheus() -> PlainTextResponse:
    return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    settings.check()
    personal_data.configure(settings.secret_key)
    app = FastAPI(
        title="TrustDesk",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # the console serves /docs from vendored Swagger UI, not from a CDN
        redoc_url=None,
    )
    app.router.route_class = ClientInputRoute
    app.state.settings = settings
    app.state.db = db or Database(settings.effective_database_url, info=settings.session_info)
    app.state.blobs = FileBlobStore(settings.blob_dir)

    # Every refusal is mapped here, once: JSON on API paths, a page for people in the console.
    @app.exception_handler(FieldError)
    async def _field_error(request: Request, exc: FieldError) -> Response:
        return await error_pages.answer(request, Refusal(exc.status, str(exc), exc.field, extra=exc.extra))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _field_of(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        return await error_pages.answer(request, Refusal(422, detail, errors[0]["field"] if errors else "body", errors[:100]))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        # The framework's own 400 is a body it could not read (form data sent to a JSON route, say).
        field = detail.split(":", 1)[0] if ":" in detail else "body" if exc.status_code == 400 else None
        return await error_pages.answer(request, Refusal(exc.status_code, detail, field, headers=dict(exc.headers or {})))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path}, exc_info=exc)
        return await error_pages.answer(request, Refusal(500, error_pages.SERVER_ERROR_DETAIL))

    # Not `exception_handler(Exception)`: Starlette raises again after that answers, and the
    # server then closes the keep-alive connection. Inside the metrics and the protective
    # headers, so a 500 is counted and sent with them.
    app.add_middleware(AnswerServerErrors, answer=_unexpected)
    app.add_middleware(metrics.RequestMetrics)

    app.get("/healthz", dependencies=[Depends(public())], tags=["operations"])(healthz)
    app.get("/metrics", dependencies=[Depends(public())], tags=["operations"], response_class=PlainTextResponse)(prometheus)

    # Each router's own routes, not `include_router`: FastAPI builds an included route again for
    # every app (all of them, about 0.3 s, at the first request that reaches the last router),
    # while a route is the same in every app and is built once, when its module is imported.
    routers = (
        subjects, reports, evaluate, account_events, cases, escalations, enforcement, appeals, notices, webhooks, search, statements,
        canned_rationales, replies, rules, text_banks, transparency, holds, law_enforcement, privacy_requests,
        console, console_policies, console_review, console_replies, console_enforcement, console_escalations, console_staff,
        console_appeals, console_notices, console_webhooks, console_search, console_hash_banks, console_text_banks, console_rules,
        console_transparency, console_ncmec, console_holds, console_law_enforcement, console_privacy_requests,
    )
    for module in routers:
        app.router.routes.extend(module.router.routes)
    app.mount("/static", StaticFiles(directory=console.STATIC), name="static")
    if settings.trusted_proxies:
        # The client address (login limits and lockouts) comes from X-Forwarded-For only when
        # the connection is from one of these proxies; anyone else's header is ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
