"""Small builders for case tests: an app, a queue, subjects and open cases, straight into the tables."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.access import Reviewer
from trustdesk.cases.queues import QueueSpec, save_queue
from trustdesk.config import Settings
from trustdesk.organisation import ensure_app
from trustdesk.store.models import Case, Queue, Subject, utcnow

SETUP = Actor("test", "setup")
__all__ = ["Actor", "SETUP", "queue", "open_cases", "reviewer"]


def queue(session: Session, name: str = "General", **options: object) -> Queue:
    spec = QueueSpec(name, options.pop("routing_expression", None), is_default=options.pop("is_default", name == "General"), **options)  # type: ignore[arg-type]
    return save_queue(session, SETUP, spec)


def open_cases(session: Session, queue_id: int, count: int, *, app_slug: str = "dating", start: int = 0) -> list[int]:
    """`count` open cases with distinct scores and due times, each on its own subject."""
    app = ensure_app(session, SETUP, app_slug, app_slug.title())
    now = utcnow()
    subjects = session.execute(
        insert(Subject).returning(Subject.id, sort_by_parameter_order=True),
        [{"app_id": app.id, "external_id": f"{queue_id}-s{start + i}", "kind": "message", "body_hash": "x",
          "reach": {}, "personal": {}, "attributes": {}, "visibility": "visible"} for i in range(count)],
    ).scalars().all()
    return list(session.execute(
        insert(Case).returning(Case.id, sort_by_parameter_order=True),
        [{"app_id": app.id, "subject_id": sid, "queue_id": queue_id, "status": "open", "band": "P2",
          "priority_score": float((start + i) % 97), "priority_reasons": {}, "report_count": 1, "policy_code": "SPAM",
          "routed_by": "test", "due_at": now + timedelta(minutes=(start + i) % 89), "created_at": now, "updated_at": now}
         for i, sid in enumerate(subjects)],
    ).scalars().all())


def reviewer(session: Session, settings: Settings, username: str, roles: list[str], languages: list[str] | None = None) -> Reviewer:
    user = staff.create_user(session, SETUP, settings, username=username, password="correct horse battery",
                             roles=roles, skills={"languages": languages or []}, with_totp=False)
    return Reviewer.of(user)
