"""The gate every request to a source goes through, shared by every worker on every machine.

Each source has its own gate: its own spacing, hourly budget, pause and
breaker, so a MangaDex 429 never holds MangaUpdates back. Before a request,
`take_turn` refuses while a 429's pause or the circuit breaker holds, and waits
for the source's cluster-wide limiter (scraping.gate.limiter). After it,
`record_answer` applies what the answer says about the source (the pure rules
in scraping.gate.rules) to its row: pause every worker, move to the next base
URL, open or close the breaker, tell staff. `Requests` is the two together, as
a source's fetch calls it. The row is changed by conditional updates or under
its lock, so workers on several machines agree.
"""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.delivery import publish_on_commit
from notifications.models import Notification
from scraping import sources
from scraping.gate import rules
from scraping.gate.limiter import limiter
from scraping.gate.rules import Turn, Verdict, decide_turn, spacing
from scraping.models import SourceState
from scraping.sources.errors import RequestTimedOut, SourceError
from scraping.sources.http import quota_spent_for, send

# The probe check holds the half-open breaker this long at most (a turn's
# wait plus a request), so a worker killed mid-probe cannot hold it.
PROBE_LEASE = timedelta(minutes=3)


class SystemClock:
    """The clock the gate reads; tests swap in one they control (`scraping.gate.keeper.clock`)."""

    def now(self):
        return timezone.now()

    def sleep(self, seconds):
        time.sleep(seconds)


clock = SystemClock()


class SourcePaused(Exception):
    """The gate says no: the source is paused, its breaker is open, or no turn came in time."""

    def __init__(self, until, reason, *, source=""):
        who = sources.gate_label(source) if source else "the source"
        super().__init__(f"checks to {who} are paused until {until:%Y-%m-%d %H:%M:%S} UTC: {reason}")
        self.until = until
        self.reason = reason
        self.source = source


@dataclass(frozen=True)
class SourceChange:
    """What one answer changed that staff should hear about."""

    opened_first: bool = False  # the breaker opened after working fine
    recovered: bool = False  # the breaker closed after being open
    reason: str = ""
    until: datetime | None = None


# Pause and breaker


def stopped(state, now):
    """SourcePaused for the pause or open breaker in force in `state` (a SourceState) at `now`, or None."""
    if state.paused_until and state.paused_until > now:
        return SourcePaused(state.paused_until, state.pause_reason, source=state.source)
    if state.breaker_until and state.breaker_until > now:
        return SourcePaused(
            state.breaker_until, f"circuit breaker open after {state.breaker_reason}", source=state.source
        )
    return None


def active_pause(source, now):
    """SourcePaused for the pause or open breaker of `source` in force at `now`, or None."""
    return stopped(SourceState.current(source), now)


def pause(source, now, seconds, reason):
    """Stop every check to `source` for `seconds`; a longer pause already set stands."""
    SourceState.current(source)
    until = now + timedelta(seconds=seconds)
    SourceState.objects.filter(source=source).filter(Q(paused_until__isnull=True) | Q(paused_until__lt=until)).update(
        paused_until=until,
        pause_reason=reason[:300],
    )
    return until


def admit(state, now):
    """A Turn for a request about to wait for the limiter, or SourcePaused, as `state` says.

    While the breaker is open nobody goes; once its wait is over exactly one
    check (the probe) goes, and the others wait for what it finds.
    """
    refused = stopped(state, now)
    if refused:
        raise refused
    if state.breaker_until is None:
        return Turn(state.source, state.mirror_in_use, failures_seen=state.failures_in_a_row)
    free = Q(probe_until__isnull=True) | Q(probe_until__lt=now)
    if SourceState.objects.filter(free, pk=state.pk, breaker_until=state.breaker_until).update(
        probe_until=now + PROBE_LEASE
    ):
        return Turn(state.source, state.mirror_in_use, probe=True, failures_seen=state.failures_in_a_row)
    raise SourcePaused(
        now + PROBE_LEASE, "circuit breaker half open: one probe check is under way", source=state.source
    )


# Before a request


