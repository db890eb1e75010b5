"""The admins' page for action delivery: endpoints (add: the secret is shown once; remove), each
app's notice channel, and the dead-letter list (retry, cancel). Thin: `trustdesk.delivery` does the work and audits it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.delivery import endpoints, outbox
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.roles import ADMINS
from trustdesk.domain.vocabulary import NoticeChannel
from trustdesk.notices.notice import set_channel
from trustdesk.store.models import App
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
DEAD_SHOWN = 100
NOTICES = {
    "removed": "Endpoint removed: nothing more goes there; what was waiting is cancelled.",
    "retried": "Delivery queued again: the worker sends it within seconds.",
    "cancelled": "Delivery cancelled: it stays on record, and can still be retried.",
    "channel": "Notice channel saved: notices written from now on leave that way.",
}


def _page(
    request: Request, who: StaffContext, session: Session, *, notice: str | None = None, created: tuple[str, str] | None = None,
    error: FieldError | None = None, form: dict[str, str] | None = None, status: int = 200,
) -> HTMLResponse:
    context = {
        "who": who, "endpoints": endpoints.listing(session), "apps": session.execute(select(App.slug).order_by(App.slug)).scalars().all(),
        "dead": outbox.deliveries(session, who.reviewer, state=outbox.DEAD, limit=DEAD_SHOWN), "notice": NOTICES.get(notice or ""),
        "created": created, "error": error, "form": form or {},
        "channels": session.execute(select(App.slug, App.notice_channel).order_by(App.slug)).all(),
        "channel_choices": [c.value for c in NoticeChannel],
    }
    return render(request, "webhooks.html", context, status_code=status)


@router.get("/webhooks")
def webhooks_page(
    request: Request, notice: str | None = None,
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    return _page(request, who, session, notice=notice)


@router.post("/webhooks")
def add(
    request: Request, app: str = Form("", max_length=64), url: str = Form("", max_length=endpoints.MAX_URL),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> HTMLResponse:
    """Add an endpoint and show its secret on this page, once; it is kept only encrypted."""
    try:
        with session.begin_nested():
            target = endpoints.app_named(session, app)
            endpoint, secret = endpoints.add_endpoint(
                session, who.actor, SecretBox(request.app.state.settings.secret_key), target, url,
                production=request.app.state.settings.is_production,
            )
    except FieldError as exc:
        return _page(request, who, session, error=exc, form={"app": app, "url": url}, status=exc.status)
    return _page(request, who, session, created=(endpoint.url, secret))


@router.post("/webhooks/notice-channel")
def notice_channel(
    request: Request, app: str = Form("", max_length=64), channel: str = Form("", max_length=16),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    """How an app's notices leave: through the host platform (webhook) or mailed from here (smtp)."""
    try:
        with session.begin_nested():
            set_channel(session, who.actor, endpoints.app_named(session, app), channel)
    except FieldError as exc:
        return _page(request, who, session, error=exc, status=exc.status)
    return RedirectResponse("/webhooks?notice=channel", status_code=303)


@router.post("/webhooks/{endpoint_id}/remove")
def remove(request: Request, endpoint_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    try:
        with session.begin_nested():
            endpoints.remove_endpoint(session, who.actor, endpoint_id)
    except NotFound:
        raise
    except FieldError as exc:  # removed already (409)
        return _page(request, who, session, error=exc, status=exc.status)
    return RedirectResponse("/webhooks?notice=removed", status_code=303)


def _dead_letter_step(request: Request, who: StaffContext, session: Session, delivery_id: int, retry: bool) -> Response:
    try:
        with session.begin_nested():
            (outbox.retry if retry else outbox.cancel)(session, who.actor, who.reviewer, delivery_id)
    except NotFound:
        raise
    except FieldError as exc:  # not dead any more, or its endpoint was removed (409)
        return _page(request, who, session, error=exc, status=exc.status)
    return RedirectResponse(f"/webhooks?notice={'retried' if retry else 'cancelled'}", status_code=303)


@router.post("/webhooks/deliveries/{delivery_id}/retry")
def retry(request: Request, delivery_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    return _dead_letter_step(request, who, session, delivery_id, retry=True)


@router.post("/webhooks/deliveries/{delivery_id}/cancel")
def cancel(request: Request, delivery_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    return _dead_letter_step(request, who, session, delivery_id, retry=False)
