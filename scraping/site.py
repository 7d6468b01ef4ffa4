"""The gate every request to the site goes through, shared by every worker on every machine.

Before a request: `take_turn` waits for the cluster-wide limiter (spacing and
hourly budget, in Redis when REDIS_URL is set, else in the database) and
refuses while a 429's pause or the circuit breaker holds. After it:
`record_answer` tells the site state what the answer said (scraping.politeness
judges it), which may pause every worker, move to the next mirror, open or
close the breaker, and tell staff.
"""

import json
import logging
import random
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import timezone

from scraping.models import SitePaused, SiteState
from scraping.politeness import LimiterState, decide_turn, spacing


class SystemClock:
    """The clock the gate reads; tests swap in one they control (`scraping.site.clock`)."""

    def now(self):
        return timezone.now()

    def sleep(self, seconds):
        time.sleep(seconds)


clock = SystemClock()
logger = logging.getLogger(__name__)


class DatabaseLimiter:
    """The limiter's state in the SiteState row, changed by compare-and-set on a version."""

    def attempt(self, decide, seen=None):
        """Apply `decide(state) -> TurnDecision` atomically; return the decision.

        `seen` is the SiteState row the caller has just read: it saves a query.
        """
        while True:
            version, state = SiteState.limiter_state(seen)
            seen = None
            decision = decide(state)
            if decision.state == state or SiteState.replace_limiter_state(version, decision.state):
                return decision

    def peek(self):
        return SiteState.limiter_state()[1]


class RedisLimiter:
    """The limiter's state in one Redis key, changed in a WATCH / MULTI transaction.

    While Redis cannot be reached the database row stands in, so a check that
    runs without the queue (`scrape`) still keeps the spacing.
    """

    KEY = "batoshelf:site:limiter"

    def __init__(self, url):
        import redis

        self.redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self.fallback = DatabaseLimiter()

    def attempt(self, decide, seen=None):
        from redis.exceptions import ConnectionError, TimeoutError, WatchError

        try:
            with self.redis.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(self.KEY)
                        state = self._decode(pipe.get(self.KEY))
                        decision = decide(state)
                        if decision.state == state:
                            pipe.unwatch()
                        else:
                            pipe.multi()
                            pipe.set(self.KEY, json.dumps(decision.state.as_json()))
                            pipe.execute()
                        return decision
                    except WatchError:
                        continue  # another worker moved first: decide again on what it wrote
        except (ConnectionError, TimeoutError) as error:
            logger.warning("the Redis limiter is unreachable (%s): the database's takes over", error)
            return self.fallback.attempt(decide, seen)

    def peek(self):
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            return self._decode(self.redis.get(self.KEY))
        except (ConnectionError, TimeoutError):
            return self.fallback.peek()

    @staticmethod
    def _decode(raw):
        return LimiterState.from_json(json.loads(raw) if raw else None)


_limiters = {}


def limiter():
    """The limiter every process of this deployment shares."""
    key = settings.REDIS_URL or "database"
    if key not in _limiters:
        _limiters[key] = RedisLimiter(settings.REDIS_URL) if settings.REDIS_URL else DatabaseLimiter()
    return _limiters[key]


def take_turn(*, priority=False):
    """Wait for this process's turn at the site and return it, or raise SitePaused.

    `priority` is for checks someone asked for: the next turn is theirs. A
    check that would wait longer than BATO_TURN_MAX_WAIT gives up at once
    (SitePaused) so its worker is free and its title goes back to the queue.
    """
    now = clock.now()
    seen = SiteState.current()
    turn = seen.admit(now)
    rate_limited_at = seen.rate_limited_at.timestamp() if seen.rate_limited_at else None
    deadline = now.timestamp() + settings.BATO_TURN_MAX_WAIT
    try:
        while True:
            delay = spacing(random.uniform(settings.BATO_MIN_DELAY, settings.BATO_MAX_DELAY), now.timestamp(),
                            rate_limited_at)
            decision = limiter().attempt(lambda state: decide_turn(
                state, now.timestamp(), priority=priority, per_hour=settings.BATO_MAX_REQUESTS_PER_HOUR,
                delay=delay,
            ), seen)
            seen = None
            if decision.granted:
                return turn
            if now.timestamp() + decision.wait > deadline:
                raise SitePaused(
                    now + timedelta(seconds=decision.wait),
                    f"no turn at the site within {settings.BATO_TURN_MAX_WAIT:g} s ({decision.reason})",
                )
            clock.sleep(decision.wait)
            now = clock.now()
            SiteState.still_open(now)
    except SitePaused:
        if turn.probe:
            SiteState.give_back_probe()
        raise


def record_answer(turn, error):
    """Tell the shared site state what the request sent on `turn` brought back (`error` None: it worked)."""
    from notifications.delivery import publish_on_commit
    from notifications.models import Notification

    now = clock.now()
    change = SiteState.record_answer(turn, error, now)
    if change.opened_first:
        publish_on_commit(Notification.objects.create_for_staff(
            f"Checks to the site stopped: {change.reason}. The circuit breaker tries one title again "
            f"at {change.until:%Y-%m-%d %H:%M} UTC.", now,
        ))
    if change.recovered:
        publish_on_commit(Notification.objects.create_for_staff(
            f"The site answers again (through {turn.mirror}); checks go on.", now,
        ))


def dispatch_allowance(now, limit):
    """How many checks a dispatch may hand out now, and why fewer than `limit` (or "")."""
    allowed, reason = SiteState.dispatch_allowance(now, limit)
    if not allowed:
        return 0, reason
    left = settings.BATO_MAX_REQUESTS_PER_HOUR - limiter().peek().requests_in_last_hour(now.timestamp())
    if left < allowed:
        return max(0, left), f"{settings.BATO_MAX_REQUESTS_PER_HOUR} requests an hour: {max(0, left)} left"
    return allowed, reason


def status(now):
    """The limiter and breaker as staff see them (dashboard, API, `scrape`)."""
    state = limiter().peek()
    return {**SiteState.current().describe(now), **{
        "limiter": "redis" if settings.REDIS_URL else "database",
        "requests_last_hour": state.requests_in_last_hour(now.timestamp()),
        "max_requests_per_hour": settings.BATO_MAX_REQUESTS_PER_HOUR,
        "next_request_at": datetime.fromtimestamp(state.next_at, tz=dt_timezone.utc).isoformat()
        if state.next_at > now.timestamp() else None,
        "asked_for_check_waiting": state.priority_until > now.timestamp(),
    }}


def describe_status(site):
    """One line of `status(...)` for a terminal."""
    parts = [f"site via {site['mirror']}", f"{site['requests_last_hour']}/{site['max_requests_per_hour']} requests "
             f"in the last hour ({site['limiter']} limiter)"]
    if site["paused_until"]:
        parts.append(f"paused until {site['paused_until'][:19]} UTC: {site['pause_reason']}")
    parts.append(f"breaker {site['breaker']}" + (
        f" until {site['breaker_until'][:19]} UTC ({site['breaker_reason']})" if site["breaker"] != "closed" else ""
    ))
    return "; ".join(parts)