def take_turn(source, *, priority=False):
    """Wait for this process's turn at `source` and return it, or raise SourcePaused.

    `priority` is for checks someone asked for: the source's next turn is
    theirs. A check that would wait longer than SOURCE_TURN_MAX_WAIT gives up at
    once (SourcePaused) so its worker is free and its title goes back to the queue.
    """
    politeness = sources.get(source).politeness()
    now = clock.now()
    seen = SourceState.current(source)
    turn = admit(seen, now)
    rate_limited_at = seen.rate_limited_at.timestamp() if seen.rate_limited_at else None
    deadline = now.timestamp() + settings.SOURCE_TURN_MAX_WAIT
    try:
        while True:
            delay = spacing(
                random.uniform(politeness.min_delay, politeness.max_delay), now.timestamp(), rate_limited_at
            )
            decide = partial(
                decide_turn, now=now.timestamp(), priority=priority, per_hour=politeness.per_hour, delay=delay
            )
            decision = limiter(source).attempt(decide, seen)
            seen = None
            if decision.granted:
                return turn
            if now.timestamp() + decision.wait > deadline:
                raise SourcePaused(
                    now + timedelta(seconds=decision.wait),
                    f"no turn within {settings.SOURCE_TURN_MAX_WAIT:g} s ({decision.reason})",
                    source=source,
                )
            clock.sleep(decision.wait)
            now = clock.now()
            refused = active_pause(source, now)  # a pause or the breaker may have started meanwhile
            if refused:
                raise refused
    except SourcePaused:
        if turn.probe:
            SourceState.objects.filter(source=source).update(probe_until=None)
        raise


# After it


def _apply(turn, error, now):
    """Apply what the source answered on `turn` (`error` None when it worked) to its row; a SourceChange."""
    verdict = rules.judge(error)
    if verdict is Verdict.FINE and not turn.probe:
        # The common case costs no query. A failure another worker met while
        # this request was out stays counted: the breaker opens a little sooner.
        if turn.failures_seen:
            SourceState.objects.filter(source=turn.source).update(failures_in_a_row=0)
        return SourceChange()
    with transaction.atomic():
        SourceState.current(turn.source)
        row = SourceState.objects.select_for_update().get(source=turn.source)
        change = SourceChange()
        if verdict is Verdict.FINE:
            row.failures_in_a_row = 0
            if row.breaker_until is not None:
                row.breaker_until = row.probe_until = row.breaker_opened_at = None
                row.breaker_openings, row.breaker_reason = 0, ""
                change = SourceChange(recovered=True)
        elif verdict is Verdict.RATE_LIMITED:
            wait = rules.rate_limit_wait(
                error.retry_after,
                default=settings.SOURCE_RATE_LIMIT_BACKOFF,
                cap=settings.SOURCE_MAX_RETRY_AFTER,
            )
            if not row.paused_until or row.paused_until < now + timedelta(seconds=wait):
                row.paused_until, row.pause_reason = now + timedelta(seconds=wait), error.message[:300]
            row.rate_limited_at = now
            if turn.probe:
                row.probe_until = None  # the next probe goes after the pause
        else:
            if row.mirror_in_use == turn.mirror:
                row.mirror = rules.next_mirror(sources.get(turn.source).base_urls(), turn.mirror)
            row.failures_in_a_row += 1
            opens = verdict is Verdict.BLOCKED or row.failures_in_a_row >= settings.SOURCE_BREAKER_FAILURES
            if turn.probe or (opens and row.breaker_until is None):
                row.breaker_openings += 1
                wait = rules.breaker_wait(
                    row.breaker_openings,
                    first=settings.SOURCE_BREAKER_FIRST_WAIT,
                    longest=settings.SOURCE_BREAKER_MAX_WAIT,
                )
                row.breaker_until, row.probe_until = now + timedelta(seconds=wait), None
                row.breaker_reason = f"{error.message} (through {turn.mirror})"[:300]
                if row.breaker_openings == 1:
                    row.breaker_opened_at = now
                    change = SourceChange(opened_first=True, reason=row.breaker_reason, until=row.breaker_until)
        row.save()
    return change


def record_answer(turn, error):
    """Tell the source's shared state what the request sent on `turn` brought back (`error` None: it worked)."""
    now = clock.now()
    change = _apply(turn, error, now)
    who = sources.gate_label(turn.source)
    if change.opened_first:
        publish_on_commit(
            Notification.objects.create_for_staff(
                f"Checks to {who} stopped: {change.reason}. The circuit breaker tries one title again "
                f"at {change.until:%Y-%m-%d %H:%M} UTC.",
                now,
            )
        )
    if change.recovered:
        publish_on_commit(
            Notification.objects.create_for_staff(
                f"{who} answers again (through {turn.mirror}); checks go on.",
                now,
            )
        )


