"""Next case, leases, assignment, eligibility, and no two reviewers ever holding one case."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.cases import factories
from trustdesk.cases import access, claiming, sla, wellness
from trustdesk.cases.claiming import CaseNotHeld
from trustdesk.domain.errors import Conflict, FieldError, Forbidden, NotFound
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Case, CaseSkip, as_utc, utcnow


def test_next_case_takes_the_highest_score_then_the_earliest_due(db: Database, settings: Settings) -> None:
    with db.session() as s:
        q = factories.queue(s)
        ids = factories.open_cases(s, q.id, 5)
        s.execute(update(Case).values(priority_score=50.0))
        s.execute(update(Case).where(Case.id == ids[3]).values(due_at=utcnow() - timedelta(minutes=5)))
        s.execute(update(Case).where(Case.id == ids[1]).values(priority_score=90.0))
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
    order = []
    with db.session() as s:
        for _ in range(3):
            claim = claiming.next_case(s, alice)
            order.append(claim.case.id)
            s.execute(update(Case).where(Case.id == claim.case.id).values(status="decided"))
    assert order[:2] == [ids[1], ids[3]]


def _one_case_and_two_reviewers(db: Database, settings: Settings) -> tuple[int, access.Reviewer, access.Reviewer]:
    with db.session() as s:
        q = factories.queue(s)
        [case_id] = factories.open_cases(s, q.id, 1)
        return case_id, factories.reviewer(s, settings, "alice", ["moderator"]), factories.reviewer(s, settings, "bob", ["moderator"])


def test_lease_blocks_others_until_it_expires_and_renew_extends_it(db: Database, settings: Settings) -> None:
    case_id, alice, bob = _one_case_and_two_reviewers(db, settings)
    with db.session() as s:
        assert claiming.next_case(s, alice).case.id == case_id
    with db.session() as s:
        assert claiming.next_case(s, bob).case is None
        with pytest.raises(CaseNotHeld):
            claiming.renew(s, bob, case_id)
        claiming.renew(s, alice, case_id)
    with db.session() as s:  # the lease runs out: the case goes back to the queue
        s.execute(update(Case).where(Case.id == case_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    with db.session() as s:
        assert claiming.next_case(s, bob).case.id == case_id
    with db.session() as s, pytest.raises(CaseNotHeld):
        claiming.held(s, alice, case_id)


def test_taking_the_next_case_releases_the_previous_one(db: Database, settings: Settings) -> None:
    with db.session() as s:
        q = factories.queue(s)
        factories.open_cases(s, q.id, 2)
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
    with db.session() as s:
        first = claiming.next_case(s, alice).case.id
    with db.session() as s:
        second = claiming.next_case(s, alice).case.id
    with db.reader() as s:
        assert s.get(Case, first).claimed_by is None and s.get(Case, second).claimed_by == alice.id


def test_roles_languages_and_assignment(db: Database, settings: Settings) -> None:
    with db.session() as s:
        cs = factories.queue(s, "Child safety", routing_expression="policy.code == 'CSAM'", required_roles=["child-safety"])
        es = factories.queue(s, "Spanish", routing_expression="subject.language == 'es'", required_languages=["es"])
        general = factories.queue(s)
        [cs_case] = factories.open_cases(s, cs.id, 1)
        [es_case] = factories.open_cases(s, es.id, 1, start=1)
        [general_case] = factories.open_cases(s, general.id, 1, start=2)
        mod = factories.reviewer(s, settings, "mod", ["moderator"])
        hispanic = factories.reviewer(s, settings, "ana", ["moderator"], ["es", "pt"])
        child = factories.reviewer(s, settings, "cs", ["child-safety"])
        senior = factories.reviewer(s, settings, "sen", ["senior", "child-safety"])
        s.execute(update(Case).where(Case.id == general_case).values(priority_score=0.0))
    with db.session() as s:
        assert claiming.next_case(s, hispanic).case.id == es_case
        assert claiming.next_case(s, child).case.id == cs_case
    with db.session() as s:
        claiming.release_all(s, child.id)
        claiming.release_all(s, hispanic.id)
    sen = factories.Actor("staff", "sen")
    for case_id, assignee in ((cs_case, mod), (es_case, mod)):  # the queue's roles, then its languages
        with db.session() as s, pytest.raises(FieldError) as refused:
            claiming.assign(s, sen, senior, case_id, assignee.id)
        assert (refused.value.status, refused.value.field) == (422, "staff_id")
    with db.session() as s, pytest.raises(NotFound) as unseen:  # an assigner must see the case
        claiming.assign(s, sen, access.Reviewer(senior.id, ("senior",)), cs_case, child.id)
    assert unseen.value.field == "case_id"
    with db.session() as s:
        claiming.assign(s, sen, senior, general_case, mod.id)
    with db.session() as s:  # an assigned case comes first, before higher scores
        assert claiming.next_case(s, mod).case.id == general_case
    with db.reader() as s:
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.verb == "case.assigned")).scalar_one()


def test_an_assignment_never_serves_a_case_from_a_queue_the_reviewer_may_not_work(db: Database, settings: Settings) -> None:
    """The claim's "assigned to me" branch follows the queue rules too (an old or escalated assignment)."""
    with db.session() as s:
        cs = factories.queue(s, "Child safety", routing_expression="policy.code == 'CSAM'", required_roles=["child-safety"])
        [cs_case] = factories.open_cases(s, cs.id, 1)
        mod = factories.reviewer(s, settings, "mod", ["moderator"])
        s.execute(update(Case).where(Case.id == cs_case).values(assigned_to=mod.id))
    with db.session() as s:
        assert claiming.next_case(s, mod).case is None
    with db.reader() as s:
        assert s.get_one(Case, cs_case).claimed_by is None


