"""Notices written with decisions, appeals and escalation outcomes, and how they leave: as a
`notice.requested` event through the outbox to the sandbox host, or mailed to a real local
SMTP server; confidentiality of what they say; a failing mail server leaves them retried, then
failed, never lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.delivery.conftest import Receiver, connect
from tests.enforcement.conftest import SETUP, World, account, item
from tests.notices.conftest import Mailbox, use_channel
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth.staff import create_user
from trustdesk.cases import claiming
from trustdesk.cases.access import Reviewer
from trustdesk.cases.escalations import EscalationRequest, Filing, file_for_client
from trustdesk.cases.queues import appeals_queue
from trustdesk.config import Settings
from trustdesk.delivery import outbox
from trustdesk.delivery.sender import deliver_due
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.vocabulary import Appellant
from trustdesk.enforcement.appeals import (
    AppealRequest,
    Filer,
    decide_appeal,
    file_appeal,
)
from trustdesk.enforcement.bulk import run_chunk, start_bulk
from trustdesk.enforcement.decisions import DecisionRequest, decide_case, decide_subject
from trustdesk.ingest.intake import Submitter
from trustdesk.jobs.worker import run_worker
from trustdesk.notices import mail
from trustdesk.notices.mail import MAX_ATTEMPTS
from trustdesk.store.models import (
    ApiClient, BulkItem, EnforcementAction, Job, Notice, OutboxMessage, StatementOfReasons, Subject, utcnow,
)

ALICE = Actor("staff", "alice")
REPORTER = {"notifier_name": "Rosa Quintero", "notifier_email": "rosa.quintero@example.net"}


def _decide(
    world: World, *, locale: str | None = "es-MX", verdict: str = "violation", policy: str = "SCAM",
    reporter: dict[str, str] | None = None, email: bool = True,
) -> int:
    """Alice decides a case on a seller's listing reported by a trusted flagger; returns the decision id."""
    seller = account("seller-1", locale=locale) | ({} if email else {"personal": {}})
    world.add_subjects(seller, item("lst-1", "listing", owner="seller-1"))
    dsa = REPORTER if reporter is None else reporter
    reports = world.file({"external_id": "r-1", "subject_external_id": "lst-1", "policy_code": policy,
                          "reporter_type": "trusted_flagger", "dsa": dsa})
    case_id = world.open_case(_subject_id(world, "lst-1"), reports, claimed_by=world.alice, policy_code=policy)
    actions = ["remove", "ban"] if policy == "CHILD_GROOMING" else ["remove", "suspend"]
    request = (DecisionRequest(policy, verdict="violation", actions=actions, params={"days": 7} if "suspend" in actions else {},
                               rationale="The listing sells counterfeit bags as genuine ones.")
               if verdict == "violation" else DecisionRequest(policy, verdict="no_violation", rationale="An ordinary listing."))
    with world.db.session() as s:
        return decide_case(s, Reviewer(world.alice, ("moderator",)), ALICE, case_id, request).id


def _subject_id(world: World, external_id: str) -> int:
    with world.db.reader() as s:
        return s.execute(select(Subject.id).where(Subject.external_id == external_id)).scalar_one()


def _notices(world: World) -> dict[str, Notice]:
    with world.db.reader() as s:
        return {f"{n.kind}:{n.recipient_role}": n for n in s.execute(select(Notice).order_by(Notice.id)).scalars()}


def _confidential(body: str) -> None:
    """Nothing in a notice to the user names the reporter or the reviewer."""
    for secret in ("Rosa", "Quintero", "rosa.quintero@example.net", "alice", "trusted_flagger", "r-1"):
        assert secret.lower() not in body.lower(), secret


