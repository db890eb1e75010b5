"""Action types: what each kind of enforcement action is, one small class per kind.

Each class says, for its kind: whom it lands on (the item, or the account that owns it), whether
it cascades to descendants, the params it takes (checked; all of them are sent to the host
platform in the webhook), the visibility it sets or the attribute it marks, when it ends, how it
is reversed, and which restriction it is under DSA Art. 17 — the Transparency Database field and
value its statement of reasons carries — or none. Enforcement, delivery and the console read
these classes through `action_type(kind)` instead of testing kinds one by one.

Which kinds are restrictions: everything that limits the content's visibility (remove, disable,
restrict visibility = demoted, age-restrict, label, cascade takedown), the account (suspend,
ban) or its earnings (demonetise = monetisation terminated until undone). A warning and a strike
restrict nothing by themselves (a strike only counts toward a later sanction, which is then its
own restriction with its own statement), and a reinstatement lifts a restriction; none of these
three gets a statement of reasons.

To add a kind:
1. add its name to `Action` (`trustdesk.domain.policies`), the vocabulary policies allow;
2. write a subclass of `ActionType` below, setting `name` and whatever differs from the defaults
   (override `check_params`, `attribute_change` or `ends_at` if it takes params, marks an
   attribute or is timed), and decorate it with `@register`;
3. allow it in the policies that may use it.
Nothing in enforcement, delivery or the console needs to change; a name registered twice is
refused at import.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from trustdesk.domain.errors import FieldError
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import Visibility

MAX_SUSPENSION_DAYS = 365
MAX_LABEL_LENGTH = 100

# From least to most hidden: only a reinstatement moves a subject down this list.
_STRICTNESS = {
    v: rank
    for rank, v in enumerate(
        (Visibility.VISIBLE, Visibility.AGE_RESTRICTED, Visibility.RESTRICTED, Visibility.DISABLED,
         Visibility.REMOVED, Visibility.SUSPENDED, Visibility.BANNED)
    )
}


class Reversal(StrEnum):
    """How an applied action is taken back."""

    RESTORE = "restore"  # undo puts back the visibility / attribute it changed
    REVOKE_STRIKE = "revoke_strike"  # the strike it recorded is revoked; undo refuses it


@dataclass(frozen=True)
class Restriction:
    """The DSA Art. 17 restriction an action is: one `decision_*` field of the statement of
    reasons, its value, and the end-date field that goes with it."""

    field: str  # decision_visibility, decision_monetary, decision_provision or decision_account
    value: str
    end_date_field: str

    def fields(self) -> dict[str, Any]:
        """The statement's decision field; `decision_visibility` is a list in the statement."""
        return {self.field: [self.value] if self.field == "decision_visibility" else self.value}


def _visibility(value: str) -> Restriction:
    return Restriction("decision_visibility", f"DECISION_VISIBILITY_{value}", "end_date_visibility_restriction")


