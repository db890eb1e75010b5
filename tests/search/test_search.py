"""Search: every kind of hit in the API and the console, need-to-know on each result, identifier
searches audited without the value, and full text on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest
from sqlalchemy import delete, func, select, text

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.search import identifier_index
from trustdesk.store.models import AuditEvent, Case, IdentifierDigest, Report, Subject

SETUP = Actor("test", "setup")
PEOPLE = {"mod": ["moderator"], "cs": ["child-safety"]}
EMAIL = "Scammer.Person@Example.org"
PHONE = "+44 20 7946 0958"
CS_EMAIL = "groomer@example.net"
IPV6 = "2001:db8::7"
DEVICE = "dev-8f3a9c21"


@dataclass
class World:
    api: Api
    settings: Settings
    ids: dict[str, int]

    def token(self, who: str) -> dict[str, str]:
        return self.api.staff_token(self.ids[who])

    def console(self, who: str) -> dict[str, str]:
        return self.api.open_console(self.settings, self.ids[who])

    def search(self, who: str, q: str, **params: object) -> dict:  # type: ignore[type-arg]
        r = self.api.client.get("/api/v1/search", params={"q": q, **params}, headers=self.token(who))
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def world(api: Api, settings: Settings) -> World:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        people = {name: staff.create_user(s, SETUP, settings, username=name, password="long enough password", roles=roles,
                                          with_totp=False).id for name, roles in PEOPLE.items()}
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-scam", "kind": "account", "personal": {"email": EMAIL, "phone": PHONE}},
        {"external_id": "listing-9", "kind": "listing", "account_external_id": "acc-scam", "title": "Cheap watches",
         "text": "Genuine replica chronographs, wire transfer only"},
        {"external_id": "acc-cs", "kind": "account", "personal": {"email": CS_EMAIL}},
        {"external_id": "msg-cs", "kind": "message", "account_external_id": "acc-cs", "text": "send me a picture of yourself"},
    ]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/account-events/batch", {"items": [
        {"external_id": "ev1", "account_external_id": "acc-scam", "kind": "login", "occurred_at": "2026-01-02T03:04:05Z",
         "ip": IPV6, "device_id": DEVICE},
        {"external_id": "ev2", "account_external_id": "acc-cs", "kind": "login", "occurred_at": "2026-01-02T03:04:05Z",
         "ip": "198.51.100.23", "device_id": "dev-cs-55510"},
    ]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "rep-scam", "subject_external_id": "listing-9", "policy_code": "COUNTERFEIT", "reporter_type": "user",
         "reporter_external_id": "acc-cs", "text": "These watches are counterfeit, the seller admitted it",
         "dsa": {"notifier_email": "Brand.Protection@Example.com"}},
        {"external_id": "rep-cs", "subject_external_id": "msg-cs", "policy_code": "CHILD_GROOMING", "reporter_type": "anonymous",
         "text": "grooming a child in private messages"},
        {"external_id": "rep-cs-acc", "subject_external_id": "acc-cs", "policy_code": "CHILD_GROOMING", "reporter_type": "anonymous"},
    ]})
    assert r.status_code == 200, r.text
    with api.db.session() as s:
        subjects = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
        reports = {x.external_id: x.id for x in s.execute(select(Report)).scalars()}
        cases = {c.subject_id: c.id for c in s.execute(select(Case)).scalars()}
    ids = subjects | reports | {"scam-case": cases[subjects["listing-9"]], "cs-case": cases[subjects["msg-cs"]]} | people
    return World(api, settings, ids)


def _found(result: dict) -> set[tuple[str, int, str]]:  # type: ignore[type-arg]
    return {(h["kind"], h["id"], h["matched"]) for h in result["hits"]}


EVERY_KIND = [
    # (query, expected hit as (kind, id name, matched))
    ("{scam-case}", ("case", "scam-case", "case id")),
    ("{rep-scam}", ("report", "rep-scam", "report id")),
    ("rep-scam", ("report", "rep-scam", "report external id")),
    ("{listing-9}", ("subject", "listing-9", "subject id")),
    ("listing-9", ("subject", "listing-9", "subject external id")),
    ("scammer.person@example.ORG", ("subject", "acc-scam", "email")),
    ("brand.protection@example.com", ("report", "rep-scam", "email")),
    ("+44 (20) 7946-0958", ("subject", "acc-scam", "phone")),
    ("2001:0db8:0000::0007", ("subject", "acc-scam", "ip")),
    (DEVICE, ("subject", "acc-scam", "device_id")),
    ("counterfeit SELLER", ("report", "rep-scam", "text")),
    ("replica chronographs", ("subject", "listing-9", "text")),
    ("Cheap", ("subject", "listing-9", "text")),
]


@pytest.mark.parametrize(("query", "expected"), EVERY_KIND, ids=[e[1][2] + ":" + e[0] for e in EVERY_KIND])
def test_the_api_finds_each_kind_of_hit(world: World, query: str, expected: tuple[str, str, str]) -> None:
    q = query.format(**world.ids)
    kind, name, matched = expected
    result = world.search("mod", q)
    assert (kind, world.ids[name], matched) in _found(result)
    hit = next(h for h in result["hits"] if (h["kind"], h["id"]) == (kind, world.ids[name]))
    assert hit["app"] == "dating" and hit["url"].startswith(("/cases/", "/subjects/"))
    # Narrowed to its kind, it is still found; narrowed to another, it is not.
    assert (kind, world.ids[name], matched) in _found(world.search("mod", q, kind=kind))
    other = "case" if kind != "case" else "subject"
    assert all(h["kind"] == other for h in world.search("mod", q, kind=other)["hits"])


def test_a_report_filed_through_the_api_is_found_in_one_step(world: World) -> None:
    r = world.api.post("/api/v1/reports", {"external_id": "rep-new", "subject_external_id": "listing-9", "policy_code": "SCAM",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    receipt = r.json()
    world.console("mod")
    page = world.api.client.get("/search", params={"q": receipt["external_id"]}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/cases/{world.ids['scam-case']}", page.text[:200]
    assert world.api.client.get(page.headers["location"]).status_code == 200
    # Its number may also be a case's or a subject's; as a report's number it goes straight there too.
    by_number = world.api.client.get("/search", params={"q": receipt["id"], "kind": "report"}, follow_redirects=False)
    assert by_number.status_code == 303 and by_number.headers["location"] == f"/cases/{world.ids['scam-case']}"
    # Number 1 is a report, a subject and a child-safety case here: the two the moderator may
    # see are listed, the report linked to its case; the case is not even hinted at.
    assert world.ids["rep-scam"] == world.ids["acc-scam"] == 1
    with world.api.db.reader() as s:
        assert s.get_one(Case, 1).subject_id == world.ids["acc-cs"]
    listed = world.api.client.get("/search", params={"q": "#1"}, follow_redirects=False)
    assert listed.status_code == 200
    for link in (f'<a href="/cases/{world.ids["scam-case"]}">Report rep-scam</a>', '<a href="/subjects/1">Account acc-scam</a>'):
        assert link in listed.text
    assert 'href="/cases/1"' not in listed.text and "Case 1" not in listed.text


def test_the_console_lists_results_with_links_and_the_box_is_on_every_page(world: World) -> None:
    world.console("mod")
    home = world.api.client.get("/")
    assert home.status_code == 200 and 'action="/search"' in home.text and 'name="q"' in home.text
    page = world.api.client.get("/search", params={"q": "watches"})
    assert page.status_code == 200
    assert f'href="/cases/{world.ids["scam-case"]}"' in page.text  # the report, on its case's page
    assert f'href="/subjects/{world.ids["listing-9"]}"' in page.text
    assert 'action="/search"' in page.text
    empty = world.api.client.get("/search", params={"q": "   "})
    assert empty.status_code == 422 and "type an id" in empty.text and "<html" in empty.text
    bad_kind = world.api.client.get("/search", params={"q": "x", "kind": "queue"})
    assert bad_kind.status_code == 422 and "one of case, report, subject" in bad_kind.text
    too_far = world.api.client.get("/search", params={"q": "x", "page": 41})
    assert too_far.status_code == 422 and "pages go from 1 to 40" in too_far.text


# (query, kind): numbers are tried as the one kind they name, since a case, a report and a subject may share a number.
CS_QUERIES = [("{cs-case}", "case"), ("{rep-cs}", "report"), ("{msg-cs}", "subject"), ("rep-cs", ""), ("msg-cs", ""),
              ("acc-cs", ""), (CS_EMAIL, ""), ("198.51.100.23", ""), ("dev-cs-55510", ""), ("grooming child", ""),
              ("picture yourself", "")]


def test_results_follow_need_to_know(world: World) -> None:
    """A moderator finds nothing of a child-safety case, not even a count; child-safety staff find it all."""
    leaked = []
    for query, kind in CS_QUERIES:
        q = query.format(**world.ids)
        result = world.search("mod", q, kind=kind) if kind else world.search("mod", q)
        if result["hits"] or result["next_page"] is not None:
            leaked.append((q, result))
        world.console("mod")
        page = world.api.client.get("/search", params={"q": q, "kind": kind}, follow_redirects=False)
        if page.status_code != 200 or "Nothing found" not in page.text or "grooming" in page.text.replace(q, ""):
            leaked.append((q, page.status_code, page.headers.get("location")))
        assert (world.search("cs", q, kind=kind) if kind else world.search("cs", q))["hits"], q
    assert leaked == []
    # The report by acc-cs on the counterfeit listing stays visible: it is not about a restricted subject.
    assert ("report", world.ids["rep-scam"], "text") in _found(world.search("mod", "counterfeit"))


def test_an_identifier_search_is_audited_without_the_value(world: World) -> None:
    with world.api.db.reader() as s:
        before = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    world.search("mod", EMAIL.upper())
    world.search("mod", DEVICE)
    world.search("mod", "counterfeit")  # words are no identifier: not compared, not audited
    with world.api.db.reader() as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.id > before, AuditEvent.verb.like("search.%"))
                           .order_by(AuditEvent.id)).scalars().all()
        stored = orjson.dumps([[d.kind, d.digest] for d in s.execute(select(IdentifierDigest)).scalars()]).decode().lower()
        everything = orjson.dumps([[e.before, e.after, e.object_id] for e in s.execute(select(AuditEvent)).scalars()]).decode().lower()
    assert [(e.verb, e.actor_id, e.after) for e in events] == [
        ("search.identifier_compared", "mod", {"kinds": ["email"], "results": 1}),
        ("search.identifier_compared", "mod", {"kinds": ["device_id", "payment_fingerprint", "phone_hash"], "results": 1}),
    ]
    for value in (EMAIL.lower(), DEVICE, "7946", "2001:db8"):
        assert value not in stored and value not in everything
    # The console says so.
    world.console("mod")
    page = world.api.client.get("/search", params={"q": "203.0.113.99"})
    assert "Nothing found" in page.text and "this search is in the audit log" in page.text


def test_bad_queries_are_422_naming_the_field(world: World) -> None:
    for params, field in (({"q": ""}, "q"), ({"q": "x" * 201}, "q"), ({"q": "   "}, "q"), ({"q": "a", "page": 41}, "page"),
                          ({"q": "a", "kind": "queue"}, "kind"), ({}, "q")):
        r = world.api.client.get("/api/v1/search", params=params, headers=world.token("mod"))
        assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)


@pytest.mark.parametrize("query", ['"unbalanced', "counterfeit OR NOT", "NEAR(a b)", "col:value", "*", "a AND", "-x", "'; DROP TABLE reports; --",
                                   "()", "^start", "x:*", "&|!"])
def test_query_syntax_is_never_interpreted(world: World, query: str) -> None:
    result = world.search("mod", query)
    assert all(h["matched"] != "text" or h["id"] == world.ids["rep-scam"] for h in result["hits"])


def test_text_search_stays_current_and_pages(world: World) -> None:
    assert not world.search("mod", "tourbillon")["hits"]
    r = world.api.client.patch("/api/v1/subjects/listing-9", json={"text": "A tourbillon, wire transfer only"}, headers=world.api.auth)
    assert r.status_code == 200, r.text
    assert ("subject", world.ids["listing-9"], "text") in _found(world.search("mod", "tourbillon"))
    assert not world.search("mod", "chronographs")["hits"]
    items = [{"external_id": f"bulk-{i}", "subject_external_id": "listing-9", "policy_code": "SPAM", "reporter_type": "anonymous",
              "text": f"marmalade number {i}"} for i in range(30)]
    assert world.api.post("/api/v1/reports/batch", {"items": items}).status_code == 200
    first = world.search("mod", "Marmalade")
    second = world.search("mod", "marmalade", page=2)
    assert (len(first["hits"]), first["next_page"], len(second["hits"]), second["next_page"]) == (25, 2, 5, None)
    ids = [h["id"] for h in first["hits"] + second["hits"]]
    assert len(set(ids)) == 30 and ids == sorted(ids, reverse=True)  # newest first


def test_changed_personal_data_is_found_by_its_new_value_only(world: World) -> None:
    r = world.api.client.patch("/api/v1/subjects/acc-scam", json={"personal": {"email": "new@example.org"}}, headers=world.api.auth)
    assert r.status_code == 200, r.text
    assert not world.search("mod", EMAIL)["hits"]
    assert ("subject", world.ids["acc-scam"], "email") in _found(world.search("mod", "NEW@example.org"))


def test_rebuilding_the_index_restores_lookups(world: World) -> None:
    with world.api.db.session() as s:
        s.execute(delete(IdentifierDigest))
    assert not world.search("mod", DEVICE)["hits"]
    with world.api.db.session() as s:
        assert identifier_index.rebuild(s) == 8  # 2 emails + 1 phone + 1 notifier email + 2 IPs + 2 device ids
    assert ("subject", world.ids["acc-scam"], "device_id") in _found(world.search("mod", DEVICE))
    assert ("report", world.ids["rep-scam"], "email") in _found(world.search("mod", "brand.protection@example.com"))


def test_postgresql_text_search_uses_its_index(world: World) -> None:
    with world.api.db.session() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's GIN index")
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(s.execute(text(
            "EXPLAIN SELECT id FROM reports WHERE to_tsvector('simple', coalesce(reports.text, '') || ' ' || "
            "coalesce(reports.dsa_explanation, '')) @@ plainto_tsquery('simple', 'counterfeit')")).scalars())
    assert "ix_reports_text_search" in plan