def test_a_restriction_tells_the_user_in_their_language_through_the_host_platform(
    world: World, box: SecretBox, receiver: Receiver,
) -> None:
    connect(world, box, receiver)
    decision_id = _decide(world)
    found = _notices(world)
    assert set(found) == {"decision:user", "report_outcome:notifier"}
    user = found["decision:user"]
    with world.db.reader() as s:  # the statement of the decision's first restriction, the removal
        removal = s.execute(select(EnforcementAction.id).where(
            EnforcementAction.decision_id == decision_id, EnforcementAction.kind == "remove")).scalar_one()
        statement_id = s.execute(select(StatementOfReasons.id).where(StatementOfReasons.action_id == removal)).scalar_one()
    assert (user.locale, user.channel, user.state, user.decision_id, user.statement_of_reasons_id) == (
        "es", "webhook", "pending", decision_id, statement_id)
    assert f"La declaración de motivos completa de esta decisión tiene la referencia {statement_id}." in user.body
    assert user.subject_line == "Hemos restringido tu cuenta o tu contenido"
    for said in ("Se ha retirado el contenido.", "La cuenta está suspendida. Dura hasta el",
                 "The listing sells counterfeit bags as genuine ones.", "183 días", f"referencia: {decision_id}",
                 "Una persona de nuestro equipo lo revisó"):
        assert said in user.body, said
    assert world.policy("SCAM").title in user.body
    _confidential(user.body)
    notifier = found["report_outcome:notifier"]
    assert notifier.locale == "en" and "we have taken action" in notifier.body and "r-1" in notifier.body

    assert deliver_due(world.db, box) == 4  # the action events and the two notices
    events = [e for e in receiver.events("market")["events"] if e["type"] == "notice.requested"]
    by_role = {e["data"]["recipient"]["role"]: e["data"] for e in events}
    assert by_role["user"]["recipient"] == {"role": "user", "subject_external_id": "seller-1"}
    assert by_role["notifier"]["recipient"] == {"role": "notifier", "report_external_id": "r-1"}
    assert (by_role["user"]["body"], by_role["user"]["locale"], by_role["user"]["decision_id"]) == (user.body, "es", decision_id)
    assert by_role["user"]["subject"] == {"kind": "listing", "external_id": "lst-1"}
    assert by_role["user"]["statement_of_reasons_id"] == statement_id
    after = _notices(world)
    assert {k: n.state for k, n in after.items()} == {"decision:user": "sent", "report_outcome:notifier": "sent"}
    with world.db.reader() as s:
        assert {r.notice_id for r in s.execute(select(OutboxMessage)).scalars()} == {None, user.id, notifier.id}
        assert verify_chain(s).ok


def test_without_a_webhook_endpoint_the_notice_is_kept_failed_with_the_reason(world: World) -> None:
    _decide(world, locale=None)
    user = _notices(world)["decision:user"]
    assert (user.state, user.locale) == ("failed", "en")
    assert user.error == "the app has no webhook endpoint to hand the notice to"


def test_a_notice_is_mailed_to_the_account_in_its_locale(world: World, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    inbox, port = mailbox
    use_channel(world, "smtp")
    _decide(world, locale="pt-BR")
    found = _notices(world)
    user = found["decision:user"]
    assert (user.channel, user.state, user.locale) == ("smtp", "pending", "pt")
    with world.db.reader() as s:  # queued with the decision, in its transaction
        assert s.execute(select(Job.payload).where(Job.kind == "send_notice").order_by(Job.id)).scalars().all() == [
            {"notice_id": user.id}, {"notice_id": found["report_outcome:notifier"].id}]
    mail = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from="safety@market.example")
    assert run_worker(world.db, mail, worker_id="test", once=True) >= 2
    to = {m["To"]: m for m in inbox.messages}
    assert set(to) == {"seller-1@example.org", "rosa.quintero@example.net"}
    letter = to["seller-1@example.org"]
    assert (letter["Subject"], letter["From"], letter["Content-Language"]) == (
        "Restringimos a sua conta ou o seu conteúdo", "safety@market.example", "pt")
    text = letter.get_content()
    assert "O conteúdo foi removido." in text and "A conta está suspensa." in text
    _confidential(text)
    assert {k: (n.state, n.attempts) for k, n in _notices(world).items()} == {
        "decision:user": ("sent", 1), "report_outcome:notifier": ("sent", 1)}


