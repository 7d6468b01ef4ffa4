"""Replaying release histories against check policies: ours and the peers' we measure it against.

A policy is a function (release_times, now, status, misses) -> next check time,
the signature of `scraping.schedule.policy.next_check_at`. Each title starts with its
history before a start point known and is then checked wherever the policy
says; every release is found by the first check at or after it.
"""

import json
import math
import random
import statistics
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from scraping.schedule import policy

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Releases still unfound this long after the horizon count as found then.
FIND_BY_AFTER_HORIZON = timedelta(days=60)


@dataclass(frozen=True)
class Series:
    id: str
    title: str
    releases: tuple  # ascending aware datetimes
    status: str  # the status once the last release is out
    kind: str = ""  # what the calendar is, where known
    observed_until: datetime | None = None  # the end of the data; the last release when unknown

    @property
    def end(self):
        return max(self.observed_until or self.releases[-1], self.releases[-1])

    def status_at(self, when):
        """What a tracker would see: ongoing until the last release is out."""
        return self.status if self.releases and when >= self.releases[-1] else "ongoing"


def _parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


HISTORIES_SHAPE = (
    'a JSON object {"series": [{"id": "...", "timestamps": ["2024-01-05T12:00:00Z", ...], "status": "ongoing"}, '
    "...]} (status and title optional), as in benchmarks/data/release-histories.json"
)


class NotReleaseHistories(ValueError):
    """The file is not in the release-histories shape; the message says what was wrong and what is wanted."""


def load_release_histories(path):
    """Series from a release-histories JSON file (the format of benchmarks/data/release-histories.json).

    Raises OSError when the file cannot be read, NotReleaseHistories when it is not in that shape.
    """
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except (ValueError, RecursionError) as error:
            raise NotReleaseHistories(f"it is not JSON ({error}); expected {HISTORIES_SHAPE}") from None
    if not isinstance(data, dict) or not isinstance(data.get("series"), list):
        raise NotReleaseHistories(f"it has no list of series; expected {HISTORIES_SHAPE}")
    series = []
    for number, entry in enumerate(data["series"], 1):
        timestamps = entry.get("timestamps", []) if isinstance(entry, dict) else None
        if not isinstance(timestamps, list) or "id" not in entry:
            raise NotReleaseHistories(
                f"series {number} is not an object with an id and a list of timestamps; expected {HISTORIES_SHAPE}"
            )
        try:
            releases = tuple(sorted(_parse_time(t) for t in timestamps))
        except (TypeError, ValueError, AttributeError):
            raise NotReleaseHistories(
                f"series {number} has a timestamp that is not an ISO time such as "
                f"2024-01-05T12:00:00Z; expected {HISTORIES_SHAPE}"
            ) from None
        if releases:
            until = entry.get("observed_until")
            series.append(
                Series(
                    id=str(entry["id"]),
                    title=entry.get("title", ""),
                    releases=releases,
                    status=entry.get("status") or "ongoing",
                    kind=entry.get("kind") or _kind_of(releases),
                    observed_until=_parse_time(until) if until else None,
                )
            )
    return series


def dump_release_histories(series, about):
    return {
        "about": about,
        "series": [
            {
                "id": s.id,
                "title": s.title,
                "status": s.status,
                "kind": s.kind,
                "precision": "second",
                "observed_until": s.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "timestamps": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in s.releases],
            }
            for s in series
        ],
    }


def _kind_of(releases):
    """A label for a real history: weekly when its median gap is about a week."""
    if len(releases) < 3:
        return "short"
    gap = statistics.median(b - a for a, b in pairwise(releases))
    return "weekly" if 6 * DAY <= gap <= 8 * DAY else "other"


# The peers, as issue #3 describes them


def fixed_policy(hours):
    def policy(release_times, now, status, misses):
        return now + timedelta(hours=hours)

    policy.__name__ = f"fixed {hours} h"
    return policy


def seed_policy(release_times, now, status, misses):
    """The seed's rules: mean-gap based, weekday-aware, stretched by misses, 6 h .. 14 days."""
    if status in ("completed", "dropped"):
        return now + timedelta(days=30)
    releases = [t for t in release_times if t <= now]
    interval = 24 * HOUR
    if len(releases) >= 3:
        gaps = [b - a for a, b in pairwise(releases)]
        interval = 0.8 * (sum(gaps, timedelta()) / len(gaps))
    if len(releases) >= 5:
        weekdays = statistics.multimode(t.weekday() for t in releases)
        share = sum(1 for t in releases if t.weekday() == weekdays[0]) / len(releases)
        if share >= 0.6:
            interval = 168 * HOUR
    interval *= 1.5 ** min(misses, 3)
    return now + min(max(interval, 6 * HOUR), 14 * DAY)


MIHON_JOB_EVERY = 12 * HOUR


