"""A simulated month of one tracker's requests against a source that rate-limits.

Unlike `scraping.schedule.simulation.replay`, which follows each title alone, every
request here goes through one channel to one source, as the cluster's limiter
makes them: the titles compete for turns, and the source answers 429 when it
is asked too often. A tracker ("citizen") is a check policy plus its manners:
its hourly budget and what it does after a 429. batoshelf's manners are the
rules of `scraping.gate.rules`, run as they are.
"""

import heapq
import random
import statistics
import zlib
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scraping.gate import rules
from scraping.schedule import policy
from scraping.schedule.simulation import DAY, seed_policy

WEEK = 7 * DAY


@dataclass(frozen=True)
class SourceRules:
    """What the simulated source tolerates. Bato's real limit is unknown; this is the issue's
    "429s after a dozen titles" with its Retry-After of 120 s."""

    max_requests: int = 12
    window_seconds: float = 120.0
    retry_after: float = 120.0

    def describe(self):
        return (
            f"the source allows {self.max_requests} requests in any {self.window_seconds:g} s and answers "
            f"429 with Retry-After {self.retry_after:g} s beyond that"
        )


@dataclass(frozen=True)
class Citizen:
    """A tracker's check policy and its manners towards the source."""

    name: str
    policy: object  # (release_times, now, status, misses) -> next check time
    per_hour: int | None = None  # hourly request budget, None for none
    honours_retry_after: bool = True
    fixed_waits: tuple = ()  # seconds after the 1st, 2nd, ... 429 in a row, when Retry-After is ignored
    min_delay: float = 4.0
    max_delay: float = 7.0


SEED_WAITS = (60.0, 300.0)
CITIZENS = (
    Citizen("batoshelf: learned schedule + limiter", policy.next_check_at, per_hour=300),
    Citizen("learned schedule, seed's waits", policy.next_check_at, honours_retry_after=False, fixed_waits=SEED_WAITS),
    Citizen("seed rules", seed_policy, honours_retry_after=False, fixed_waits=SEED_WAITS),
)


@dataclass
class MonthReport:
    citizen: str
    titles: int
    requests: int = 0
    rate_limited: int = 0
    detected: int = 0
    undetected: int = 0
    latencies_h: list = field(default_factory=list, repr=False)

    @property
    def requests_per_chapter(self):
        return self.requests / self.detected if self.detected else float("inf")

    @property
    def mean_latency_h(self):
        return statistics.fmean(self.latencies_h) if self.latencies_h else float("nan")

    @property
    def p95_latency_h(self):
        ordered = sorted(self.latencies_h)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


@dataclass
class _Title:
    releases: tuple  # shifted onto the common month
    status: str
    known: int  # releases found so far
    misses: int = 0


def align_on_one_month(series, days=30, copies=1):
    """Each series' last `days`, moved by whole weeks (keeping weekday and hour) onto one common month.

    Returns (titles, month_start, month_end). `copies` repeats every series, as
    an instance with that many times the titles whose releases fall alike.
    """
    month_end = max(s.end for s in series)
    month_start = month_end - days * DAY
    titles = []
    for _ in range(copies):
        for one in series:
            shift = WEEK * ((month_end - one.end) // WEEK)
            releases = tuple(r + shift for r in one.releases)
            titles.append(_Title(releases, one.status, known=bisect_right(releases, month_start)))
    return titles, month_start, month_end


def simulate_month(
    series, citizen, *, source=SourceRules(), days=30, copies=1, seed=7, max_retry_after=3600.0, default_backoff=60.0
):
    """One month of `citizen` checking `series` through one channel to a source that keeps `source`.

    The month starts with every title due, as after a restart or an outage:
    the burst is when manners matter. A release counts from the first
    successful check after it; releases still unfound at the end are counted
    as undetected.
    """
    rng = random.Random(seed)
    titles, month_start, month_end = align_on_one_month(series, days, copies)
    start, end = month_start.timestamp(), month_end.timestamp()
    report = MonthReport(citizen=citizen.name, titles=len(titles))
    # Every title due within the first minute, in a stable order.
    due = [(start + zlib.crc32(str(i).encode()) % 60, i) for i in range(len(titles))]
    heapq.heapify(due)
    limiter = rules.LimiterState()
    seen_by_source = deque()
    silent_until, refusals_in_a_row, rate_limited_at = start, 0, None
    while due:
        when, index = heapq.heappop(due)
        title = titles[index]
        now = max(when, silent_until)
        while True:  # the turn, as scraping.gate.keeper.take_turn takes it
            delay = rng.uniform(citizen.min_delay, citizen.max_delay)
            if citizen.honours_retry_after:
                delay = rules.spacing(delay, now, rate_limited_at)
            decision = rules.decide_turn(limiter, now, delay=delay, per_hour=citizen.per_hour or 10**9)
            limiter = decision.state
            if decision.granted:
                break
            now += decision.wait
        if now > end:
            continue
        report.requests += 1
        while seen_by_source and seen_by_source[0] <= now - source.window_seconds:
            seen_by_source.popleft()
        refused = len(seen_by_source) >= source.max_requests
        seen_by_source.append(now)
        if refused:
            report.rate_limited += 1
            if citizen.honours_retry_after:
                wait = rules.rate_limit_wait(source.retry_after, default=default_backoff, cap=max_retry_after)
                rate_limited_at = now
            else:
                wait = citizen.fixed_waits[min(refusals_in_a_row, len(citizen.fixed_waits) - 1)]
            refusals_in_a_row += 1
            silent_until = now + wait
            heapq.heappush(due, (now, index))  # still due: it goes again first
            continue
        refusals_in_a_row = 0
        at = datetime.fromtimestamp(now, tz=UTC)
        found = bisect_right(title.releases, at)
        new = [r for r in title.releases[title.known : found] if r >= month_start]
        report.detected += len(new)
        report.latencies_h.extend((at - r) / timedelta(hours=1) for r in new)
        title.misses = 0 if found > title.known else title.misses + 1
        title.known = found
        status = title.status if found == len(title.releases) else "ongoing"
        upcoming = citizen.policy(title.releases[:found], at, status, title.misses)
        heapq.heappush(due, (max(upcoming.timestamp(), now + 60), index))
    report.undetected = sum(1 for t in titles for r in t.releases[t.known :] if month_start <= r <= month_end)
    return report
