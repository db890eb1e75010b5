"""Console pages for legal holds, for legal and child-safety staff: the list with a form to place
one, and each hold's page with its clocks, subjects, evidence items and chain of custody, and
forms to read an item, export the package, record a transfer, extend and release.

Thin: `trustdesk.evidence` does the work, puts each access on the custody log and audits it.
"""

from __future__ import annotations

import io
from datetime import date

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.delivery.endpoints import app_named
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError
from trustdesk.domain.legal_holds import MAX_REASON, MAX_REFERENCE, HoldBasis, HoldSpec
from trustdesk.domain.roles import EVIDENCE_KEEPERS
from trustdesk.evidence import custody, holds, package
from trustdesk.store.database import Database
from trustdesk.store.models import App
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, get_db, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates.env.globals["may_keep_evidence"] = lambda who: who.has(*EVIDENCE_KEEPERS)  # the nav link only for them
KEEPERS = staff_with(*EVIDENCE_KEEPERS)
NOTICES = {"placed": "Hold placed: its evidence set is below.", "extended": "Hold extended by 90 days.",
           "released": "Hold released: what it covered may be deleted again.", "transfer": "Transfer recorded on the chain of custody."}


def _list_page(request: Request, who: StaffContext, session: Session, *, error: FieldError | None = None,
               form: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    context = {"who": who, "holds": holds.list_holds(session), "bases": list(HoldBasis), "error": error, "form": form or {},
               "apps": session.execute(select(App.slug).order_by(App.slug)).scalars().all()}
    return render(request, "holds.html", context, status_code=status)


@router.get("/holds")
def hold_list(request: Request, who: StaffContext = Depends(KEEPERS), session: Session = Depends(read_session)) -> HTMLResponse:
    """Standing holds by when they run out, then released ones."""
    return _list_page(request, who, session)


@router.post("/holds")
def place(
    request: Request, app: str = Form("", max_length=64), subjects: str = Form("", max_length=20_000),
    basis: str = Form("", max_length=40), reason: str = Form("", max_length=MAX_REASON),
    reference: str = Form("", max_length=MAX_REFERENCE), review_on: str = Form("", max_length=10),
    who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED,
) -> Response:
    try:
        with session.begin_nested():
            ids = holds.subjects_named(session, app_named(session, app).id, subjects.splitlines())
            hold = holds.place_hold(session, who.actor, ids, HoldSpec(basis, reason, reference, _date(review_on)))
    except FieldError as exc:
        form = {"app": app, "subjects": subjects, "basis": basis, "reason": reason, "reference": reference, "review_on": review_on}
        return _list_page(request, who, session, error=exc, form=form, status=exc.status)
    return RedirectResponse(f"/holds/{hold.id}?notice=placed", status_code=303)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise FieldError("review_on", "a date, such as 2027-01-31") from exc


@router.get("/holds/{hold_id}")
def hold_page(
    request: Request, hold_id: RowId, notice: str | None = None,
    who: StaffContext = Depends(KEEPERS), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The hold: basis and clocks, subjects, the evidence set's items with their hashes, and the custody log."""
    context = {"who": who, "held": holds.view(session, hold_id), "custody": custody.log_of(session, hold_id),
               "notice": NOTICES.get(notice or "")}
    return render(request, "hold.html", context)


@router.post("/holds/{hold_id}/extend")
def extend(hold_id: RowId, reason: str = Form("", max_length=MAX_REASON),
           who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED) -> Response:
    holds.extend_hold(session, who.actor, hold_id, reason)
    return RedirectResponse(f"/holds/{hold_id}?notice=extended", status_code=303)


@router.post("/holds/{hold_id}/release")
def release(hold_id: RowId, reason: str = Form("", max_length=MAX_REASON),
            who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED) -> Response:
    holds.release_hold(session, who.actor, hold_id, reason)
    return RedirectResponse(f"/holds/{hold_id}?notice=released", status_code=303)


@router.post("/holds/{hold_id}/transfer")
def transfer(hold_id: RowId, recipient: str = Form("", max_length=200), reason: str = Form("", max_length=MAX_REASON),
             who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED) -> Response:
    holds.record_transfer(session, who.actor, hold_id, recipient, reason)
    return RedirectResponse(f"/holds/{hold_id}?notice=transfer", status_code=303)


@router.post("/holds/{hold_id}/items/{item_id}")
def read_item(
    request: Request, hold_id: RowId, item_id: RowId, reason: str = Form("", max_length=MAX_REASON),
    who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED,
) -> HTMLResponse:
    """One evidence item, its reading put on the custody log with who and why."""
    item = holds.read_item(session, who.actor, hold_id, item_id, reason)
    shown = orjson.dumps(orjson.loads(item.body), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() if item.body else None
    return render(request, "hold_item.html", {"who": who, "hold_id": hold_id, "item": item, "shown": shown})


@router.post("/holds/{hold_id}/export")
def export(
    request: Request, hold_id: RowId, reason: str = Form("", max_length=MAX_REASON),
    who: StaffContext = Depends(KEEPERS), db: Database = Depends(get_db),
) -> Response:
    """The evidence package as a download; the export is on the custody log it carries."""
    buffer = io.BytesIO()
    package.export(db, who.actor, request.app.state.blobs, hold_id, reason, buffer)
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="evidence-hold-{hold_id}.zip"'})
