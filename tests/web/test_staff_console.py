"""The admin's Staff and API clients pages: list, deactivate/reactivate, revoke; CSRF, admins only, audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import Api
from tests.web.refusals import field_of
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.store.models import ApiClient, AuditEvent, StaffUser
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")


def _member(api: Api, settings: Settings, username: str, role: Role) -> int:
    with api.db.session() as s:
        return staff.create_user(s, SETUP, settings, username=username, password="long enough password", roles=[role], with_totp=False).id


def _sign_in(api: Api, settings: Settings, user_id: int) -> str:
    with api.db.session() as s:
        token = staff.open_session(s, settings, s.get_one(StaffUser, user_id))
    api.client.cookies.set(SESSION_COOKIE, token)
    page = api.client.get("/staff")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def team(api: Api, settings: Settings) -> dict[str, int]:
    return {name: _member(api, settings, name, role) for name, role in (("root", Role.ADMIN), ("mia", Role.MODERATOR))}


def test_an_admin_deactivates_and_reactivates_a_member(api: Api, settings: Settings, team: dict[str, int]) -> None:
    with api.db.session() as s:
        mia_session = staff.open_session(s, settings, s.get_one(StaffUser, team["mia"]))
        _client, mia_token = api_clients.create_staff_token(s, SETUP, s.get_one(StaffUser, team["mia"]), "script")
    csrf = _sign_in(api, settings, team["root"])
    page = api.client.get("/staff").text
    assert re.search(r'data-staff="mia".*?moderator.*?data-testid="status">active<', page, re.S)
    assert f'action="/staff/{team["root"]}/deactivate"' not in page  # not oneself

    assert api.client.post(f"/staff/{team['mia']}/deactivate", follow_redirects=False).status_code == 403  # no CSRF token
    done = api.client.post(f"/staff/{team['mia']}/deactivate", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/staff?notice=deactivated"
    assert "deactivated" in api.client.get("/staff?notice=deactivated").text
    with api.db.reader() as s:
        assert staff.resolve_session(s, mia_session) is None and api_clients.resolve_token(s, mia_token) is None
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "staff.deactivated")).scalar_one()
        assert (event.actor_id, event.object_id) == ("root", str(team["mia"]))

    again = api.client.post(f"/staff/{team['mia']}/reactivate", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 303
    with api.db.reader() as s:
        assert s.get_one(StaffUser, team["mia"]).active
    itself = api.client.post(f"/staff/{team['root']}/deactivate", data={"csrf_token": csrf}, follow_redirects=False)
    assert itself.status_code == 422 and field_of(itself) == "staff_id"


def test_an_admin_revokes_an_api_client(api: Api, settings: Settings, team: dict[str, int]) -> None:
    csrf = _sign_in(api, settings, team["root"])
    with api.db.reader() as s:
        client = s.execute(select(ApiClient).where(ApiClient.name == "dating-backend")).scalar_one()
    page = api.client.get("/clients").text
    assert f"td_{client.token_prefix}_" in page and "app dating" in page
    def read() -> int:
        return api.client.get("/api/v1/subjects/no-such-subject", headers=api.auth).status_code

    assert read() == 404  # the token works
    done = api.client.post(f"/clients/{client.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/clients?notice=revoked"
    assert read() == 401
    with api.db.reader() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "api_client.revoked")).scalar_one()
        assert (event.actor_id, event.object_id) == ("root", str(client.id))
    assert re.search(rf'data-client="{client.token_prefix}".*?data-testid="status">revoked ', api.client.get("/clients").text, re.S)


def test_the_admin_pages_are_for_admins_only(api: Api, settings: Settings, team: dict[str, int]) -> None:
    with api.db.session() as s:
        token = staff.open_session(s, settings, s.get_one(StaffUser, team["mia"]))
    api.client.cookies.set(SESSION_COOKIE, token)
    assert api.client.get("/staff").status_code == 403 and api.client.get("/clients").status_code == 403
    assert 'href="/staff"' not in api.client.get("/").text
