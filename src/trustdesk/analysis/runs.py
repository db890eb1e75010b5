"""Running the analysers on subjects: the `analyse_subject` job and the on-demand run.

Intake enqueues one `analyse_subject` job per batch of new or changed subjects with text or
media, in its own transaction (so intake never waits for a model); `trustdesk analyze subject
ID` runs the same thing at once. Each run reads the subjects, lets every registered analyser
(`trustdesk.analysis.analysers.ANALYSERS`, and the hash banks' one, made per process by
`analysers_for`) look at them, stores the signals (once per analyser version and content),
takes the automatic action a bank's new match calls for (`trustdesk.hash_banks.actions`) and,
for the subjects that got new signals, re-scores and re-routes their open case
(`trustdesk.cases.routing.reconsider`), all in one transaction. The job lets the analysers
look before that transaction, from a read, and evaluates there what the rules will make of the
signals (`trustdesk.cases.routing.foresee`): the write lock is not held while a model or a rule
runs (a subject changed meanwhile keeps signals of the content they were found on, and its
change queued another run). Running twice is
harmless: the second run stores nothing new and so changes no case. Content whose person
restricted processing or objected to it (`trustdesk.privacy.processing`) is neither queued nor
analysed: a restriction placed after the job was queued still holds when it runs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.analysis import signals
from trustdesk.analysis.analysers import ANALYSERS, Analyser, AnalyserRegistry, DeepTextClassifier, SignalFound, SubjectView
from trustdesk.analysis.text.deep_tier import DeepTier, embeddings_installed
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.audit.log import Actor
from trustdesk.cases.routing import Foreseen, foresee, reconsider
from trustdesk.hash_banks.actions import act_on_matches
from trustdesk.hash_banks.analyser import HashBankAnalyser
from trustdesk.hash_banks.matcher import BankMatcher
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.privacy.processing import withheld_from_automation
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database
from trustdesk.store.dialects import InIds, JsonRows, dialect_name
from trustdesk.store.models import Subject

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


@dataclass(frozen=True)
class Findings:
    """What every analyser found on subjects as they were read: per analyser, the signals of
    each view, in the views' order, and those signals as the rows to store."""

    views: list[SubjectView]
    by_analyser: list[tuple[Analyser, list[list[SignalFound]]]]
    dialect: str  # of the database they will be stored in
    rows: list[JsonRows | None] = field(init=False)  # per analyser

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", [signals.encoded(self.dialect, zip(self.views, found)) for _analyser, found in self.by_analyser])

    def latest(self, session: Session) -> dict[int, list[signals.LatestSignal]]:
        """Each subject's latest signals as they will be once these findings are stored (for
        the subjects with findings)."""
        new: dict[int, dict[tuple[str, str], signals.LatestSignal]] = {}
        for analyser, by_view in self.by_analyser:
            for view, found in zip(self.views, by_view):
                for f in found:
                    new.setdefault(view.id, {})[(analyser.name, f.label)] = signals.LatestSignal(0, analyser.name, f.label, f.score, f.match)
        stored = signals.latest_signals(session, new)
        return {subject_id: list({**{(s.analyser, s.label): s for s in stored.get(subject_id, [])}, **by_key}.values())
                for subject_id, by_key in new.items()}

    def of(self, subject_ids: Collection[int]) -> Findings:
        """Only the findings on these subjects."""
        keep = [n for n, view in enumerate(self.views) if view.id in subject_ids]
        if len(keep) == len(self.views):
            return self
        return Findings([self.views[n] for n in keep], [(a, [found[n] for n in keep]) for a, found in self.by_analyser], self.dialect)


def look(session: Session, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS) -> Findings:
    """Read the subjects and let every analyser look at them; stores nothing, so the worker does
    it before its write transaction (a model may take seconds, and on SQLite the write lock
    would hold intake up meanwhile)."""
    views = signals.subject_views(session, subject_ids)
    return Findings(views, [(analyser, analyser.analyse_many(views)) for analyser in analysers.all()], dialect_name(session))


def keep(session: Session, findings: Findings) -> dict[int, list[int]]:
    """Store the findings; subject id → the ids of its new signals."""
    fresh: dict[int, list[int]] = {view.id: [] for view in findings.views}
    for (analyser, _found), rows in zip(findings.by_analyser, findings.rows):
        for signal_id, subject_id in signals.store(session, analyser, rows):
            fresh[subject_id].append(signal_id)
    return fresh


def find_signals(session: Session, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS) -> dict[int, list[int]]:
    """Run every analyser on the subjects and store what they found; subject id → the ids of its
    new signals (subjects that no longer exist are skipped). Moves no case."""
    return keep(session, look(session, subject_ids, analysers))


_EXISTING = select(Subject.id).where(InIds(Subject.id))


def analyse(session: Session, actor: Actor, subject_ids: list[int], analysers: AnalyserRegistry = ANALYSERS,
            findings: Findings | None = None, foreseen: Foreseen | None = None) -> dict[int, int]:
    """Store what the analysers find (or found already, in `findings`), then what new hash-bank
    matches call for, then let new signals move the subjects' cases (taking the evaluations
    `foreseen` that still hold); subject id → how many new signals it got. Nothing is kept for
    subjects deleted since, nor looked for or kept on withheld ones (a restriction placed
    meanwhile still holds)."""
    withheld = withheld_from_automation(session, subject_ids)
    existing = set(session.execute(_EXISTING, {"ids": subject_ids}).scalars())
    wanted = [s for s in subject_ids if s in existing and s not in withheld]
    fresh = keep(session, (findings if findings is not None else look(session, wanted, analysers)).of(set(wanted)))
    act_on_matches(session, actor, [signal_id for ids in fresh.values() for signal_id in ids])
    reconsider(session, actor, [subject_id for subject_id, ids in fresh.items() if ids], foreseen)
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
    analysers = analysers_for(ctx.db, ctx.blobs)
    with ctx.db.reader() as session:
        withheld = withheld_from_automation(session, job.subject_ids)
        findings = look(session, [s for s in job.subject_ids if s not in withheld], analysers)
        foreseen = foresee(session, findings.latest(session))
    with ctx.db.session() as session:
        analyse(session, ANALYSIS, job.subject_ids, analysers, findings, foreseen)
