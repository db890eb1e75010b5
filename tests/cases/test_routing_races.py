"""Routing under concurrent intake: one open report case per subject is the database's rule.

First reports on one subject arriving at once open exactly one case that holds them all; two
batches touching the same subjects in opposite orders both succeed (case locks are taken in id
order and new cases inserted in subject order, so neither waits on the other in a cycle). The
races are PostgreSQL's; on SQLite writers take turns and the same tests pass trivially.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit.verify import verify_chain
from trustdesk.domain.vocabulary import CaseKind
from trustdesk.store import counters
from trustdesk.store.models import Case, Report, Subject

N = 16


def _post_all(api: Api, requests: list[tuple[str, Any]]) -> list[Any]:
    answers: list[Any] = [None] * len(requests)

    def one(n: int) -> None:
        answers[n] = api.post(*requests[n])

    together([lambda n=n: one(n) for n in range(len(requests))])
    return answers


def _subjects(api: Api, *external_ids: str) -> None:
    items = [{"external_id": ext, "kind": "post", "text": ext} for ext in external_ids]
    assert api.post("/api/v1/subjects/batch", {"items": items}).status_code == 200


def _report(ext: str, subject: str, policy: str = "SPAM") -> dict[str, Any]:
    return {"external_id": ext, "subject_external_id": subject, "policy_code": policy, "reporter_type": "anonymous"}


def _consistent(api: Api) -> None:
    with api.db.reader() as s:
        assert verify_chain(s).ok
        assert counters.check(s) == []


def test_first_reports_on_one_subject_at_once_open_one_case_holding_them_all(api: Api) -> None:
    _subjects(api, "p1")
    answers = _post_all(api, [("/api/v1/reports", _report(f"r{n}", "p1", "SPAM" if n % 2 else "SCAM")) for n in range(N)])
    assert Counter(a.status_code for a in answers) == {201: N}, [a.text for a in answers if a.status_code != 201]
    with api.db.reader() as s:
        [case] = s.execute(select(Case)).scalars().all()
        assert (case.kind, case.status, case.report_count) == (CaseKind.REPORT.value, "open", N)
        assert s.execute(select(func.count(Report.id)).where(Report.case_id == case.id)).scalar_one() == N
    _consistent(api)


def test_batches_on_the_same_subjects_in_opposite_orders_both_succeed(api: Api) -> None:
    names = [f"p{n}" for n in range(12)]
    _subjects(api, *names)
    # Half of the subjects already have an open case (locked when joined), half get a new one.
    assert api.post("/api/v1/reports/batch", {"items": [_report(f"old-{s}", s) for s in names[::2]]}).status_code == 200
    forward = {"items": [_report(f"a-{s}", s) for s in names]}
    backward = {"items": [_report(f"b-{s}", s, "SCAM") for s in reversed(names)]}
    rounds = 4
    requests = [("/api/v1/reports/batch", {"items": [item | {"external_id": f"{item['external_id']}-{r}"} for item in batch["items"]]})
                for r in range(rounds) for batch in (forward, backward)]
    answers = _post_all(api, requests)
    assert Counter(a.status_code for a in answers) == {200: 2 * rounds}, [a.text for a in answers if a.status_code != 200]
    with api.db.reader() as s:
        per_subject = dict(s.execute(
            select(Subject.external_id, func.count(Case.id)).join(Case, Case.subject_id == Subject.id).group_by(Subject.external_id)
        ).all())
        counts = dict(s.execute(select(Subject.external_id, Case.report_count).join(Case, Case.subject_id == Subject.id)).all())
    assert per_subject == dict.fromkeys(names, 1)
    assert counts == {name: 2 * rounds + (name in names[::2]) for name in names}
    _consistent(api)


def test_the_database_refuses_a_second_open_report_case(api: Api) -> None:
    _subjects(api, "p1")
    assert api.post("/api/v1/reports", _report("r1", "p1")).status_code == 201
    with api.db.reader() as s:
        case = s.execute(select(Case)).scalar_one()
    copy = {c.name: getattr(case, c.name) for c in Case.__table__.columns if c.name != "id"}
    with pytest.raises(IntegrityError), api.db.session() as s:
        s.add(Case(**copy))
    with api.db.session() as s:  # another kind of case may be open beside it
        s.add(Case(**copy | {"kind": CaseKind.APPEAL.value}))
