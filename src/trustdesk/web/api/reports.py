"""Reports (notices): file one or a batch; the receipt confirms receipt to the notifier."""

from __future__ import annotations

from fastapi import Depends, Response
from sqlalchemy.orm import Session

from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import Receipt, Receipts, ReportBatch, ReportIn
from trustdesk.web.api import receipts
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, client_with

router = api_router("reports")


@router.post("/reports", status_code=201, response_model=Receipt, responses=receipts.RETRY)
def file_report(
    body: ReportIn, response: Response,
    who: intake.Submitter = Depends(client_with(Scope.REPORTS_WRITE)), session: Session = COMMITTED,
) -> Receipt:
    """File one report. An identical retry answers 200 with the original receipt."""
    return receipts.single("report", intake.file_reports(session, who, [body], single=True)[0], response)


@router.post("/reports/batch", response_model=Receipts)
def file_reports(
    body: ReportBatch,
    who: intake.Submitter = Depends(client_with(Scope.REPORTS_WRITE)), session: Session = COMMITTED,
) -> Receipts:
    """File up to 1,000 reports at once; all or nothing."""
    return receipts.batch("report", intake.file_reports(session, who, body.items))
