"""Every text, JSON or byte column is declared personal or not, so a new column forces a decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trustdesk.privacy import personal_data_registry as registry
from trustdesk.store.models import Base


def test_every_column_that_can_hold_data_is_declared() -> None:
    assert registry.undeclared(Base.metadata) == [], "declare each column in trustdesk.privacy.personal_data_registry"
    assert registry.declared_both_ways() == []
    assert registry.stale(Base.metadata) == []


def test_an_undeclared_column_is_named() -> None:
    class Fake(DeclarativeBase):
        pass

    class Subject(Fake):  # a new column on a declared table, and a new table
        __tablename__ = "subjects"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        text: Mapped[str] = mapped_column(Text)
        nickname: Mapped[str] = mapped_column(String(100))

    class Survey(Fake):
        __tablename__ = "surveys"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        answers: Mapped[dict[str, Any]] = mapped_column(JSON)
        score: Mapped[int] = mapped_column(Integer)

    assert registry.undeclared(Fake.metadata) == ["subjects.nickname", "surveys.answers"]


def test_the_personal_columns_include_what_the_automation_stores() -> None:
    personal = {f"{t}.{c}": kind for t, columns in registry.PERSONAL.items() for c, kind in columns.items()}
    assert personal["signals.evidence"] == personal["rule_evaluations.inputs"] == registry.DataKind.DERIVED
    assert personal["subjects.personal"] == personal["reports.notifier_email"] == registry.DataKind.CONTACT
    assert personal["account_events.ip"] == registry.DataKind.NETWORK
    assert personal["evidence_items.body"] == registry.BLOBS["evidence_items.blob_sha256"] == registry.DataKind.EVIDENCE