class ActionType:
    """One kind of action; the defaults are those of an action on an item that sets nothing."""

    name: ClassVar[str]
    on_account: ClassVar[bool] = False  # addressed to the person: lands on the owning account
    cascades: ClassVar[bool] = False  # can be carried down to the subject's descendants
    always_cascades: ClassVar[bool] = False  # is carried down whether or not the cascade is asked for
    cascade_kind: ClassVar[str | None] = None  # what descendants get, if not the same kind
    sets_visibility: ClassVar[Visibility | None] = None
    params: ClassVar[tuple[str, ...]] = ()  # the params it takes, all sent to the host platform
    always_changes: ClassVar[bool] = False  # an event for the person: never a no-op, even if nothing moves
    records_strike: ClassVar[bool] = False
    restriction: ClassVar[Restriction | None] = None

    @property
    def reversal(self) -> Reversal:
        return Reversal.REVOKE_STRIKE if self.records_strike else Reversal.RESTORE

    @property
    def descendants_get(self) -> str:
        return self.cascade_kind or self.name

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The params this kind uses, checked; errors name the request field (`params.days`)."""
        return {}

    def visibility_after(self, current: str) -> str | None:
        """The visibility it leaves a subject in, or None if it does not touch visibility.
        Only a reinstatement makes a subject more visible."""
        target = self.sets_visibility
        if target is None:
            return None
        if _STRICTNESS[target] >= _STRICTNESS.get(current, 0):
            return target.value
        return current

    def attribute_change(self, attributes: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
        """(attribute, before, after) for a kind that marks a subject instead of hiding it."""
        return None

    def ends_at(self, now: datetime, params: Mapping[str, Any]) -> datetime | None:
        """When a timed action ends by itself."""
        return None


class ActionTypes:
    """A registry of action types by name."""

    def __init__(self) -> None:
        self._types: dict[str, ActionType] = {}

    def register(self, cls: type[ActionType]) -> type[ActionType]:
        """Class decorator; a name registered twice is a programming error, refused at once."""
        if cls.name in self._types:
            raise ValueError(f"action type {cls.name!r} is registered twice")
        self._types[cls.name] = cls()
        return cls

    def get(self, kind: str, field: str = "kind") -> ActionType:
        found = self._types.get(str(kind))
        if found is None:
            raise FieldError(field, f"unknown action {kind!r}")
        return found

    def __contains__(self, kind: object) -> bool:
        return kind in self._types

    def __iter__(self) -> Iterator[ActionType]:
        return iter(self._types.values())


REGISTRY = ActionTypes()
register = REGISTRY.register


def action_type(kind: str, field: str = "kind") -> ActionType:
    """The registered type of `kind`; an unknown kind is a `FieldError` on `field`."""
    return REGISTRY.get(kind, field)


def new_visibility(kind: str, current: str) -> str | None:
    """The visibility `kind` leaves a subject in, or None if the action does not touch it."""
    return action_type(kind).visibility_after(current)


@register
class Remove(ActionType):
    name = Action.REMOVE
    cascades = True
    sets_visibility = Visibility.REMOVED
    restriction = _visibility("CONTENT_REMOVED")


@register
class Disable(ActionType):
    name = Action.DISABLE
    cascades = True
    sets_visibility = Visibility.DISABLED
    restriction = _visibility("CONTENT_DISABLED")


@register
class RestrictVisibility(ActionType):
    name = Action.RESTRICT_VISIBILITY
    cascades = True
    sets_visibility = Visibility.RESTRICTED
    restriction = _visibility("CONTENT_DEMOTED")


@register
class AgeRestrict(ActionType):
    name = Action.AGE_RESTRICT
    cascades = True
    sets_visibility = Visibility.AGE_RESTRICTED
    restriction = _visibility("CONTENT_AGE_RESTRICTED")


@register
class CascadeTakedown(ActionType):
    """Removes a subject and everything under it: each descendant gets a plain `remove`."""

    name = Action.CASCADE_TAKEDOWN
    cascades = always_cascades = True
    cascade_kind = Action.REMOVE
    sets_visibility = Visibility.REMOVED
    restriction = _visibility("CONTENT_REMOVED")


@register
class Label(ActionType):
    name = Action.LABEL
    params = ("label",)
    restriction = _visibility("CONTENT_LABELLED")

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        label = params.get("label")
        if not isinstance(label, str) or not label.strip() or len(label.strip()) > MAX_LABEL_LENGTH:
            raise FieldError("params.label", f"label needs a label of 1 to {MAX_LABEL_LENGTH} characters")
        return {"label": label.strip()}

    def attribute_change(self, attributes: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[str, Any, Any]:
        labels = list(attributes.get("labels", []))
        return "labels", attributes.get("labels"), labels if params["label"] in labels else labels + [params["label"]]


@register
class Demonetise(ActionType):
    """Stops the item earning until undone: no end date, so monetisation is terminated."""

    name = Action.DEMONETISE
    restriction = Restriction("decision_monetary", "DECISION_MONETARY_TERMINATION", "end_date_monetary_restriction")

    def attribute_change(self, attributes: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[str, Any, Any]:
        return "demonetised", attributes.get("demonetised"), True


@register
class Warn(ActionType):
    name = Action.WARN
    on_account = True
    always_changes = True


@register
class Strike(ActionType):
    """Counts against the account; reversed by revoking the strike, which also lifts what it triggered."""

    name = Action.STRIKE
    on_account = True
    always_changes = True
    records_strike = True


@register
class Suspend(ActionType):
    """A timed suspension of the account: it ends by itself after `days`."""

    name = Action.SUSPEND
    on_account = True
    always_changes = True
    sets_visibility = Visibility.SUSPENDED
    params = ("days",)
    restriction = Restriction("decision_account", "DECISION_ACCOUNT_SUSPENDED", "end_date_account_restriction")

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        days = params.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SUSPENSION_DAYS:
            raise FieldError("params.days", f"suspend needs a whole number of days from 1 to {MAX_SUSPENSION_DAYS}")
        return {"days": days}

    def ends_at(self, now: datetime, params: Mapping[str, Any]) -> datetime:
        return now + timedelta(days=params["days"])


@register
class Ban(ActionType):
    name = Action.BAN
    on_account = True
    sets_visibility = Visibility.BANNED
    restriction = Restriction("decision_account", "DECISION_ACCOUNT_TERMINATED", "end_date_account_restriction")


@register
class Reinstate(ActionType):
    """Lifts a restriction: the one kind that makes a subject visible again."""

    name = Action.REINSTATE
    sets_visibility = Visibility.VISIBLE

    def visibility_after(self, current: str) -> str:
        return Visibility.VISIBLE.value
