"""Intake of subjects, reports and account events from the host platform.

Every call is idempotent by (app, external id): an identical retry returns the original
receipt, the same id with different content is a `Conflict`, and content changes only through
`update_subject`. A batch is all-or-nothing: the first bad item raises and nothing of the
batch is written. Rows are written with bulk statements (intake is the hot path) and each new
row gets its audit event in the same transaction.

Idempotency is the database's: rows are inserted with `ON CONFLICT DO NOTHING` on the unique
(app, external id), so concurrent identical retries never meet the constraint as an error; a
row another transaction committed first is read back and answered exactly as a retry. Only the
rows really inserted are audited, counted and routed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trustdesk import subjects as subject_views
from trustdesk.analysis.runs import queue_analysis, queue_reported
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor, record
from trustdesk.cases.routing import route_reports
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.vocabulary import ReporterType, SubjectKind
from trustdesk.ingest import media, media_fetch
from trustdesk.ingest.schemas import (
    AccountEventIn,
    Receipt,
    ReportIn,
    SubjectIn,
    SubjectUpdate,
)
from trustdesk.rules.evaluations import Evaluated
from trustdesk.search import identifier_index
from trustdesk.store import counters
from trustdesk.store.dialects import InIds, dialect_name, insert_from_json, json_rows
from trustdesk.store.models import AccountEvent, Policy, Report, Subject, utcnow


CATCH_ALL_POLICY = "OTHER"  # what an automated report is filed under when no policy is named


@dataclass(frozen=True)
class Submitter:
    """The API client (or import run) submitting; everything it sends belongs to its app."""

    app_id: int
    actor: Actor
    client_id: int | None = None
    media_allow_list: tuple[str, ...] = ()


Row = TypeVar("Row", Subject, Report, AccountEvent)


def _field(index: int | None, name: str) -> str:
    return name if index is None else f"items[{index}].{name}"


def _split_known(
    session: Session, model: type[Row], app_id: int, items: Sequence[SubjectIn | ReportIn | AccountEventIn], single: bool
) -> tuple[dict[str, Receipt], list[tuple[int, Any, str]]]:
    """Separate identical retries (answered with the original) from new items; refuse conflicts."""
    session.flush()  # intake's statements run past the ORM, so what it holds is written first
    hashes: dict[str, str] = {}
    fresh: list[tuple[int, Any, str]] = []
    for index, item in enumerate(items):
        digest = item.body_hash()
        seen = hashes.get(item.external_id)
        if seen is not None and seen != digest:
            raise Conflict(_field(index, "external_id"), f"{item.external_id!r} appears twice in this batch with different content")
        if seen is None:
            hashes[item.external_id] = digest
            fresh.append((index, item, digest))
    known = _stored(session, model, app_id, fresh, single)
    return known, [entry for entry in fresh if entry[1].external_id not in known]


def _stored(session: Session, model: type[Row], app_id: int, entries: Sequence[tuple[int, Any, str]], single: bool) -> dict[str, Receipt]:
    """Receipts of the entries already stored, as for a retry; an entry stored with other
    content is a `Conflict` naming it."""
    if not entries:
        return {}
    wanted = {item.external_id: (index, digest) for index, item, digest in entries}
    existing = session.connection().execute(_existing(model), {"app_id": app_id, "external_ids": list(wanted)}).all()
    known: dict[str, Receipt] = {}
    for row in existing:
        index, digest = wanted[row.external_id]
        if row.body_hash != digest:
            hint = " use the update call to change it" if model is Subject else " it cannot be changed"
            raise Conflict(
                _field(None if single else index, "external_id"),
                f"{row.external_id!r} was already received with different content;{hint}",
            )
        known[row.external_id] = Receipt(id=row.id, external_id=row.external_id, received_at=row.received_at, status="existing")
    return known


# Intake is the hot path: its statements are built once per model (and database kind, and set of
# columns given) and run on the session's connection, past the ORM step; the rows of an insert go
# as one JSON array, which costs far less than binding each row's parameters. What they read and
# write is never held as ORM objects.
@functools.cache
def _existing(model: type[Row]) -> Any:
    return select(model.id, model.external_id, model.body_hash, model.received_at).where(
        model.app_id == bindparam("app_id"), model.external_id.in_(bindparam("external_ids", expanding=True))
    )


_RETURNING: dict[type[Any], tuple[str, ...]] = {
    Subject: ("id", "external_id", "kind", "account_id"),
    Report: ("id", "external_id", "policy_code", "status"),
    AccountEvent: ("id", "external_id"),
}


@functools.lru_cache(maxsize=256)
def _insert(model: type[Row], dialect: str, columns: tuple[str, ...], shared: tuple[str, ...]) -> Any:
    """Insert rows given as one JSON array (`json_rows`), skipping those whose (app, external
    id) is taken; returns what `_RETURNING` names."""
    statement = insert_from_json(dialect, model.__table__, columns, shared).on_conflict_do_nothing(index_elements=["app_id", "external_id"])
    return statement.returning(*(getattr(model, name) for name in _RETURNING[model]))


_SUBJECT_IDS = select(Subject.external_id, Subject.id, Subject.kind, Subject.account_id).where(
    Subject.app_id == bindparam("app_id"), Subject.external_id.in_(bindparam("external_ids", expanding=True))
)


def _insert_new(
    session: Session, model: type[Row], app_id: int, entries: Sequence[tuple[int, Any, str]], rows: list[dict[str, Any]],
    single: bool,
) -> tuple[list[Any], dict[str, Receipt]]:
    """Insert rows this transaction found new; a row another transaction committed meanwhile
    (a concurrent retry) is skipped by the unique (app, external id) instead of failing, and is
    answered exactly like a retry: its original receipt, or a `Conflict` if its content differs.
    Returns the rows really inserted and the receipts of the ones that lost the race."""
    dialect = dialect_name(session)
    encoded = json_rows(dialect, model.__table__, rows)
    inserted = session.connection().execute(_insert(model, dialect, encoded.columns, encoded.shared), encoded.params).all()
    won = {row.external_id for row in inserted}
    return inserted, _stored(session, model, app_id, [e for e in entries if e[1].external_id not in won], single)


def _subject_ids(session: Session, app_id: int, external_ids: set[str]) -> dict[str, tuple[int, int | None]]:
    """external id → (subject id, owning account id) for the given ids that exist."""
    if not external_ids:
        return {}
    rows = session.connection().execute(_SUBJECT_IDS, {"app_id": app_id, "external_ids": list(external_ids)})
    return {r.external_id: (r.id, r.id if r.kind == SubjectKind.ACCOUNT else r.account_id) for r in rows}


def _receipts(items: Sequence[Any], known: dict[str, Receipt], created: dict[str, Receipt]) -> list[Receipt]:
    return [known.get(item.external_id) or created[item.external_id] for item in items]


def create_subjects(
    session: Session, who: Submitter, items: Sequence[SubjectIn], *, single: bool = False, analyse_later: bool = True
) -> list[Receipt]:
    """Create subjects; an item may name a parent or account created earlier in the same batch.

    New subjects with text are queued for the analysers, unless the caller analyses them itself
    (`analyse_later=False`, the synchronous check)."""
    known, fresh = _split_known(session, Subject, who.app_id, items, single)
    for index, item, _ in fresh:
        if item.media_url:
            try:
                media_fetch.check_media_url(item.media_url, who.media_allow_list)
            except media_fetch.MediaUrlRefused as exc:
                raise FieldError(_field(None if single else index, "media_url"), str(exc)) from exc
    refs = {ref for _, item, _ in fresh for ref in (item.parent_external_id, item.account_external_id) if ref}
    ids = _subject_ids(session, who.app_id, refs)
    created: dict[str, Receipt] = {}
    pending = fresh
    now = utcnow()
    while pending:
        ready, waiting = [], []
        for entry in pending:
            item = entry[1]
            refs_ok = all(ref is None or ref in ids for ref in (item.parent_external_id, item.account_external_id))
            (ready if refs_ok else waiting).append(entry)
        if not ready:
            index, item, _ = waiting[0]
            name = "parent_external_id" if item.parent_external_id not in ids else "account_external_id"
            raise NotFound(_field(None if single else index, name), f"no subject {getattr(item, name)!r} in this app")
        rows = [_subject_row(who.app_id, item, digest, ids, now) for _, item, digest in ready]
        inserted, raced = _insert_new(session, Subject, who.app_id, ready, rows, single)
        counters.inserted(session, Subject, (row._mapping for row in inserted))
        for row in inserted:
            ids[row.external_id] = (row.id, row.id if row.kind == SubjectKind.ACCOUNT else row.account_id)
            created[row.external_id] = Receipt(id=row.id, external_id=row.external_id, received_at=now, status="created")
        known |= raced
        ids |= _subject_ids(session, who.app_id, set(raced))  # later items may name them
        pending = waiting
    new = [entry for entry in fresh if entry[1].external_id in created]
    _audit_new_subjects(session, who, new, ids)
    identifier_index.index_subjects(session, [(ids[item.external_id][0], item.personal.model_dump(exclude_none=True)) for _, item, _ in new])
    media_fetch.queue_fetches(session, {ids[item.external_id][0]: item.media_url for _, item, _ in new if item.media_url})
    if analyse_later:
        queue_analysis(session, [ids[item.external_id][0] for _, item, _ in new if item.title or item.text])  # media: once fetched
    return _receipts(items, known, created)


def _subject_row(app_id: int, item: SubjectIn, digest: str, ids: dict[str, tuple[int, int | None]], now: datetime) -> dict[str, Any]:
    parent = ids.get(item.parent_external_id) if item.parent_external_id else None
    account = ids[item.account_external_id][0] if item.account_external_id else (parent[1] if parent else None)
    return {
        "app_id": app_id,
        "external_id": item.external_id,
        "kind": item.kind.value,
        "parent_id": parent[0] if parent else None,
        "account_id": account,
        "title": item.title,
        "text": item.text,
        "url": item.url,
        "language": item.language,
        "country": item.country,
        "region": item.region,
        "locale": item.locale,
        "visibility": item.visibility.value,
        "reach": item.reach.model_dump(exclude_none=True),
        "personal": item.personal.model_dump(exclude_none=True),
        "attributes": item.attributes,
        "media_url": item.media_url,
        "body_hash": digest,
        "created_at": item.created_at,
        "received_at": now,
        "updated_at": now,
    }


def _audit_new_subjects(session: Session, who: Submitter, fresh: list[tuple[int, Any, str]], ids: dict[str, tuple[int, int | None]]) -> None:
    owners = {item.external_id: ids[item.external_id] for _, item, _ in fresh}
    personal_data.preload(session, {personal_data.account_ref(o[1]) for o in owners.values() if o[1]})
    for _, item, _ in fresh:
        subject_id, account_id = owners[item.external_id]
        after = {
            "kind": item.kind.value,
            "external_id": item.external_id,
            "parent_external_id": item.parent_external_id,
            "visibility": item.visibility.value,
            "text": item.text,
            "personal": item.personal.model_dump(exclude_none=True) or None,
        }
        record(
            session, actor=who.actor, verb="subject.created", object_type="subject", object_id=subject_id,
            after=after, person_ref=personal_data.account_ref(account_id) if account_id else None,
        )


_UPDATABLE = ("title", "text", "url", "language", "country", "region", "locale", "visibility", "reach", "personal", "attributes")


def update_subject(session: Session, who: Submitter, external_id: str, change: SubjectUpdate) -> Subject:
    """Apply an explicit update; the audit event carries the before and after of each field."""
    subject = session.execute(
        select(Subject).where(Subject.app_id == who.app_id, Subject.external_id == external_id).with_for_update()
    ).scalar_one_or_none()
    if subject is None:
        raise NotFound("external_id", f"no subject {external_id!r} in this app")
    given = change.model_dump(mode="json", exclude_unset=True)
    for name in ("reach", "personal"):  # stored without empty fields, as at creation
        if given.get(name) is not None:
            given[name] = {key: value for key, value in given[name].items() if value is not None}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in _UPDATABLE:
        if name in given and getattr(subject, name) != given[name]:
            before[name], after[name] = getattr(subject, name), given[name]
            setattr(subject, name, given[name])
    if after:
        subject.updated_at = utcnow()
        subject.body_hash = SubjectIn.model_validate(_as_input(subject)).body_hash()
        if "personal" in after:
            identifier_index.reindex_subject(session, subject.id, subject.personal)
        if "title" in after or "text" in after:
            queue_analysis(session, [subject.id])
        record(
            session, actor=who.actor, verb="subject.updated", object_type="subject", object_id=subject.id,
            before=before, after=after, person_ref=subject_views.owner_ref(subject),
        )
    return subject


def _as_input(subject: Subject) -> dict[str, Any]:
    """The subject as an intake body, so that a retry of the updated content is recognised."""
    return {
        "external_id": subject.external_id,
        "kind": subject.kind,
        "title": subject.title,
        "text": subject.text,
        "url": subject.url,
        "language": subject.language,
        "country": subject.country,
        "region": subject.region,
        "locale": subject.locale,
        "visibility": subject.visibility,
        "reach": subject.reach,
        "personal": subject.personal,
        "attributes": subject.attributes,
        "media_url": subject.media_url,
        "created_at": subject.created_at,
    }


_CURRENT_CODES = select(Policy.code).where(Policy.is_current.is_(True))
_EXTERNAL_IDS = select(Subject.id, Subject.external_id).where(InIds(Subject.id))
_CASES_OF_REPORTS = select(Report.subject_id, Report.case_id).where(InIds(Report.id), Report.case_id.is_not(None))


def _current_policy_codes(session: Session) -> set[str]:
    return set(session.connection().execute(_CURRENT_CODES).scalars())


def file_reports(
    session: Session, who: Submitter, items: Sequence[ReportIn], *, single: bool = False, received_at: datetime | None = None,
    policy_codes: set[str] | None = None, filed_by: Mapping[int, Evaluated] | None = None,
) -> list[Receipt]:
    """File reports on known subjects and put them into cases; the receipt is the notifier's
    confirmation of receipt (DSA Art. 16).

    `received_at` (default: now) is for replaying arrivals, as the demo does; clients cannot set it.
    `policy_codes`, the current policies' codes, may be given by a caller that has read them.
    `filed_by` is, for automated reports, the evaluation that filed each, by subject id: routing
    takes it (`route_reports`).
    """
    known, fresh = _split_known(session, Report, who.app_id, items, single)
    if not fresh:
        return _receipts(items, known, {})
    codes = policy_codes if policy_codes is not None else _current_policy_codes(session)
    ids = _subject_ids(
        session, who.app_id, {i.subject_external_id for _, i, _ in fresh} | {i.reporter_external_id for _, i, _ in fresh if i.reporter_external_id}
    )
    now = received_at or utcnow()
    rows: list[dict[str, Any]] = []
    for index, item, digest in fresh:
        at = None if single else index
        if item.subject_external_id not in ids:
            raise NotFound(_field(at, "subject_external_id"), f"no subject {item.subject_external_id!r} in this app")
        if item.reporter_external_id and item.reporter_external_id not in ids:
            raise NotFound(_field(at, "reporter_external_id"), f"no account {item.reporter_external_id!r} in this app")
        if item.policy_code not in codes:
            raise FieldError(_field(at, "policy_code"), f"unknown policy {item.policy_code!r}")
        if item.reporter_type == ReporterType.USER and not item.reporter_external_id:
            raise FieldError(_field(at, "reporter_external_id"), "required when reporter_type is 'user'")
        rows.append(
            {
                "app_id": who.app_id,
                "api_client_id": who.client_id,
                "external_id": item.external_id,
                "subject_id": ids[item.subject_external_id][0],
                "policy_code": item.policy_code,
                "reporter_type": item.reporter_type.value,
                "reporter_subject_id": ids[item.reporter_external_id][0] if item.reporter_external_id else None,
                "text": item.text,
                "dsa_explanation": item.dsa.explanation,
                "dsa_location_url": item.dsa.location_url,
                "notifier_name": item.dsa.notifier_name,
                "notifier_email": item.dsa.notifier_email,
                "good_faith": item.dsa.good_faith,
                "imminent_harm": item.imminent_harm,
                "status": "open",
                "body_hash": digest,
                "reported_at": item.reported_at,
                "received_at": now,
            }
        )
    inserted, raced = _insert_new(session, Report, who.app_id, fresh, rows, single)
    counters.inserted(session, Report, (row._mapping for row in inserted))
    created = {r.external_id: Receipt(id=r.id, external_id=r.external_id, received_at=now, status="created") for r in inserted}
    rows = [row for row in rows if row["external_id"] in created]
    persons = {_reporter_ref(row) for row in rows}
    personal_data.preload(session, {p for p in persons if p})
    for row in rows:
        _audit_report(session, who, created[row["external_id"]].id, row)
    identifier_index.index_reports(session, [(created[row["external_id"]].id, row["notifier_email"]) for row in rows])
    route_reports(session, who.actor, who.app_id, [r.id for r in created.values()], now=now, filed_by=filed_by)
    queue_reported(session, sorted({row["subject_id"] for row in rows}))
    return _receipts(items, known | raced, created)


@dataclass(frozen=True)
class AutomatedReport:
    """A subject whose evaluation's live rules ask for review, and what to file it under."""

    subject_id: int
    evaluated: Evaluated  # stored: the report is named after it, and routed by it
    policy_code: str | None
    text: str


