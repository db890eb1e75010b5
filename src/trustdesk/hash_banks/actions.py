"""What a bank's match calls for: the automatic decision of a bank with a policy and an action.

When the analysis stores a new hash-bank signal, each active bank of it that calls for an action
decides the subject through `decide_subject` with no reviewer: an AUTOMATED decision under the
bank's policy, whose statements of reasons say detection and decision were automated and whose
action is announced through the outbox like any other. It happens once: a signal is stored once
per content, and a subject that already has a decision under that policy with that action is
left alone, so an edit of the content neither decides again nor undoes a reversal. A decision
the policy refuses (an action it does not allow, or one that needs params) is recorded as
`hash_bank.action_refused` and the analysis carries on. A review-only bank decides nothing: its
signal raises the case's priority and routing moves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.decision_trees import VIOLATION
from trustdesk.domain.errors import FieldError
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.hash_banks.analyser import HashBankAnalyser
from trustdesk.store.dialects import InIds
from trustdesk.store.models import Decision, HashBank, Signal


# Built once, the ids bound as one parameter: it runs on every batch the worker analyses.
_BANK_SIGNALS = select(Signal).where(InIds(Signal.id), Signal.analyser == HashBankAnalyser.name).order_by(Signal.id)


def act_on_matches(session: Session, actor: Actor, signal_ids: Sequence[int]) -> None:
    """Decide what the action banks among these new signals call for."""
    if not signal_ids:
        return
    signals = session.execute(_BANK_SIGNALS, {"ids": signal_ids}).scalars().all()
    for signal in signals:
        banks = session.execute(
            select(HashBank).where(HashBank.id.in_(signal.evidence.get("bank_ids", [])), HashBank.active.is_(True),
                                   HashBank.action.is_not(None)).order_by(HashBank.id)
        ).scalars().all()
        for bank in banks:
            if not _decided_already(session, signal.subject_id, bank):
                _decide(session, actor, signal, bank)


def _decided_already(session: Session, subject_id: int, bank: HashBank) -> bool:
    actions = session.execute(
        select(Decision.actions).where(Decision.subject_id == subject_id, Decision.policy_code == bank.policy_code)
    ).scalars()
    return any(bank.action in taken for taken in actions)


def _decide(session: Session, actor: Actor, signal: Signal, bank: HashBank) -> None:
    assert bank.policy_code is not None and bank.action is not None
    hit = signal.evidence
    rationale = f"The media matched hash bank {bank.name!r} ({bank.kind})"
    if hit.get("bank") == bank.name:  # the signal's best hit is this bank's
        rationale += f": {hit['algorithm']} at distance {hit['distance']}, media item {hit['media_id']}"
    found = {"subject_id": signal.subject_id, "signal_id": signal.id, "match": signal.match}
    request = DecisionRequest(bank.policy_code, verdict=VIOLATION, actions=[bank.action], rationale=rationale + ".")
    try:
        with session.begin_nested():  # a refusal takes back whatever the decision wrote
            decision = decide_subject(session, actor, signal.subject_id, request)
    except FieldError as exc:
        record(session, actor=actor, verb="hash_bank.action_refused", object_type="hash_bank", object_id=bank.id,
               after={**found, "field": exc.field, "message": exc.message})
        return
    record(session, actor=actor, verb="hash_bank.action_taken", object_type="hash_bank", object_id=bank.id,
           after={**found, "decision_id": decision.id, "policy_code": bank.policy_code, "action": bank.action})
