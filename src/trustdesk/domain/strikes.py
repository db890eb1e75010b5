"""Strikes and graduated sanctions (DSA Art. 23: suspend only after a prior warning).

Each strike has a weight (set per policy) and expires. The active weight of an account picks
a sanction from the ladder; a suspension or ban is only reached once the account has been
warned before, so the first strike of any weight yields at most a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Sanction(StrEnum):
    NONE = "none"
    WARN = "warn"
    SUSPEND = "suspend"
    BAN = "ban"


@dataclass(frozen=True)
class Ladder:
    warn_at: float = 1.0
    suspend_at: float = 3.0
    ban_at: float = 6.0
    suspension: timedelta = timedelta(days=7)
    strike_lifetime: timedelta = timedelta(days=180)


DEFAULT_LADDER = Ladder()


def strike_weight(severity: int) -> float:
    """Default weight of a strike under a policy of this severity (1 → 1, 5 → 5)."""
    return float(max(1, min(5, severity)))


def sanction_for(active_weight: float, *, warned_before: bool, ladder: Ladder = DEFAULT_LADDER) -> Sanction:
    if active_weight >= ladder.ban_at and warned_before:
        return Sanction.BAN
    if active_weight >= ladder.suspend_at and warned_before:
        return Sanction.SUSPEND
    if active_weight >= ladder.warn_at:
        return Sanction.WARN
    return Sanction.NONE