def file_automated_reports(session: Session, actor: Actor, app_id: int, wanted: Sequence[AutomatedReport]) -> dict[int, int]:
    """Open or join each subject's case: an automated report named after the evaluation (one
    batch, filed and routed like any other); subject id → case id.

    A report's policy is the one asked for if it is current, else the catch-all `OTHER`; with
    neither in the catalogue the subject gets no case."""
    if not wanted:
        return {}
    codes = _current_policy_codes(session)
    external = dict(session.connection().execute(_EXTERNAL_IDS, {"ids": [w.subject_id for w in wanted]}).all())
    items = [
        ReportIn(external_id=f"evaluation-{w.evaluated.id}", subject_external_id=external[w.subject_id], policy_code=code,
                 reporter_type=ReporterType.AUTOMATED, text=w.text[:5000])
        for w in wanted
        if (code := w.policy_code if w.policy_code in codes else CATCH_ALL_POLICY) in codes
    ]
    if not items:
        return {}
    filed = file_reports(session, Submitter(app_id, actor), items, policy_codes=codes, filed_by={w.subject_id: w.evaluated for w in wanted})
    session.flush()  # routing may have put reports into cases through the ORM
    return dict(session.connection().execute(_CASES_OF_REPORTS, {"ids": [r.id for r in filed]}).all())  # type: ignore[arg-type]


