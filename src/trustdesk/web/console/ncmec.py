"""The CyberTipline page of a child-safety case: build the report, read its XML and whether it
validates, submit it to NCMEC (or the sandbox, as the settings say), retract it.

`/ncmec` lists the confirmed cases whose report is still due, with the deadlines breached
marked. Thin: `trustdesk.ncmec.reports` and `filing_deadline` hold the rules. Only child-safety staff reach these pages,
and only on cases they may see. Submitting queues the filing for the worker, and the page
shows it `queued`, `submitting`, `filed` or `failed` (with NCMEC's code and description).
Retracting talks to NCMEC outside any database transaction; a refusal is kept on the report.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.cases.access import visible_case
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.roles import CHILD_SAFETY_REPORTERS
from trustdesk.ncmec import builder, filing_deadline, reports, schema
from trustdesk.ncmec.client import NcmecError
from trustdesk.store.models import Case, NcmecReport, as_utc, utcnow
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates.env.globals["may_report_to_ncmec"] = lambda who: who.has(*CHILD_SAFETY_REPORTERS)  # the nav link only for them
NOTICES = {
    "built": "Report built. Check the XML, then submit it.",
    "queued": "Report queued: the worker files it with NCMEC in the background. Reload this page to follow it.",
    "retracted": "Report retracted.",
    "retract-refused": "NCMEC did not retract the report: see the error below.",
}


def case_panel(session: Session, who: StaffContext, case: Case) -> dict[str, Any] | None:
    """What the case page says of the case's CyberTipline report; None where the reader is no
    child-safety staff or the case's policy maps to no NCMEC incident type."""
    if not who.has(*CHILD_SAFETY_REPORTERS):
        return None
    policy = builder.case_policy(session, case, builder.confirming_decision(session, case))
    if policy is None or not policy.ncmec_incident_type:
        return None
    due = case.legal_due_at
    return {"report": reports.latest(session, case.id), "due": due, "breached": due is not None and as_utc(due) < utcnow()}


def _page(request: Request, who: StaffContext, session: Session, case_id: int, *, notice: str | None = None,
          error: str | None = None, status: int = 200) -> HTMLResponse:
    case = visible_case(session, who.reviewer, case_id)
    report: NcmecReport | None = reports.latest(session, case_id)
    settings = request.app.state.settings.ncmec
    return render(request, "ncmec_report.html", {
        "who": who, "case": case, "report": report, "problems": schema.problems(report.xml.encode()) if report else [],
        "environment": settings.environment, "base_url": settings.base_url, "notice": NOTICES.get(notice or ""), "error": error,
    }, status_code=status)


@router.get("/ncmec")
def filings_due(
    request: Request, who: StaffContext = Depends(staff_with(*CHILD_SAFETY_REPORTERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The confirmed child-safety cases whose report is still to be filed, soonest deadline first, breaches marked."""
    return render(request, "ncmec_filings.html", {"who": who, "rows": filing_deadline.outstanding(session, who.reviewer, utcnow())})


@router.get("/cases/{case_id}/ncmec")
def report_page(
    request: Request, case_id: RowId, notice: str | None = None,
    who: StaffContext = Depends(staff_with(*CHILD_SAFETY_REPORTERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The case's CyberTipline report: its state, XML and validation, and what can be done next."""
    return _page(request, who, session, case_id, notice=notice)


@router.post("/cases/{case_id}/ncmec/build")
def build(
    request: Request, case_id: RowId, who: StaffContext = Depends(staff_with(*CHILD_SAFETY_REPORTERS)), session: Session = COMMITTED,
) -> Response:
    """Build (or rebuild, while a draft) the report from what TrustDesk holds about the case now."""
    try:
        with session.begin_nested():
            reports.build(session, who.actor, who.reviewer, case_id, request.app.state.settings.ncmec)
    except NotFound:
        raise
    except FieldError as exc:  # no child-safety policy (422), or filed already (409)
        return _page(request, who, session, case_id, error=str(exc), status=exc.status)
    return RedirectResponse(f"/cases/{case_id}/ncmec?notice=built", status_code=303)


@router.post("/cases/{case_id}/ncmec/submit")
def submit(
    request: Request, case_id: RowId, who: StaffContext = Depends(staff_with(*CHILD_SAFETY_REPORTERS)), session: Session = COMMITTED,
) -> Response:
    """Queue the filing (submit, upload and describe each file, finish) for the worker."""
    try:
        with session.begin_nested():
            reports.queue_submission(session, who.actor, who.reviewer, case_id)
    except NotFound:
        raise
    except FieldError as exc:  # being submitted already, or filed (409); XML that does not validate (422)
        return _page(request, who, session, case_id, error=str(exc), status=exc.status)
    return RedirectResponse(f"/cases/{case_id}/ncmec?notice=queued", status_code=303)


@router.post("/cases/{case_id}/ncmec/retract")
def retract(request: Request, case_id: RowId, who: StaffContext = Depends(staff_with(*CHILD_SAFETY_REPORTERS))) -> Response:
    """Withdraw a report NCMEC holds that is not finished."""
    db = request.app.state.db
    try:
        with reports.client_for(request.app.state.settings.ncmec) as client:
            reports.retract(db, who.actor, who.reviewer, case_id, client)
    except NcmecError:
        return RedirectResponse(f"/cases/{case_id}/ncmec?notice=retract-refused", status_code=303)
    except NotFound:
        raise
    except FieldError as exc:  # nothing to retract (409)
        with db.reader() as session:
            return _page(request, who, session, case_id, error=str(exc), status=exc.status)
    return RedirectResponse(f"/cases/{case_id}/ncmec?notice=retracted", status_code=303)
