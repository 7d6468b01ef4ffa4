"""When to check a title next: learn its release rhythm from its chapters' times.

Pure functions of their arguments (no database, no clock, no settings), so the
policy can be replayed by `simulate_schedule` and called by tools outside the
project. The policy in words:

- Chapters released within a few hours of each other are one release (a bulk
  upload is not a rhythm).
- A title whose recent gaps agree is *regular*: its next release is predicted
  from where its recent releases fall on the grid of its typical gap, and it is
  checked just after that (twice, at the prediction and at its far edge, when
  the rhythm wobbles by more than an hour).
- A predicted release that does not come is retried soon and then less often
  until the next predicted slot; after several empty slots the title counts as
  silent and is checked ever more rarely.
- An *irregular* title is polled at a fraction of its typical gap.
- A title released about monthly is expected on its day of the month, or on
  its nth weekday of the month (the second Tuesday), whichever its releases keep.
- A release known only to its day (MangaUpdates) is not a midnight release: its
  hour is read from when batoshelf first saw it that day, and while the hour is
  unknown the whole predicted day is looked at every few hours.
- Completed, cancelled and dropped titles are checked monthly, hiatus titles
  weekly, and no ongoing title waits more than 14 days.
"""

import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

# Releases closer than this are one release: a bulk upload, or a chapter in parts.
BURST_WINDOW = timedelta(hours=6)
# A title with this many chapters a release comes out in bursts: a check that finds
# one looks again this soon for the rest.
BURSTY = 1.5
BURST_FOLLOW = 2 * HOUR
# How many recent releases the rhythm is learned from: enough to outvote a
# skipped week, few enough to follow a title that changes its day.
RECENT_RELEASES = 11
# The pace of chapters is read over this many recent ones.
PACE_CHAPTERS = 30
# Recent gaps agree when their median deviation is at most this share of the typical gap.
REGULAR_SPREAD = 0.2
# Titles released at a few fixed times of the week: learned over this long,
# releases this close together count as the same time of the week.
WEEKLY_LOOKBACK = timedelta(weeks=5)
WEEKLY_TIME_SPREAD = 3 * HOUR
# Human calendars: a typical gap this close to one of these is taken as exactly it.
CALENDAR_GAPS = (DAY, 2 * DAY, 7 * DAY, 14 * DAY, 21 * DAY, 28 * DAY)
CALENDAR_SNAP = 0.08
# A gap off those calendars is a rhythm only once this many gaps agree on it, twice as closely.
UNCALENDARED_GAPS = 5

MIN_TOLERANCE = timedelta(minutes=5)
# A check this close to a window's far edge is the look at its edge: the window has closed.
EDGE = timedelta(minutes=1)
NEW_TITLE_INTERVAL = DAY
LONGEST_WAIT = timedelta(days=14)  # an ongoing title is never left longer
# A release the publisher announced is looked for this long after its time.
JUST_AFTER_ANNOUNCED = timedelta(minutes=2)
FINISHED_INTERVAL = timedelta(days=30)
HIATUS_INTERVAL = timedelta(days=7)
FINISHED_STATUSES = {"completed", "cancelled", "dropped"}
# An irregular title is polled every this x sqrt(days per chapter): 10 h for a chapter a day. (A Poisson
# release costs checks x latency the same at any steady pace; 10 h spends 20% fewer checks than 8 h for it.)
IRREGULAR_POLL = 10 * HOUR
# An irregular title whose last QUIET_AFTER_GAPS gaps or more were all long is not
# looked at before this share of the shortest of them has passed.
QUIET_AFTER_GAPS = 5
QUIET_SHARE = 0.8
# An irregular title silent for this many of its usual gaps is polled ever more rarely.
STOPPED_AFTER_GAPS = 3
# A window wider than a poll is looked at in this many steps, 90 min apart at least (every 4 h across a whole day).
WINDOW_STEPS = 6
# A release whose hour is unknown may have come at any time of its day.
UNKNOWN_HOUR_TOLERANCE = 12 * HOUR
# Gaps of about a month: releases then follow the calendar's months, not a fixed gap.
MONTHLY_GAPS = (timedelta(days=26), timedelta(days=35))
# Slots missed in a row before a regular title counts as silent. A silent title
# released at most fortnightly is still looked at once a slot for this many slots
# (a break of about three months for a weekly title), then ever more rarely.
SILENT_AFTER_SLOTS = 4
RETURN_WATCH_SLOTS = 13
RETURN_WATCH_GAP = 2 * WEEK
# The first retry after a missed release: 1/28 of the gap (6 h for a weekly title), within these.
RETRY_FIRST = timedelta(minutes=30)
RETRY_LONGEST = 6 * HOUR

