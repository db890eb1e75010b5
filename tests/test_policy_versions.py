"""The catalogue in the database: new installs get the written trees, older installs get them as
a new version where nobody edited the policy, and an admin's edit is never replaced."""

from __future__ import annotations

from sqlalchemy import select

from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.domain.catalogue_trees import CATALOGUE_TREES
from trustdesk.domain.policies import CATALOGUE, catalogue_by_code
from trustdesk.policy_versions import publish_version, seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Policy

UPGRADE = Actor("cli", "operator")


def _as_an_older_release_seeded(db: Database, codes: list[str]) -> None:
    """Version 1 of these policies as the catalogue used to write them: no tree, no texts."""
    with db.session() as s:
        for code in codes:
            spec = catalogue_by_code()[code]
            s.add(Policy(code=code, version=1, title=spec.title, severity=spec.severity,
                         allowed_actions=[a.value for a in spec.allowed_actions], dsa_category="STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
                         dsa_keywords=[], graphic=spec.graphic, description="", guidance="", decision_tree=None,
                         from_catalogue=True, is_current=True))


def test_a_new_install_gets_every_policy_with_its_tree(db: Database) -> None:
    with db.session() as s:
        first = seed_catalogue(s, UPGRADE)
    with db.session() as s:
        again = seed_catalogue(s, UPGRADE)
    assert (first.added, first.updated, first.kept) == (len(CATALOGUE), 0, [])
    assert (again.added, again.updated, again.kept) == (0, 0, [])
    with db.reader() as s:
        rows = {p.code: p for p in s.execute(select(Policy)).scalars()}
        assert {code: (p.version, p.from_catalogue, p.decision_tree) for code, p in rows.items()} == {
            code: (1, True, tree) for code, tree in CATALOGUE_TREES.items()}
        assert rows["SCAM"].guidance.startswith("Read the whole conversation")


def test_an_older_install_gets_the_trees_as_a_new_version_except_where_an_admin_edited(db: Database) -> None:
    _as_an_older_release_seeded(db, ["SCAM", "SPAM", "HARASSMENT"])
    with db.session() as s:  # an admin's edit of HARASSMENT: version 2, written by hand
        publish_version(s, Actor("staff", "root"), "HARASSMENT", {"severity": 4})
    with db.session() as s:
        result = seed_catalogue(s, UPGRADE)
    assert (result.added, result.updated, result.kept) == (len(CATALOGUE) - 3, 2, ["HARASSMENT"])
    with db.reader() as s:
        scam = s.execute(select(Policy).where(Policy.code == "SCAM").order_by(Policy.version)).scalars().all()
        assert [(p.version, p.is_current, p.from_catalogue) for p in scam] == [(1, False, True), (2, True, True)]
        assert scam[1].decision_tree == CATALOGUE_TREES["SCAM"] and scam[1].dsa_category == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
        assert scam[0].decision_tree is None  # decisions taken under version 1 keep what they applied
        harassment = s.execute(select(Policy).where(Policy.code == "HARASSMENT", Policy.is_current.is_(True))).scalar_one()
        assert (harassment.version, harassment.severity, harassment.decision_tree) == (2, 4, None)
        event = s.execute(select(AuditEvent).where(AuditEvent.object_id == "SCAM@2")).scalar_one()
        assert (event.verb, event.actor_id, event.after["from_catalogue"]) == ("policy.versioned", "operator", True)
        assert event.before["decision_tree"] is None and event.after["decision_tree"] == CATALOGUE_TREES["SCAM"]
        assert verify_chain(s).ok
    with db.session() as s:
        assert seed_catalogue(s, UPGRADE).updated == 0


def test_an_admin_edit_that_changes_nothing_makes_no_version(db: Database) -> None:
    with db.session() as s:
        seed_catalogue(s, UPGRADE)
    spec = catalogue_by_code()["SPAM"]
    with db.session() as s:
        row, changed = publish_version(s, Actor("staff", "root"), "SPAM", {
            "title": spec.title, "severity": spec.severity, "allowed_actions": [a.value for a in spec.allowed_actions],
            "decision_tree": CATALOGUE_TREES["SPAM"]})
    assert (row.version, changed) == (1, False)
