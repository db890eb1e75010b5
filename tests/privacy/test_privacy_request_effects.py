"""What answering a privacy request does beyond its words, and the CCPA's receipt confirmation:

- a CCPA request to know, delete or correct is to have its receipt confirmed within 10 business
  days; the confirmation is recorded once, by privacy staff or the host platform;
- a rectification keeps the person's statement against their account: on the subject's and
  case's pages and in their access export;
- a restriction withholds the person's content from the analysers and the rules until lifted,
  an objection (or CCPA opt-out) for good; people still review reports about it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.concurrency import together
from tests.evidence.conftest import Held
from trustdesk.analysis.analysers import Analyser, AnalyserRegistry, SignalFound, SubjectView
from trustdesk.analysis.runs import ANALYSIS, analyse
from trustdesk.audit.log import Actor
from tests.conftest import TEST_PASSWORD_HASHING
from trustdesk.auth.passwords import hash_password
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.legal_deadlines import Regime
from trustdesk.domain.privacy_requests import RequestType, confirm_by
from trustdesk.domain.rules import parse_rule
from trustdesk.privacy import access_export, requests
from trustdesk.privacy.processing import withheld_from_automation
from trustdesk.rules.backtest import backtest
from trustdesk.rules.versions import save_rule
from trustdesk.store.models import AuditEvent, Case, Job, Report, RuleEvaluation, RuleHit, Signal, StaffUser, Subject, utcnow

PRIVACY = Actor("staff", "priya")
BODY = {"subject_external_id": "acc-1", "requester_name": "Mara", "requester_contact": "mara@example.org", "received_on": "2026-01-02"}


def _file(world: Held, external_id: str, regime: str, request_type: str, **changes: str) -> int:
    r = world.api.post("/api/v1/privacy-requests", BODY | {"external_id": external_id, "regime": regime, "request_type": request_type} | changes)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _answered(world: Held, request_type: str, statement: str = "") -> int:
    request_id = _file(world, f"dsr-{request_type}", "gdpr", request_type)
    with world.api.db.session() as s:
        requests.verify(s, PRIVACY, request_id, True, "signed in to the account")
        requests.complete(s, PRIVACY, request_id, "Done.", statement)
    return request_id


def test_the_ccpa_confirmation_is_due_ten_business_days_after_receipt_for_know_delete_and_correct() -> None:
    friday = date(2026, 1, 2)
    assert confirm_by(Regime.CCPA, RequestType.KNOW, friday) == date(2026, 1, 16)  # two working weeks
    assert confirm_by(Regime.CCPA, RequestType.DELETE, date(2026, 1, 5)) == date(2026, 1, 19)
    assert confirm_by(Regime.CCPA, RequestType.CORRECT, friday) == date(2026, 1, 16)
    assert confirm_by(Regime.CCPA, RequestType.LIMIT_SENSITIVE, friday) is None
    assert confirm_by(Regime.CCPA_OPT_OUT, RequestType.OPT_OUT, friday) is None
    assert confirm_by(Regime.GDPR, RequestType.ACCESS, friday) is None


def test_the_host_platform_records_the_confirmation_once_and_only_where_one_is_asked(world: Held) -> None:
    know = _file(world, "dsr-know", "ccpa", "know")
    gdpr = _file(world, "dsr-gdpr", "gdpr", "access")
    read = world.api.client.get(f"/api/v1/privacy-requests/{know}", headers=world.api.auth).json()
    assert (read["confirm_by"], read["receipt_confirmed_at"]) == ("2026-01-16", None)
    assert world.api.client.get(f"/api/v1/privacy-requests/{gdpr}", headers=world.api.auth).json()["confirm_by"] is None
    empty = world.api.post(f"/api/v1/privacy-requests/{know}/receipt-confirmation", {"how": " "})
    assert empty.status_code == 422 and empty.json()["field"] == "how"
    done = world.api.post(f"/api/v1/privacy-requests/{know}/receipt-confirmation", {"how": "email to the address given"})
    assert done.status_code == 200, done.text
    assert done.json()["receipt_confirmed_at"] is not None
    again = world.api.post(f"/api/v1/privacy-requests/{know}/receipt-confirmation", {"how": "again"})
    assert again.status_code == 409 and again.json()["field"] == "request_id"
    assert world.api.post(f"/api/v1/privacy-requests/{gdpr}/receipt-confirmation", {"how": "email"}).status_code == 409
    with world.api.db.reader() as s:
        request = requests.request_of(s, know)
        assert (request.receipt_confirmed_by, request.receipt_confirmation) == (request.created_by, "email to the address given")
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "privacy_request",
                                                        AuditEvent.object_id == str(know))).scalars().all()
        assert verbs.count("privacy_request.receipt_confirmed") == 1


def test_the_dashboard_shows_a_pending_confirmation_and_marks_a_late_one(world: Held) -> None:
    late = _file(world, "dsr-late", "ccpa", "delete", received_on="2026-03-02")  # confirm by 2026-03-16
    fresh = _file(world, "dsr-fresh", "ccpa", "know", received_on="2026-03-12")  # confirm by 2026-03-26
    told = _file(world, "dsr-told", "ccpa", "correct", received_on="2026-03-02")
    with world.api.db.session() as s:
        requests.confirm_receipt(s, PRIVACY, told, "letter posted")
    with world.api.db.reader() as s:
        rows = {r.request.id: (r.confirm_by, r.confirmation_breached) for r in requests.dashboard(s, date(2026, 3, 20))}
    assert rows[late] == (date(2026, 3, 16), True)
    assert rows[fresh] == (date(2026, 3, 26), False)
    assert rows[told] == (None, False)


def test_a_rectification_keeps_the_persons_statement_where_their_data_is_read(world: Held, settings: Settings) -> None:
    request_id = _file(world, "dsr-fix", "gdpr", "rectification")
    with world.api.db.session() as s:
        requests.verify(s, PRIVACY, request_id, True, "signed in to the account")
        with pytest.raises(FieldError) as missing:
            requests.complete(s, PRIVACY, request_id, "Noted.")
        assert missing.value.field == "statement"
    with world.api.db.session() as s:
        done = requests.complete(s, PRIVACY, request_id, "Noted.", "The post was about a school play rehearsal.")
        assert done.request.statement == "The post was about a school play rehearsal."
    access = _answerable(world, "dsr-acc", "access")
    with world.api.db.session() as s:
        with pytest.raises(FieldError) as stray:
            requests.complete(s, PRIVACY, access, "Here.", "a statement")
        assert stray.value.field == "statement"
    with world.api.db.session() as s:
        user = StaffUser(username="mo", display_name="Mo", password_hash=hash_password("x" * 16, TEST_PASSWORD_HASHING), roles=["moderator"])
        s.add(user)
        s.flush()
        case_id = s.execute(select(Case.id).where(Case.kind == "report")).scalar_one()
    world.api.open_console(settings, user.id)
    for page in (f"/subjects/{world.ids['acc-1']}", f"/cases/{case_id}"):  # the account's page, and a case on its post
        shown = world.api.client.get(page)
        assert shown.status_code == 200 and 'data-testid="statement"' in shown.text and "school play rehearsal" in shown.text, page
    other = world.api.client.get(f"/subjects/{world.ids['acc-2']}")
    assert other.status_code == 200 and "school play rehearsal" not in other.text
    export_id = _answerable(world, "dsr-export", "access")
    with world.api.db.reader() as s:
        kept = access_export.sections(s, requests.request_of(s, export_id))["privacy_requests.json"]
    assert [r["statement"] for r in kept if r["request_type"] == "rectification"] == ["The post was about a school play rehearsal."]


def _answerable(world: Held, external_id: str, request_type: str) -> int:
    request_id = _file(world, external_id, "gdpr", request_type)
    with world.api.db.session() as s:
        requests.verify(s, PRIVACY, request_id, True, "signed in to the account")
    return request_id


class Always(Analyser):
    """Finds a signal on everything it is shown."""

    name = "always"
    version = "v1"

    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        return [SignalFound("spam_scam", score=0.9, evidence={})]


def _analysed(world: Held, subject_ids: list[int]) -> dict[int, int]:
    registry = AnalyserRegistry(group=None)
    registry.register(Always())
    with world.api.db.session() as s:
        return analyse(s, ANALYSIS, subject_ids, registry)


def _queued(world: Held) -> set[int]:
    with world.api.db.reader() as s:
        return {i for payload in s.execute(select(Job.payload).where(Job.kind == "analyse_subject")).scalars() for i in payload["subject_ids"]}


def _new_posts(world: Held, *owners: str) -> dict[str, int]:
    r = world.api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": f"new-{owner}", "kind": "post", "account_external_id": owner, "text": "fresh words"} for owner in owners]})
    assert r.status_code == 200, r.text
    return {item["external_id"]: item["id"] for item in r.json()["items"]}


def test_a_restriction_withholds_the_persons_content_from_automation_until_it_is_lifted(world: Held) -> None:
    request_id = _answered(world, "restriction")
    mine = [world.ids[x] for x in ("acc-1", "post-1", "photo-1")]
    with world.api.db.reader() as s:
        assert withheld_from_automation(s, [*mine, world.ids["acc-2"], world.ids["photo-2"]]) == set(mine)
    assert _analysed(world, [world.ids["post-1"], world.ids["photo-2"]]) == {world.ids["photo-2"]: 1}
    new = _new_posts(world, "acc-1", "acc-2")
    assert new["new-acc-1"] not in _queued(world) and new["new-acc-2"] in _queued(world)
    with world.api.db.session() as s:
        save_rule(s, PRIVACY, parse_rule({"name": "everything", "expression": "true", "mode": "live",
                                          "effects": [{"type": "label", "label": "seen"}]}), source="api")
    for ext, subject in (("r-mine", "new-acc-1"), ("r-other", "new-acc-2")):
        assert world.api.post("/api/v1/reports", {"external_id": ext, "subject_external_id": subject, "policy_code": "SPAM",
                                                  "reporter_type": "anonymous"}).status_code == 201
    with world.api.db.reader() as s:
        labels = {r.subject_id: s.get_one(Case, r.case_id).labels for r in s.execute(select(Report).where(Report.external_id.in_(["r-mine", "r-other"]))).scalars()}
        assert labels == {new["new-acc-1"]: [], new["new-acc-2"]: ["seen"]}  # both reviewed by people; the rule ran on one
        assert set(s.execute(select(RuleHit.subject_id)).scalars()) == {new["new-acc-2"]}
    with world.api.db.session() as s:
        with pytest.raises(FieldError) as why:
            requests.lift_restriction(s, PRIVACY, request_id, " ")
        assert why.value.field == "reason"
        requests.lift_restriction(s, PRIVACY, request_id, "accuracy checked; the person was told")
    with world.api.db.session() as s:
        with pytest.raises(Conflict):
            requests.lift_restriction(s, PRIVACY, request_id, "again")
    assert _analysed(world, [world.ids["post-1"]]) == {world.ids["post-1"]: 1}


def test_an_objection_withholds_the_persons_content_for_good(world: Held) -> None:
    request_id = _answered(world, "objection")
    with world.api.db.reader() as s:
        assert withheld_from_automation(s, [world.ids["post-1"]]) == {world.ids["post-1"]}
    with world.api.db.session() as s:
        with pytest.raises(Conflict):
            requests.lift_restriction(s, PRIVACY, request_id, "changed my mind")
    assert _analysed(world, [world.ids["post-1"]]) == {}


def test_a_pre_publication_check_runs_no_analyser_or_rule_on_withheld_content(world: Held) -> None:
    _answered(world, "objection")
    with world.api.db.session() as s:
        save_rule(s, PRIVACY, parse_rule({"name": "takedown", "expression": "subject.text.contains('fee')", "mode": "live",
                                          "effects": [{"type": "action", "policy": "SPAM", "actions": ["remove"]}]}), source="api")
    answers = {}
    for owner in ("acc-1", "acc-2"):
        r = world.api.post("/api/v1/evaluate", {"external_id": f"check-{owner}", "kind": "post", "account_external_id": owner,
                                                "text": "pay the parcel fee", "context": {"source": "pre_publication"}})
        assert r.status_code == 200, r.text
        answers[owner] = r.json()
    assert answers["acc-2"]["verdict"] == "block" and answers["acc-2"]["signals"]
    mine = answers["acc-1"]
    assert (mine["verdict"], mine["reasons"], mine["signals"]) == ("allow", [], [])  # as if no automation were there
    with world.api.db.reader() as s:
        checked = s.execute(select(Subject.id).where(Subject.external_id == "check-acc-1")).scalar_one()  # stored all the same
        assert s.execute(select(Signal.id).where(Signal.subject_id == checked)).first() is None
        assert s.execute(select(RuleHit.id).where(RuleHit.subject_id == checked)).first() is None


def test_a_backtest_replays_no_content_of_a_person_who_objected(world: Held) -> None:
    with world.api.db.session() as s:
        save_rule(s, PRIVACY, parse_rule({"name": "fees", "expression": "subject.text.contains('fee')", "mode": "shadow"}), source="api")
    for owner in ("acc-1", "acc-2"):  # checked before the objection: stored with what the rules saw
        r = world.api.post("/api/v1/evaluate", {"external_id": f"before-{owner}", "kind": "post", "account_external_id": owner,
                                                "text": "pay the parcel fee"})
        assert r.status_code == 200, r.text
    _answered(world, "objection")
    r = world.api.post("/api/v1/evaluate", {"external_id": "after-acc-1", "kind": "post", "account_external_id": "acc-1",
                                            "text": "pay the parcel fee"})
    assert r.status_code == 200, r.text
    with world.api.db.reader() as s:
        after = s.execute(select(Subject.id).where(Subject.external_id == "after-acc-1")).scalar_one()
        assert s.execute(select(RuleEvaluation.inputs).where(RuleEvaluation.subject_id == after)).scalar_one() == {}  # nothing kept
        hers = s.execute(select(func.count()).select_from(RuleEvaluation).join(Subject, Subject.id == RuleEvaluation.subject_id)
                         .where(Subject.account_id == world.ids["acc-1"])).scalar_one()  # her post's report, her two checks
        result = backtest(s, "fees", utcnow() - timedelta(hours=1), utcnow() + timedelta(minutes=1))
    assert (result.replayed, result.objected, len(result.matched), hers) == (1, 3, 1, 3)  # only acc-2's check is replayed


def test_a_refused_restriction_withholds_nothing(world: Held) -> None:
    request_id = _file(world, "dsr-no", "gdpr", "restriction")
    with world.api.db.session() as s:
        requests.refuse(s, PRIVACY, request_id, "identity not proven")
    with world.api.db.reader() as s:
        assert withheld_from_automation(s, [world.ids["post-1"]]) == set()


def test_confirmations_and_lifts_sent_together_are_recorded_once(world: Held) -> None:
    if world.api.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    know = _file(world, "dsr-know", "ccpa", "know")
    restriction = _answered(world, "restriction")
    refused: list[str] = []

    def once(step: str, n: int) -> None:
        try:
            with world.api.db.session() as s:
                if step == "confirm":
                    requests.confirm_receipt(s, Actor("staff", f"p{n}"), know, f"email {n}")
                else:
                    requests.lift_restriction(s, Actor("staff", f"p{n}"), restriction, f"checked {n}")
        except Conflict:
            refused.append(step)

    together([lambda n=n: once("confirm", n) for n in range(4)] + [lambda n=n: once("lift", n) for n in range(4)])
    assert sorted(refused) == ["confirm"] * 3 + ["lift"] * 3
    with world.api.db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.verb.in_(["privacy_request.receipt_confirmed",
                                                                              "privacy_request.restriction_lifted"]))).scalars().all()
        assert sorted(verbs) == ["privacy_request.receipt_confirmed", "privacy_request.restriction_lifted"]
