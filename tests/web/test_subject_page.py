"""The subject page: readable history, active strikes, earlier decisions, open cases with links,
related accounts, the account's events a page at a time, and a message's author and conversation,
each as the reader may see it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.store.models import Case, StaffUser, Subject
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")
SHARED_IP = "203.0.113.77"


@dataclass
class World:
    api: Api
    settings: Settings
    ids: dict[str, int]

    def page(self, who: str, path: str, **params: object) -> tuple[int, str]:
        with self.api.db.session() as s:
            token = staff.open_session(s, self.settings, s.get_one(StaffUser, self.ids[who]))
        self.api.client.cookies.set(SESSION_COOKIE, token)
        r = self.api.client.get(path.format(**self.ids), params=params)
        return r.status_code, r.text


@pytest.fixture
def world(api: Api, settings: Settings) -> World:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        people = {name: staff.create_user(s, SETUP, settings, username=name, password="long enough password", roles=roles,
                                          with_totp=False).id for name, roles in {"mod": ["moderator"], "sen": ["senior"]}.items()}
        _client, senior_token = api_clients.create_staff_token(s, SETUP, s.get_one(StaffUser, people["sen"]), "tests")
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account", "personal": {"email": "one@example.org"}},
        {"external_id": "acc-2", "kind": "account"},
        {"external_id": "acc-cs", "kind": "account"},
        {"external_id": "conv-1", "kind": "conversation", "account_external_id": "acc-2"},
        {"external_id": "msg-1", "kind": "message", "parent_external_id": "conv-1", "account_external_id": "acc-1",
         "text": "send the money first"},
        {"external_id": "listing-1", "kind": "listing", "account_external_id": "acc-1", "title": "Phone"},
        {"external_id": "photo-cs", "kind": "photo", "account_external_id": "acc-1"},
    ]})
    assert r.status_code == 200, r.text
    events = [{"external_id": "reg", "account_external_id": "acc-1", "kind": "registration", "occurred_at": "2026-01-01T09:00:00Z",
               "ip": SHARED_IP, "attributes": {"signup_source": "ios"}},
              {"external_id": "buy", "account_external_id": "acc-1", "kind": "purchase", "occurred_at": "2026-01-03T10:00:00Z",
               "amount_cents": 1250, "currency": "EUR", "payment_fingerprint": "pf-77aa01", "attributes": {"item": "boost"}},
              {"external_id": "other", "account_external_id": "acc-2", "kind": "login", "occurred_at": "2026-01-02T08:00:00Z",
               "ip": SHARED_IP},
              {"external_id": "cs-login", "account_external_id": "acc-cs", "kind": "login", "occurred_at": "2026-01-02T08:00:00Z",
               "ip": SHARED_IP}]
    events += [{"external_id": f"login-{i}", "account_external_id": "acc-1", "kind": "login",
                "occurred_at": f"2026-01-02T{i // 60:02d}:{i % 60:02d}:00Z"} for i in range(30)]
    r = api.post("/api/v1/account-events/batch", {"items": events})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "r-msg", "subject_external_id": "msg-1", "policy_code": "SCAM", "reporter_type": "anonymous"},
        {"external_id": "r-listing", "subject_external_id": "listing-1", "policy_code": "COUNTERFEIT", "reporter_type": "anonymous"},
        {"external_id": "r-photo", "subject_external_id": "photo-cs", "policy_code": "CSAM", "reporter_type": "anonymous"},
        {"external_id": "r-cs", "subject_external_id": "acc-cs", "policy_code": "CHILD_GROOMING", "reporter_type": "anonymous"},
    ]})
    assert r.status_code == 200, r.text
    with api.db.reader() as s:
        subjects = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
        cases = {c.subject_id: c.id for c in s.execute(select(Case)).scalars()}
    decided = api.client.post(f"/api/v1/subjects/{subjects['listing-1']}/decision", headers={"Authorization": f"Bearer {senior_token}"},
                              json={"policy_code": "COUNTERFEIT", "verdict": "violation", "actions": ["remove", "strike"],
                                    "rationale": "fake"})
    assert decided.status_code == 201, decided.text
    ids = subjects | {"msg-case": cases[subjects["msg-1"]], "photo-case": cases[subjects["photo-cs"]]} | people
    return World(api, settings, ids)


def test_an_account_page_shows_cases_strikes_decisions_related_accounts_and_events(world: World) -> None:
    status, page = world.page("mod", "/subjects/{acc-1}")
    assert status == 200
    open_cases = page.split('class="card open-cases"', 1)[1].split("</section>", 1)[0]
    assert f'href="/cases/{world.ids["msg-case"]}"' in open_cases and "msg-1" in open_cases
    strikes = page.split('class="card strikes"', 1)[1].split("</section>", 1)[0]
    assert "COUNTERFEIT" in strikes and "weight" in strikes
    decisions = page.split('class="card decisions"', 1)[1].split("</section>", 1)[0]
    assert "COUNTERFEIT v1" in decisions and "violation" in decisions and f'href="/subjects/{world.ids["listing-1"]}"' in decisions
    related = page.split('class="card related"', 1)[1].split("</section>", 1)[0]
    assert f'href="/subjects/{world.ids["acc-2"]}"' in related and "1 ip" in related
    timeline = page.split('class="card wide timeline"', 1)[1].split("</section>", 1)[0]
    assert timeline.count('class="account-event"') == 25 and "Older events" in timeline
    assert "purchase" in timeline and "12.50 EUR" in timeline and "item: boost" in timeline and "payment fingerprint (hidden)" in timeline
    # Identifiers and personal data stay hidden until the audited reveal.
    for value in (SHARED_IP, "pf-77aa01", "one@example.org"):
        assert value not in page
    history = page.split('class="card wide history"', 1)[1].split("</section>", 1)[0]
    assert "created" in history and "personal data (hidden)" in history and "{&#39;" not in history and "{'" not in history


def test_the_timeline_pages_newest_first(world: World) -> None:
    _status, first = world.page("mod", "/subjects/{acc-1}")
    cursor = first.split("?events_after=", 1)[1].split("#", 1)[0]
    status, second = world.page("mod", "/subjects/{acc-1}", events_after=cursor)
    assert status == 200
    timeline = second.split('class="card wide timeline"', 1)[1].split("</section>", 1)[0]
    rows = timeline.count('class="account-event"')
    assert rows == 7 and "registration" in timeline and "Older events" not in timeline  # 32 events: 25 + 7
    assert timeline.index("2026-01-02 00:0") < timeline.index("2026-01-01 09:00")
    status, _ = world.page("mod", "/subjects/{acc-1}", events_after="not-a-cursor")
    assert status == 422


def test_a_message_links_to_its_author_and_its_conversation(world: World) -> None:
    status, page = world.page("mod", "/subjects/{msg-1}")
    assert status == 200
    assert f'<dt>Author</dt><dd><a class="author" href="/subjects/{world.ids["acc-1"]}">account acc-1</a>' in page
    assert f'<dt>Conversation</dt><dd><a class="conversation" href="/subjects/{world.ids["conv-1"]}">conversation conv-1</a>' in page


def test_the_page_leaves_out_what_the_reader_may_not_see(world: World) -> None:
    """A moderator sees acc-1, but not its child-safety photo's case, nor the related child-safety account."""
    _status, page = world.page("mod", "/subjects/{acc-1}")
    assert f'/cases/{world.ids["photo-case"]}"' not in page and "photo-cs" not in page and "CSAM" not in page
    assert f'/subjects/{world.ids["acc-cs"]}"' not in page and "acc-cs" not in page
    status, _ = world.page("mod", "/subjects/{photo-cs}")
    assert status == 404
