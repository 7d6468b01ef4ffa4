"""The limiter every worker on every machine shares, one per source: in Redis when REDIS_URL is set,
else in the source's row of the database. The rules it applies are in scraping.gate.rules."""

import json
import logging

from django.conf import settings

from scraping.gate.rules import LimiterState
from scraping.models import SourceState

logger = logging.getLogger(__name__)


class DatabaseLimiter:
    """A source's limiter state in its SourceState row, changed by compare-and-set on a version."""

    def __init__(self, source):
        self.source = source

    def attempt(self, decide, seen=None):
        """Apply `decide(state) -> TurnDecision` atomically; return the decision.

        `seen` is the SourceState row the caller has just read: it saves a query.
        """
        while True:
            row = seen or SourceState.current(self.source)
            seen = None
            state = LimiterState.from_json(row.limiter)
            decision = decide(state)
            if decision.state == state or SourceState.objects.filter(
                source=self.source, limiter_version=row.limiter_version
            ).update(limiter=decision.state.as_json(), limiter_version=row.limiter_version + 1):
                return decision

    def peek(self, row=None):
        """The state as it is now; `row`, the source's SourceState just read, saves a query."""
        return LimiterState.from_json((row or SourceState.current(self.source)).limiter)


class RedisLimiter:
    """A source's limiter state in one Redis key, changed in a WATCH / MULTI transaction.

    While Redis cannot be reached the database row stands in, so a check that
    runs without the queue (`checktitles`) still keeps the spacing.
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