def test_a_notice_mailed_again_carries_the_same_message_id(world: World, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    inbox, port = mailbox
    use_channel(world, "smtp")
    _decide(world, reporter={})
    mail = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from="Safety <safety@market.example>")
    run_worker(world.db, mail, worker_id="test", once=True)
    user = _notices(world)["decision:user"]
    with world.db.session() as s:  # as if the worker died after the server took it, before noting it sent
        s.execute(update(Notice).where(Notice.id == user.id).values(state="pending"))
        s.execute(update(Job).where(Job.kind == "send_notice").values(status="queued", run_at=utcnow(), attempts=0))
    run_worker(world.db, mail, worker_id="test", once=True)
    first, again = (m["Message-ID"] for m in inbox.messages)
    assert first == again and first.startswith(f"<notice-{user.id}.") and first.endswith("@market.example>")


def test_a_failing_mail_server_leaves_the_notice_retried_then_failed_never_lost(
    world: World, settings: Settings, mailbox: tuple[Mailbox, int],
) -> None:
    inbox, port = mailbox
    inbox.refuse = "451 4.3.2 try again later"
    use_channel(world, "smtp")
    _decide(world, reporter={})  # an anonymous-by-email notifier: only the user is mailed
    assert set(_notices(world)) == {"decision:user"}
    mail = replace(settings, smtp_host="127.0.0.1", smtp_port=port)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        run_worker(world.db, mail, worker_id="test", once=True)
        user = _notices(world)["decision:user"]
        with world.db.session() as s:
            job = s.execute(select(Job).where(Job.kind == "send_notice")).scalar_one()
            if attempt < MAX_ATTEMPTS:
                assert (user.state, user.attempts, job.status) == ("pending", attempt, "queued")
                assert user.error is not None and "451" in user.error
                s.execute(update(Job).where(Job.id == job.id).values(run_at=job.run_at - timedelta(hours=2)))  # its backoff is over
    assert (user.state, user.attempts) == ("failed", MAX_ATTEMPTS)
    assert "451" in (user.error or "") and inbox.messages == []
    inbox.refuse = None
    run_worker(world.db, mail, worker_id="test", once=True)  # nothing left to try; the notice stays on record
    assert (_notices(world)["decision:user"].attempts, inbox.messages) == (MAX_ATTEMPTS, [])


def test_without_an_address_a_mailed_notice_fails_at_once_with_the_reason(world: World) -> None:
    use_channel(world, "smtp")
    _decide(world, email=False)
    user = _notices(world)["decision:user"]
    assert (user.state, user.error) == ("failed", "no email address is known for the user")


