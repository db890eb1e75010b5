"""Text banks, for admins: list, create, edit, read one with its entries, add entries, remove one.
Thin: `trustdesk.text_banks.banks` does the work and audits it; entries are checked for the
bank's kind by `trustdesk.domain.text_banks`, and a bad one is refused naming its place."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.errors import FieldError
from trustdesk.domain.hash_banks import MAX_NOTE
from trustdesk.domain.roles import ADMINS
from trustdesk.domain.text_banks import MAX_DESCRIPTION, MAX_ENTRIES, MAX_ENTRY, TextBankSpec, TextEntry, entry
from trustdesk.store.models import TextBankEntry
from trustdesk.text_banks import banks
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = api_router("text banks", prefix="/api/v1/text-banks")
Kind = Literal["keyword", "phrase", "regex"]
AppSlug = Field(default=None, max_length=64, description="The app's slug; null: every app.")
Language = Field(default=None, max_length=8, description="A language code such as `pt` (it covers `pt-BR`); null: every language.")


class TextBankIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, description="What rules name: `'NAME' in text_banks`. `[a-z][a-z0-9_]*`.")
    kind: Kind
    app: str | None = AppSlug
    language: str | None = Language
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class TextBankEdit(BaseModel):
    """The settings to change; a field left out keeps its value (name and kind never change)."""

    model_config = ConfigDict(extra="forbid")
    app: str | None = AppSlug
    language: str | None = Language
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    active: bool | None = Field(default=None, description="An inactive bank is matched by nothing.")


class TextBankOut(BaseModel):
    id: int
    name: str
    kind: Kind
    app: str | None
    language: str | None
    description: str
    active: bool
    entries: int = Field(description="How many live entries it holds.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, summary: banks.TextBankSummary) -> TextBankOut:
        bank = summary.bank
        return cls(id=bank.id, name=bank.name, kind=bank.kind, app=summary.app, language=bank.language,  # type: ignore[arg-type]
                   description=bank.description, active=bank.active, entries=summary.entries,
                   created_at=bank.created_at, updated_at=bank.updated_at)


class EntryOut(BaseModel):
    id: int
    value: str
    note: str
    created_at: datetime

    @classmethod
    def of(cls, row: TextBankEntry) -> EntryOut:
        return cls(id=row.id, value=row.value, note=row.note, created_at=row.created_at)


class TextBankDetail(TextBankOut):
    values: list[EntryOut] = Field(description="The live entries, alphabetically.")


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=MAX_ENTRY, description="A keyword, a phrase or an RE2 pattern, as the bank's kind.")
    note: str = Field(default="", max_length=MAX_NOTE)


class EntriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[EntryIn] = Field(min_length=1, max_length=MAX_ENTRIES)


class EntriesAdded(BaseModel):
    added: int
    already_there: int


def _detail(session: Session, name: str) -> TextBankDetail:
    bank = banks.bank_named(session, name)
    return TextBankDetail(**TextBankOut.of(banks.summary(session, bank)).model_dump(),
                          values=[EntryOut.of(row) for row in banks.entries_of(session, bank)])


@router.get("", response_model=list[TextBankOut])
def list_text_banks(_who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> list[TextBankOut]:
    """Every bank by name, with its live entries counted."""
    return [TextBankOut.of(summary) for summary in banks.list_banks(session)]


@router.post("", response_model=TextBankOut, status_code=201)
def create_text_bank(body: TextBankIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> TextBankOut:
    """An empty bank; rules see its name in `text_banks` once one of its entries is in a subject's text."""
    bank = banks.create_bank(session, who.actor, TextBankSpec(body.name, body.kind, body.app, body.language, body.description))
    return TextBankOut.of(banks.summary(session, bank))


@router.get("/{name}", response_model=TextBankDetail)
def get_text_bank(name: str, _who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> TextBankDetail:
    return _detail(session, name)


@router.patch("/{name}", response_model=TextBankOut)
def edit_text_bank(name: str, body: TextBankEdit, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> TextBankOut:
    """Change where the bank applies, its description or its state; every process applies it within a second."""
    current = banks.summary(session, banks.bank_named(session, name))
    given = body.model_fields_set
    bank = banks.update_bank(
        session, who.actor, current.bank,
        app=body.app if "app" in given else current.app,
        language=body.language if "language" in given else current.bank.language,
        description=current.bank.description if body.description is None else body.description,
        active=current.bank.active if body.active is None else body.active,
    )
    return TextBankOut.of(banks.summary(session, bank))


@router.post("/{name}/entries", response_model=EntriesAdded)
def add_text_bank_entries(name: str, body: EntriesIn, who: StaffContext = Depends(staff_with(*ADMINS)),
                          session: Session = COMMITTED) -> EntriesAdded:
    """Add entries; those already in the bank are left alone. One bad entry refuses them all (422, naming it)."""
    bank = banks.bank_named(session, name)
    checked: list[TextEntry] = []
    for index, given in enumerate(body.entries):
        try:
            checked.append(entry(bank.kind, given.value, given.note))
        except FieldError as exc:
            raise FieldError(f"entries[{index}].{exc.field}", exc.message) from None
    added = banks.add_entries(session, who.actor, bank, checked, source="api")
    return EntriesAdded(added=added, already_there=len({e.value for e in checked}) - added)


@router.delete("/{name}/entries", response_model=EntryOut)
def remove_text_bank_entry(
    name: str, value: str = Query(min_length=1, max_length=MAX_ENTRY, description="The keyword, phrase or pattern to take out."),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> EntryOut:
    """Take an entry out (it is kept as removed); every process stops matching it within a second."""
    return EntryOut.of(banks.remove_entry(session, who.actor, banks.bank_named(session, name), value))