# A failing title backs off on its own: 15 min, 30 min, 1 h ... up to a day.
FAILURE_BACKOFF_FIRST = timedelta(minutes=15)
FAILURE_BACKOFF_MAX = timedelta(hours=24)

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ORDINALS = ("1st", "2nd", "3rd", "4th", "last")


@dataclass(frozen=True)
class Release:
    """A chapter's release as a source gives it: its time, or only its day, and when batoshelf saw it.

    A plain datetime means the same as Release(at) with the time exact.
    """

    at: datetime  # for a day-only release, any time of its day (the source's 00:00 UTC)
    day_only: bool = False
    seen_at: datetime | None = None  # when batoshelf first saw it
    previous_check_at: datetime | None = None  # the check before that, which did not see it


def best_time(release: "Release | datetime", now: datetime) -> tuple[datetime, timedelta]:
    """When `release` most likely came out, give or take how long.

    A day-only release came out within its day, after the check before the one
    that saw it and before that one: the middle of what is left of the day
    stands for it. Imported, it could have come at any hour of its day.
    """
    if isinstance(release, datetime):
        return _utc(release), timedelta()
    at = _utc(release.at)
    if not release.day_only:
        return at, timedelta()
    day = start_of_day(at)
    after, before = day, day + DAY
    if release.seen_at and release.previous_check_at:
        after = max(after, _utc(release.previous_check_at))
        before = min(before, _utc(release.seen_at))
    if after >= before:  # the bounds disagree with the day: nothing is known of the hour
        after, before = day, day + DAY
    half = (before - after) / 2
    return min(after + half, max(now, after)), half


@dataclass(frozen=True)
class Rhythm:
    """What a title's release history says about its next release."""

    releases: int  # distinct releases, bursts collapsed
    last_release: datetime | None = None
    typical_gap: timedelta | None = None
    spread: float | None = None  # median deviation of recent gaps, as a share of the typical gap
    regular: bool = False
    predicted: datetime | None = None  # the next release on the rhythm's grid
    tolerance: timedelta | None = None  # how far releases stray from the grid
    days_per_chapter: float | None = None  # the recent pace, counting every chapter of a burst
    confidence: float = 0.0  # 0..1: how far the rhythm can be trusted
    # Set for titles released on a few fixed times of the week (Mon and Thu, say):
    # offsets from Monday 00:00 UTC. Otherwise slots are a typical gap apart.
    weekly_times: tuple[timedelta, ...] = ()
    # Set for titles released once a month: ("day", 15) for the 15th, ("weekday", 1, 2)
    # for the 2nd Tuesday (nth 5 is the last); `at_hour` is the time of day.
    monthly: tuple[Any, ...] = ()
    at_hour: timedelta = timedelta()
    hour_known: bool = True  # False: the recent releases are known only to their day
    # Releases known only to their day are looked for across their window in steps.
    day_only: bool = False
    shortest_gap: timedelta | None = None  # between recent releases
    latest_chapter: datetime | None = None  # the newest chapter, bursts not collapsed
    chapters_per_release: float = 1.0  # recently; well above 1 for a title that comes out in bursts

    def slots(self) -> Iterator[datetime]:
        """The predicted release times from the next one on, without end (for a regular rhythm)."""
        assert self.predicted is not None and self.typical_gap is not None and self.last_release is not None
        if self.monthly:
            month = self.predicted.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            while True:
                slot = monthly_slot(self.monthly, month) + self.at_hour
                if slot >= self.predicted:
                    yield slot
                month = (month + timedelta(days=32)).replace(day=1)
        if not self.weekly_times:
            slot = self.predicted
            while True:
                yield slot
                slot += self.typical_gap
        monday = _monday(self.last_release)
        while True:
            for offset in self.weekly_times:
                if monday + offset >= self.predicted:
                    yield monday + offset
            monday += WEEK

    def describe(self) -> str:
        if self.monthly:
            if self.monthly[0] == "day":
                return f"monthly release (day {self.monthly[1]})"
            return f"monthly release ({ORDINALS[self.monthly[2] - 1]} {WEEKDAYS[self.monthly[1]]})"
        if self.weekly_times:
            return f"{len(self.weekly_times)}-a-week release"
        names = {
            DAY: "daily",
            2 * DAY: "every-other-day",
            WEEK: "weekly",
            2 * WEEK: "fortnightly",
            4 * WEEK: "four-weekly",
        }
        assert self.typical_gap is not None
        return f"{names.get(self.typical_gap) or 'every ' + _describe_wait(self.typical_gap)} release"

    def as_json(self) -> dict[str, Any]:
        def seconds(value: timedelta | None) -> int | None:
            return None if value is None else round(value.total_seconds())

        def when(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "releases": self.releases,
            "last_release": when(self.last_release),
            "typical_gap_s": seconds(self.typical_gap),
            "spread": None if self.spread is None else round(self.spread, 3),
            "regular": self.regular,
            "weekday": None if self.predicted is None else WEEKDAYS[self.predicted.weekday()],
            "hour_utc": None if self.predicted is None else round(self.predicted.hour + self.predicted.minute / 60, 2),
            "predicted": when(self.predicted),
            "tolerance_s": seconds(self.tolerance),
            "days_per_chapter": None if self.days_per_chapter is None else round(self.days_per_chapter, 2),
            "confidence": round(self.confidence, 2),
            "hour_known": self.hour_known,
        }


