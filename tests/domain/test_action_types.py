"""Action types: every kind is registered and behaves; the registry refuses a name twice; a new
kind added by the documented recipe is picked up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trustdesk.domain.action_types import (
    REGISTRY,
    ActionType,
    ActionTypes,
    Reversal,
    Restriction,
    action_type,
    register,
)
from trustdesk.domain.errors import FieldError
from trustdesk.domain.policies import Action
from trustdesk.domain.statement_of_reasons import END_DATES
from trustdesk.domain.taxonomy import (
    DSA_DECISION_ACCOUNTS,
    DSA_DECISION_MONETARY,
    DSA_DECISION_PROVISIONS,
    DSA_DECISION_VISIBILITIES,
)
from trustdesk.domain.vocabulary import Visibility

NOW = datetime(2026, 3, 1, tzinfo=UTC)
VALUES = {
    "decision_visibility": DSA_DECISION_VISIBILITIES,
    "decision_monetary": DSA_DECISION_MONETARY,
    "decision_provision": DSA_DECISION_PROVISIONS,
    "decision_account": DSA_DECISION_ACCOUNTS,
}
# kind: (lands on the account, cascades, visibility it sets, restriction value or None)
EXPECTED: dict[Action, tuple[bool, bool, Visibility | None, str | None]] = {
    Action.REMOVE: (False, True, Visibility.REMOVED, "DECISION_VISIBILITY_CONTENT_REMOVED"),
    Action.DISABLE: (False, True, Visibility.DISABLED, "DECISION_VISIBILITY_CONTENT_DISABLED"),
    Action.RESTRICT_VISIBILITY: (False, True, Visibility.RESTRICTED, "DECISION_VISIBILITY_CONTENT_DEMOTED"),
    Action.AGE_RESTRICT: (False, True, Visibility.AGE_RESTRICTED, "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"),
    Action.LABEL: (False, False, None, "DECISION_VISIBILITY_CONTENT_LABELLED"),
    Action.WARN: (True, False, None, None),
    Action.STRIKE: (True, False, None, None),
    Action.SUSPEND: (True, False, Visibility.SUSPENDED, "DECISION_ACCOUNT_SUSPENDED"),
    Action.BAN: (True, False, Visibility.BANNED, "DECISION_ACCOUNT_TERMINATED"),
    Action.DEMONETISE: (False, False, None, "DECISION_MONETARY_TERMINATION"),
    Action.CASCADE_TAKEDOWN: (False, True, Visibility.REMOVED, "DECISION_VISIBILITY_CONTENT_REMOVED"),
    Action.REINSTATE: (False, False, Visibility.VISIBLE, None),
}


def test_every_action_of_the_vocabulary_is_registered_once() -> None:
    assert sorted(t.name for t in REGISTRY) == sorted(a.value for a in Action)


@pytest.mark.parametrize("kind", list(Action), ids=[a.value for a in Action])
def test_each_kind_behaves(kind: Action) -> None:
    typed = action_type(kind)
    on_account, cascades, sets, restriction = EXPECTED[kind]
    assert (typed.on_account, typed.cascades, typed.sets_visibility) == (on_account, cascades, sets)
    assert (typed.restriction.value if typed.restriction else None) == restriction
    if typed.restriction:
        assert typed.restriction.value in VALUES[typed.restriction.field]
        assert END_DATES[typed.restriction.end_date_field] == typed.restriction.field
    assert typed.visibility_after("visible") == (sets.value if sets else None)
    assert typed.reversal is (Reversal.REVOKE_STRIKE if kind is Action.STRIKE else Reversal.RESTORE)


def test_only_a_reinstatement_makes_a_subject_more_visible() -> None:
    assert action_type(Action.AGE_RESTRICT).visibility_after("removed") == "removed"
    assert action_type(Action.REMOVE).visibility_after("age_restricted") == "removed"
    assert action_type(Action.REINSTATE).visibility_after("banned") == "visible"


def test_params_are_checked_naming_the_field() -> None:
    suspend, label = action_type(Action.SUSPEND), action_type(Action.LABEL)
    assert suspend.check_params({"days": 7, "label": "x"}) == {"days": 7}
    for bad in ({}, {"days": 0}, {"days": 366}, {"days": "7"}, {"days": True}):
        with pytest.raises(FieldError) as caught:
            suspend.check_params(bad)
        assert caught.value.field == "params.days"
    assert label.check_params({"label": " satire "}) == {"label": "satire"}
    with pytest.raises(FieldError) as caught:
        label.check_params({"label": " "})
    assert caught.value.field == "params.label"
    assert action_type(Action.REMOVE).check_params({"days": 3}) == {}


def test_timed_and_marking_kinds() -> None:
    assert action_type(Action.SUSPEND).ends_at(NOW, {"days": 3}) == NOW + timedelta(days=3)
    assert action_type(Action.BAN).ends_at(NOW, {}) is None
    assert action_type(Action.LABEL).attribute_change({"labels": ["a"]}, {"label": "b"}) == ("labels", ["a"], ["a", "b"])
    assert action_type(Action.LABEL).attribute_change({"labels": ["b"]}, {"label": "b"}) == ("labels", ["b"], ["b"])
    assert action_type(Action.DEMONETISE).attribute_change({}, {}) == ("demonetised", None, True)
    assert action_type(Action.REMOVE).attribute_change({}, {}) is None
    assert action_type(Action.CASCADE_TAKEDOWN).descendants_get == Action.REMOVE
    assert action_type(Action.DISABLE).descendants_get == Action.DISABLE


def test_restriction_fields_are_the_statement_shape() -> None:
    assert action_type(Action.REMOVE).restriction.fields() == {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]}
    assert action_type(Action.BAN).restriction.fields() == {"decision_account": "DECISION_ACCOUNT_TERMINATED"}


def test_an_unknown_kind_names_the_field() -> None:
    with pytest.raises(FieldError) as caught:
        action_type("shadow_ban", "actions[0]")
    assert caught.value.field == "actions[0]"


def test_registering_a_name_twice_fails() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @register
        class AnotherRemove(ActionType):
            name = Action.REMOVE

    assert type(action_type(Action.REMOVE)).__name__ == "Remove"


def test_a_new_kind_added_by_the_recipe_is_picked_up() -> None:
    registry = ActionTypes()

    @registry.register
    class ShadowLimit(ActionType):
        """Hides an item from search for a number of days."""

        name = "shadow_limit"
        cascades = True
        sets_visibility = Visibility.RESTRICTED
        params = ("days",)
        restriction = Restriction("decision_visibility", "DECISION_VISIBILITY_CONTENT_DEMOTED", "end_date_visibility_restriction")

        def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
            if not isinstance(params.get("days"), int):
                raise FieldError("params.days", "a number of days")
            return {"days": params["days"]}

        def ends_at(self, now: datetime, params: dict[str, Any]) -> datetime:
            return now + timedelta(days=params["days"])

    typed = registry.get("shadow_limit")
    assert "shadow_limit" in registry and "shadow_limit" not in REGISTRY
    assert typed.visibility_after("visible") == "restricted" and typed.visibility_after("removed") == "removed"
    assert typed.ends_at(NOW, typed.check_params({"days": 2})) == NOW + timedelta(days=2)
    assert typed.descendants_get == "shadow_limit" and typed.reversal is Reversal.RESTORE
