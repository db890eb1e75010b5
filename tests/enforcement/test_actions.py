"""Actions on subjects: each effect, the account rule, cascades with preview, undo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.enforcement.conftest import World, account, item
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.cases.access import Reviewer
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.policies import Action
from trustdesk.enforcement.actions import (
    UNDONE,
    UndoResult,
    apply_action,
    descendants,
    new_visibility,
    preview_cascade,
    undo_action,
)
from trustdesk.store.models import AuditEvent, EnforcementAction, Subject, as_utc

SENIOR = Actor("staff", "senior")


def _apply(world: World, subject_id: int, kind: Action, **kwargs: Any) -> EnforcementAction:
    with world.db.session() as s:
        return apply_action(s, SENIOR, s.get_one(Subject, subject_id), kind, **kwargs).action


def _undo(world: World, action_id: int, reason: str = "the shop's papers check out") -> UndoResult:
    with world.db.session() as s:
        return undo_action(s, SENIOR, action_id, reason=reason)


# (action, params, starting visibility of the post, which subject changes, visibility it ends with)
EFFECTS = [
    (Action.REMOVE, None, "visible", "post", "removed"),
    (Action.DISABLE, None, "visible", "post", "disabled"),
    (Action.RESTRICT_VISIBILITY, None, "visible", "post", "restricted"),
    (Action.AGE_RESTRICT, None, "visible", "post", "age_restricted"),
    (Action.REINSTATE, None, "removed", "post", "visible"),
    (Action.SUSPEND, {"days": 7}, "visible", "acc", "suspended"),
    (Action.BAN, None, "visible", "acc", "banned"),
    (Action.WARN, None, "visible", "acc", None),
    (Action.STRIKE, None, "visible", "acc", None),
    (Action.LABEL, {"label": "satire"}, "visible", "post", None),
    (Action.DEMONETISE, None, "visible", "post", None),
]


@pytest.mark.parametrize(("kind", "params", "start", "target", "after"), EFFECTS, ids=[e[0].value for e in EFFECTS])
def test_each_action_has_its_effect(
    world: World, kind: Action, params: dict[str, Any] | None, start: str, target: str, after: str | None
) -> None:
    ids = world.add_subjects(account("acc"), item("post", "post", owner="acc", visibility=start))
    action = _apply(world, ids["post"], kind, params=params)

    other = "post" if target == "acc" else "acc"
    assert action.subject_id == ids[target]
    assert action.kind == kind.value and action.status == "applied" and action.created_by == "staff:senior"
    assert "delivery" not in action.params  # delivery state lives in the outbox
    before = start if target == "post" else "visible"
    assert (action.visibility_before, action.visibility_after) == ((before, after) if after else (None, None))
    assert world.subject(ids[target]).visibility == (after or before)
    assert world.subject(ids[other]).visibility == (start if other == "post" else "visible")
    if kind is Action.SUSPEND:
        assert as_utc(action.ends_at) - as_utc(action.created_at) == timedelta(days=7)
    else:
        assert action.ends_at is None
    attributes = world.subject(ids["post"]).attributes
    assert attributes.get("labels") == (["satire"] if kind is Action.LABEL else None)
    assert attributes.get("demonetised") == (True if kind is Action.DEMONETISE else None)
    with world.db.reader() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "action.applied")).scalar_one()
        assert (event.object_type, event.object_id, event.actor_id) == ("subject", str(ids[target]), "senior")
        assert event.after["action_id"] == action.id and event.after["kind"] == kind.value


@pytest.mark.parametrize(
    ("kind", "params", "cascade", "field"),
    [
        (Action.SUSPEND, None, False, "params.days"),
        (Action.SUSPEND, {"days": 0}, False, "params.days"),
        (Action.SUSPEND, {"days": 366}, False, "params.days"),
        (Action.SUSPEND, {"days": "7"}, False, "params.days"),
        (Action.LABEL, {"label": "  "}, False, "params.label"),
        (Action.BAN, None, False, "subject_id"),  # the post has no owning account
        (Action.LABEL, {"label": "x"}, True, "cascade"),
        ("explode", None, False, "kind"),
    ],
)
def test_refused_actions_name_the_field_and_write_nothing(
    world: World, kind: Action | str, params: dict[str, Any] | None, cascade: bool, field: str
) -> None:
    ids = world.add_subjects(item("orphan", "post"))
    with pytest.raises(FieldError) as caught, world.db.session() as s:
        apply_action(s, SENIOR, s.get_one(Subject, ids["orphan"]), kind, params=params, cascade=cascade)  # type: ignore[arg-type]
    assert caught.value.field == field and caught.value.status == 422
    assert world.actions() == []


def _shop(world: World) -> dict[str, int]:
    """acc → shop → three listings (one with a photo); a review the account owns elsewhere."""
    return world.add_subjects(
        account("acc"),
        account("other"),
        item("shop", "shop", parent="acc"),
        item("lst-1", "listing", parent="shop"),
        item("lst-2", "listing", parent="shop", visibility="age_restricted"),
        item("lst-3", "listing", parent="shop", visibility="removed"),
        item("photo", "photo", parent="lst-1"),
        item("other-lst", "listing", owner="other"),
        item("review", "review", parent="other-lst", owner="acc"),
    )


def test_descendants_follow_the_tree_and_for_an_account_everything_it_owns(world: World) -> None:
    ids = _shop(world)
    with world.db.reader() as s:
        of_account = [d.id for d in descendants(s, s.get_one(Subject, ids["acc"]))]
        of_shop = [d.id for d in descendants(s, s.get_one(Subject, ids["shop"]))]
    tree = ["shop", "lst-1", "lst-2", "lst-3", "photo"]
    assert of_account == [ids[e] for e in tree + ["review"]]  # breadth first, then what it owns
    assert of_shop == [ids[e] for e in tree[1:]]


def test_cascade_preview_then_apply_then_undo_restores_everything(world: World) -> None:
    ids = _shop(world)
    with world.db.reader() as s:
        preview = preview_cascade(s, ids["acc"], Action.CASCADE_TAKEDOWN, Reviewer(1, ("senior",)))
    changed = {c.subject_id: (c.before, c.after) for c in preview.changes}
    assert changed == {
        ids["acc"]: ("visible", "removed"), ids["shop"]: ("visible", "removed"), ids["lst-1"]: ("visible", "removed"),
        ids["lst-2"]: ("age_restricted", "removed"), ids["photo"]: ("visible", "removed"),
        ids["review"]: ("visible", "removed"),
    }
    assert preview.unchanged == 1  # lst-3 was removed already

    root = _apply(world, ids["acc"], Action.CASCADE_TAKEDOWN)
    actions = world.actions()
    assert {a.subject_id for a in actions} == set(changed)  # exactly what the preview showed
    assert all(a.cascade_of == root.id and a.kind == "remove" for a in actions if a.id != root.id)
    assert set(world.visibility(*ids.values())) == {"removed", "visible"}
    assert world.visibility(ids["other"], ids["other-lst"]) == ["visible", "visible"]

    for no_reason in ("", "   "):  # a cascade comes back only with a reason
        with pytest.raises(FieldError) as refused:
            _undo(world, root.id, reason=no_reason)
        assert refused.value.field == "reason"
    assert set(world.visibility(*changed)) == {"removed"}

    result = _undo(world, root.id)
    assert len(result.undone) == 6 and result.skipped == []
    assert [a.status for a in world.actions()] == [UNDONE] * 6
    assert world.visibility(ids["acc"], ids["shop"], ids["lst-1"], ids["lst-2"], ids["lst-3"], ids["photo"], ids["review"]) == [
        "visible", "visible", "visible", "age_restricted", "removed", "visible", "visible"
    ]
    with pytest.raises(Conflict) as twice:
        _undo(world, root.id)
    assert twice.value.field == "action_id" and "already undone" in twice.value.message
    with world.db.reader() as s:
        undone = s.execute(select(AuditEvent).where(AuditEvent.verb == "action.undone")).scalars().all()
        assert len(undone) == 6 and {e.after["reason"] for e in undone} == {"the shop's papers check out"}
        assert verify_chain(s).ok


def test_undo_leaves_alone_what_was_changed_since(world: World) -> None:
    ids = _shop(world)
    root = _apply(world, ids["shop"], Action.REMOVE, cascade=True)
    _apply(world, ids["lst-1"], Action.REINSTATE)
    _apply(world, ids["lst-1"], Action.RESTRICT_VISIBILITY)  # a later decision on one listing

    result = _undo(world, root.id)
    assert [a.subject_id for a in result.skipped] == [ids["lst-1"]]
    assert len(result.undone) == 4  # shop, lst-1, lst-2, photo
    assert world.visibility(ids["shop"], ids["lst-1"], ids["lst-2"], ids["photo"]) == [
        "visible", "restricted", "age_restricted", "visible"
    ]
    with world.db.reader() as s:
        skipped = s.execute(
            select(AuditEvent).where(AuditEvent.verb == "action.undone", AuditEvent.object_id == str(ids["lst-1"]))
        ).scalar_one()
    assert skipped.after["skipped"] is True and skipped.after["visibility"] == "restricted"


def test_a_cascade_never_reveals_what_is_hidden_more_strictly(world: World) -> None:
    ids = _shop(world)
    _apply(world, ids["shop"], Action.RESTRICT_VISIBILITY, cascade=True)
    assert world.visibility(ids["shop"], ids["lst-1"], ids["lst-2"], ids["lst-3"]) == [
        "restricted", "restricted", "restricted", "removed"
    ]
    assert ids["lst-3"] not in {a.subject_id for a in world.actions()}
    assert new_visibility(Action.AGE_RESTRICT, "removed") == "removed"
    assert new_visibility(Action.REINSTATE, "banned") == "visible"
    assert new_visibility(Action.LABEL, "visible") is None


def test_undo_takes_a_label_off_again(world: World) -> None:
    ids = world.add_subjects(item("post", "post", attributes={"labels": ["ad"], "lang": "de"}))
    action = _apply(world, ids["post"], Action.LABEL, params={"label": "satire"})
    assert world.subject(ids["post"]).attributes == {"labels": ["ad", "satire"], "lang": "de"}
    _undo(world, action.id, reason="")  # one subject: no reason needed
    assert world.subject(ids["post"]).attributes == {"labels": ["ad"], "lang": "de"}


def test_a_strike_is_not_undone_as_an_action(world: World) -> None:
    ids = world.add_subjects(account("acc"))
    action = _apply(world, ids["acc"], Action.STRIKE)
    with pytest.raises(FieldError) as caught:
        _undo(world, action.id)
    assert caught.value.field == "action_id" and "revok" in caught.value.message
