"""A small marketplace to enforce on: the catalogue, one app, a queue, two reviewers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from trustdesk.audit.log import Actor
from trustdesk.auth.staff import create_user
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.ingest.intake import Submitter, create_subjects, file_reports
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import (
    Case,
    EnforcementAction,
    Policy,
    Queue,
    Report,
    Subject,
    utcnow,
)

SETUP = Actor("test", "setup")


@dataclass
class World:
    db: Database
    app_id: int
    queue_id: int
    alice: int
    bob: int

    @property
    def submitter(self) -> Submitter:
        return Submitter(app_id=self.app_id, actor=SETUP)

    def add_subjects(self, *items: dict[str, Any]) -> dict[str, int]:
        """Create subjects through intake; returns external id → subject id."""
        with self.db.session() as s:
            receipts = create_subjects(s, self.submitter, [SubjectIn.model_validate(i) for i in items])
        return {r.external_id: r.id for r in receipts}

    def file(self, *items: dict[str, Any]) -> list[int]:
        with self.db.session() as s:
            return [r.id for r in file_reports(s, self.submitter, [ReportIn.model_validate(i) for i in items])]

    def open_case(
        self, subject_id: int, report_ids: list[int], *, claimed_by: int | None = None,
        lease: timedelta = timedelta(minutes=10), policy_code: str = "COUNTERFEIT",
    ) -> int:
        """The case intake opened for these reports (or a new one), moved to the world's queue and
        claimed as asked."""
        now = utcnow()
        with self.db.session() as s:
            routed = {r.case_id for r in s.execute(select(Report).where(Report.id.in_(report_ids))).scalars()}
            case = s.get(Case, routed.pop()) if len(routed) == 1 and None not in routed else None
            if case is None:
                case = Case(app_id=self.app_id, subject_id=subject_id, band="P2", priority_score=80.0, due_at=now + timedelta(days=1))
                s.add(case)
            case.queue_id, case.policy_code, case.report_count = self.queue_id, policy_code, len(report_ids)
            case.claimed_by, case.lease_until = claimed_by, (now + lease if claimed_by else None)
            s.flush()
            s.execute(update(Report).where(Report.id.in_(report_ids)).values(case_id=case.id))
            return case.id

    def subject(self, subject_id: int) -> Subject:
        with self.db.reader() as s:
            return s.get_one(Subject, subject_id)

    def visibility(self, *subject_ids: int) -> list[str]:
        return [self.subject(i).visibility for i in subject_ids]

    def policy(self, code: str) -> Policy:
        with self.db.reader() as s:
            return s.execute(select(Policy).where(Policy.code == code, Policy.is_current.is_(True))).scalar_one()

    def actions(self) -> list[EnforcementAction]:
        with self.db.reader() as s:
            return list(s.execute(select(EnforcementAction).order_by(EnforcementAction.id)).scalars())


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    with db.session() as s:
        seed_catalogue(s, SETUP)
        app = ensure_app(s, SETUP, "market", "Marketplace")
        queue = Queue(name="general")
        s.add(queue)
        users = [
            create_user(s, SETUP, settings, username=name, password="long-enough-password", roles=[Role.MODERATOR], with_totp=False)
            for name in ("alice", "bob")
        ]
        s.flush()
        return World(db, app.id, queue.id, users[0].id, users[1].id)


def account(ext: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": ext, "kind": "account", "personal": {"email": f"{ext}@example.org"}} | extra


def item(ext: str, kind: str, *, parent: str | None = None, owner: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"external_id": ext, "kind": kind, "parent_external_id": parent, "account_external_id": owner} | extra
