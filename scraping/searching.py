"""Searching the live sources by a title's name: in the background, kept a few minutes, never inside a
web request. A page asks `find`: it gets what is kept, and a search is queued for each source that has
no answer yet; it asks again (the page polls) until none is pending.

A source whose gate says no (a 429's pause, an open breaker) is not asked: its part says so, and
the other sources still answer.
"""

import hashlib
import logging
from dataclasses import asdict, dataclass, field

from django.core.cache import cache
from django.utils import timezone
from django_q.tasks import async_task

from scraping import covers, sources
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.models import SourceState
from scraping.sources.errors import SourceError

logger = logging.getLogger(__name__)

CANDIDATES_PER_SOURCE = 8
# An answer is kept this long, so paging through results or reloading asks the sources nothing.
KEPT = 300
# A queued search is not queued again for this long, while it waits for its turn at the source.
QUEUED_FOR = 120
MAX_QUERY = 200


@dataclass
class Found:
    """What the searchable sources answered for one query: candidates (dicts of a Candidate's fields),
    the sources still being asked, and why the others gave nothing."""

    candidates: list = field(default_factory=list)
    pending: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)


def normal(query):
    return " ".join(str(query).split())[:MAX_QUERY]


def _key(source_name, query):
    digest = hashlib.sha256(normal(query).casefold().encode()).hexdigest()[:32]
    return f"batoshelf:search:{source_name}:{digest}"


def find(query, *, exclude_source=None, now=None):
    """What every searchable source (but `exclude_source`) has for `query`, queueing searches as needed."""
    query, now = normal(query), now or timezone.now()
    found = Found()
    states = SourceState.all_sources()
    for source in sources.searchable():
        if source.name == exclude_source:
            continue
        kept = cache.get(_key(source.name, query))
        if kept is not None:
            if kept["error"]:
                found.errors[source.name] = kept["error"]
            found.candidates.extend(kept["candidates"])
            continue
        refused = keeper.stopped(states[source.name], now)
        if refused:
            found.errors[source.name] = f"{source.display_name} is not answering now; the other sources still are."
            continue
        found.pending.append(source.name)
        if cache.add(f"{_key(source.name, query)}:queued", 1, QUEUED_FOR):
            async_task(search_source, source.name, query, task_name=f"search {source.name}", group="search")
    return found


def search_source(source_name, query):
    """Ask one source for `query` through its gate (ahead of routine checks) and keep its answer."""
    source = sources.get(source_name)
    try:
        candidates = source.search(keeper.Requests(source_name, priority=True), query, CANDIDATES_PER_SOURCE)
    except SourcePaused:
        kept = {"candidates": [], "error": f"{source.display_name} is not answering now; the other sources still are."}
    except SourceError as error:
        logger.info("search of %s failed: %s", source_name, error.message)
        kept = {"candidates": [], "error": f"{source.display_name} could not search just now ({error.kind})."}
    else:
        kept = {"candidates": [asdict(c) for c in candidates], "error": ""}
        for candidate in candidates:
            covers.queue(source_name, candidate.cover_url)
    cache.set(_key(source_name, query), kept, KEPT)
    cache.delete(f"{_key(source_name, query)}:queued")
    return f"{source.display_name}: {len(kept['candidates'])} found for {query!r} {kept['error']}".strip()
