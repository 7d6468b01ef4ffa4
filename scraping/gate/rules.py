"""How batoshelf behaves towards a source: pure rules, no database, no clock of their own.

The limiter's turn-taking, the waits after a 429 or a block, what an answer
says about the source, and which base URL (Bato's mirrors) comes next. `scraping.gate.keeper` keeps the
state these rules read and write, cluster-wide; the month-long replay in
`scraping.schedule.simulation` runs the very same rules.
"""

import enum
from dataclasses import dataclass
from typing import Any

from scraping.sources.errors import Blocked, RateLimited, SourceError

HOUR = 3600.0
# A check someone asked for that waits for a turn holds the others back this
# much longer than its own wait, so a crashed asker cannot hold them for long.
PRIORITY_LEASE = 5.0
# How often a check held back by an asked-for one looks again.
PRIORITY_POLL = 0.5
# After a 429 the source has told us its limit is near: requests go this many
# times further apart for this long, so the next burst does not meet it again.
SLOW_PACE_FACTOR = 2.0
SLOW_PACE_FOR = HOUR


@dataclass(frozen=True)
class LimiterState:
    """Every worker's shared view of the source's request budget; times are epoch seconds."""

    next_at: float = 0.0  # no request before this
    recent: tuple[float, ...] = ()  # when the requests of the last hour went, oldest first
    priority_until: float = 0.0  # a check someone asked for is waiting: the others hold back until then

    def as_json(self) -> dict[str, Any]:
        return {"next_at": self.next_at, "recent": list(self.recent), "priority_until": self.priority_until}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "LimiterState":
        data = data or {}
        return cls(
            next_at=float(data.get("next_at", 0.0)),
            recent=tuple(float(t) for t in data.get("recent", ())),
            priority_until=float(data.get("priority_until", 0.0)),
        )

    def requests_in_last_hour(self, now: float) -> int:
        return sum(1 for t in self.recent if t > now - HOUR)


@dataclass(frozen=True)
class TurnDecision:
    granted: bool
    wait: float  # seconds to wait before asking again; 0 when granted
    state: LimiterState  # what to store: changed when granted or when an asked-for check claims the next turn
    reason: str = ""


def decide_turn(
    state: LimiterState, now: float, *, delay: float, per_hour: int, priority: bool = False
) -> TurnDecision:
    """May a request go to the source at `now`? Pure: the caller stores `state` if it changed.

    A request needs `next_at` to have passed and fewer than `per_hour` requests
    in the hour before; when it goes, the next one may not follow for `delay`
    seconds. While a check someone asked for waits, no other check takes a turn.
    """
    recent = tuple(t for t in state.recent if t > now - HOUR)
    wait, reason = max(0.0, state.next_at - now), "spacing"
    if len(recent) >= per_hour:
        until_one_expires = recent[len(recent) - per_hour] + HOUR - now
        if until_one_expires > wait:
            wait, reason = until_one_expires, f"{per_hour} requests an hour"
    if not priority and state.priority_until > now and wait <= 0:
        wait, reason = min(PRIORITY_POLL, state.priority_until - now), "a check someone asked for goes first"
    if wait > 0:
        held = state.priority_until
        if priority:
            held = max(held, now + wait + PRIORITY_LEASE)
        return TurnDecision(False, wait, LimiterState(state.next_at, recent, held), reason)
    return TurnDecision(
        True,
        0.0,
        LimiterState(now + delay, recent + (now,), 0.0 if priority else state.priority_until),
    )


@dataclass(frozen=True)
class Turn:
    """Leave to send one request to a source: to which of its base URLs, and whether it is the breaker's probe."""

    source: str
    mirror: str
    probe: bool = False
    failures_seen: int = 0  # the source's failure run when the turn was given


class Verdict(enum.Enum):
    """What one answer (or its absence) says about the source, as opposed to the title."""

    FINE = "fine"  # the source answered as itself: JSON, even if the title was missing
    RATE_LIMITED = "rate limited"
    BLOCKED = "blocked"
    UNREACHABLE = "unreachable"


def judge(error: SourceError | None) -> Verdict:
    """The verdict on the source for one fetch that raised `error` (None when it worked)."""
    if error is None or not error.source_wide:
        return Verdict.FINE
    if isinstance(error, RateLimited):
        return Verdict.RATE_LIMITED
    if isinstance(error, Blocked):
        return Verdict.BLOCKED
    return Verdict.UNREACHABLE


def spacing(delay: float, now: float, rate_limited_at: float | None) -> float:
    """The gap to leave after a request: `delay`, or SLOW_PACE_FACTOR times it within an hour of a 429."""
    if rate_limited_at is not None and now - rate_limited_at < SLOW_PACE_FOR:
        return delay * SLOW_PACE_FACTOR
    return delay


def rate_limit_wait(retry_after: float | None, *, default: float, cap: float) -> float:
    """Seconds every worker stays silent after a 429 that asked for `retry_after` (None: it did not say)."""
    return min(default if retry_after is None else max(0.0, retry_after), cap)


def breaker_wait(openings: int, *, first: float, longest: float) -> float:
    """Seconds the breaker stays open the `openings`-th time in a row: first, doubling, capped."""
    return min(first * 2 ** max(0, min(openings - 1, 32)), longest)


def next_mirror(mirrors: list[str], failed: str | None) -> str:
    """The mirror after `failed` in the ordered list, wrapping round; the first if `failed` is unknown."""
    if failed not in mirrors:
        return mirrors[0]
    return mirrors[(mirrors.index(failed) + 1) % len(mirrors)]


def mirror_in_use(mirrors: list[str], remembered: str | None) -> str:
    """The remembered mirror while it is still configured, else the first."""
    return remembered if remembered in mirrors else mirrors[0]
