"""API clients of the host platform: scoped bearer tokens, stored only as a hash.

A token reads `td_<prefix>_<secret>`: the prefix finds the row, the secret is compared to
the stored SHA-256 in constant time. The token is shown once, when created; a revoked token
stops working at once, in every process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.vocabulary import Scope
from trustdesk.store.models import ApiClient, App, StaffUser, utcnow


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue(session: Session, actor: Actor, client: ApiClient, described: dict[str, object]) -> tuple[ApiClient, str]:
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    client.token_prefix, client.token_hash = prefix, _digest(secret)
    session.add(client)
    session.flush()
    record(session, actor=actor, verb="api_client.created", object_type="api_client", object_id=client.id, after=described)
    return client, f"td_{prefix}_{secret}"


def create_client(session: Session, actor: Actor, app: App, name: str, scopes: Iterable[Scope]) -> tuple[ApiClient, str]:
    """A host-platform integration token for one app."""
    client = ApiClient(app_id=app.id, name=name, scopes=sorted(s.value for s in scopes))
    return _issue(session, actor, client, {"name": name, "app": app.slug, "scopes": client.scopes})


def create_staff_token(session: Session, actor: Actor, user: StaffUser, name: str) -> tuple[ApiClient, str]:
    """A personal token for automation through /api/v1; it acts with the user's roles."""
    client = ApiClient(staff_user_id=user.id, name=name, scopes=[])
    return _issue(session, actor, client, {"name": name, "staff_user": user.username})


class TokenHolder(NamedTuple):
    """What a request needs of the client whose token it carries."""

    id: int
    app_id: int | None
    staff_user_id: int | None
    name: str
    scopes: list[str]


# Built once and read as a row, past the ORM: every API request asks.
_LIVE_BY_PREFIX = select(ApiClient.id, ApiClient.app_id, ApiClient.staff_user_id, ApiClient.name, ApiClient.scopes,
                         ApiClient.token_hash).where(ApiClient.token_prefix == bindparam("prefix"), ApiClient.revoked_at.is_(None))


def resolve_token(session: Session, token: str) -> TokenHolder | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "td":
        return None
    row = session.connection().execute(_LIVE_BY_PREFIX, {"prefix": parts[1]}).first()
    if row is None or not hmac.compare_digest(row.token_hash, _digest(parts[2])):
        return None
    return TokenHolder(row.id, row.app_id, row.staff_user_id, row.name, row.scopes)


def listing(session: Session) -> list[tuple[ApiClient, str | None, str | None]]:
    """Every client, newest first, with the app slug or staff username it belongs to."""
    return [(client, slug, username) for client, slug, username in session.execute(
        select(ApiClient, App.slug, StaffUser.username)
        .outerjoin(App, App.id == ApiClient.app_id).outerjoin(StaffUser, StaffUser.id == ApiClient.staff_user_id)
        .order_by(ApiClient.id.desc())
    )]


def matching(session: Session, name_or_prefix: str) -> list[ApiClient]:
    """Live clients whose name or token prefix (`td_PREFIX` works too) is `name_or_prefix`; names need not be unique."""
    prefix = name_or_prefix.split("_")[1] if name_or_prefix.startswith("td_") else name_or_prefix
    return list(session.execute(
        select(ApiClient)
        .where((ApiClient.token_prefix == prefix) | (ApiClient.name == name_or_prefix), ApiClient.revoked_at.is_(None))
        .order_by(ApiClient.id)
    ).scalars())


def revoke(session: Session, actor: Actor, client: ApiClient) -> None:
    if client.revoked_at is not None:
        return
    client.revoked_at = utcnow()
    record(session, actor=actor, verb="api_client.revoked", object_type="api_client", object_id=client.id,
           after={"name": client.name, "token_prefix": client.token_prefix})