def test_no_violation_tells_the_notifier_how_to_appeal_and_the_user_nothing(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    _decide(world, verdict="no_violation")
    found = _notices(world)
    assert set(found) == {"report_outcome:notifier"}
    body = found["report_outcome:notifier"].body
    assert "did not find that it goes against our rules" in body and "within 183 days" in body and "r-1" in body


def test_a_child_safety_decision_withholds_the_users_notice_and_never_mentions_the_authorities(
    world: World, box: SecretBox, receiver: Receiver,
) -> None:
    connect(world, box, receiver)
    _decide(world, policy="CHILD_GROOMING")
    found = _notices(world)
    user, notifier = found["decision:user"], found["report_outcome:notifier"]
    assert user.state == "withheld" and user.error is not None and user.error.startswith("child-safety policy")
    assert notifier.state == "pending"
    for body in (user.body, notifier.body):
        for word in ("NCMEC", "authorit", "police", "law enforcement", "CyberTipline"):
            assert word.lower() not in body.lower(), word
    deliver_due(world.db, box)
    kinds = [e["data"]["recipient"]["role"] for e in receiver.events("market")["events"] if e["type"] == "notice.requested"]
    assert kinds == ["notifier"]


def test_an_overturned_appeal_tells_the_user_what_was_restored(world: World, settings: Settings, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    decision_id = _decide(world, locale="en-GB")
    with world.db.session() as s:
        carol = Reviewer.of(create_user(s, SETUP, settings, username="carol", password="long-enough-password", roles=["senior"],
                                        with_totp=False))
        appeal, _ = file_appeal(s, Filer(Actor("client", "market"), app_id=world.app_id),
                                AppealRequest(Appellant.USER, "They are genuine, I have receipts", decision_id=decision_id,
                                              external_id="ap-1"), window=timedelta(days=183))
    with world.db.session() as s:
        case = claiming.next_case(s, carol, queue_id=appeals_queue(s, SETUP).id).case
        assert case is not None
        decide_appeal(s, carol, Actor("staff", "carol"), case.id, "overturned", "The receipts show the bags are genuine.")
    told = _notices(world)["appeal_outcome:user"]
    assert (told.state, told.locale, told.case_id) == ("pending", "en", appeal.case_id)
    assert "we have reversed it" in told.body and "The content is back." in told.body and "The suspension is lifted." in told.body
    assert "ap-1" in told.body and "The receipts show the bags are genuine." in told.body
    assert "carol" not in told.body.lower()
    _confidential(told.body)


def test_an_upheld_notifier_appeal_is_told_to_the_notifier(world: World, settings: Settings, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    _decide(world, verdict="no_violation")
    with world.db.session() as s:
        carol = Reviewer.of(create_user(s, SETUP, settings, username="carol", password="long-enough-password", roles=["senior"],
                                        with_totp=False))
        file_appeal(s, Filer(Actor("client", "market"), app_id=world.app_id),
                    AppealRequest(Appellant.NOTIFIER, "It is a fake", report_external_id="r-1"), window=timedelta(days=183))
    with world.db.session() as s:
        case = claiming.next_case(s, carol, queue_id=appeals_queue(s, SETUP).id).case
        assert case is not None
        decide_appeal(s, carol, Actor("staff", "carol"), case.id, "upheld", "The bags carry no brand at all.")
    told = _notices(world)["appeal_outcome:notifier"]
    assert told.recipient_report_id is not None and "We have kept the original decision" in told.body
    deliver_due(world.db, box)
    roles = [e["data"]["recipient"] for e in receiver.events("market")["events"] if e["data"].get("kind") == "appeal_outcome"]
    assert roles == [{"role": "notifier", "report_external_id": "r-1"}]


def test_the_requester_of_an_escalation_filed_through_the_api_hears_the_outcome(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    ids = world.add_subjects(account("seller-1"))
    with world.db.session() as s:
        client = ApiClient(app_id=world.app_id, name="cx", token_prefix="cx-prefix", token_hash="0" * 64, scopes=[])
        s.add(client)
        s.flush()
        client_id = client.id
    who = Submitter(world.app_id, Actor("client", "cx"), client_id)
    file_for_client(world.db, who, Filing("cx-1", "seller-1", "SCAM", "ticket-77",
                                          EscalationRequest("escalations", "the user wrote to support twice", "high")))
    with world.db.session() as s:
        decide_subject(s, SETUP, ids["seller-1"], DecisionRequest("SCAM", verdict="violation", actions=["warn"], rationale="a scam"))
    found = _notices(world)
    told = found["escalation_outcome:requester"]
    assert (told.channel, told.state) == ("webhook", "pending")
    assert "cx-1" in told.body and "ticket-77" in told.body and "took action" in told.body
    deliver_due(world.db, box)
    events = [e["data"] for e in receiver.events("market")["events"] if e["data"].get("kind") == "escalation_outcome"]
    assert [e["recipient"] for e in events] == [{"role": "requester", "requester_ref": "ticket-77"}]
    assert _notices(world)["escalation_outcome:requester"].state == "sent"


def test_a_bulk_decision_writes_one_notice_per_subject_with_each_decision(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    ids = world.add_subjects(*(account(f"spammer-{n}", locale=locale) for n, locale in enumerate(("es", "pt-PT", None))))
    with world.db.session() as s:
        op = start_bulk(s, world.alice, ALICE, sorted(ids.values()), DecisionRequest("SPAM", verdict="violation", actions=["warn"],
                                                                                        rationale="the same spam everywhere"))
    while run_chunk(world.db, op.id):
        pass
    with world.db.reader() as s:
        told = s.execute(select(Notice.recipient_subject_id, Notice.locale, Notice.decision_id).order_by(Notice.id)).all()
        decided = dict(s.execute(select(BulkItem.subject_id, BulkItem.decision_id).where(BulkItem.operation_id == op.id)).all())
    assert [(subject, locale) for subject, locale, _ in told] == [
        (ids["spammer-0"], "es"), (ids["spammer-1"], "pt"), (ids["spammer-2"], "en")]
    assert all(decided[subject] == decision for subject, _, decision in told)


def test_a_notice_the_host_platform_never_took_is_failed_until_retried_and_delivered(
    world: World, box: SecretBox, receiver: Receiver,
) -> None:
    connect(world, box, receiver)
    receiver.control("fail", endpoint="market", status=503, count=99)
    _decide(world, reporter={})
    a_day_later = utcnow() + timedelta(hours=25)  # past the retry window: the first failure is the last
    deliver_due(world.db, box, now=lambda: a_day_later)
    user = _notices(world)["decision:user"]
    assert user.state == "failed" and (user.error or "").startswith("the host platform did not take it: HTTP 503")
    receiver.control("recover", endpoint="market")
    with world.db.session() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.notice_id == user.id)).scalar_one()
        outbox.retry(s, ALICE, Reviewer(0, ("admin",)), row.id)
    deliver_due(world.db, box)
    user = _notices(world)["decision:user"]
    assert (user.state, user.error) == ("sent", None) and user.sent_at is not None


def test_cancelling_a_notices_delivery_leaves_it_failed_saying_so(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    _decide(world, reporter={})
    user = _notices(world)["decision:user"]
    with world.db.session() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.notice_id == user.id)).scalar_one()
        outbox.cancel(s, ALICE, Reviewer(0, ("admin",)), row.id)
    user = _notices(world)["decision:user"]
    assert (user.state, user.error) == ("failed", "its delivery to the host platform was cancelled by staff:alice")


def test_a_subject_line_with_a_line_break_is_mailed_on_one_line(world: World, settings: Settings, mailbox: tuple[Mailbox, int]) -> None:
    inbox, port = mailbox
    use_channel(world, "smtp")
    _decide(world, reporter={})
    user = _notices(world)["decision:user"]
    with world.db.session() as s:
        s.get_one(Notice, user.id).subject_line = "About your\nlisting"
    assert run_worker(world.db, replace(settings, smtp_host="127.0.0.1", smtp_port=port), worker_id="test", once=True) >= 1
    assert [m["Subject"] for m in inbox.messages] == ["About your listing"]
    assert _notices(world)["decision:user"].state == "sent"


def test_a_mailing_job_that_fails_for_good_leaves_its_notice_failed_not_pending(
    world: World, settings: Settings, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    _inbox, port = mailbox
    use_channel(world, "smtp")
    _decide(world, reporter={})

    def broken(*_args: object) -> None:
        raise RuntimeError("the message could not be built")

    monkeypatch.setattr(mail, "_message", broken)
    settings = replace(settings, smtp_host="127.0.0.1", smtp_port=port)
    for _attempt in range(20):  # every attempt fails until the job gives up
        run_worker(world.db, settings, worker_id="test", once=True)
        with world.db.session() as s:
            job = s.execute(select(Job).where(Job.kind == "send_notice")).scalar_one()
            if job.status == "failed":
                break
            s.execute(update(Job).where(Job.id == job.id).values(run_at=job.run_at - timedelta(hours=2)))
    assert job.status == "failed"
    user = _notices(world)["decision:user"]
    assert (user.state, user.error) == ("failed", "the mailing job failed on every attempt (see the worker's log)")
