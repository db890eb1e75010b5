"""Appeals: filing (idempotent, one open per decision, within the window), the appeal case and
who may decide it, overturning and upholding, notifiers' appeals, need-to-know, outcome counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from tests.concurrency import together
from tests.enforcement.conftest import SETUP, World, account, item
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth.staff import create_user
from trustdesk.cases import claiming
from trustdesk.cases.access import Reviewer, visible_case
from trustdesk.cases.queues import STARTER_QUEUES, appeals_queue, save_queue
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict, FieldError, Forbidden, NotFound
from trustdesk.domain.vocabulary import Appellant
from trustdesk.enforcement.appeals import (
    AppealRequest,
    Filer,
    appeal_file,
    decide_appeal,
    file_appeal,
    outcome_counts,
)
from trustdesk.enforcement.decisions import DecisionRequest, decide_case
from trustdesk.store.database import Database
from trustdesk.store.models import Appeal, Case, Decision, EnforcementAction, Queue, Report, Strike, utcnow

WINDOW = timedelta(days=183)
ALICE = Actor("staff", "alice")
HOST = Actor("client", "market-backend")


@pytest.fixture
def senior(world: World, settings: Settings) -> Reviewer:
    with world.db.session() as s:
        return Reviewer.of(create_user(s, SETUP, settings, username="carol", password="long-enough-password",
                                       roles=["senior"], with_totp=False))


def _scam_decision(world: World, n: int = 1, *, verdict: str = "violation", reporter: dict[str, object] | None = None) -> Decision:
    """Alice decides a case on a seller's listing: removed, a strike and a week's suspension
    (or no violation)."""
    ids = world.add_subjects(account(f"seller-{n}"), item(f"lst-{n}", "listing", owner=f"seller-{n}"))
    report = {"external_id": f"r-{n}", "subject_external_id": f"lst-{n}", "policy_code": "SCAM", "reporter_type": "anonymous"}
    reports = world.file(report | (reporter or {}))
    case_id = world.open_case(ids[f"lst-{n}"], reports, claimed_by=world.alice, policy_code="SCAM")
    request = (DecisionRequest("SCAM", verdict="violation", actions=["remove", "strike", "suspend"], params={"days": 7}, rationale="a scam")
               if verdict == "violation" else DecisionRequest("SCAM", verdict="no_violation", rationale="an ordinary listing"))
    with world.db.session() as s:
        decision = decide_case(s, Reviewer(world.alice, ("moderator",)), ALICE, case_id, request)
        s.flush()
        s.expunge(decision)
    return decision


def _file(db: Database, app_id: int, request: AppealRequest, **kwargs: object) -> tuple[Appeal, bool]:
    with db.session() as s:
        appeal, created = file_appeal(s, Filer(HOST, app_id=app_id), request, window=WINDOW, **kwargs)  # type: ignore[arg-type]
        s.flush()
        s.expunge(appeal)
        return appeal, created


def _user_appeal(decision_id: int, external_id: str = "ap-1", statement: str = "It is my own bag, I have the receipt") -> AppealRequest:
    return AppealRequest(Appellant.USER, statement, decision_id=decision_id, external_id=external_id)


def _claim_appeal(world: World, who: Reviewer) -> Case | None:
    with world.db.session() as s:
        queue_id = appeals_queue(s, SETUP).id
        claimed = claiming.next_case(s, who, queue_id=queue_id).case
        return None if claimed is None else s.get_one(Case, claimed.id)


def _decide(world: World, who: Reviewer, case_id: int, outcome: str, rationale: str = "the receipt is genuine") -> Appeal:
    with world.db.session() as s:
        appeal = decide_appeal(s, who, Actor("staff", "carol"), case_id, outcome, rationale)
        s.flush()
        s.expunge(appeal)
        return appeal


def test_an_appeal_opens_a_case_in_the_appeals_queue_and_a_retry_answers_the_same(world: World) -> None:
    decision = _scam_decision(world)
    appeal, created = _file(world.db, world.app_id, _user_appeal(decision.id))
    again, created_again = _file(world.db, world.app_id, _user_appeal(decision.id))
    assert (created, created_again, again.id) == (True, False, appeal.id)
    with world.db.reader() as s:
        case = s.get_one(Case, appeal.case_id)
        queue = s.get_one(Queue, case.queue_id)
        assert (case.kind, case.status, case.subject_id, case.policy_code) == ("appeal", "open", decision.subject_id, "SCAM")
        assert (queue.name, queue.required_roles) == ("Appeals", ["escalations", "senior"])
        assert case.due_at > utcnow() + timedelta(hours=23)  # the Appeals queue's SLA, in days
        assert (appeal.original_reviewer_id, appeal.outcome, appeal.appellant) == (world.alice, None, "user")
        assert verify_chain(s).ok
    with pytest.raises(Conflict) as changed:
        _file(world.db, world.app_id, _user_appeal(decision.id, statement="something else"))
    assert changed.value.field == "external_id"


def test_a_decision_has_one_open_appeal_and_an_action_names_its_decision(world: World) -> None:
    decision = _scam_decision(world)
    _file(world.db, world.app_id, _user_appeal(decision.id))
    with world.db.reader() as s:
        action_id = s.execute(select(EnforcementAction.id).where(EnforcementAction.decision_id == decision.id)).scalars().first()
    with pytest.raises(Conflict) as second:
        _file(world.db, world.app_id, AppealRequest(Appellant.USER, "again", action_id=action_id, external_id="ap-2"))
    assert second.value.field == "action_id" and "open appeal" in second.value.message
    with world.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Appeal)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Case).where(Case.kind == "appeal")).scalar_one() == 1


def test_the_window_and_what_may_be_appealed_are_checked_naming_the_field(world: World) -> None:
    decision = _scam_decision(world)
    with pytest.raises(FieldError) as late:
        _file(world.db, world.app_id, _user_appeal(decision.id), now=utcnow() + timedelta(days=184))
    assert (late.value.status, late.value.field) == (422, "decision_id") and "window closed" in late.value.message
    appeal, _ = _file(world.db, world.app_id, _user_appeal(decision.id), now=utcnow() + timedelta(days=182))
    assert appeal.id
    first_of_july = _scam_decision(world, 3)
    with world.db.session() as s:
        s.execute(update(Decision).where(Decision.id == first_of_july.id).values(created_at=datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)))
    # 184 days later, an hour before six calendar months are up: still in time (183 days would have closed it)
    late_but_in_time, _ = _file(world.db, world.app_id, _user_appeal(first_of_july.id, "ap-july"),
                                now=datetime(2027, 1, 1, 9, 0, tzinfo=timezone.utc))
    assert late_but_in_time.id
    fine = _scam_decision(world, 2, verdict="no_violation")
    with pytest.raises(FieldError) as nothing_against:
        _file(world.db, world.app_id, _user_appeal(fine.id, "ap-3"))
    assert nothing_against.value.field == "decision_id"
    with pytest.raises(NotFound) as unknown:
        _file(world.db, world.app_id, _user_appeal(999_999, "ap-4"))
    assert unknown.value.field == "decision_id"
    with pytest.raises(NotFound):  # another app's decision is not found
        _file(world.db, world.app_id + 1000, _user_appeal(decision.id, "ap-5"))
    with pytest.raises(FieldError) as both:
        _file(world.db, world.app_id, AppealRequest(Appellant.USER, "x", decision_id=decision.id, action_id=1, external_id="ap-6"))
    assert both.value.field == "decision_id"
    with pytest.raises(FieldError) as blank:
        _file(world.db, world.app_id, _user_appeal(decision.id, "ap-7", statement="   "))
    assert blank.value.field == "statement"


def test_overturning_reverses_every_action_and_revokes_the_strike(world: World, senior: Reviewer) -> None:
    decision = _scam_decision(world)
    assert world.visibility(decision.subject_id) == ["removed"]
    appeal, _ = _file(world.db, world.app_id, _user_appeal(decision.id))
    case = _claim_appeal(world, senior)
    assert case is not None and case.id == appeal.case_id
    decided = _decide(world, senior, case.id, "overturned")
    assert (decided.outcome, decided.decided_by) == ("overturned", senior.id)
    with world.db.reader() as s:
        seller = s.get_one(Strike, s.execute(select(Strike.id)).scalar_one()).account_id
        assert world.visibility(decision.subject_id, seller) == ["visible", "visible"]  # reinstated, suspension lifted
        assert s.execute(select(Strike.revoked_at)).scalar_one() is not None
        statuses = s.execute(select(EnforcementAction.kind, EnforcementAction.status).where(
            EnforcementAction.decision_id == decision.id).order_by(EnforcementAction.id)).all()
        assert {status for _, status in statuses} == {"undone"} and {k for k, _ in statuses} >= {"remove", "suspend"}
        judged = s.get_one(Decision, decided.outcome_decision_id)
        assert (judged.kind, judged.judges_decision_id, judged.verdict, judged.reviewer_id, judged.actions) == (
            "appeal", decision.id, "no_violation", senior.id, [])
        assert judged.automated_decision == "not_automated"
        assert s.get_one(Case, case.id).status == "decided"
        assert verify_chain(s).ok


def test_upholding_leaves_the_decision_standing(world: World, senior: Reviewer) -> None:
    decision = _scam_decision(world)
    appeal, _ = _file(world.db, world.app_id, _user_appeal(decision.id))
    case = _claim_appeal(world, senior)
    assert case is not None
    decided = _decide(world, senior, case.id, "upheld", "the photos are the brand's stock photos")
    with world.db.reader() as s:
        assert world.visibility(decision.subject_id) == ["removed"]
        assert s.execute(select(Strike.revoked_at)).scalar_one() is None
        assert s.get_one(Decision, decided.outcome_decision_id).verdict == "violation"
    with pytest.raises(claiming.CaseNotHeld):  # decided once
        _decide(world, senior, case.id, "overturned")
    again, created = _file(world.db, world.app_id, _user_appeal(decision.id, "ap-2", "one more try"))
    assert created and again.id != appeal.id  # the one open appeal was decided


def test_bad_outcomes_are_refused_before_anything_changes(world: World, senior: Reviewer) -> None:
    decision = _scam_decision(world)
    _file(world.db, world.app_id, _user_appeal(decision.id))
    case = _claim_appeal(world, senior)
    assert case is not None
    for outcome, rationale, field in (("maybe", "x", "outcome"), ("overturned", "  ", "rationale")):
        with pytest.raises(FieldError) as refused:
            _decide(world, senior, case.id, outcome, rationale)
        assert refused.value.field == field
    with world.db.session() as s, pytest.raises(FieldError) as tree:
        decide_case(s, senior, Actor("staff", "carol"), case.id, DecisionRequest("SCAM", verdict="no_violation"))
    assert tree.value.field == "case_id"
    assert world.visibility(decision.subject_id) == ["removed"]


def test_the_original_reviewer_is_never_served_assigned_nor_allowed_to_decide_the_appeal(world: World, settings: Settings) -> None:
    decision = _scam_decision(world)
    appeal, _ = _file(world.db, world.app_id, _user_appeal(decision.id))
    with world.db.session() as s:  # alice becomes a senior: the Appeals queue is hers to work, not this case
        alice = create_user(s, SETUP, settings, username="alice-senior", password="long-enough-password", roles=["senior"], with_totp=False)
        s.execute(update(Appeal).where(Appeal.id == appeal.id).values(original_reviewer_id=alice.id))
        other = create_user(s, SETUP, settings, username="dave", password="long-enough-password", roles=["senior"], with_totp=False)
        me, dave = Reviewer.of(alice), Reviewer.of(other)
    assert _claim_appeal(world, me) is None
    with world.db.session() as s, pytest.raises(FieldError) as assigned:
        claiming.assign(s, Actor("staff", "dave"), dave, appeal.case_id, me.id)
    assert assigned.value.field == "staff_id"
    with world.db.session() as s:  # even holding it somehow, she may not decide it
        s.execute(update(Case).where(Case.id == appeal.case_id).values(claimed_by=me.id, lease_until=utcnow() + timedelta(minutes=5)))
    with pytest.raises(Forbidden):
        _decide(world, me, appeal.case_id, "overturned")
    with world.db.session() as s:
        s.execute(update(Case).where(Case.id == appeal.case_id).values(claimed_by=None, lease_until=None))
        assert visible_case(s, me, appeal.case_id).id == appeal.case_id  # she may read it
    case = _claim_appeal(world, dave)
    assert case is not None and case.id == appeal.case_id


def test_a_notifier_appeals_no_violation_and_overturning_reviews_the_notice_again(world: World, senior: Reviewer) -> None:
    notifier = {"reporter_type": "trusted_flagger", "dsa": {"notifier_email": "tf@example.org", "notifier_name": "Brand Watch"}}
    decision = _scam_decision(world, verdict="no_violation", reporter=notifier)
    with pytest.raises(FieldError) as by_decision:  # a notifier names its notice
        _file(world.db, world.app_id, AppealRequest(Appellant.NOTIFIER, "it is a scam", decision_id=decision.id, external_id="n-1"))
    assert by_decision.value.field == "report_external_id"
    appeal, _ = _file(world.db, world.app_id, AppealRequest(Appellant.NOTIFIER, "It is a scam: see the fake payment link",
                                                            report_external_id="r-1", external_id="n-1"))
    assert appeal.decision_id == decision.id and appeal.report_id is not None
    case = _claim_appeal(world, senior)
    assert case is not None
    _decide(world, senior, case.id, "overturned", "the payment link is a known phishing domain")
    with world.db.reader() as s:
        report = s.get_one(Report, appeal.report_id)
        reopened = s.get_one(Case, report.case_id)
        assert (report.status, reopened.kind, reopened.status) == ("open", "report", "open")
        assert reopened.id != decision.case_id
        assert verify_chain(s).ok
    assert world.visibility(decision.subject_id) == ["visible"]  # decided again under the tree, by whoever takes the case


def test_the_appeal_of_a_child_safety_decision_stays_with_child_safety_staff(world: World, settings: Settings) -> None:
    with world.db.session() as s:
        child_safety = save_queue(s, SETUP, next(q for q in STARTER_QUEUES if q.name == "Child safety"))
        specialist = Reviewer.of(create_user(s, SETUP, settings, username="cs", password="long-enough-password",
                                             roles=["child-safety"], with_totp=False))
        plain = Reviewer.of(create_user(s, SETUP, settings, username="sen", password="long-enough-password",
                                        roles=["senior"], with_totp=False))
    ids = world.add_subjects(account("groomer"))
    reports = world.file({"external_id": "cs-1", "subject_external_id": "groomer", "policy_code": "CHILD_GROOMING",
                          "reporter_type": "anonymous"})
    case_id = world.open_case(ids["groomer"], reports, claimed_by=specialist.id, policy_code="CHILD_GROOMING")
    with world.db.session() as s:
        s.execute(update(Case).where(Case.id == case_id).values(queue_id=child_safety.id))
        decision = decide_case(s, specialist, Actor("staff", "cs"), case_id,
                               DecisionRequest("CHILD_GROOMING", verdict="violation", actions=["ban"], rationale="grooming"))
        decision_id = decision.id
    appeal, _ = _file(world.db, world.app_id, _user_appeal(decision_id))
    with world.db.reader() as s:
        assert s.get_one(Case, appeal.case_id).queue_id == child_safety.id
        with pytest.raises(NotFound):
            visible_case(s, plain, appeal.case_id)
        with pytest.raises(NotFound):
            appeal_file(s, plain, appeal.case_id)
        seen = appeal_file(s, specialist, appeal.case_id)
        assert seen is not None and seen.original.id == decision_id and [a.kind for a in seen.actions] == ["ban"]
    with world.db.session() as s:
        assert claiming.next_case(s, plain).case is None


def test_outcomes_are_counted_by_original_reviewer_and_policy(world: World, senior: Reviewer) -> None:
    for n, outcome in ((1, "overturned"), (2, "upheld"), (3, "upheld")):
        decision = _scam_decision(world, n)
        _file(world.db, world.app_id, _user_appeal(decision.id, f"ap-{n}"))
        case = _claim_appeal(world, senior)
        assert case is not None
        _decide(world, senior, case.id, outcome)
    _file(world.db, world.app_id, _user_appeal(_scam_decision(world, 4).id, "ap-4"))  # open: not counted
    with world.db.reader() as s:
        counts = outcome_counts(s)
    assert [(c.reviewer, c.policy_code, c.upheld, c.overturned) for c in counts] == [("alice", "SCAM", 2, 1)]


def test_appeals_sent_together_make_one_appeal_and_one_case(world: World) -> None:
    if world.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    decision = _scam_decision(world)
    answers: list[int] = []
    conflicts: list[str] = []

    def send(external_id: str) -> None:
        try:
            answers.append(_file(world.db, world.app_id, _user_appeal(decision.id, external_id))[0].id)
        except Conflict as exc:
            conflicts.append(exc.field)

    together([lambda: send("same")] * 4 + [lambda: send("other-1"), lambda: send("other-2")])
    with world.db.reader() as s:
        appeals = s.execute(select(Appeal)).scalars().all()
        assert len(appeals) == 1 and s.execute(select(func.count()).select_from(Case).where(Case.kind == "appeal")).scalar_one() == 1
    winner = appeals[0]
    if winner.external_id == "same":
        assert answers == [winner.id] * 4 and conflicts == ["decision_id"] * 2
    else:  # one of the others won: every other appeal meets the open one
        assert answers == [winner.id] and conflicts == ["decision_id"] * 5
