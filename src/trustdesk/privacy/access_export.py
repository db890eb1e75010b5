"""Access and portability exports: everything TrustDesk holds about a person, as JSON files in a
zip with a readable `index.html` and a `README.txt`.

The person is the request's account and every item it owns. Which columns go in is read from
the personal-data registry: the person's own content, contact details, pseudonyms, network
identifiers and correspondence (`EXPORTED`); derived data, audit payloads, staff data and
evidence never do. What is about them but belongs to others is left out, always:

- reports about them say which rule and when, never who reported or in which words;
- no staff comments (internal or legal notes), no audit log, no evidence sets or holds;
- nothing under a child-safety policy (one with an NCMEC incident type): no such report,
  decision, notice or appeal, and no CyberTipline report;
- no case of a law-enforcement request, and nothing of its non-disclosure (no tipping off):
  those cases never enter the export at all.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, BinaryIO

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import Conflict
from trustdesk.domain.privacy_requests import EXPORTS, RequestType, Verification
from trustdesk.domain.vocabulary import Appellant, CaseKind, NoticeState
from trustdesk.privacy.personal_data_registry import PERSONAL, DataKind
from trustdesk.privacy.requests import person_subjects, request_of
from trustdesk.store.models import (
    AccountEvent,
    Appeal,
    Base,
    Case,
    Decision,
    MediaItem,
    Notice,
    Policy,
    PrivacyRequest,
    Report,
)

EXPORTED = frozenset({DataKind.CONTENT, DataKind.CONTACT, DataKind.PSEUDONYM, DataKind.NETWORK, DataKind.CORRESPONDENCE})
# Reports about the person: the reporter's words and identity are someone else's data.
OTHERS_IN_REPORTS = ("text", "dsa_explanation", "dsa_location_url", "notifier_name", "notifier_email", "external_id")


def exportable(session: Session, request_id: int) -> PrivacyRequest:
    """The request, if it may be answered with an export: an access or portability request
    whose requester's identity was verified."""
    request = request_of(session, request_id)
    if RequestType(request.request_type) not in EXPORTS:
        raise Conflict("request_type", f"a {request.request_type} request is not answered with an export")
    if request.verification != Verification.VERIFIED:
        raise Conflict("verification", "verify the requester's identity before exporting their data")
    return request


def record_export(session: Session, actor: Actor, request_id: int) -> PrivacyRequest:
    """Put the export on the audit log, once it is built: a package that could not be built
    was never handed over."""
    request = exportable(session, request_id)
    record(session, actor=actor, verb="privacy_request.exported", object_type="privacy_request", object_id=request.id,
           after={"subject_id": request.subject_id})
    return request


