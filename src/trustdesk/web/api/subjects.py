"""Subjects: create (single or batch), explicit update, media bytes, read with context, deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import (
    Depends,
    File,
    Request,
    Response,
    UploadFile,
)
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk import subjects as subject_views
from trustdesk.domain.errors import Conflict, FieldError, NotFound, TooLarge
from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest import intake, media
from trustdesk.ingest.schemas import (
    Receipt,
    Receipts,
    SubjectBatch,
    SubjectIn,
    SubjectUpdate,
)
from trustdesk.privacy.deletion import delete_subject_data, remove_files
from trustdesk.store.blobs import BlobGone, BlobTooLarge
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, MediaItem, Report, Subject
from trustdesk.web.api import receipts
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, client_with, get_db, read_session

router = api_router("subjects")
MAX_MEDIA_BYTES = 200 * 1024 * 1024


class MediaHashOut(BaseModel):
    algorithm: str
    value: str


class MediaItemOut(BaseModel):
    """One media file of a subject; `content_type` and `kind` were found from its bytes."""

    id: int
    position: int
    status: str = Field(description="`pending` (URL not fetched yet), `stored`, `refused` (see `refused_reason`) or `unchecked`")
    refused_reason: str | None
    source: str = Field(description="`upload` or `url`")
    source_url: str | None
    sha256: str | None
    content_type: str | None
    kind: str | None = Field(description="`image`, `video`, `audio` or `other`")
    inline: bool = Field(description="Shown in the console; everything else is offered as a download")
    size: int | None
    width: int | None
    height: int | None
    hashes: list[MediaHashOut]
    created_at: datetime

    @classmethod
    def of(cls, m: MediaItem) -> "MediaItemOut":
        data = {name: getattr(m, name) for name in cls.model_fields if name not in ("sha256", "hashes")}
        hashes = [MediaHashOut(algorithm=h.algorithm, value=h.value) for h in m.hashes]
        return cls(**data, sha256=m.blob_sha256, hashes=hashes)


class SubjectOut(BaseModel):
    id: int
    external_id: str
    kind: str
    parent_id: int | None
    account_id: int | None
    title: str | None
    text: str | None
    url: str | None
    language: str | None
    country: str | None
    region: str | None
    locale: str | None
    visibility: str
    reach: dict[str, Any]
    attributes: dict[str, Any]
    personal_fields: list[str]
    media_url: str | None = Field(description="The media URL as sent; what was fetched from it is in `media`")
    media: list[MediaItemOut]
    created_at: datetime | None
    received_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Subject) -> "SubjectOut":
        data = {name: getattr(s, name) for name in cls.model_fields if name not in ("personal_fields", "media")}
        return cls(**data, personal_fields=sorted(s.personal), media=[MediaItemOut.of(m) for m in s.media_items])


class ReportOut(BaseModel):
    id: int
    external_id: str
    policy_code: str
    reporter_type: str
    status: str
    text: str | None
    imminent_harm: bool
    received_at: datetime

    @classmethod
    def of(cls, r: Report) -> "ReportOut":
        return cls(**{name: getattr(r, name) for name in cls.model_fields})


class HistoryEntry(BaseModel):
    verb: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, e: AuditEvent) -> "HistoryEntry":
        return cls(
            verb=e.verb, actor=f"{e.actor_type}:{e.actor_id}", at=e.at,
            before=subject_views.redacted(e.before), after=subject_views.redacted(e.after),
        )


class SubjectDetail(BaseModel):
    subject: SubjectOut
    parent: SubjectOut | None
    children: list[SubjectOut]
    reports: list[ReportOut]
    history: list[HistoryEntry]


@router.post("/subjects", status_code=201, response_model=Receipt, responses=receipts.RETRY)
def create_subject(
    body: SubjectIn, response: Response,
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_WRITE)), session: Session = COMMITTED,
) -> Receipt:
    """Create one subject. An identical retry answers 200 with the original receipt."""
    return receipts.single("subject", intake.create_subjects(session, who, [body], single=True)[0], response)


@router.post("/subjects/batch", response_model=Receipts)
def create_subjects(
    body: SubjectBatch,
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_WRITE)), session: Session = COMMITTED,
) -> Receipts:
    """Create up to 1,000 subjects at once; all or nothing. Parents may come earlier in the batch."""
    return receipts.batch("subject", intake.create_subjects(session, who, body.items))


@router.patch("/subjects/{external_id}", response_model=SubjectOut)
def update_subject(
    external_id: str, body: SubjectUpdate,
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_WRITE)), session: Session = COMMITTED,
) -> SubjectOut:
    """Change a subject's content; the audit log keeps the before and after."""
    return SubjectOut.of(intake.update_subject(session, who, external_id, body))


