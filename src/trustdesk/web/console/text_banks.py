"""Console pages for text banks, for admins: the list with a form to create one, and each bank's
page with its entries, a box to add some (one per line) and a button to remove each.

Thin: `trustdesk.text_banks.banks` does the work and audits it. Unlike `trustdesk textbanks
import`, which keeps the good lines of a long file, the box adds nothing while a line is bad:
the page comes back with the lines as typed and each bad one named, to be fixed and sent again.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import Count
from trustdesk.domain.errors import FieldError
from trustdesk.domain.hash_banks import BadLine
from trustdesk.domain.roles import ADMINS
from trustdesk.domain.text_banks import MAX_DESCRIPTION, MAX_ENTRY, TextBankKind, TextBankSpec, parse_lines
from trustdesk.store.models import App
from trustdesk.text_banks import banks
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
MAX_LINES = 200_000  # characters of the box
NOTICES = {"created": "Text bank created: add its entries below.", "removed": "Entry removed: no process matches it any more."}


def _list_page(request: Request, who: StaffContext, session: Session, *, error: FieldError | None = None,
               form: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    context = {"who": who, "banks": banks.list_banks(session), "kinds": list(TextBankKind), "error": error, "form": form or {},
               "apps": session.execute(select(App.slug).order_by(App.slug)).scalars().all()}
    return render(request, "text_banks.html", context, status_code=status)


def _bank_page(request: Request, who: StaffContext, session: Session, name: str, *, notice: str | None = None,
               added: tuple[int, int] | None = None, error: FieldError | None = None, bad: list[BadLine] | None = None,
               lines: str = "", status: int = 200) -> HTMLResponse:
    bank = banks.bank_named(session, name)
    context = {"who": who, "summary": banks.summary(session, bank), "entries": banks.entries_of(session, bank),
               "notice": NOTICES.get(notice or ""), "added": added, "error": error, "bad": bad or [], "lines": lines}
    return render(request, "text_bank.html", context, status_code=status)


@router.get("/text-banks")
def bank_list(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> HTMLResponse:
    """Every bank with its kind, where it applies, its state and its live entries."""
    return _list_page(request, who, session)


@router.post("/text-banks")
def create(
    request: Request, name: str = Form("", max_length=64), kind: str = Form("", max_length=16), app: str = Form("", max_length=64),
    language: str = Form("", max_length=8), description: str = Form("", max_length=MAX_DESCRIPTION),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    try:
        with session.begin_nested():
            bank = banks.create_bank(session, who.actor, TextBankSpec(name, kind, app, language, description))
    except FieldError as exc:
        form = {"name": name, "kind": kind, "app": app, "language": language, "description": description}
        return _list_page(request, who, session, error=exc, form=form, status=exc.status)
    return RedirectResponse(f"/text-banks/{bank.name}?notice=created", status_code=303)


@router.get("/text-banks/{name}")
def bank_page(
    request: Request, name: str, notice: str | None = None,
    added: Count | None = None, already: Count | None = None,
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The bank's live entries; after an addition, how many were new and how many there already."""
    return _bank_page(request, who, session, name, notice=notice, added=(added, already or 0) if added is not None else None)


@router.post("/text-banks/{name}/entries")
def add(
    request: Request, name: str, lines: str = Form("", max_length=MAX_LINES), note: str = Form("", max_length=500),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    """Add the box's entries, one per line, if every line is good."""
    bank = banks.bank_named(session, name)
    parsed = parse_lines(bank.kind, lines, note)
    if parsed.bad or not parsed.entries:
        error = FieldError("lines", "fix the lines named below" if parsed.bad else "write one entry per line")
        return _bank_page(request, who, session, name, error=error, bad=parsed.bad, lines=lines, status=422)
    try:
        with session.begin_nested():
            added = banks.add_entries(session, who.actor, bank, parsed.entries, source="console")
    except FieldError as exc:  # past the bank's limit
        return _bank_page(request, who, session, name, error=exc, lines=lines, status=exc.status)
    return RedirectResponse(f"/text-banks/{name}?added={added}&already={len(parsed.entries) - added}", status_code=303)


@router.post("/text-banks/{name}/remove")
def remove(
    request: Request, name: str, value: str = Form("", max_length=MAX_ENTRY),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    bank = banks.bank_named(session, name)
    try:
        with session.begin_nested():
            banks.remove_entry(session, who.actor, bank, value)
    except FieldError as exc:  # not in the bank (404), or no entry of its kind (422)
        return _bank_page(request, who, session, name, error=exc, status=exc.status)
    return RedirectResponse(f"/text-banks/{name}?notice=removed", status_code=303)
