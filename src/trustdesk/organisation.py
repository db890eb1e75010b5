"""The organisation's apps: one deployment serves several products (a dating app, a marketplace)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import App


def ensure_app(session: Session, actor: Actor, slug: str, name: str) -> App:
    """The app with `slug`, created (once, however many ask at the same moment) if there is none."""
    created = session.execute(
        conflict_insert(session, App).values(slug=slug, name=name).on_conflict_do_nothing(index_elements=["slug"]).returning(App.id)
    ).scalar_one_or_none()
    if created is not None:
        record(session, actor=actor, verb="app.created", object_type="app", object_id=created, after={"slug": slug, "name": name})
    return session.execute(select(App).where(App.slug == slug)).scalar_one()