@router.post("/subjects/{external_id}/media", response_model=SubjectOut)
def upload_media(
    external_id: str, request: Request, file: UploadFile = File(...),
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_WRITE)), session: Session = COMMITTED,
) -> SubjectOut:
    """Add a media file to a subject as its next media item; the same file again is the same item.

    The type is found from the bytes (the declared content type is ignored); an image must
    decode in full, so a decompression bomb or a truncated or corrupt image, like an empty file,
    is a 422 naming `file`. Stored by SHA-256, with the MD5 kept for hash matching.
    """
    if subject_views.find(session, who.app_id, external_id) is None:
        raise NotFound("external_id", f"no subject {external_id!r} in this app")
    try:
        checked = media.check_and_store(request.app.state.blobs, file.file, max_bytes=MAX_MEDIA_BYTES)
    except BlobTooLarge as exc:
        raise TooLarge("file", str(exc)) from exc
    except media.MediaRefused as exc:
        raise FieldError("file", str(exc)) from exc
    try:
        return SubjectOut.of(intake.attach_media(session, who, external_id, checked))
    except BlobGone as exc:
        raise Conflict("file", f"{exc}; send it again") from exc


@router.get("/subjects/{external_id}", response_model=SubjectDetail)
def read_subject(
    external_id: str,
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_READ)), session: Session = Depends(read_session),
) -> SubjectDetail:
    """A subject with its parent, children, reports and history (personal fields withheld)."""
    subject = subject_views.find(session, who.app_id, external_id)
    if subject is None:
        raise NotFound("external_id", f"no subject {external_id!r} in this app")
    tree = subject_views.load_tree(session, subject)
    return SubjectDetail(
        subject=SubjectOut.of(subject),
        parent=SubjectOut.of(tree.parent) if tree.parent else None,
        children=[SubjectOut.of(c) for c in tree.children],
        reports=[ReportOut.of(r) for r in tree.reports],
        history=[HistoryEntry.of(e) for e in tree.history],
    )


class SubjectDeleted(BaseModel):
    reason: str = Field("deleted on the host platform", min_length=1, max_length=2000,
                        description="Why, as the audit log should keep it")


class DeletionOut(BaseModel):
    erased: list[str] = Field(description="External ids whose data TrustDesk erased now: the subject, and an account's items")
    already_erased: list[str] = Field(description="External ids erased by an earlier call")
    media_items: int
    media_files: int = Field(description="Stored files removed (a file another subject or an evidence set uses stays)")
    account_events: int = Field(description="An account's events whose network identifiers were erased")


HELD = {409: {"description": "A legal hold covers the data: nothing was deleted; `hold_id` names the hold"}}


@router.post("/subjects/{external_id}/deleted", response_model=DeletionOut, responses=HELD)
def subject_deleted(
    external_id: str, request: Request, body: SubjectDeleted | None = None,
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_WRITE)), db: Database = Depends(get_db),
) -> DeletionOut:
    """The host platform deleted the subject: TrustDesk erases its copy (an account's items with
    it) unless a legal hold covers it, and answers 409 naming the hold. Calling again is harmless."""
    with db.session() as session:
        subject = subject_views.find(session, who.app_id, external_id)
        if subject is None:
            raise NotFound("external_id", f"no subject {external_id!r} in this app")
        done = delete_subject_data(session, who.actor, [subject.id], (body or SubjectDeleted()).reason)
        out = DeletionOut(erased=[s.external_id for s in done.erased], already_erased=[s.external_id for s in done.already_erased],
                          media_items=done.media_items, media_files=len(done.blobs), account_events=done.account_events)
    remove_files(db, request.app.state.blobs, done.blobs)  # once committed: a rollback must find its files
    return out
