"""The organisation's apps: one deployment serves several products (a dating app, a marketplace)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.store.models import App


def ensure_app(session: Session, actor: Actor, slug: str, name: str) -> App:
    app = session.execute(select(App).where(App.slug == slug)).scalar_one_or_none()
    if app is None:
        app = App(slug=slug, name=name)
        session.add(app)
        session.flush()
        record(session, actor=actor, verb="app.created", object_type="app", object_id=app.id, after={"slug": slug, "name": name})
    return app