class Requests:
    """How a source's requests go out during one check: each waits for its turn at the gate
    and reports what came back. Sources call it (`scraping.sources.base.Ask`); it counts them."""

    def __init__(self, source, *, priority=False):
        self.source = sources.get(source)
        self.priority = priority
        self.count = 0
        self.last_status = None
        # The whole check (every turn and request of it) ends by here: before the queue's timeout kills it.
        self.ends_at = time.monotonic() + settings.CHECK_DEADLINE

    def __call__(self, request, read):
        left = self.ends_at - time.monotonic()
        if left <= 1:
            raise RequestTimedOut(
                f"the check of {self.source.display_name} took longer than {settings.CHECK_DEADLINE:g} s "
                f"({self.count} requests): it ends here, its title goes back to the queue"
            )
        gate = self.source.gate_for(request)
        turn = take_turn(gate, priority=self.priority)
        self.count += 1
        try:
            answer = send(
                self.source,
                turn.mirror,
                request,
                timeout=settings.SOURCE_TIMEOUT,
                deadline=min(settings.SOURCE_DEADLINE, max(1.0, self.ends_at - time.monotonic())),
            )
            self.last_status = answer.status
            payload = read(answer)
        except SourceError as error:
            record_answer(turn, error)
            raise
        record_answer(turn, None)
        spent = quota_spent_for(answer.headers, clock.now())
        if spent:
            # The endpoint's quota is used up: nobody asks before it comes back, instead of meeting a 429.
            pause(
                gate,
                clock.now(),
                min(spent, settings.SOURCE_MAX_RETRY_AFTER),
                f"{self.source.display_name} said its quota is spent for {spent:.0f} s",
            )
        return payload


# What dispatch and staff see


def dispatch_allowance(source, now, limit):
    """How many checks of `source` a dispatch may hand out now, and why fewer than `limit` (or "")."""
    state = SourceState.current(source)
    refused = stopped(state, now)
    if refused:
        return 0, str(refused)
    if state.breaker_until is not None:
        if state.probe_until and state.probe_until > now:
            return 0, "circuit breaker half open: the probe check is under way"
        return 1, "circuit breaker half open: one probe check"
    per_hour = sources.get(source).politeness().per_hour
    left = per_hour - limiter(source).peek(state).requests_in_last_hour(now.timestamp())
    if left < limit:
        return max(0, left), f"{per_hour} requests an hour: {max(0, left)} left"
    return limit, ""


def source_status(source, now, row=None):
    """One source's pause, breaker, limiter and address as staff see them."""
    row = row or SourceState.current(source)
    state = limiter(source).peek(row)
    pause_until = row.paused_until if row.paused_until and row.paused_until > now else None
    if row.breaker_until is None:
        breaker = "closed"
    elif row.breaker_until > now:
        breaker = "open"
    else:
        breaker = "half open"
    slow_until = row.rate_limited_at + timedelta(seconds=rules.SLOW_PACE_FOR) if row.rate_limited_at else None
    return {
        "source": row.source,
        "display_name": sources.get(row.source).display_name,
        "mirror": row.mirror_in_use,
        "paused_until": pause_until.isoformat() if pause_until else None,
        "pause_reason": row.pause_reason if pause_until else "",
        "slow_pace_until": slow_until.isoformat() if slow_until and slow_until > now else None,
        "breaker": breaker,
        "breaker_until": row.breaker_until.isoformat() if row.breaker_until else None,
        "breaker_opened_at": row.breaker_opened_at.isoformat() if row.breaker_opened_at else None,
        "breaker_openings": row.breaker_openings,
        "breaker_reason": row.breaker_reason,
        "failures_in_a_row": row.failures_in_a_row,
        "limiter": "redis" if settings.REDIS_URL else "database",
        "requests_last_hour": state.requests_in_last_hour(now.timestamp()),
        "max_requests_per_hour": sources.get(source).politeness().per_hour,
        "next_request_at": datetime.fromtimestamp(state.next_at, tz=UTC).isoformat()
        if state.next_at > now.timestamp()
        else None,
        "asked_for_check_waiting": state.priority_until > now.timestamp(),
    }


def status(now):
    """Every source's `source_status`, live sources first (dashboard, API, `checktitles`)."""
    return [source_status(name, now, row) for name, row in SourceState.all_sources().items()]


def describe_status(source_status):
    """One line of one source's status for a terminal."""
    state = source_status
    parts = [
        f"{state['display_name']} via {state['mirror']}",
        f"{state['requests_last_hour']}/{state['max_requests_per_hour']} requests "
        f"in the last hour ({state['limiter']} limiter)",
    ]
    if state["paused_until"]:
        parts.append(f"paused until {state['paused_until'][:19]} UTC: {state['pause_reason']}")
    parts.append(
        f"breaker {state['breaker']}"
        + (
            f" until {state['breaker_until'][:19]} UTC ({state['breaker_reason']})"
            if state["breaker"] != "closed"
            else ""
        )
    )
    return "; ".join(parts)
