"""Revision 0013 makes rows received before it searchable: their text at once (FTS5 filled, or
PostgreSQL's GIN index built), their personal identifiers when `trustdesk db upgrade` runs; and
back down again, on both databases."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET
from trustdesk.audit import personal_data
from trustdesk.cli import app
from trustdesk.domain.identifiers import IdentifierKind
from trustdesk.search.identifier_index import digest_of
from trustdesk.store import full_text
from trustdesk.store.database import Database
from trustdesk.store.migrate import alembic_config, upgrade
from trustdesk.store.models import IdentifierDigest, Report, Subject

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_rows_from_before_0013_are_found_after_db_upgrade(empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade(empty_url, "0009")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, text, "
            "received_at, updated_at) VALUES (1, 1, 'acc-1', 'account', 'visible', '{}', '{\"email\": \"Old@Example.org\"}', "
            "'{}', :h, 'selling rare stamps', :t, :t)"), {"h": "0" * 64, "t": NOW})
        conn.execute(text(
            "INSERT INTO account_events (id, app_id, external_id, account_id, kind, ip, attributes, body_hash, occurred_at, received_at) "
            "VALUES (1, 1, 'ev-1', 1, 'login', '192.0.2.9', '{}', :h, :t, :t)"), {"h": "0" * 64, "t": NOW})
        conn.execute(text(
            "INSERT INTO reports (id, app_id, external_id, subject_id, policy_code, reporter_type, text, good_faith, imminent_harm, "
            "status, body_hash, received_at) VALUES (1, 1, 'r-1', 1, 'SCAM', 'anonymous', 'asked for a deposit upfront', FALSE, FALSE, "
            "'open', :h, :t)"), {"h": "0" * 64, "t": NOW})
    engine.dispose()

    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", empty_url)
    monkeypatch.setenv("TRUSTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRUSTDESK_SECRET_KEY", TEST_SECRET)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "2 personal identifiers indexed for search" in " ".join(result.output.split())  # the terminal wraps lines
    again = CliRunner().invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "indexed for search" not in again.output  # only once, right after the index is made

    personal_data.configure(TEST_SECRET)
    db = Database(empty_url)
    with db.reader() as s:
        found = set(s.execute(select(IdentifierDigest.kind, IdentifierDigest.object_type, IdentifierDigest.object_id).where(
            IdentifierDigest.digest.in_([digest_of(IdentifierKind.EMAIL, "old@example.ORG"), digest_of(IdentifierKind.IP, "192.0.2.9")])
        )).all())
        assert found == {("email", "subject", 1), ("ip", "subject", 1)}
        assert s.execute(select(Report.id).where(full_text.matches(s, Report, ["deposit", "UPFRONT"]))).scalars().all() == [1]
        assert s.execute(select(Subject.id).where(full_text.matches(s, Subject, ["stamps"]))).scalars().all() == [1]
    db.dispose()

    assert CliRunner().invoke(app, ["search", "reindex"]).output.strip() == "2 personal identifiers indexed for search"

    command.downgrade(alembic_config(empty_url), "0009")
    engine = create_engine(empty_url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert "identifier_digests" not in names and not any(n.startswith(("reports_fts", "subjects_fts")) for n in names)
