"""The gate every request to a source goes through, shared by every worker on every machine.

Each source has its own gate: its own spacing, hourly budget, pause and
breaker, so a MangaDex 429 never holds MangaUpdates back. Before a request:
`take_turn` waits for the source's cluster-wide limiter (in Redis when
REDIS_URL is set, else in the database) and refuses while a 429's pause or the
circuit breaker holds. After it: `record_answer` tells the source's state what
the answer said (scraping.politeness judges it), which may pause every worker,
move to the next base URL, open or close the breaker, and tell staff.
`Requests` is the two together, as a source's fetch calls it.
"""

import json
import logging
import random
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import timezone

from scraping import sources
from scraping.models import SitePaused, SiteState
from scraping.politeness import LimiterState, decide_turn, spacing
from scraping.sources.errors import SourceError
from scraping.sources.http import quota_spent_for, send


class SystemClock:
    """The clock the gate reads; tests swap in one they control (`scraping.site.clock`)."""

    def now(self):
        return timezone.now()

    def sleep(self, seconds):
        time.sleep(seconds)


clock = SystemClock()
logger = logging.getLogger(__name__)


class DatabaseLimiter:
    """A source's limiter state in its SiteState row, changed by compare-and-set on a version."""

    def __init__(self, source):
        self.source = source

    def attempt(self, decide, seen=None):
        """Apply `decide(state) -> TurnDecision` atomically; return the decision.

        `seen` is the SiteState row the caller has just read: it saves a query.
        """
        while True:
            version, state = SiteState.limiter_state(self.source, seen)
            seen = None
            decision = decide(state)
            if decision.state == state or SiteState.replace_limiter_state(self.source, version, decision.state):
                return decision

    def peek(self, row=None):
        """The state as it is now; `row`, the source's SiteState just read, saves a query."""
        return SiteState.limiter_state(self.source, row)[1]


class RedisLimiter:
    """A source's limiter state in one Redis key, changed in a WATCH / MULTI transaction.

    While Redis cannot be reached the database row stands in, so a check that
    runs without the queue (`scrape`) still keeps the spacing.
    """

    def __init__(self, url, source):
        import redis

        self.key = f"batoshelf:source:{source}:limiter"
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self.fallback = DatabaseLimiter(source)

    def attempt(self, decide, seen=None):
        from redis.exceptions import ConnectionError, TimeoutError, WatchError

        try:
            with self.redis.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(self.key)
                        state = self._decode(pipe.get(self.key))
                        decision = decide(state)
                        if decision.state == state:
                            pipe.unwatch()
                        else:
                            pipe.multi()
                            pipe.set(self.key, json.dumps(decision.state.as_json()))
                            pipe.execute()
                        return decision
                    except WatchError:
                        continue  # another worker moved first: decide again on what it wrote
        except (ConnectionError, TimeoutError) as error:
            logger.warning("the Redis limiter is unreachable (%s): the database's takes over", error)
            return self.fallback.attempt(decide, seen)

    def peek(self, row=None):
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            return self._decode(self.redis.get(self.key))
        except (ConnectionError, TimeoutError):
            return self.fallback.peek(row)

    @staticmethod
    def _decode(raw):
        return LimiterState.from_json(json.loads(raw) if raw else None)


_limiters = {}


def limiter(source):
    """The limiter of `source` that every process of this deployment shares."""
    key = (settings.REDIS_URL or "database", source)
    if key not in _limiters:
        _limiters[key] = RedisLimiter(settings.REDIS_URL, source) if settings.REDIS_URL else DatabaseLimiter(source)
    return _limiters[key]


def take_turn(source, *, priority=False):
    """Wait for this process's turn at `source` and return it, or raise SitePaused.

    `priority` is for checks someone asked for: the source's next turn is
    theirs. A check that would wait longer than BATO_TURN_MAX_WAIT gives up at
    once (SitePaused) so its worker is free and its title goes back to the queue.
    """
    politeness = sources.get(source).politeness()
    now = clock.now()
    seen = SiteState.current(source)
    turn = seen.admit(now)
    rate_limited_at = seen.rate_limited_at.timestamp() if seen.rate_limited_at else None
    deadline = now.timestamp() + settings.BATO_TURN_MAX_WAIT
    try:
        while True:
            delay = spacing(random.uniform(politeness.min_delay, politeness.max_delay), now.timestamp(),
                            rate_limited_at)
            decision = limiter(source).attempt(lambda state: decide_turn(
                state, now.timestamp(), priority=priority, per_hour=politeness.per_hour, delay=delay,
            ), seen)
            seen = None
            if decision.granted:
                return turn
            if now.timestamp() + decision.wait > deadline:
                raise SitePaused(
                    now + timedelta(seconds=decision.wait),
                    f"no turn within {settings.BATO_TURN_MAX_WAIT:g} s ({decision.reason})", source=source,
                )
            clock.sleep(decision.wait)
            now = clock.now()
            SiteState.still_open(source, now)
    except SitePaused:
        if turn.probe:
            SiteState.give_back_probe(source)
        raise