def _columns(obj: Base, also: Sequence[str] = (), withhold: Sequence[str] = ()) -> dict[str, Any]:
    """The row's columns the registry declares the person's own (`EXPORTED`), with `also`."""
    declared = PERSONAL.get(obj.__tablename__, {})
    names = [*also, *(c for c, kind in declared.items() if kind in EXPORTED and c not in withhold)]
    return {name: _plain(getattr(obj, name)) for name in names}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def sections(session: Session, request: PrivacyRequest) -> dict[str, list[dict[str, Any]]]:
    """File name → its records: what the export holds, section by section."""
    subjects = person_subjects(session, request.subject_id)
    ids = [s.id for s in subjects]
    child_safety = set(session.execute(select(Policy.code).where(Policy.ncmec_incident_type.is_not(None))).scalars())
    hidden_cases = select(Case.id).where(Case.kind == CaseKind.LAW_ENFORCEMENT_REQUEST.value)
    decisions = [d for d in session.execute(
        select(Decision).where(Decision.subject_id.in_(ids), Decision.case_id.is_(None) | Decision.case_id.not_in(hidden_cases))
        .order_by(Decision.id)).scalars() if d.policy_code not in child_safety]
    decision_ids = {d.id for d in decisions}
    media = session.execute(select(MediaItem).where(MediaItem.subject_id.in_(ids)).order_by(MediaItem.id)).scalars()
    filed = session.execute(select(Report).where(Report.reporter_subject_id.in_(ids)).order_by(Report.id)).scalars()
    about = session.execute(select(Report).where(Report.subject_id.in_(ids)).order_by(Report.id)).scalars()
    notices = session.execute(select(Notice).where(Notice.recipient_subject_id.in_(ids), Notice.state != NoticeState.WITHHELD.value)
                              .order_by(Notice.id)).scalars()
    appeals = session.execute(select(Appeal).where(Appeal.appellant == Appellant.USER.value, Appeal.decision_id.in_(sorted(decision_ids)))
                              .order_by(Appeal.id)).scalars()
    events = session.execute(select(AccountEvent).where(AccountEvent.account_id == request.subject_id).order_by(AccountEvent.id)).scalars()
    requests = session.execute(select(PrivacyRequest).where(PrivacyRequest.subject_id == request.subject_id).order_by(PrivacyRequest.id)).scalars()
    return {
        "account_and_content.json": [_columns(s, ("kind", "language", "country", "visibility", "created_at", "received_at", "erased_at"))
                                     for s in subjects],
        "media.json": [_columns(m, ("position", "content_type", "kind", "blob_sha256", "size", "created_at")) for m in media],
        "account_events.json": [_columns(e, ("kind", "occurred_at")) for e in events],
        "reports_you_filed.json": [_columns(r, ("policy_code", "status", "received_at")) for r in filed if r.policy_code not in child_safety],
        "reports_about_you.json": [_columns(r, ("policy_code", "status", "received_at"), withhold=OTHERS_IN_REPORTS)
                                   for r in about if r.policy_code not in child_safety],
        "decisions.json": [_columns(d, ("id", "policy_code", "policy_version", "verdict", "actions", "automated_decision", "created_at"))
                           for d in decisions],
        "notices.json": [_columns(n, ("kind", "channel", "locale", "decision_id", "created_at", "sent_at"))
                         for n in notices if n.decision_id is None or n.decision_id in decision_ids],
        "appeals.json": [_columns(a, ("decision_id", "outcome", "created_at", "decided_at"), withhold=("external_id",)) for a in appeals],
        "privacy_requests.json": [_columns(p, ("regime", "request_type", "status", "received_on", "due_on", "extended_to", "answered_at",
                                               "receipt_confirmed_at", "lifted_at"),
                                           withhold=("outcome", "verification_note", "external_id")) for p in requests],
    }


def write_export(session: Session, request_id: int, out: BinaryIO) -> list[str]:
    """Write the zip to `out`; returns the names of its files."""
    request = exportable(session, request_id)
    found = sections(session, request)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, rows in found.items():
            package.writestr(name, orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        package.writestr("README.txt", README)
        package.writestr("index.html", _index(request, found))
    return [*found, "README.txt", "index.html"]


def export_bytes(session: Session, request_id: int) -> bytes:
    buffer = io.BytesIO()
    write_export(session, request_id, buffer)
    return buffer.getvalue()


README = """Your data held by our Trust & Safety system

Each .json file holds one kind of record, in a format any program can read; index.html shows
them all in a web browser.

  account_and_content.json  your account and what you posted, as we hold them
  media.json                the files you uploaded (type, size and fingerprint)
  account_events.json       sign-ins and other account events, with the network details we keep
  reports_you_filed.json    reports you made about content or accounts
  reports_about_you.json    reports about your content or account: which rule and when
  decisions.json            our decisions about your content or account, and why
  notices.json              the messages we sent you about them
  appeals.json              your appeals and their outcomes
  privacy_requests.json     your privacy requests to us

Not included: other people's personal data, including who reported you and in which words;
our staff's internal notes; and records the law requires us to withhold.
"""


def _index(request: PrivacyRequest, found: dict[str, list[dict[str, Any]]]) -> str:
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your data</title></head><body>",
             "<h1>Your data</h1>",
             f"<p>Prepared for privacy request {request.id} ({html.escape(request.regime)}, {html.escape(request.request_type)}).</p>",
             "<ul>", *(f"<li><a href=\"#{html.escape(n)}\">{html.escape(n)}</a>: {len(rows)} records</li>" for n, rows in found.items()),
             "</ul>"]
    for name, rows in found.items():
        parts.append(f"<h2 id=\"{html.escape(name)}\">{html.escape(name)}</h2>")
        parts.append(_table(rows) if rows else "<p>None.</p>")
    parts.append("<pre>" + html.escape(README) + "</pre></body></html>")
    return "\n".join(parts)


def _table(rows: Iterable[dict[str, Any]]) -> str:
    rows = list(rows)
    heads = list(rows[0])
    cells = ("<tr>" + "".join(f"<td>{html.escape(_shown(r.get(h)))}</td>" for h in heads) + "</tr>" for r in rows)
    return ("<table border=\"1\"><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in heads) + "</tr></thead><tbody>"
            + "".join(cells) + "</tbody></table>")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()