def _reporter_ref(row: dict[str, Any]) -> str | None:
    if row["notifier_email"]:
        return personal_data.notifier_ref(row["notifier_email"])
    if row["reporter_subject_id"]:
        return personal_data.account_ref(row["reporter_subject_id"])
    return None


def _audit_report(session: Session, who: Submitter, report_id: int, row: dict[str, Any]) -> None:
    person = _reporter_ref(row)
    after = {
        "subject_id": row["subject_id"],
        "policy_code": row["policy_code"],
        "reporter_type": row["reporter_type"],
        "imminent_harm": row["imminent_harm"],
    }
    if person:  # personal fields only where there is a person whose key can later be shredded
        after |= {"text": row["text"], "notifier_name": row["notifier_name"], "notifier_email": row["notifier_email"]}
    record(session, actor=who.actor, verb="report.filed", object_type="report", object_id=report_id, after=after, person_ref=person)


def record_account_events(session: Session, who: Submitter, items: Sequence[AccountEventIn], *, single: bool = False) -> list[Receipt]:
    known, fresh = _split_known(session, AccountEvent, who.app_id, items, single)
    if not fresh:
        return _receipts(items, known, {})
    ids = _subject_ids(session, who.app_id, {i.account_external_id for _, i, _ in fresh})
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for index, item, digest in fresh:
        if item.account_external_id not in ids:
            raise NotFound(_field(None if single else index, "account_external_id"), f"no account {item.account_external_id!r} in this app")
        data = item.model_dump(exclude={"account_external_id"})
        rows.append(
            data
            | {"kind": item.kind.value, "app_id": who.app_id, "account_id": ids[item.account_external_id][0], "body_hash": digest, "received_at": now}
        )
    inserted, raced = _insert_new(session, AccountEvent, who.app_id, fresh, rows, single)
    created = {r.external_id: Receipt(id=r.id, external_id=r.external_id, received_at=now, status="created") for r in inserted}
    rows = [row for row in rows if row["external_id"] in created]
    personal_data.preload(session, {personal_data.account_ref(row["account_id"]) for row in rows})
    for row in rows:
        record(
            session, actor=who.actor, verb="account_event.recorded", object_type="account_event",
            object_id=created[row["external_id"]].id,
            after={k: row[k] for k in ("account_id", "kind", "ip", "device_id", "payment_fingerprint", "phone_hash")},
            person_ref=personal_data.account_ref(row["account_id"]),
        )
    identifier_index.index_account_events(session, rows)
    return _receipts(items, known | raced, created)


def attach_media(session: Session, who: Submitter, external_id: str, checked: media.CheckedMedia) -> Subject:
    """Add media bytes, already checked and stored, to a subject as its next media item."""
    subject = subject_views.find(session, who.app_id, external_id)
    if subject is None:
        raise NotFound("external_id", f"no subject {external_id!r} in this app")
    media.attach_upload(session, who.actor, subject.id, checked)
    subject.updated_at = utcnow()
    session.flush()
    session.expire(subject, ["media_items"])
    return subject
