"""Locking a row the session already holds reads it again: code that loaded an object and then
locked it goes on from what another transaction committed meanwhile, not from its old copy."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from trustdesk.audit.log import Actor
from trustdesk.domain.rules import parse_rule
from trustdesk.rules import versions
from trustdesk.store.database import Database
from trustdesk.store.models import Rule


def test_a_lock_reads_the_row_again_and_a_plain_read_keeps_the_copy(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite's writers take turns: no row changes under a write transaction")
    with db.session() as s:
        versions.save_rule(s, Actor("test", "setup"), parse_rule({"name": "watch", "mode": "shadow", "expression": "true"}), source="api")
    with db.session() as s:
        rule = s.execute(select(Rule).where(Rule.name == "watch")).scalar_one()
        with db.session() as other:
            other.execute(update(Rule).where(Rule.name == "watch").values(current_version=7))
        assert s.execute(select(Rule).where(Rule.name == "watch")).scalar_one().current_version == 1  # the session's copy
        locked = s.execute(select(Rule).where(Rule.name == "watch").with_for_update()).scalar_one()
        assert locked is rule and rule.current_version == 7
        assert s.get(Rule, rule.id, with_for_update=True) is rule
