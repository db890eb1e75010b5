"""Running the analysers on subjects: the `analyse_subject` job and the on-demand run.

Intake enqueues one `analyse_subject` job per batch of new or changed subjects with text or
media, in its own transaction (so intake never waits for a model); `trustdesk analyze subject
ID` runs the same thing at once. Each run reads the subjects, lets every registered analyser
(`trustdesk.analysis.analysers.ANALYSERS`, and the hash banks' one, made per process by
`analysers_for`) look at them, stores the signals (once per analyser version and content),
takes the automatic action a bank's new match calls for (`trustdesk.hash_banks.actions`) and,
for the subjects that got new signals, re-scores and re-routes their open case
(`trustdesk.cases.routing.reconsider`), all in one transaction. Running twice is
harmless: the second run stores nothing new and so changes no case. Content whose person
restricted processing or objected to it (`trustdesk.privacy.processing`) is neither queued nor
analysed: a restriction placed after the job was queued still holds when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustdesk.analysis import signals
from trustdesk.analysis.analysers import ANALYSERS, Analyser, AnalyserRegistry, DeepTextClassifier
from trustdesk.analysis.text.deep_tier import DeepTier, embeddings_installed
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.audit.log import Actor
from trustdesk.cases.routing import reconsider
from trustdesk.hash_banks.actions import act_on_matches
from trustdesk.hash_banks.analyser import HashBankAnalyser
from trustdesk.hash_banks.matcher import BankMatcher
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.privacy.processing import withheld_from_automation
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database

ANALYSIS = Actor("system", "analysis")
BATCH = 1000


@dataclass(frozen=True)
class AnalyseSubjects:
    subject_ids: list[int]


def queue_analysis(session: Session, subject_ids: list[int]) -> None:
    """Have the worker analyse these subjects once the caller's transaction commits."""
    withheld = withheld_from_automation(session, subject_ids)
    subject_ids = [s for s in subject_ids if s not in withheld]
    for start in range(0, len(subject_ids), BATCH):
        enqueue(session, AnalyseSubjects(subject_ids=subject_ids[start:start + BATCH]))


def find_signals(session: Session, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS) -> dict[int, list[int]]:
    """Run every analyser on the subjects and store what they found; subject id → the ids of its
    new signals (subjects that no longer exist are skipped). Moves no case."""
    views = signals.subject_views(session, subject_ids)
    fresh: dict[int, list[int]] = {view.id: [] for view in views}
    for analyser in analysers.all():
        for signal_id, subject_id in signals.store(session, analyser, list(zip(views, analyser.analyse_many(views)))):
            fresh[subject_id].append(signal_id)
    return fresh


def analyse(session: Session, actor: Actor, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS) -> dict[int, int]:
    """`find_signals`, then what new hash-bank matches call for, then let new signals move the
    subjects' cases; subject id → how many new signals it got (none looked for on withheld ones)."""
    withheld = withheld_from_automation(session, subject_ids)
    fresh = find_signals(session, [s for s in subject_ids if s not in withheld], analysers)
    act_on_matches(session, actor, [signal_id for ids in fresh.values() for signal_id in ids])
    reconsider(session, actor, [subject_id for subject_id, ids in fresh.items() if ids])
    return {subject_id: len(ids) for subject_id, ids in fresh.items()}


# One per process: its embedding model loads on first use, and only once.
DEEP_TIER = DeepTextClassifier(lambda: DeepTier.load(FastTier.load()))


def analysers_for(db: Database, blobs: BlobStore) -> AnalyserRegistry:
    """The registered analysers, the hash banks' one (matching with this process's matcher for
    `db`) and, where the embeddings extra is installed, the text classifier's deep tier."""
    found: list[Analyser] = [HashBankAnalyser(db.shared(BankMatcher), blobs)]
    if embeddings_installed():
        found.append(DEEP_TIER)
    return ANALYSERS.extended(*found)


def queue_reported(session: Session, subject_ids: list[int]) -> None:
    """Reported subjects are analysed again where the deep tier is installed, since it looks at
    reported content (the other analysers find nothing new on unchanged content)."""
    if embeddings_installed():
        queue_analysis(session, subject_ids)


@job_kind("analyse_subject", AnalyseSubjects)
def handle_analyse_subjects(ctx: WorkerContext, job: AnalyseSubjects) -> None:
    with ctx.db.session() as session:
        analyse(session, ANALYSIS, job.subject_ids, analysers_for(ctx.db, ctx.blobs))