def test_graphic_queue_pauses_at_the_exposure_limit_and_stepping_out_works(db: Database, settings: Settings) -> None:
    with db.session() as s:
        g = factories.queue(s, "Graphic", routing_expression="policy.graphic", graphic=True, exposure_limit_per_hour=2)
        factories.open_cases(s, g.id, 5)
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
    for _ in range(2):
        with db.session() as s:
            assert claiming.next_case(s, alice).case is not None
    with db.session() as s:
        claim = claiming.next_case(s, alice)
        assert claim.case is None and claim.paused_queues == ["Graphic"]
        assert wellness.exposure_this_hour(s, alice.id) == 2
    with db.session() as s:
        bob = factories.reviewer(s, settings, "bob", ["moderator"])
        wellness.step_out(s, bob, g.id)
    with db.session() as s:
        assert claiming.next_case(s, bob).case is None
        wellness.step_back_in(s, bob.id, g.id)
    with db.session() as s:
        assert claiming.next_case(s, bob).case is not None


def test_concurrent_claims_never_hand_out_a_case_twice(db: Database, settings: Settings) -> None:
    """Many reviewers claiming at once, each in its own connection: zero duplicates."""
    if db.is_sqlite:
        pytest.skip("concurrency proof runs on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE")
    threads_n, cases_n = 16, 400
    with db.session() as s:
        q = factories.queue(s)
        factories.open_cases(s, q.id, cases_n)
        reviewers = [factories.reviewer(s, settings, f"r{i}", ["moderator"]) for i in range(threads_n)]
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(reviewer: access.Reviewer) -> None:
        try:
            while True:
                with db.session() as s:
                    claim = claiming.next_case(s, reviewer)
                    if claim.case is None:
                        return
                    claim.case.status = "decided"  # done with it: never offered again
                    with lock:
                        taken.append(claim.case.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors, errors
    duplicates = [case for case, n in Counter(taken).items() if n > 1]
    assert duplicates == [] and len(taken) == cases_n


# --- skips, one queue at a time, the maximum hold -----------------------------------------


def _decide(session: Session, case_id: int) -> None:
    session.execute(update(Case).where(Case.id == case_id).values(status="decided"))


def test_a_skipped_case_is_not_served_again_to_that_reviewer_until_the_skip_ends(db: Database, settings: Settings) -> None:
    with db.session() as s:
        q = factories.queue(s)
        first, second, third = factories.open_cases(s, q.id, 3)
        s.execute(update(Case).where(Case.id == first).values(priority_score=90.0))
        s.execute(update(Case).where(Case.id == second).values(priority_score=80.0))
        s.execute(update(Case).where(Case.id == third).values(priority_score=70.0))
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
        bob = factories.reviewer(s, settings, "bob", ["moderator"])
    terms = claiming.Terms(skip=timedelta(minutes=30))
    with db.session() as s:
        assert claiming.next_case(s, alice, terms).case.id == first
    with db.session() as s:  # "next case" while holding one: a skip, remembered in the database
        assert claiming.next_case(s, alice, terms).case.id == second
    with db.reader() as s:
        [row] = s.execute(select(CaseSkip)).scalars().all()
        assert (row.staff_id, row.case_id) == (alice.id, first)
        assert abs((as_utc(row.until) - utcnow() - timedelta(minutes=30)).total_seconds()) < 60
    for _ in range(2):  # decisions pass; the skipped case still does not come back to alice
        with db.session() as s:
            current = s.execute(select(Case.id).where(Case.claimed_by == alice.id, Case.status == "open")).scalar_one()
            _decide(s, current)
            claim = claiming.next_case(s, alice, terms)
            assert claim.case is None or claim.case.id != first
    with db.session() as s:  # ... while anyone else gets it at once
        assert claiming.next_case(s, bob, terms).case.id == first
        claiming.release_all(s, bob.id)
    with db.session() as s:  # the skip runs out: alice may be served it again
        s.execute(update(CaseSkip).values(until=utcnow() - timedelta(seconds=1)))
    with db.session() as s:
        assert claiming.next_case(s, alice, terms).case.id == first


def test_skipping_again_extends_the_skip_and_the_sla_sweep_clears_ended_ones(db: Database, settings: Settings) -> None:
    with db.session() as s:
        q = factories.queue(s)
        ids = factories.open_cases(s, q.id, 3)
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
        s.add(CaseSkip(staff_id=alice.id, case_id=ids[2], until=utcnow() - timedelta(minutes=1)))
        later = utcnow() + timedelta(minutes=10)
        claiming.skip(s, alice.id, [ids[0]], utcnow() + timedelta(minutes=5))
    with db.session() as s:
        claiming.skip(s, alice.id, [ids[0], ids[1]], later)
    sla.sweep(db)
    with db.reader() as s:
        skips = {row.case_id: as_utc(row.until) for row in s.execute(select(CaseSkip)).scalars()}
    assert skips == {ids[0]: later, ids[1]: later}


def test_next_case_from_one_queue_takes_only_from_it(db: Database, settings: Settings) -> None:
    with db.session() as s:
        scams = factories.queue(s, "Scams", routing_expression="policy.code == 'SCAM'")
        general = factories.queue(s)
        spanish = factories.queue(s, "Spanish", routing_expression="subject.language == 'es'", required_languages=["es"])
        graphic = factories.queue(s, "Graphic", routing_expression="policy.graphic", graphic=True, exposure_limit_per_hour=1)
        [scam_case] = factories.open_cases(s, scams.id, 1)
        [general_case] = factories.open_cases(s, general.id, 1, start=1)
        factories.open_cases(s, spanish.id, 1, start=2)
        factories.open_cases(s, graphic.id, 2, start=3)
        s.execute(update(Case).where(Case.id == general_case).values(priority_score=99.0))
        s.execute(update(Case).where(Case.id == scam_case).values(priority_score=1.0))
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
    with db.session() as s:  # the general case is more urgent, but alice works the scam queue
        assert claiming.next_case(s, alice, queue_id=scams.id).case.id == scam_case
    with db.session() as s:
        assert claiming.next_case(s, alice, queue_id=scams.id).case is None  # that queue is done for her
        assert s.execute(select(Case.claimed_by).where(Case.id == general_case)).scalar_one() is None
    with db.session() as s, pytest.raises(Forbidden) as languages:
        claiming.next_case(s, alice, queue_id=spanish.id)
    assert languages.value.field == "queue_id" and "roles or languages" in str(languages.value)
    with db.session() as s:
        wellness.step_out(s, alice, graphic.id)
    with db.session() as s, pytest.raises(Conflict) as stepped_out:
        claiming.next_case(s, alice, queue_id=graphic.id)
    assert "stepped out" in str(stepped_out.value)
    with db.session() as s:
        wellness.step_back_in(s, alice.id, graphic.id)
    with db.session() as s:
        assert claiming.next_case(s, alice, queue_id=graphic.id).case is not None
    with db.session() as s:  # one graphic case this hour is her limit: paused, said as such
        claim = claiming.next_case(s, alice, queue_id=graphic.id)
        assert claim.case is None and claim.paused_queues == ["Graphic"]
    with db.session() as s, pytest.raises(NotFound):
        claiming.next_case(s, alice, queue_id=10**9)


def test_a_claim_holds_at_most_the_maximum_then_goes_back_to_the_queue(db: Database, settings: Settings) -> None:
    terms = claiming.Terms(max_hold=timedelta(minutes=60))
    case_id, alice, bob = _one_case_and_two_reviewers(db, settings)
    with db.session() as s:
        case = claiming.next_case(s, alice, terms).case
        assert as_utc(case.claimed_at) > utcnow() - timedelta(minutes=1)
    with db.session() as s:  # 58 minutes in: a renewal runs to the hour, not a full lease beyond it
        s.execute(update(Case).where(Case.id == case_id).values(claimed_at=utcnow() - timedelta(minutes=58)))
    with db.session() as s:
        renewed = claiming.renew(s, alice, case_id, terms)
        limit = as_utc(renewed.claimed_at) + timedelta(minutes=60)
        assert as_utc(renewed.lease_until) == limit
    with db.session() as s:  # the hour passes (the lease ended with it): the renewal is refused ...
        s.execute(update(Case).where(Case.id == case_id).values(
            claimed_at=utcnow() - timedelta(minutes=61), lease_until=utcnow() - timedelta(minutes=1)))
    with db.session() as s, pytest.raises(CaseNotHeld) as refused:
        claiming.renew(s, alice, case_id, terms)
    assert "the most one claim may" in str(refused.value) and refused.value.status == 409
    with db.session() as s:  # ... and the case is back in the queue for anyone
        assert claiming.next_case(s, bob, terms).case.id == case_id
    with db.session() as s, pytest.raises(CaseNotHeld) as taken:
        claiming.renew(s, alice, case_id, terms)
    assert str(taken.value) == "case_id: you do not hold this case; take it again from the queue"


def test_a_skip_holds_in_every_process(db: Database, settings: Settings) -> None:
    """Another process (its own engine and connections) honours a skip made here."""
    with db.session() as s:
        q = factories.queue(s)
        first, second = factories.open_cases(s, q.id, 2)
        s.execute(update(Case).where(Case.id == first).values(priority_score=90.0))
        alice = factories.reviewer(s, settings, "alice", ["moderator"])
    with db.session() as s:
        assert claiming.next_case(s, alice).case.id == first
        assert claiming.next_case(s, alice).case.id == second
    elsewhere = Database(settings.effective_database_url)
    try:
        with elsewhere.session() as s:
            _decide(s, second)
            assert claiming.next_case(s, alice).case is None
    finally:
        elsewhere.dispose()