def record_answer(turn, error):
    """Tell the source's shared state what the request sent on `turn` brought back (`error` None: it worked)."""
    from notifications.delivery import publish_on_commit
    from notifications.models import Notification

    now = clock.now()
    change = SiteState.record_answer(turn, error, now)
    who = sources.get(turn.source).display_name
    if change.opened_first:
        publish_on_commit(Notification.objects.create_for_staff(
            f"Checks to {who} stopped: {change.reason}. The circuit breaker tries one title again "
            f"at {change.until:%Y-%m-%d %H:%M} UTC.", now,
        ))
    if change.recovered:
        publish_on_commit(Notification.objects.create_for_staff(
            f"{who} answers again (through {turn.mirror}); checks go on.", now,
        ))


class Requests:
    """How a source's requests go out during one check: each waits for its turn at the gate
    and reports what came back. Sources call it (`scraping.sources.base.Ask`); it counts them."""

    def __init__(self, source, *, priority=False):
        self.source = sources.get(source)
        self.priority = priority
        self.count = 0
        self.last_status = None

    def __call__(self, request, read):
        turn = take_turn(self.source.name, priority=self.priority)
        self.count += 1
        try:
            answer = send(self.source, turn.mirror, request, timeout=settings.BATO_TIMEOUT)
            self.last_status = answer.status
            payload = read(answer)
        except SourceError as error:
            record_answer(turn, error)
            raise
        record_answer(turn, None)
        spent = quota_spent_for(answer.headers, clock.now())
        if spent:
            # The endpoint's quota is used up: nobody asks before it comes back, instead of meeting a 429.
            SiteState.pause(self.source.name, clock.now(), min(spent, settings.BATO_MAX_RETRY_AFTER),
                            f"{self.source.display_name} said its quota is spent for {spent:.0f} s")
        return payload


def dispatch_allowance(source, now, limit):
    """How many checks of `source` a dispatch may hand out now, and why fewer than `limit` (or "")."""
    allowed, reason = SiteState.current(source).dispatch_allowance(now, limit)
    if not allowed:
        return 0, reason
    per_hour = sources.get(source).politeness().per_hour
    left = per_hour - limiter(source).peek().requests_in_last_hour(now.timestamp())
    if left < allowed:
        return max(0, left), f"{per_hour} requests an hour: {max(0, left)} left"
    return allowed, reason


def source_status(source, now, row=None):
    """One source's limiter and breaker as staff see them."""
    row = row or SiteState.current(source)
    state = limiter(source).peek(row)
    return {**row.describe(now), **{
        "limiter": "redis" if settings.REDIS_URL else "database",
        "requests_last_hour": state.requests_in_last_hour(now.timestamp()),
        "max_requests_per_hour": sources.get(source).politeness().per_hour,
        "next_request_at": datetime.fromtimestamp(state.next_at, tz=dt_timezone.utc).isoformat()
        if state.next_at > now.timestamp() else None,
        "asked_for_check_waiting": state.priority_until > now.timestamp(),
    }}


def status(now):
    """Every source's `source_status`, live sources first (dashboard, API, `scrape`)."""
    return [source_status(name, now, row) for name, row in SiteState.all_sources().items()]


def describe_status(source_status):
    """One line of one source's `status(...)` for a terminal."""
    site = source_status
    parts = [f"{site['display_name']} via {site['mirror']}",
             f"{site['requests_last_hour']}/{site['max_requests_per_hour']} requests "
             f"in the last hour ({site['limiter']} limiter)"]
    if site["paused_until"]:
        parts.append(f"paused until {site['paused_until'][:19]} UTC: {site['pause_reason']}")
    parts.append(f"breaker {site['breaker']}" + (
        f" until {site['breaker_until'][:19]} UTC ({site['breaker_reason']})" if site["breaker"] != "closed" else ""
    ))
    return "; ".join(parts)
