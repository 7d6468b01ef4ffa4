"""Any RSS 2.0 or Atom feed a reader names: a scanlation site's `/feed/`, MangaUpdates' per-series RSS,
a publisher's. Read by feedparser (scraping/sources/feeds.py).

A title is named `feed:<its address>`; the address is its id. Each entry's id (else its link) is a
chapter's; its number is read from its title ("Series Name Chapter 123") where it has one. The
feed's own title names the title. A check is one request, conditional: the feed's ETag and
Last-Modified are kept and sent back, so an unchanged feed answers 304 and costs its server
almost nothing.

A feed's server is anyone's: each host gets its own gate (spacing, hourly budget and circuit
breaker per host, `feed:<host>`), and no connection may reach this machine or a private network
unless FEEDS_ALLOW_PRIVATE, checked where each connection is made (a name that resolves inside
by then is refused all the same). A redirect is not followed: the check says where the feed
moved.
"""

import hashlib
import re
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from batoshelf import egress
from scraping.sources.base import Link, Politeness, Request, Source, TitleDetails, TitleSnapshot
from scraping.sources.errors import BadResponse, InvalidTitleReference, TitleNotFound
from scraping.sources.feeds import chapter_of, parse_feed
from scraping.sources.http import honest_user_agent, raise_source_faults
from scraping.sources.values import public_link

# A title's id is its feed's address; the database keys it with its source, so it has a bound.
MAX_ADDRESS = 600
CHAPTER_ID = 64  # a chapter's stored id at most: longer entry ids are kept as their hash


def normalized_address(text):
    """The feed address in `text` as batoshelf keeps it, or None when it is no http(s) URL a feed may have."""
    text = text.strip()
    if len(text) > MAX_ADDRESS or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    if not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", host if ":" not in host else f"[{host}]"):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def chapter_id(key):
    return key if len(key) <= CHAPTER_ID else hashlib.sha256(key.encode()).hexdigest()[:CHAPTER_ID]


def parse_any_feed(content, address):
    feed = parse_feed(content, "The feed")
    chapters = [
        replace(
            chapter_of(replace(entry, title=_without_series_name(entry.title, feed.name)), chapter_id(entry.key)),
            external_url=public_link(entry.link),
        )
        for entry in feed.entries
    ]
    details = TitleDetails(
        source_id=address,
        name=feed.name or urlsplit(address).hostname or address,
        description=feed.description,
        links={"site": public_link(feed.link)} if public_link(feed.link) else {},
    )
    return TitleSnapshot(details=details, chapters=chapters)


def _without_series_name(title, name):
    """ "Series Name Chapter 9" is "Chapter 9" in a feed of Series Name (notices say the title's name)."""
    rest = title[len(name) :].lstrip(" -–:|") if name and title.lower().startswith(name.lower()) else ""
    return rest or title


class Feed(Source):
    name = "feed"
    display_name = "Feed"
    aliases = ("feed", "rss", "atom")
    accepted = "feed: and an RSS or Atom feed's address (feed:https://example.org/series/feed/)"
    private = True  # a feed's address may hold its reader's key (?key=…): no other reader sees it

    def hosts(self):
        return set()  # a feed is named by its prefix, never guessed from a host

    def parse_id(self, text):
        return normalized_address(text)

    def id_from_url(self, parts, text):
        raise InvalidTitleReference(f"Write feed: before a feed's address: feed:{text}")

    def base_urls(self):
        return [""]  # every request names its feed's own address

    def politeness(self):
        return Politeness(settings.FEED_MIN_DELAY, settings.FEED_MAX_DELAY, settings.FEED_MAX_REQUESTS_PER_HOUR)

    def gate_for(self, request):
        return f"{self.name}:{urlsplit(request.url).hostname or ''}"[:200]

    def may_connect(self, address):
        return settings.FEEDS_ALLOW_PRIVATE or egress.is_public(address)

    def headers(self, base_url, request):
        return {
            "User-Agent": honest_user_agent(),
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8",
            **dict(request.headers),
        }

    def fetch_title(self, ask, source_id, known):
        validators = (
            ()
            if known.full
            else tuple(
                (header, known.memo[key])
                for header, key in (("If-None-Match", "etag"), ("If-Modified-Since", "last_modified"))
                if known.memo.get(key)
            )
        )
        return ask(Request("GET", "", url=source_id, headers=validators), lambda answer: read_feed(answer, source_id))

    def search(self, ask, query, limit, *, latest=True):
        return []

    def title_url(self, source_id):
        # Never with its query, where a private feed keeps its key; nothing for one inside the network.
        parts = urlsplit(source_id)
        return public_link(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))

    def chapter_link(self, title_source_id, url_path, external_url):
        return Link(external_url, external=True) if external_url else Link(self.title_url(title_source_id))


def read_feed(answer, address):
    """A feed's answer: its chapters and what to send back next time, or unchanged (304)."""
    if answer.status == 304:
        return TitleSnapshot(details=None, chapters=[])
    if answer.status in (404, 410):
        raise TitleNotFound(f"the feed at {address} is gone (HTTP {answer.status})", status=answer.status)
    if 300 <= answer.status < 400:
        moved = answer.headers.get("Location", "")[:300]
        raise BadResponse(f"the feed moved (HTTP {answer.status}) to {moved}: add it by its new address")
    if answer.status != 200:
        raise_source_faults(answer, "The feed's server")
        raise BadResponse(f"the feed's server answered HTTP {answer.status}", status=answer.status)
    # A 200 is read as a feed whatever it is: a web page at the address is the reader's mistake, not a block.
    snapshot = parse_any_feed(answer.content, address)
    memo = {
        "etag": answer.headers.get("ETag", "")[:200],
        "last_modified": answer.headers.get("Last-Modified", "")[:100],
    }
    return TitleSnapshot(snapshot.details, snapshot.chapters, memo={k: v for k, v in memo.items() if v})


SOURCE = Feed()
