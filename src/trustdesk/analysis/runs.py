"""Running the analysers on subjects: the `analyse_subject` job and the on-demand run.

Intake enqueues one `analyse_subject` job per batch of new or changed subjects with text or
media, in its own transaction (so intake never waits for a model); `trustdesk analyze subject
ID` runs the same thing at once. Each run reads the subjects, lets every registered analyser
(`trustdesk.analysis.analysers.ANALYSERS`) look at them, stores the signals (once per analyser
version and content) and, for the subjects that got new signals, re-scores and re-routes their
open case (`trustdesk.cases.routing.reconsider`), all in one transaction. Running twice is
harmless: the second run stores nothing new and so changes no case.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustdesk.analysis import signals
from trustdesk.analysis.analysers import ANALYSERS, AnalyserRegistry
from trustdesk.audit.log import Actor
from trustdesk.cases.routing import reconsider
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind

ANALYSIS = Actor("system", "analysis")
BATCH = 1000


@dataclass(frozen=True)
class AnalyseSubjects:
    subject_ids: list[int]


def queue_analysis(session: Session, subject_ids: list[int]) -> None:
    """Have the worker analyse these subjects once the caller's transaction commits."""
    for start in range(0, len(subject_ids), BATCH):
        enqueue(session, AnalyseSubjects(subject_ids=subject_ids[start:start + BATCH]))


def find_signals(session: Session, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS) -> dict[int, int]:
    """Run every analyser on the subjects and store what they found; subject id → how many new
    signals it got (subjects that no longer exist are skipped). Moves no case."""
    views = signals.subject_views(session, subject_ids)
    fresh = dict.fromkeys((view.id for view in views), 0)
    for analyser in analysers.all():
        for subject_id, count in signals.store(session, analyser, list(zip(views, analyser.analyse_many(views)))).items():
            fresh[subject_id] += count
    return fresh


def analyse(session: Session, actor: Actor, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS) -> dict[int, int]:
    """`find_signals`, then let new signals move the subjects' cases."""
    fresh = find_signals(session, subject_ids, analysers)
    reconsider(session, actor, [subject_id for subject_id, count in fresh.items() if count])
    return fresh


@job_kind("analyse_subject", AnalyseSubjects)
def handle_analyse_subjects(ctx: WorkerContext, job: AnalyseSubjects) -> None:
    with ctx.db.session() as session:
        analyse(session, ANALYSIS, job.subject_ids)
