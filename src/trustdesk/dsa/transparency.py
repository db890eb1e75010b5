"""The transparency report (DSA Art. 15 and 24) for a period, from what TrustDesk stores.

Figures, each for things that happened in the period:
- notices (Art. 16): reports from anyone but the platform's own automation, by the DSA category
  of the policy reported (its version in force when the notice came in) and by source (reporter
  type); trusted flaggers' (Art. 22) apart;
- handling time: from a notice's receipt to the first decision on its case after it (or the
  decision a notifier's appeal of it judged, as the notice moves to a new case when reopened),
  the median (and how many were decided);
- own-initiative actions: decisions that found a violation on a subject no notice was about;
- automation: of the decisions (reviews, direct, bulk and automated ones; not appeals or second
  opinions), how many were detected automatically and how many were decided fully or partly so;
- appeals (Art. 20): filed, and decided by outcome, with the median time to decide;
- Art. 23 suspensions: accounts suspended or banned, notifiers suspended for unfounded notices;
- statements of reasons stored (Art. 17), and how many the Transparency Database has taken;
- average monthly active recipients (Art. 24(2)): the mean, over the calendar months the period
  touches that have figures from the host platform (every app's summed), with the months that
  have none, or lack some app's figure, named as missing (with those apps) rather than counted
  as zero.

Appeals and second opinions judge earlier decisions, so they are counted as appeals, never
again as decisions.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from trustdesk.domain.active_recipients import average, month_label, months_between
from trustdesk.domain.decision_trees import VIOLATION
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import DecisionKind, ReporterType
from trustdesk.dsa.active_recipients import monthly_figures
from trustdesk.dsa.period import Period
from trustdesk.store.models import (
    Appeal,
    AuditEvent,
    Decision,
    EnforcementAction,
    Policy,
    Report,
    StatementOfReasons,
    as_utc,
)

# Decisions that act on content or accounts in their own right.
ACTING_KINDS = (DecisionKind.REVIEW, DecisionKind.DIRECT, DecisionKind.BULK, DecisionKind.AUTOMATED)
SUSPENSIONS = (Action.SUSPEND, Action.BAN)
UNKNOWN_CATEGORY = "unknown"


@dataclass(frozen=True)
class Notices:
    total: int
    by_category: dict[str, int]
    by_source: dict[str, int]
    trusted_flagger: int
    decided: int
    median_hours_to_decision: float | None


@dataclass(frozen=True)
class Decisions:
    total: int
    own_initiative: int
    automated_detection: int
    automated_decision: dict[str, int]  # fully, partially, not_automated
    automated_detection_share: float | None
    automated_decision_share: float | None  # fully or partially automated


@dataclass(frozen=True)
class Appeals:
    filed: int
    by_appellant: dict[str, int]
    decided: dict[str, int]  # upheld, overturned
    median_hours_to_outcome: float | None


@dataclass(frozen=True)
class Suspensions:
    accounts: dict[str, int]  # suspend, ban
    notifiers: int


@dataclass(frozen=True)
class Statements:
    stored: int
    by_submission: dict[str, int]


@dataclass(frozen=True)
class ActiveRecipientsFigure:
    average_monthly: int | None  # None: no month of the period has figures
    by_member_state: dict[str, int]  # each member state's mean over the months that break down by state
    months_with_figures: list[str]  # YYYY-MM
    months_missing: list[str]
    apps_missing: dict[str, list[str]]  # of the missing months some app reported, the apps whose figures are missing


@dataclass(frozen=True)
class TransparencyReport:
    since: str
    until: str
    notices: Notices
    decisions: Decisions
    appeals: Appeals
    suspensions: Suspensions
    statements_of_reasons: Statements
    active_recipients: ActiveRecipientsFigure

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def transparency_report(session: Session, period: Period) -> TransparencyReport:
    return TransparencyReport(
        since=period.since.isoformat(), until=period.until.isoformat(),
        notices=_notices(session, period), decisions=_decisions(session, period), appeals=_appeals(session, period),
        suspensions=_suspensions(session, period), statements_of_reasons=_statements(session, period),
        active_recipients=_active_recipients(session, period),
    )


def _within(column: Any, period: Period) -> Any:
    return and_(column >= period.start, column < period.end)


_NOTICE = Report.reporter_type != ReporterType.AUTOMATED.value


def _notices(session: Session, period: Period) -> Notices:
    in_period = and_(_within(Report.received_at, period), _NOTICE)
    # The category of the policy's version in force when the notice came in: a catalogue mapped
    # anew later must not restate a period already reported (nor disagree with its statements).
    in_force = (select(Policy.dsa_category).where(Policy.code == Report.policy_code, Policy.created_at <= Report.received_at)
                .order_by(Policy.created_at.desc(), Policy.version.desc()).limit(1).correlate(Report).scalar_subquery())
    current = (select(Policy.dsa_category).where(Policy.code == Report.policy_code, Policy.is_current.is_(True))
               .limit(1).correlate(Report).scalar_subquery())
    categories = select(func.coalesce(in_force, current).label("category")).where(in_period).subquery()
    tally: Counter[str] = Counter()
    for category, count in session.execute(select(categories.c.category, func.count()).group_by(categories.c.category)):
        tally[category or UNKNOWN_CATEGORY] += count
    by_category = _counts(tally.items())
    by_source = _counts(session.execute(select(Report.reporter_type, func.count()).where(in_period).group_by(Report.reporter_type)))
    # Its case's decisions, and those a notifier's appeal of it judged: a notice reopened by an
    # overturned appeal moves to a new case, and its first decision must stay the one it had.
    answered = or_(Decision.case_id == Report.case_id,
                   Decision.id.in_(select(Appeal.decision_id).where(Appeal.report_id == Report.id).correlate(Report)))
    first_decision = (
        select(func.min(Decision.created_at))
        .where(answered, Decision.created_at >= Report.received_at, Decision.kind.in_(ACTING_KINDS))
        .correlate(Report).scalar_subquery()
    )
    timings = [
        (as_utc(decided) - as_utc(received)).total_seconds() / 3600
        for received, decided in session.execute(select(Report.received_at, first_decision).where(in_period, Report.case_id.is_not(None)))
        if decided is not None
    ]
    return Notices(
        total=sum(by_source.values()), by_category=by_category, by_source=by_source,
        trusted_flagger=by_source.get(ReporterType.TRUSTED_FLAGGER.value, 0), decided=len(timings), median_hours_to_decision=_median(timings),
    )


def _decisions(session: Session, period: Period) -> Decisions:
    acting = and_(_within(Decision.created_at, period), Decision.kind.in_(ACTING_KINDS))
    total, detected = session.execute(
        select(func.count(), func.count().filter(Decision.automated_detection.is_(True))).where(acting)
    ).one()
    by_automation = _counts(session.execute(select(Decision.automated_decision, func.count()).where(acting).group_by(Decision.automated_decision)))
    noticed = exists().where(Report.case_id == Decision.case_id, _NOTICE)
    own_initiative = session.execute(
        select(func.count()).where(acting, Decision.verdict == VIOLATION, ~noticed)
    ).scalar_one()
    automated = by_automation.get("fully", 0) + by_automation.get("partially", 0)
    return Decisions(
        total=total, own_initiative=own_initiative, automated_detection=detected,
        automated_decision={kind: by_automation.get(kind, 0) for kind in ("fully", "partially", "not_automated")},
        automated_detection_share=_share(detected, total), automated_decision_share=_share(automated, total),
    )


def _appeals(session: Session, period: Period) -> Appeals:
    by_appellant = _counts(session.execute(
        select(Appeal.appellant, func.count()).where(_within(Appeal.created_at, period)).group_by(Appeal.appellant)
    ))
    decided_in_period = and_(_within(Appeal.decided_at, period), Appeal.outcome.is_not(None))
    outcomes = _counts(session.execute(select(Appeal.outcome, func.count()).where(decided_in_period).group_by(Appeal.outcome)))
    timings = [
        (as_utc(decided) - as_utc(filed)).total_seconds() / 3600
        for filed, decided in session.execute(select(Appeal.created_at, Appeal.decided_at).where(decided_in_period))
    ]
    return Appeals(
        filed=sum(by_appellant.values()), by_appellant=by_appellant,
        decided={outcome: outcomes.get(outcome, 0) for outcome in ("upheld", "overturned")}, median_hours_to_outcome=_median(timings),
    )


def _suspensions(session: Session, period: Period) -> Suspensions:
    accounts = _counts(session.execute(
        select(EnforcementAction.kind, func.count())
        .where(_within(EnforcementAction.created_at, period), EnforcementAction.kind.in_(SUSPENSIONS))
        .group_by(EnforcementAction.kind)
    ))
    notifiers = session.execute(
        select(func.count()).where(AuditEvent.verb == "notifier.suspended", _within(AuditEvent.at, period))
    ).scalar_one()
    return Suspensions(accounts={kind.value: accounts.get(kind.value, 0) for kind in SUSPENSIONS}, notifiers=notifiers)


def _statements(session: Session, period: Period) -> Statements:
    by_submission = _counts(session.execute(
        select(StatementOfReasons.submission, func.count())
        .where(_within(StatementOfReasons.created_at, period)).group_by(StatementOfReasons.submission)
    ))
    return Statements(stored=sum(by_submission.values()), by_submission=by_submission)


def _active_recipients(session: Session, period: Period) -> ActiveRecipientsFigure:
    months = months_between(period.since, period.until)
    figures, incomplete = monthly_figures(session, months)
    mean, by_state = average(list(figures.values()))
    return ActiveRecipientsFigure(average_monthly=mean, by_member_state=by_state, months_with_figures=[month_label(m) for m in figures],
                                  months_missing=[month_label(m) for m in months if m not in figures],
                                  apps_missing={month_label(m): apps for m, apps in incomplete.items()})


def _counts(rows: Iterable[Any]) -> dict[str, int]:
    return {str(key): count for key, count in sorted(rows, key=lambda row: (-row[1], str(row[0])))}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def as_csv(report: TransparencyReport) -> str:
    """One row per figure: section, measure, value (nested counts flattened to `measure.key`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "measure", "value"])
    writer.writerow(["period", "since", report.since])
    writer.writerow(["period", "until", report.until])
    for section, figures in report.as_json().items():
        if not isinstance(figures, dict):
            continue
        for measure, value in figures.items():
            if isinstance(value, dict):
                for key, count in value.items():
                    writer.writerow([section, f"{measure}.{key}", " ".join(count) if isinstance(count, list) else count])
            elif isinstance(value, list):
                writer.writerow([section, measure, " ".join(value)])
            else:
                writer.writerow([section, measure, "" if value is None else value])
    return out.getvalue()
