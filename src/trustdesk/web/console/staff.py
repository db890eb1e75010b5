"""Admin pages for who may get in: staff members (deactivate, reactivate) and API client tokens (revoke).

Thin: the services in `trustdesk.auth` do the work and write the audit events. Every change
is a CSRF-protected POST that lands back on the list with a fixed notice.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.auth import api_clients, staff
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.roles import ADMINS
from trustdesk.store.models import ApiClient, StaffUser
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
NOTICES = {
    "deactivated": "Deactivated: their sessions and personal tokens stopped working.",
    "reactivated": "Reactivated: they can sign in again (old personal tokens stay revoked).",
    "revoked": "Token revoked: it stops working at once.",
}
templates.env.globals["may_administer"] = lambda who: who.has(*ADMINS)  # the nav links here only for admins


def _member(session: Session, staff_id: int) -> StaffUser:
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound("staff_id", f"no staff user {staff_id}")
    return user


@router.get("/staff")
def staff_page(
    request: Request, notice: str | None = None,
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    members = session.execute(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)).scalars().all()
    return render(request, "staff.html", {"who": who, "members": members, "notice": NOTICES.get(notice or "")})


@router.post("/staff/{staff_id}/deactivate")
def deactivate(staff_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> RedirectResponse:
    """Sign a member out everywhere and stop them signing in; their personal tokens are revoked."""
    user = _member(session, staff_id)
    if user.id == who.user_id:
        raise FieldError("staff_id", "you cannot deactivate yourself; ask another admin")
    staff.set_active(session, who.actor, user, False)
    return RedirectResponse("/staff?notice=deactivated", status_code=303)


@router.post("/staff/{staff_id}/reactivate")
def reactivate(staff_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> RedirectResponse:
    staff.set_active(session, who.actor, _member(session, staff_id), True)
    return RedirectResponse("/staff?notice=reactivated", status_code=303)


@router.get("/clients")
def clients_page(
    request: Request, notice: str | None = None,
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    context = {"who": who, "clients": api_clients.listing(session), "notice": NOTICES.get(notice or "")}
    return render(request, "api_clients.html", context)


@router.post("/clients/{client_id}/revoke")
def revoke(client_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> RedirectResponse:
    """Revoke a host-platform client's or a member's personal token."""
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFound("client_id", f"no API client {client_id}")
    api_clients.revoke(session, who.actor, client)
    return RedirectResponse("/clients?notice=revoked", status_code=303)
