"""Concurrent identical retries through the API: many at once, zero 5xx, exactly one row.

Idempotency is the unique (app, external id) with `INSERT … ON CONFLICT DO NOTHING`, not a
look-up before the insert, so the retries that lose the race are answered as retries (200 and
the original receipt), or 409 when their content differs. On SQLite writers take turns; the
race itself is PostgreSQL's, where these tests failed with 500s before.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit import personal_data
from trustdesk.audit.verify import verify_chain
from trustdesk.store import counters
from trustdesk.store.models import AccountEvent, AuditEvent, Case, MediaItem, PersonKey, Report, Subject

N = 16


def _all_at_once(api: Api, send: Callable[[int], Any]) -> list[Any]:
    """Send N requests at the same moment; their responses in order."""
    answers: list[Any] = [None] * N

    def one(n: int) -> None:
        answers[n] = send(n)

    together([lambda n=n: one(n) for n in range(N)])
    return answers


def _statuses(answers: list[Any]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def _count(api: Api, column: Any, *where: Any) -> int:
    with api.db.reader() as s:
        return s.execute(select(func.count(column)).where(*where)).scalar_one()


def _audited(api: Api, verb: str) -> int:
    return _count(api, AuditEvent.id, AuditEvent.verb == verb)


def _consistent(api: Api) -> None:
    """The audit chain verifies and the console's counters agree with a recount."""
    with api.db.reader() as s:
        assert verify_chain(s).ok
        assert counters.check(s) == []


def _account(ext: str, country: str = "DE") -> dict[str, Any]:
    return {"external_id": ext, "kind": "account", "country": country}


def test_the_same_subject_posted_at_once_is_one_subject(api: Api) -> None:
    answers = _all_at_once(api, lambda _n: api.post("/api/v1/subjects", _account("acc-1")))
    assert _statuses(answers) == {201: 1, 200: N - 1}, [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(api, Subject.id, Subject.external_id == "acc-1") == 1
    assert _audited(api, "subject.created") == 1
    _consistent(api)


def test_the_same_id_with_different_content_at_once_is_one_subject_and_named_conflicts(api: Api) -> None:
    answers = _all_at_once(api, lambda n: api.post("/api/v1/subjects", _account("acc-1", "DE" if n % 2 else "FR")))
    statuses = _statuses(answers)
    assert statuses[201] == 1 and statuses[200] + statuses[409] == N - 1 and statuses[409] >= N // 2 - 1, statuses
    assert all(a.json()["field"] == "external_id" for a in answers if a.status_code == 409)
    assert _count(api, Subject.id, Subject.external_id == "acc-1") == 1
    assert _audited(api, "subject.created") == 1
    _consistent(api)


def test_the_same_batch_at_once_resolves_parents_that_lost_the_race(api: Api) -> None:
    batch = {"items": [
        _account("acc-1"),
        {"external_id": "shop-1", "kind": "shop", "account_external_id": "acc-1", "title": "Shop"},
        {"external_id": "lst-1", "kind": "listing", "parent_external_id": "shop-1", "title": "Bag"},
    ]}
    answers = _all_at_once(api, lambda _n: api.post("/api/v1/subjects/batch", batch))
    assert _statuses(answers) == {200: N}, [a.text for a in answers if a.status_code != 200]
    assert Counter(item["status"] for a in answers for item in a.json()["items"]) == {"created": 3, "existing": 3 * N - 3}
    assert _count(api, Subject.id) == 3
    assert _audited(api, "subject.created") == 3
    _consistent(api)


def _report(ext: str, subject: str) -> dict[str, Any]:
    return {"external_id": ext, "subject_external_id": subject, "policy_code": "SCAM", "reporter_type": "anonymous", "text": "scam"}


def test_the_same_report_posted_at_once_is_one_report_in_one_case(api: Api) -> None:
    assert api.post("/api/v1/subjects", _account("acc-1")).status_code == 201
    answers = _all_at_once(api, lambda _n: api.post("/api/v1/reports", _report("rep-1", "acc-1")))
    assert _statuses(answers) == {201: 1, 200: N - 1}, [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(api, Report.id) == 1
    assert _count(api, Case.id) == 1
    with api.db.reader() as s:
        assert s.execute(select(Case.report_count)).scalar_one() == 1
    assert (_audited(api, "report.filed"), _audited(api, "case.opened"), _audited(api, "case.reports_added")) == (1, 1, 0)
    _consistent(api)


def test_reports_from_one_new_notifier_at_once_are_all_filed_under_one_key(api: Api) -> None:
    """The first report from a notifier makes their data key; many at once make it once, and every
    report's audit event is readable with the key that was kept."""
    email = "new-flagger@example.org"
    for n in range(N):
        assert api.post("/api/v1/subjects", _account(f"acc-{n}")).status_code == 201
    answers = _all_at_once(api, lambda n: api.post("/api/v1/reports", {
        "external_id": f"rep-{n}", "subject_external_id": f"acc-{n}", "policy_code": "SCAM", "reporter_type": "trusted_flagger",
        "text": "a scam", "dsa": {"notifier_email": email}}))
    assert _statuses(answers) == {201: N}, [a.text for a in answers if a.status_code >= 300]
    person = personal_data.notifier_ref(email)
    assert _count(api, PersonKey.person_ref, PersonKey.person_ref == person) == 1
    with api.db.reader() as s:
        filed = s.execute(select(AuditEvent.after).where(AuditEvent.verb == "report.filed")).scalars().all()
        assert len(filed) == N
        assert [personal_data.decrypt_value(s, after["notifier_email"], person) for after in filed] == [email] * N
    _consistent(api)


def test_the_same_account_event_posted_at_once_is_one_event(api: Api) -> None:
    assert api.post("/api/v1/subjects", _account("acc-1")).status_code == 201
    event = {"external_id": "ev-1", "account_external_id": "acc-1", "kind": "login", "occurred_at": "2026-11-01T10:00:00Z",
             "ip": "203.0.113.9"}
    answers = _all_at_once(api, lambda _n: api.post("/api/v1/account-events", event))
    assert _statuses(answers) == {201: 1, 200: N - 1}, [a.text for a in answers if a.status_code >= 300]
    assert _count(api, AccountEvent.id) == 1
    assert _audited(api, "account_event.recorded") == 1


def test_the_same_media_uploaded_at_once_is_one_item(api: Api) -> None:
    assert api.post("/api/v1/subjects", {"external_id": "p1", "kind": "photo"}).status_code == 201
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 20, 30)).save(buffer, format="PNG")
    png = buffer.getvalue()
    answers = _all_at_once(
        api, lambda _n: api.client.post("/api/v1/subjects/p1/media", files={"file": ("a.png", png, "image/png")}, headers=api.auth)
    )
    assert _statuses(answers) == {200: N}, [a.text for a in answers if a.status_code != 200]
    assert {len(a.json()["media"]) for a in answers} == {1}
    assert _count(api, MediaItem.id) == 1
    assert _audited(api, "subject.media_stored") == 1
    _consistent(api)