@dataclass(frozen=True)
class Plan:
    """The next check time and why, in words staff can read."""

    at: datetime
    reason: str
    rhythm: Rhythm


def learn_rhythm(release_times: Iterable["Release | datetime | None"], now: datetime) -> Rhythm:
    """The rhythm of the releases known at `now` (later or missing times are ignored).

    `release_times` holds datetimes (exact) or Releases (exact or day-only).
    """
    given = [r for r in release_times if r is not None and _utc(r if isinstance(r, datetime) else r.at) <= now]
    estimates = sorted(best_time(r, now) for r in given)
    known = [t for t, _ in estimates]
    give_or_take = dict(estimates)
    unknown_hours = {t for t, width in estimates if width >= UNKNOWN_HOUR_TOLERANCE}
    day_only = any(isinstance(r, Release) and r.day_only for r in given[-RECENT_RELEASES:])
    releases = _collapse_bursts(known)
    pace = known[-PACE_CHAPTERS:]
    bursts: dict[str, Any] = dict(
        latest_chapter=known[-1] if known else None,
        chapters_per_release=len(pace) / max(1, len([r for r in releases if pace and r >= pace[0]])),
    )
    days_per_chapter = (pace[-1] - pace[0]) / DAY / (len(pace) - 1) if len(pace) > 1 else None
    if len(releases) < 3:
        gap = releases[-1] - releases[-2] if len(releases) == 2 else None
        if gap is not None and _snap(gap) in CALENDAR_GAPS and _snap(gap) >= WEEK:
            # Two releases a calendar gap apart (a week, a fortnight...) are a fair first guess at a rhythm.
            gap = _snap(gap)
            bracket = max(give_or_take[r] for r in releases[-2:])
            return Rhythm(
                **bursts,
                releases=2,
                last_release=releases[-1],
                typical_gap=gap,
                days_per_chapter=days_per_chapter,
                regular=True,
                predicted=releases[-1] + gap,
                tolerance=max(bracket, gap / 28),
                hour_known=bracket < UNKNOWN_HOUR_TOLERANCE,
                day_only=day_only,
            )
        return Rhythm(
            **bursts,
            releases=len(releases),
            last_release=releases[-1] if releases else None,
            typical_gap=gap,
            days_per_chapter=days_per_chapter,
        )
    recent = releases[-RECENT_RELEASES:]
    # Where the hours of some recent releases are known, only those place the releases in their day.
    timed = [r for r in recent if r not in unknown_hours]
    hour_known = bool(timed)
    placed = timed if hour_known else recent
    # How far the hours of the placed releases are known: no window is narrower.
    bracket = statistics.median_low(give_or_take[r] for r in placed)
    gaps = [b - a for a, b in pairwise(recent)]
    # statistics.median works on timedeltas (it only sorts and averages); typeshed says numbers.
    typical = _snap(statistics.median(gaps))  # type: ignore[type-var]
    spread = statistics.median(abs(g - typical) for g in gaps) / typical  # type: ignore[type-var]
    last = recent[-1]
    common: dict[str, Any] = dict(
        **bursts,
        shortest_gap=min(gaps) if len(gaps) >= QUIET_AFTER_GAPS else None,
        releases=len(releases),
        last_release=last,
        typical_gap=typical,
        spread=spread,
        days_per_chapter=days_per_chapter,
        confidence=_confidence(len(gaps), spread),
        hour_known=hour_known,
        day_only=day_only,
    )
    if MONTHLY_GAPS[0] <= typical <= MONTHLY_GAPS[1]:
        monthly = _monthly_rule(recent, placed)
        if monthly:
            rule, at_hour, tolerance = monthly
            tolerance = max(tolerance, bracket)
            month = (last.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            this_month = last.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            first = monthly_slot(rule, this_month) + at_hour
            if first <= last + BURST_WINDOW:
                first = monthly_slot(rule, month) + at_hour
            return Rhythm(**common, regular=True, monthly=rule, at_hour=at_hour, predicted=first, tolerance=tolerance)
    weekly = None
    if DAY < typical < WEEK:
        weekly = _weekly_times([r for r in releases if r not in unknown_hours] if hour_known else releases, last)
    if weekly:
        times, tolerance = weekly
        first = next(
            monday + offset
            for monday in (_monday(last), _monday(last) + WEEK)
            for offset in times
            if monday + offset > last + BURST_WINDOW
        )
        tolerance = max(tolerance, bracket)
        return Rhythm(**common, regular=True, weekly_times=times, predicted=first, tolerance=tolerance)
    uncalendared = typical not in CALENDAR_GAPS
    if spread > REGULAR_SPREAD or uncalendared and (len(gaps) < UNCALENDARED_GAPS or spread > REGULAR_SPREAD / 2):
        return Rhythm(**common)
    # Lay a grid of the typical gap through the last release and see where
    # recent releases fall on it: those near the grid say how far the next
    # release strays from last + gap; those far off (before a change of
    # weekday, say) are out of step and left out.
    offsets = [_centred((r - last) % typical, typical) for r in placed]
    in_step = [o for o in offsets if abs(o) <= typical / 4] or [timedelta()]
    shift = statistics.median_low(in_step)
    deviations = sorted(abs(o - shift) for o in in_step)
    tolerance = min(max(_tolerance(deviations, typical), bracket), max(typical / 2, bracket))
    return Rhythm(**common, regular=True, predicted=last + typical + shift, tolerance=tolerance)


def monthly_slot(rule: tuple[Any, ...], month: datetime) -> datetime:
    """The day `rule` names in the month starting at `month` (00:00 UTC)."""
    following = (month + timedelta(days=32)).replace(day=1)
    if rule[0] == "day":
        return month + timedelta(days=min(rule[1], (following - month).days) - 1)
    weekday, nth = rule[1], rule[2]
    if nth == 5:  # the last one
        last_day = following - DAY
        return last_day - timedelta(days=(last_day.weekday() - weekday) % 7)
    return month + timedelta(days=(weekday - month.weekday()) % 7 + 7 * (nth - 1))


def _monthly_rule(
    recent: list[datetime], placed: list[datetime]
) -> tuple[tuple[Any, ...], timedelta, timedelta] | None:
    """The calendar rule most recent releases keep (a day of the month or an nth weekday), its time of
    day and tolerance; None when neither holds for most of them."""
    recent = recent[-6:]
    if len(recent) < 3:
        return None
    candidates: list[tuple[Any, ...]] = [("day", statistics.median_low(r.day for r in recent))]
    weekday = statistics.mode(r.weekday() for r in recent)
    nth = statistics.median_low(5 if (r + WEEK).month != r.month else (r.day - 1) // 7 + 1 for r in recent)
    candidates.append(("weekday", weekday, nth))
    best = None
    for rule in candidates:
        misses = []
        for r in recent:
            day = monthly_slot(rule, r.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
            misses.append(abs(start_of_day(r) - day))
        kept = sorted(misses)[int(0.8 * (len(misses) - 1))]
        if kept <= 2 * DAY and (best is None or kept < best[1]):
            best = (rule, kept)
    if best is None:
        return None
    rule, day_spread = best
    hours = sorted(timedelta(hours=p.hour, minutes=p.minute) for p in (placed[-6:] or recent))
    at_hour = statistics.median_low(hours)
    deviations = sorted(abs(h - at_hour) for h in hours)
    return rule, at_hour, max(_tolerance(deviations, 4 * DAY), day_spread)


def _weekly_times(releases: list[datetime], last: datetime) -> tuple[tuple[timedelta, ...], timedelta] | None:
    """For a title released at a few fixed times of the week: those times and the tolerance.

    Looks at the last WEEKLY_LOOKBACK; a time counts when releases fell near it
    in two weeks or more, and the times must explain most of the releases.
    """
    recent = [r for r in releases if r > last - WEEKLY_LOOKBACK]
    if len(recent) < 6:
        return None
    phases = sorted((r - _monday(r)) for r in recent)
    groups = [[phases[0]]]
    for phase in phases[1:]:
        if phase - groups[-1][-1] <= WEEKLY_TIME_SPREAD:
            groups[-1].append(phase)
        else:
            groups.append([phase])
    if len(groups) > 1 and groups[0][0] + WEEK - groups[-1][-1] <= WEEKLY_TIME_SPREAD:
        groups[0] = [p - WEEK for p in groups.pop()] + groups[0]  # Sunday night meets Monday morning
    kept = [g for g in groups if len(g) >= 2]
    if not kept or len(kept) > 4 or sum(len(g) for g in kept) < 0.75 * len(recent):
        return None
    times = tuple(sorted(statistics.median_low(g) % WEEK for g in kept))
    deviations = sorted(abs(p - statistics.median_low(g)) for g in kept for p in g)
    return times, _tolerance(deviations, WEEK / len(times))


def _tolerance(deviations: list[timedelta], gap: timedelta) -> timedelta:
    """How far releases stray from their slot: the 80th percentile, 5 min .. a quarter of the gap."""
    return min(max(deviations[int(0.8 * (len(deviations) - 1))], MIN_TOLERANCE), gap / 4)


def _monday(when: datetime) -> datetime:
    return start_of_day(when) - timedelta(days=when.weekday())


def start_of_day(when: datetime) -> datetime:
    """00:00 UTC of `when`'s day (UTC): what a source that gives only days means by a day."""
    return datetime.combine(when.date(), datetime.min.time(), UTC)


def plan_next_check(
    release_times: Iterable["Release | datetime | None"],
    now: datetime,
    status: str | None,
    misses: int,
    announced: datetime | None = None,
) -> Plan:
    """The next check after a check at `now` that worked, with the reason for it. `announced`: the
    publisher's own date of the next chapter, where the source gives one: it is checked just after."""
    now = _utc(now)
    plan = _plan(learn_rhythm(release_times, now), now, (status or "").lower(), misses)
    if announced is None or _utc(announced) <= now or plan.reason.startswith(tuple(FINISHED_STATUSES)):
        return plan
    announced = _utc(announced)
    rhythm = replace(plan.rhythm, predicted=announced)
    if plan.at <= announced + JUST_AFTER_ANNOUNCED:
        return Plan(plan.at, plan.reason, rhythm)
    return Plan(
        announced + JUST_AFTER_ANNOUNCED,
        f"the publisher announced the next chapter for {announced:%Y-%m-%d %H:%M} UTC: checked just after",
        rhythm,
    )


def _plan(rhythm: Rhythm, now: datetime, status: str, misses: int) -> Plan:
    if status in FINISHED_STATUSES:
        return Plan(now + FINISHED_INTERVAL, f"{status}: monthly", rhythm)
    if status == "hiatus":
        return Plan(now + HIATUS_INTERVAL, "on hiatus: weekly", rhythm)
    latest = rhythm.latest_chapter
    if misses == 0 and latest and now - latest < BURST_WINDOW and rhythm.chapters_per_release >= BURSTY:
        # This title comes out several chapters at a time, and one just came: the rest may follow.
        return Plan(now + BURST_FOLLOW, f"a burst is coming out: next look in {_describe_wait(BURST_FOLLOW)}", rhythm)
    if rhythm.regular:
        at, reason = _regular_check(rhythm, now)
    else:
        at, reason = _irregular_check(rhythm, now, misses)
    if at - now > LONGEST_WAIT:
        at, reason = now + LONGEST_WAIT, f"{reason}; capped at 14 days"
    return Plan(at, reason, rhythm)


def next_check_at(
    release_times: Iterable["Release | datetime | None"], now: datetime, status: str | None, misses: int
) -> datetime:
    """The time to check a title again after a check at `now` that worked.

    `release_times`: its known chapters' aware datetimes or Releases; `status`:
    its upload status; `misses`: consecutive checks, ending with this one, that
    found nothing new. Returns an aware UTC datetime after `now`.
    """
    return plan_next_check(release_times, now, status, misses).at


def retry_after_failure(now: datetime, failures: int) -> datetime:
    """When to try a title again after its `failures`-th failure in a row."""
    exponent = max(0, min(failures - 1, 16))
    return now + min(FAILURE_BACKOFF_FIRST * (2**exponent), FAILURE_BACKOFF_MAX)


def _regular_check(rhythm: Rhythm, now: datetime) -> tuple[datetime, str]:
    tolerance, gap, last_release = rhythm.tolerance, rhythm.typical_gap, rhythm.last_release
    assert tolerance is not None and gap is not None and last_release is not None  # a regular rhythm has them
    # Walk the predicted slots; those whose window closed without a release were missed.
    missed, previous = 0, last_release
    for slot in rhythm.slots():
        if slot + tolerance > now + EDGE:
            break
        missed, previous = missed + 1, slot
        if missed > RETURN_WATCH_SLOTS or (missed >= SILENT_AFTER_SLOTS and gap > RETURN_WATCH_GAP):
            silent_for = now - last_release
            wait = max(gap, silent_for / 4)
            return now + wait, f"silent for {_days(silent_for)}: every {_describe_wait(wait)}"
    when = f"~{slot:%H:%M} UTC" if rhythm.hour_known else f"{slot:%d %b}, hour unknown"
    label = f"{rhythm.describe()} {WEEKDAYS[slot.weekday()]} {when}"
    if missed >= SILENT_AFTER_SLOTS:
        # A title on a break most often comes back on its old rhythm: one look a slot, at its window's end.
        return (
            slot + tolerance,
            f"silent for {_days(now - last_release)}: one look at {label} + {_describe_wait(tolerance)}",
        )
    poll = _poll_interval(rhythm, now)
    wobbly = tolerance > poll / 2
    if wobbly or rhythm.day_only:
        # A wide window: look across it in steps.
        poll = min(poll, max(2 * tolerance / WINDOW_STEPS, 1.5 * HOUR))
        at = slot - tolerance if now < slot - tolerance else min(now + poll, slot + tolerance)
        reason = f"{label} ± {_describe_wait(tolerance)}: every {_describe_wait(poll)} around it"
    elif tolerance > HOUR and now < slot:
        # Look at the prediction, then at the window's far edge.
        at, reason = slot, f"predicted {label}"
    else:
        at, reason = slot + tolerance, f"predicted {label} + {_describe_wait(tolerance)}"
    if 1 <= missed < SILENT_AFTER_SLOTS:
        # The release is late: look again soon, then less often, until the next slot.
        overdue_for = now - previous
        first_retry = min(max(gap / 28, RETRY_FIRST), RETRY_LONGEST)
        if rhythm.day_only:
            # A release known to its day often strays past a narrow window: look again within the hour or so.
            first_retry = max(min(tolerance, first_retry), HOUR)
        # Each slot missed in a row makes a late release less likely than a break: look again less soon.
        first_retry *= 4 ** (missed - 1)
        retry = now + max(first_retry, overdue_for)
        if wobbly:
            # Releases stray far from this rhythm: a late one is as likely any time soon; keep looking as often.
            retry = min(retry, now + poll)
        if retry < at:
            return retry, f"overdue {_describe_wait(overdue_for)}: next look in {_describe_wait(retry - now)}"
    return at, reason


def _poll_interval(rhythm: Rhythm, now: datetime) -> timedelta:
    """How often to look where nothing can be predicted: more often for titles that
    bring more chapters, as the square root of their pace, which spends a check
    budget where it cuts the most waiting. A silence several times longer than the
    title's usual gap slows it down: the title may have stopped."""
    assert rhythm.last_release is not None
    silent_for = now - rhythm.last_release
    usual_gap = rhythm.typical_gap or WEEK
    days_per_chapter = rhythm.days_per_chapter or 7.0
    if silent_for > STOPPED_AFTER_GAPS * usual_gap:
        days_per_chapter = max(days_per_chapter, (silent_for - STOPPED_AFTER_GAPS * usual_gap) / DAY / 2)
    return min(max(IRREGULAR_POLL * math.sqrt(days_per_chapter), 2 * HOUR), 7 * DAY)


def _irregular_check(rhythm: Rhythm, now: datetime, misses: int) -> tuple[datetime, str]:
    if rhythm.last_release is None:
        return now + NEW_TITLE_INTERVAL, "no chapters yet: daily"
    wait = _poll_interval(rhythm, now)
    reason = "new title" if rhythm.releases < 3 else "irregular"
    if misses:
        reason += f", {misses} check(s) without news"
    if rhythm.shortest_gap and now + wait < rhythm.last_release + QUIET_SHARE * rhythm.shortest_gap:
        # Releases never come this soon after one another: no need to look before.
        quiet_until = rhythm.last_release + QUIET_SHARE * rhythm.shortest_gap
        return quiet_until, f"{reason}: none comes sooner than {_describe_wait(rhythm.shortest_gap)} apart"
    return now + wait, f"{reason}: every {_describe_wait(wait)}"


def _collapse_bursts(known: list[datetime]) -> list[datetime]:
    """Distinct release moments, bursts collapsed to their first chapter."""
    return [
        time
        for previous, time in zip([None, *known], known, strict=False)
        if previous is None or time - previous >= BURST_WINDOW
    ]


def _centred(offset: timedelta, period: timedelta) -> timedelta:
    """An offset within a period, moved into (-period/2, period/2]."""
    return offset - period if offset > period / 2 else offset


def _snap(gap: timedelta) -> timedelta:
    for calendar_gap in CALENDAR_GAPS:
        if abs(gap - calendar_gap) <= calendar_gap * CALENDAR_SNAP:
            return calendar_gap
    return gap


def _confidence(gaps: int, spread: float) -> float:
    return max(0.0, min(1.0, gaps / 8)) * max(0.0, 1 - spread / (2 * REGULAR_SPREAD))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _describe_wait(wait: timedelta) -> str:
    hours = wait / HOUR
    if hours < 1:
        return f"{round(wait / timedelta(minutes=1))} min"
    if hours < 48:
        return f"{_few_digits(hours)} h"
    return f"{_few_digits(wait / DAY)} days"


def _few_digits(amount: float) -> str:
    """A reader reads "8.7 days" or "12 days", not "8.71 days"."""
    return f"{amount:.0f}" if amount >= 10 else f"{amount:.1f}".removesuffix(".0")


def _days(wait: timedelta) -> str:
    return f"{wait / DAY:.0f} days"


def in_active_window(now: datetime, from_hour: int | None, until_hour: int | None, buffer_minutes: int = 0) -> bool:
    """Whether `now` falls in the daily window [from_hour, until_hour) widened by the buffer.

    No window (None) means always; equal hours mean the whole day. The window
    may wrap past midnight (22 to 6).
    """
    if from_hour is None or until_hour is None:
        return True
    span = ((until_hour - from_hour) % 24 or 24) * 60 + 2 * buffer_minutes
    if span >= 1440:
        return True
    start = (from_hour * 60 - buffer_minutes) % 1440
    return (now.hour * 60 + now.minute - start) % 1440 < span
