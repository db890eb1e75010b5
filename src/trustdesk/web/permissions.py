"""Who may call a route. Every route declares exactly one of these dependencies:

- `public()` — health, metrics, login page, static files;
- `client_with(scope)` — an API client whose bearer token carries the scope;
- `staff_with(*roles)` — a logged-in staff user holding one of the roles (none listed: any
  staff user); state-changing requests must also carry the session's CSRF token.

Each dependency is tagged with `permission`, which `tests/web/test_permissions.py` reads to
prove that every route declares one and refuses everybody else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.access import Reviewer
from trustdesk.cases.claiming import Terms
from trustdesk.domain.errors import Forbidden, Unauthenticated
from trustdesk.domain.vocabulary import Role, Scope
from trustdesk.ingest.intake import Submitter
from trustdesk.store.database import Database
from trustdesk.store.models import StaffSession, StaffUser

SESSION_COOKIE = "trustdesk_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """Raised for a console page without a valid session; answered with a redirect to /login."""


@dataclass(frozen=True)
class StaffContext:
    user_id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    # None for a bearer-token caller, which a browser cannot forge.
    csrf_token: str | None
    languages: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        return Actor("staff", self.username)

    @property
    def reviewer(self) -> Reviewer:
        return Reviewer(self.user_id, self.roles, self.languages)

    def has(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)


# A coroutine: FastAPI runs a plain function dependency in a worker thread, and that hop costs
# more than this does.
async def get_db(request: Request) -> Database:
    return request.app.state.db


def claim_terms(request: Request) -> Terms:
    """Lease, maximum hold and skip lengths, from the settings."""
    return Terms.of(request.app.state.settings)


def _write_session(db: Database = Depends(get_db)) -> Iterator[Session]:
    with db.session() as session:
        yield session


# A route's write transaction commits before the response is sent ("function" scope), so a
# client never sees success for a change that then fails to commit, and a redirect's next page
# already sees the change. It commits too when a console route catches a refusal to show it on
# its page, so such a route runs the change in a savepoint (`with session.begin_nested():`) and
# nothing the change wrote before it was refused stays.
COMMITTED: Any = Depends(_write_session, scope="function")


def read_session(db: Database = Depends(get_db)) -> Iterator[Session]:
    with db.reader() as session:
        yield session


def _tag(dependency: Callable[..., Any], permission: tuple[str, ...]) -> Callable[..., Any]:
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public() -> Callable[..., Any]:
    async def allow() -> None:  # a coroutine, as `get_db`: nothing here needs a worker thread
        return None

    return _tag(allow, ("public",))


def client_with(scope: Scope) -> Callable[..., Any]:
    def authorise(request: Request, db: Database = Depends(get_db)) -> Submitter:
        token = _bearer(request)
        if not token:
            raise Unauthenticated("authorization", "a bearer token is required")
        with db.reader() as session:
            client = api_clients.resolve_token(session, token)
        if client is None:
            raise Unauthenticated("authorization", "the token is not valid")
        if client.app_id is None or scope.value not in client.scopes:
            raise Forbidden("authorization", f"the token lacks the scope {scope.value!r}")
        return Submitter(
            app_id=client.app_id,
            client_id=client.id,
            actor=Actor("client", client.name),
            media_allow_list=request.app.state.settings.media_url_allow_list,
        )

    return _tag(authorise, ("scope", scope.value))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def current_staff(request: Request, db: Database) -> StaffContext | None:
    """The staff member behind a console session cookie or a personal bearer token."""
    token, cookie = _bearer(request), request.cookies.get(SESSION_COOKIE)
    with db.reader() as session:
        if token:
            client = api_clients.resolve_token(session, token)
            user = session.get(StaffUser, client.staff_user_id) if client and client.staff_user_id else None
            # A bearer token cannot be sent by a browser on its own, so it needs no CSRF token.
            return _context(user, csrf=None) if user and user.active else None
        found: StaffSession | None = staff.resolve_session(session, cookie) if cookie else None
        return _context(found.user, csrf=found.csrf_token) if found else None


def _context(user: StaffUser, csrf: str | None) -> StaffContext:
    languages = tuple((user.skills or {}).get("languages", []))
    return StaffContext(user.id, user.username, user.display_name, tuple(user.roles), csrf, languages)


def staff_with(*roles: Role) -> Callable[..., Any]:
    async def authorise(request: Request, db: Database = Depends(get_db)) -> StaffContext:
        context = current_staff(request, db)
        if context is None and _bearer(request):
            # A script presenting a bad token wants a 401, not the console's login page.
            raise Unauthenticated("authorization", "not a valid staff token")
        if context is None:
            raise LoginRequired()
        if roles and not context.has(*roles):
            raise Forbidden("roles", f"this needs one of the roles {', '.join(r.value for r in roles)}; yours do not allow it")
        if request.method not in _SAFE_METHODS and context.csrf_token is not None:
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                sent = (await request.form()).get("csrf_token")  # type: ignore[assignment]
            if sent != context.csrf_token:
                raise Forbidden("csrf_token", "missing or wrong; reload the page and try again")
        return context

    return _tag(authorise, ("roles", *sorted(r.value for r in roles)))
