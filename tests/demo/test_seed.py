"""The demo data set, at 5% size: both apps, every kind, language and role, real images,
reports true and false, deterministic, idempotent, and all of it in a chain that verifies."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth import api_clients, staff
from trustdesk.cases.access import Reviewer
from trustdesk.cases.queues import seed_queues
from trustdesk.canned_rationales import rationales_for
from trustdesk.config import Settings
from trustdesk.demo import content
from trustdesk.demo.seed import DEMO_RATIONALES, DEMO_STAFF, DemoSummary, Progress, seed_demo
from trustdesk.domain.vocabulary import Role
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.ncmec import reports as ncmec_reports
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import (
    AccountEvent,
    App,
    AuditEvent,
    Blob,
    Case,
    MediaItem,
    Queue,
    Report,
    StaffUser,
    Subject,
    as_utc,
    utcnow,
)

SCALE = 0.05


def _seed(
    db: Database, settings: Settings, *, size: str = "small", report_target: int = 0, progress: Progress | None = None
) -> DemoSummary:
    with db.session() as session:
        seed_catalogue(session, Actor("test", "setup"))
    return seed_demo(db, settings, size=size, scale=SCALE, report_target=report_target, progress=progress)


def _subjects(session: Session, app: str, kind: str) -> list[Subject]:
    return list(session.execute(select(Subject).join(App, Subject.app_id == App.id).where(App.slug == app, Subject.kind == kind)).scalars())


def _digest(db: Database) -> str:
    """What a run produced, leaving out the clock and the database's own ids (sorted here, not
    by the database, whose collation may differ)."""
    parent = aliased(Subject)
    with db.reader() as session:
        subjects = session.execute(
            select(App.slug, Subject.external_id, Subject.kind, parent.external_id, Subject.title, Subject.text, Subject.language,
                   Subject.country, Subject.region, Subject.personal, Subject.attributes, MediaItem.blob_sha256)
            .join(App, Subject.app_id == App.id).outerjoin(parent, Subject.parent_id == parent.id)
            .outerjoin(MediaItem, MediaItem.subject_id == Subject.id)
        ).all()
        reports = session.execute(
            select(App.slug, Report.external_id, Subject.external_id, Report.policy_code, Report.reporter_type, Report.text,
                   Report.notifier_email, Report.imminent_harm)
            .join(App, Report.app_id == App.id).join(Subject, Report.subject_id == Subject.id)
        ).all()
        events = session.execute(
            select(App.slug, AccountEvent.external_id, AccountEvent.kind, AccountEvent.ip, AccountEvent.device_id,
                   AccountEvent.payment_fingerprint, AccountEvent.amount_cents)
            .join(App, AccountEvent.app_id == App.id)
        ).all()
    tables = [sorted(([*row] for row in rows), key=lambda row: (row[0], row[1])) for rows in (subjects, reports, events)]
    encoded = json.dumps(tables, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def test_reduced_seed_has_both_apps_every_kind_and_the_three_languages(db: Database, settings: Settings) -> None:
    summary = _seed(db, settings)
    assert not summary.already_seeded
    assert set(summary.subjects["dating"]) == {"account", "profile", "photo", "conversation", "message"}
    assert set(summary.subjects["market"]) == {"account", "shop", "listing", "review"}
    with db.reader() as s:
        accounts = _subjects(s, "dating", "account") + _subjects(s, "market", "account")
        assert {"GB", "US", "BR", "ES", "DE"} <= {a.country for a in accounts}
        assert all(a.region and a.region.startswith(f"{a.country}-") and a.locale for a in accounts)
        assert all(a.personal.get("email", "").endswith((".com", ".org", ".net")) and a.personal.get("display_name") for a in accounts)
        profiles = _subjects(s, "dating", "profile")
        assert {p.parent_id for p in profiles} == {a.id for a in _subjects(s, "dating", "account")}
        assert {m.language for m in _subjects(s, "dating", "message")} == {"en", "es", "pt"}
        shops = {shop.id: shop for shop in _subjects(s, "market", "shop")}
        listings = _subjects(s, "market", "listing")
        per_shop = {shop_id: sum(1 for item in listings if item.parent_id == shop_id) for shop_id in shops}
        assert all(3 <= n <= 10 for n in per_shop.values()), per_shop
        assert all(item.attributes["price_cents"] > 0 and {"sales", "views"} <= set(item.reach) for item in listings)
        purchases = s.execute(select(AccountEvent).where(AccountEvent.kind == "purchase")).scalars().all()
        assert purchases and all(p.amount_cents and p.currency for p in purchases)


def test_violations_and_false_reports_are_both_in_the_queue(db: Database, settings: Settings) -> None:
    _seed(db, settings)
    harmless = {line for chat in content.CHAT.values() for line in chat.openers + chat.greetings}
    harmless |= {line for reviews in content.REVIEWS.values() for line in reviews}
    with db.reader() as s:
        rows = s.execute(select(Report, Subject).join(Subject, Report.subject_id == Subject.id)).all()
    policies = {report.policy_code for report, _ in rows}
    assert {"SCAM", "HARASSMENT", "SPAM", "COUNTERFEIT", "HATE_SPEECH", "IMPERSONATION", "UNDERAGE_USER"} <= policies
    assert any(r.policy_code == "SCAM" and "coin-yield.example" in (subject.text or "") for r, subject in rows)
    assert any(r.policy_code == "COUNTERFEIT" and "replica" in (subject.title or "").lower() for r, subject in rows)
    assert any(subject.text in harmless for _, subject in rows), "no false report on harmless content"
    assert sum(r.imminent_harm for r, _ in rows) == 2
    assert {r.reporter_type for r, _ in rows} == {"user", "trusted_flagger", "anonymous", "support", "legal"}
    assert all(r.reporter_subject_id for r, _ in rows if r.reporter_type == "user")
    flagged = [r for r, _ in rows if r.reporter_type == "trusted_flagger"]
    assert {r.app_id for r in flagged} == {r.app_id for r, _ in rows}
    for notice in flagged:
        assert notice.notifier_name and notice.notifier_email and notice.dsa_explanation and notice.good_faith
        assert notice.dsa_location_url and notice.dsa_location_url.startswith("https://")


def test_scam_rings_share_devices_cards_and_photos(db: Database, settings: Settings) -> None:
    _seed(db, settings)
    with db.reader() as s:
        for column in (AccountEvent.device_id, AccountEvent.payment_fingerprint):
            accounts = func.count(AccountEvent.account_id.distinct())
            linked = s.execute(
                select(AccountEvent.app_id).where(column.is_not(None)).group_by(AccountEvent.app_id, column).having(accounts >= 3)
            ).scalars()
            assert set(linked) == set(s.execute(select(App.id)).scalars()), column
        reused = s.execute(select(MediaItem.blob_sha256).group_by(MediaItem.blob_sha256).having(func.count() >= 2)).scalars().all()
        assert reused


def test_photos_are_jpeg_files_on_disk(db: Database, settings: Settings) -> None:
    summary = _seed(db, settings)
    store = FileBlobStore(settings.blob_dir)
    with db.reader() as s:
        photos = _subjects(s, "dating", "photo")
        items = {m.subject_id: m for m in s.execute(select(MediaItem).options(selectinload(MediaItem.hashes))).scalars()}
        blobs = {b.sha256: b for b in s.execute(select(Blob)).scalars()}
    assert photos and summary.media_files == len(blobs)
    for photo in photos:
        item = items[photo.id]
        assert item.blob_sha256 is not None
        blob = blobs[item.blob_sha256]
        assert (item.status, item.source, item.kind, item.inline, item.width, item.height) == ("stored", "upload", "image", True, 256, 256)
        assert item.content_type == blob.content_type == "image/jpeg"
        assert {h.algorithm: h.value for h in item.hashes} == {"md5": blob.md5, "sha256": blob.sha256}
        with store.open(blob.sha256) as handle:
            data = handle.read()
        assert hashlib.sha256(data).hexdigest() == blob.sha256 and len(data) == blob.size
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes every byte: a truncated file fails here
            assert image.format == "JPEG" and image.size == (256, 256)


def test_staff_for_every_role_log_in_with_the_printed_passwords(db: Database, settings: Settings) -> None:
    summary = _seed(db, settings)
    relaxed = replace(settings, relax_totp=True)
    with db.reader() as s:
        users = {u.username: u for u in s.execute(select(StaffUser)).scalars()}
    assert {role for u in users.values() for role in u.roles} == {r.value for r in Role}
    assert set(users["lucia"].skills["languages"]) >= {"es", "pt"}
    assert all(u.totp_secret is None for u in users.values())
    for credential in summary.staff:
        with db.session() as s:
            outcome = staff.authenticate(s, relaxed, credential.username, credential.password, None, address="127.0.0.1").outcome
            assert outcome is staff.LoginOutcome.OK
    assert any("TRUSTDESK_RELAX_TOTP" in note for note in summary.notes)  # the fixture's settings do not relax it
    with db.reader() as s:
        apps = dict(s.execute(select(App.slug, App.id)).all())
        for slug, token in summary.tokens.items():
            client = api_clients.resolve_token(s, token)
            assert client is not None and client.app_id == apps[slug]
    assert set(summary.tokens) == {"dating", "market"}


def test_the_queues_look_like_a_working_day(db: Database, settings: Settings) -> None:
    """Cases opened over hours and days, so SLA timers differ; the oldest breached, as the sweep records it."""
    started = utcnow()
    _seed(db, settings)
    ended = utcnow()
    with db.reader() as s:
        cases = s.execute(select(Case).where(Case.status == "open")).scalars().all()
        breaches = s.execute(select(AuditEvent.object_id, AuditEvent.actor_type, AuditEvent.actor_id)
                             .where(AuditEvent.verb == "case.sla_breached")).all()
        reports = s.execute(select(Report)).scalars().all()
        assert verify_chain(s).ok
    opened = [ended - as_utc(c.created_at) for c in cases]
    assert min(opened) < timedelta(hours=1) and max(opened) > timedelta(days=1)
    assert len({int(age.total_seconds() // 600) for age in opened}) > len(cases) // 3  # spread out, not all at once
    late = {c.id for c in cases if as_utc(c.due_at) < started}
    assert late and len(late) < len(cases) / 2  # some breached, most still within their SLA
    assert {int(case_id) for case_id, _, _ in breaches} == {c.id for c in cases if c.breached_at} >= late
    assert {(kind, actor) for _, kind, actor in breaches} == {("system", "sla")}
    assert all(as_utc(c.due_at) > started for c in cases if c.imminent_harm)  # imminent harm came in just now
    assert all(as_utc(r.reported_at) <= as_utc(r.received_at) <= ended for r in reports)


def test_seeding_again_adds_nothing_and_the_chain_verifies(db: Database, settings: Settings) -> None:
    first = _seed(db, settings)
    before = _digest(db)
    again = seed_demo(db, settings, scale=SCALE)
    assert again.already_seeded and not again.tokens
    assert (again.subjects, again.reports, again.account_events, again.media_files) == (
        first.subjects, first.reports, first.account_events, first.media_files,
    )
    assert again.staff == first.staff == DEMO_STAFF
    assert _digest(db) == before
    with db.reader() as s:  # the decision panel has canned rationales to offer, once each
        assert len(rationales_for(s, "SPAM")) == len(DEMO_RATIONALES["SPAM"]) == 2
    with db.reader() as s:
        result = verify_chain(s)
    assert result.ok, result.problem
    assert result.events > sum(first.reports.values())


def test_same_seed_builds_the_same_data_set(db: Database, settings: Settings, sqlite_template: Path, tmp_path: Path) -> None:
    _seed(db, settings)
    other_path = tmp_path / "other.db"
    shutil.copy(sqlite_template, other_path)
    other_settings = replace(settings, data_dir=tmp_path / "other", database_url=f"sqlite:///{other_path}")
    other = Database(other_settings.effective_database_url)
    try:
        _seed(other, other_settings)
        assert _digest(other) == _digest(db)
    finally:
        other.dispose()


def test_large_mode_adds_benchmark_reports_in_batches(db: Database, settings: Settings) -> None:
    seen: list[tuple[str, int, int]] = []
    summary = _seed(db, settings, size="large", report_target=2500, progress=lambda *step: seen.append(step))
    bench = [(done, total) for stage, done, total in seen if stage == "benchmark reports"]
    assert bench == [(1000, 2500), (2000, 2500), (2500, 2500)]
    with db.reader() as s:
        bulk = s.execute(select(Report.app_id, func.count(), func.avg(func.length(Report.text)))
                         .where(Report.external_id.like("bulk-%")).group_by(Report.app_id)).all()
        assert verify_chain(s).ok
    assert sum(count for _, count, _ in bulk) == 2500 and len(bulk) == 2
    assert all(120 <= length <= 170 for _, _, length in bulk)  # with the ids, about 300 bytes of JSON each
    assert sum(summary.reports.values()) > 2500
    for stage in {stage for stage, _, _ in seen}:
        steps = [(done, total) for name, done, total in seen if name == stage]
        assert steps[-1][0] == steps[-1][1] and all(b - a <= 1000 for (a, _), (b, _) in zip([(0, 0), *steps], steps)), stage


def test_unknown_size_and_scale_are_refused(db: Database, settings: Settings) -> None:
    with pytest.raises(ValueError, match="size"):
        seed_demo(db, settings, size="huge")
    with pytest.raises(ValueError, match="scale"):
        seed_demo(db, settings, scale=0)


def test_the_demo_rules_are_synced_from_files_and_hit_once_the_analysers_have_run(db: Database, settings: Settings) -> None:
    from trustdesk.analysis.runs import ANALYSIS, analyse
    from trustdesk.rules.versions import current_versions
    from trustdesk.store.models import RuleHit

    _seed(db, settings)
    with db.reader() as s:
        modes = {rule.name: (version.mode, version.source) for rule, version in current_versions(s)}
        assert modes == {"likely_scam_new_account": ("live", "file"), "offensive_takedown_trial": ("shadow", "file"),
                         "repeat_offender": ("live", "file")}
        ids = s.execute(select(Subject.id).where(Subject.kind.in_(["message", "listing"]))).scalars().all()
    with db.session() as s:
        analyse(s, ANALYSIS, list(ids))
    with db.reader() as s:
        hit = set(s.execute(select(RuleHit.mode)).scalars())
        cases = s.execute(select(Case).where(Case.status == "open")).scalars().all()
        assert hit == {"live", "shadow"}, "the demo's rules should hit, live and in shadow"
        assert any("likely-scam" in c.labels for c in cases), "no open case carries a live rule's label"


def test_the_child_safety_queue_holds_a_grooming_case_a_cybertipline_report_can_be_built_from(
    db: Database, settings: Settings,
) -> None:
    with db.session() as s:
        seed_queues(s, Actor("test", "setup"))  # as `trustdesk db upgrade` does before the demo is seeded
    _seed(db, settings)
    with db.session() as s:
        cases = s.execute(
            select(Case).join(Queue, Queue.id == Case.queue_id).join(Report, Report.case_id == Case.id)
            .where(Queue.name == "Child safety", Report.policy_code == "CHILD_GROOMING",
                   Report.text.in_(content.GENUINE_COMPLAINTS["CHILD_GROOMING"].values()))
        ).scalars().unique().all()
        assert len(cases) >= len(content.LANGUAGES)  # one conversation per language, some of its messages reported
        grace = s.execute(select(StaffUser).where(StaffUser.username == "child-safety")).scalar_one()
        decide_subject(s, Actor("staff", grace.username), cases[0].subject_id,
                       DecisionRequest("CHILD_GROOMING", verdict="violation", actions=["remove", "ban"], rationale="grooming a 15-year-old"))
        built = ncmec_reports.build(s, Actor("staff", grace.username), Reviewer.of(grace), cases[0].id, settings.ncmec)
    assert built.problems == []
    assert "Online Enticement of Children for Sexual Acts" in built.report.xml
