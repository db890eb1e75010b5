"""Rows read with plain SQL, for migration tests that look at a schema the models no longer describe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, create_engine, text


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(query))]
    engine.dispose()
    return found


def add_decided_listing(conn: Connection, now: datetime) -> None:
    """App 1 (`market`), policy 1 (`SPAM`), listing 3, removed, and decision 1 that removed it."""
    conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": now})
    conn.execute(text(
        "INSERT INTO policies (id, code, version, title, severity, allowed_actions, dsa_category, dsa_keywords, graphic, "
        "description, is_current, created_at) VALUES (1, 'SPAM', 1, 'Spam', 2, '[\"remove\"]', "
        "'STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE', '[]', FALSE, '', TRUE, :t)"
    ), {"t": now})
    conn.execute(text(
        "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
        "received_at, updated_at) VALUES (3, 1, 'lst-3', 'listing', 'removed', '{}', '{}', '{}', :h, :t, :t)"
    ), {"h": "0" * 64, "t": now})
    conn.execute(text(
        "INSERT INTO decisions (id, subject_id, policy_id, policy_code, policy_version, verdict, actions, rationale, tree_path, "
        "time_spent_ms, created_at) VALUES (1, 3, 1, 'SPAM', 1, 'violation', '[\"remove\"]', '', '[]', 0, :t)"
    ), {"t": now})