def mihon_policy(release_times, now, status, misses):
    """Mihon's FetchInterval: expected update = last upload day + k x interval, looked at by a 12-hourly job."""
    if status == "completed":
        return now + FIND_BY_AFTER_HORIZON * 100  # skipped: never updated again
    days = sorted({t.date() for t in release_times if t <= now})
    recent = days[-3:] if len(days) <= 8 else days[-10:]
    gaps = sorted((b - a).days for a, b in pairwise(recent))
    interval = 7 if len(recent) < 3 else min(max(gaps[(len(gaps) - 1) // 2], 1), 28)
    last = datetime.combine(days[-1], datetime.min.time(), UTC) if days else None
    tick = now + MIHON_JOB_EVERY
    while True:
        if last is None:
            return tick
        # The expected update moves on by whole intervals while it lies more than a day behind.
        cycles = max(1, math.ceil(((tick - DAY) - last) / (interval * DAY)))
        expected = last + cycles * interval * DAY
        if expected <= tick + DAY:
            return tick
        tick += MIHON_JOB_EVERY


def miniflux_policy(release_times, now, status, misses):
    """Miniflux's entry_frequency: 7 days over the weekly count, 5 min .. 24 h."""
    week = [t for t in release_times if now - 7 * DAY <= t <= now]
    count = 0
    if len(week) >= 2:
        mean_gap = (week[-1] - week[0]) / (len(week) - 1)
        count = math.ceil(7 * DAY / mean_gap) if mean_gap > timedelta() else 0
    if count == 0:
        return now + 24 * HOUR
    return now + min(max(7 * DAY / count, timedelta(minutes=5)), 24 * HOUR)


POLICIES = {
    "batoshelf": policy.next_check_at,
    "seed rules": seed_policy,
    "fixed 24 h": fixed_policy(24),
    "fixed 6 h": fixed_policy(6),
    "Mihon": mihon_policy,
    "Miniflux": miniflux_policy,
}


# The replay


@dataclass
class TitleRun:
    checks: int = 0
    title_days: float = 0.0
    latencies: list = field(default_factory=list)  # hours, one per release found
    misordered: int = 0  # times the policy asked for a check not after `now`


def replay(series, policy, horizon):
    """Check one title from its start point for `horizon` wherever `policy` says."""
    releases = series.releases
    # Titles are added at an arbitrary time of day, not in step with their releases.
    start = max(releases[0], series.end - horizon) + timedelta(seconds=zlib.crc32(series.id.encode()) % 86_400)
    end = start + horizon
    run = TitleRun(title_days=horizon / DAY)
    known = bisect_right(releases, start)
    now, misses = start, 0
    while known < len(releases) or now < end:
        upcoming = policy(releases[:known], now, series.status_at(now), misses)
        if upcoming <= now:
            run.misordered += 1
            upcoming = now + timedelta(minutes=5)
        if upcoming > end + FIND_BY_AFTER_HORIZON:
            run.latencies.extend(((end + FIND_BY_AFTER_HORIZON) - r) / HOUR for r in releases[known:])
            break
        now = upcoming
        if now <= end:
            run.checks += 1
        elif known >= len(releases) or releases[known] > end:
            break
        found = bisect_right(releases, now)
        run.latencies.extend((now - r) / HOUR for r in releases[known:found] if r <= end)
        misses = 0 if found > known else misses + 1
        known = found
    return run


@dataclass(frozen=True)
class PolicyReport:
    policy: str
    titles: int
    releases: int
    checks_per_title_day: float
    mean_latency_h: float
    p50_latency_h: float
    p95_latency_h: float
    weekly_p50_latency_h: float | None
    misordered: int

    @property
    def efficiency(self):
        """Checks per title-day x mean latency in hours: lower is better, 0 is checking at each release."""
        return self.checks_per_title_day * self.mean_latency_h

    def as_json(self):
        return {**self.__dict__, "efficiency": round(self.efficiency, 4)}


def _percentile(values, share):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def simulate(series, policies=POLICIES, horizon=timedelta(days=180), progress=None):
    """A PolicyReport per policy over every series."""
    reports = []
    for name, next_check_at in policies.items():
        runs = []
        for index, one in enumerate(series, 1):
            runs.append((one, replay(one, next_check_at, horizon)))
            if progress:
                progress(name, index, len(series))
        latencies = [h for _, run in runs for h in run.latencies]
        weekly = [h for one, run in runs if one.kind.startswith("weekly") for h in run.latencies]
        reports.append(
            PolicyReport(
                policy=name,
                titles=len(runs),
                releases=len(latencies),
                checks_per_title_day=sum(r.checks for _, r in runs) / max(sum(r.title_days for _, r in runs), 1e-9),
                mean_latency_h=statistics.fmean(latencies) if latencies else float("nan"),
                p50_latency_h=_percentile(latencies, 0.5),
                p95_latency_h=_percentile(latencies, 0.95),
                weekly_p50_latency_h=_percentile(weekly, 0.5) if weekly else None,
                misordered=sum(r.misordered for _, r in runs),
            )
        )
    return reports


# Harder calendars than the real histories, made here, small and seeded


def generate_calendars(seed=7, start=datetime(2025, 1, 6, tzinfo=UTC), weeks=52, per_kind=4):
    """Series of every hard kind: jittered and skipped weeks, twice weekly, biweekly, monthly,
    Poisson, bursts, hiatus and return, a weekday that moves, daily, completed, silent."""
    rng = random.Random(seed)
    end = start + weeks * 7 * DAY
    makers = {
        "weekly-jitter": _weekly_jitter,
        "twice-weekly": _twice_weekly,
        "biweekly": _biweekly,
        "monthly": _monthly,
        "irregular": _poisson,
        "burst": _bursts,
        "hiatus-return": _hiatus_return,
        "weekly-moving-day": _moving_weekday,
        "daily": _daily,
        "completed": _completed,
        "silent": _silent,
    }
    series = []
    for kind, make in makers.items():
        for n in range(per_kind):
            releases, status = make(rng, start, end)
            series.append(
                Series(
                    id=f"generated:{kind}:{n}",
                    title=f"{kind} #{n}",
                    releases=tuple(sorted(releases)),
                    status=status,
                    kind=kind,
                    observed_until=end,
                )
            )
    return series


def _at(day, hour, rng, jitter_hours=0.0):
    return day + timedelta(hours=hour + (rng.gauss(0, jitter_hours) if jitter_hours else 0))


def _weekly_jitter(rng, start, end):
    first = start + rng.randrange(7) * DAY
    hour = rng.uniform(0, 23)
    week = first
    releases = []
    while week < end:
        if rng.random() > 0.1:  # one week in ten is skipped
            releases.append(_at(week, hour, rng, jitter_hours=0.75))
        week += 7 * DAY
    return releases, "ongoing"


def _twice_weekly(rng, start, end):
    days = sorted(rng.sample(range(7), 2))
    hour = rng.uniform(0, 23)
    return [
        _at(start + (w * 7 + d) * DAY, hour, rng, 0.25) for w in range((end - start).days // 7) for d in days
    ], "ongoing"


def _biweekly(rng, start, end):
    hour = rng.uniform(0, 23)
    first = start + rng.randrange(14) * DAY
    return [_at(first + k * 14 * DAY, hour, rng, 0.5) for k in range((end - first).days // 14)], "ongoing"


def _monthly(rng, start, end):
    day_of_month, hour = rng.randint(1, 28), rng.uniform(0, 23)
    releases, year, month = [], start.year, start.month
    while True:
        when = datetime(year, month, day_of_month, tzinfo=UTC) + timedelta(hours=hour)
        if when >= end:
            return releases, "ongoing"
        if when >= start:
            releases.append(when + timedelta(hours=rng.gauss(0, 6)))
        month += 1
        if month == 13:
            year, month = year + 1, 1


def _poisson(rng, start, end):
    mean_gap_days = rng.uniform(4, 15)
    releases, when = [], start
    while True:
        when += timedelta(days=rng.expovariate(1 / mean_gap_days))
        if when >= end:
            return releases, "ongoing"
        releases.append(when)


def _bursts(rng, start, end):
    releases, when = [], start
    while True:
        when += timedelta(days=rng.uniform(14, 35))
        if when >= end:
            return releases, "ongoing"
        releases.extend(when + timedelta(minutes=rng.uniform(0, 180)) for _ in range(rng.randint(3, 6)))


def _hiatus_return(rng, start, end):
    weekly, _ = _weekly_jitter(rng, start, end)
    gap_start = start + timedelta(days=rng.uniform(100, 160))
    gap_end = gap_start + timedelta(days=rng.uniform(60, 120))
    return [t for t in weekly if not gap_start <= t < gap_end], "ongoing"


def _moving_weekday(rng, start, end):
    hour = rng.uniform(0, 23)
    first_day, moved_day = rng.sample(range(7), 2)
    switch = rng.randint(15, 35)
    return [
        _at(start + (w * 7 + (first_day if w < switch else moved_day)) * DAY, hour, rng, 0.5)
        for w in range((end - start).days // 7)
    ], "ongoing"


def _daily(rng, start, end):
    hour = rng.uniform(0, 23)
    return [_at(start + d * DAY, hour, rng, 0.5) for d in range((end - start).days)], "ongoing"


def _completed(rng, start, end):
    weekly, _ = _weekly_jitter(rng, start, end)
    finale = start + timedelta(days=rng.uniform(150, 250))
    return [t for t in weekly if t < finale], "completed"


def _silent(rng, start, end):
    early = start + timedelta(days=rng.uniform(0, 30))
    return [early + k * 7 * DAY for k in range(rng.randint(3, 8))], "ongoing"
