"""The sources batoshelf follows titles on, and what a user may paste to name a title on one.

One module per source (bato, mangadex, mangaupdates, mangaplus, webtoon, tapas, feed), each a `Source` (see
scraping.sources.base) with its pure parser beside it. Everything else in
batoshelf asks this module for a source by the name stored with each title,
and knows nothing source-specific.
"""

import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from scraping.sources.bato import SOURCE as BATO
from scraping.sources.errors import InvalidTitleReference
from scraping.sources.feed import SOURCE as FEED
from scraping.sources.mangadex import SOURCE as MANGADEX
from scraping.sources.mangaplus import SOURCE as MANGAPLUS
from scraping.sources.mangaupdates import SOURCE as MANGAUPDATES
from scraping.sources.tapas import SOURCE as TAPAS
from scraping.sources.webtoon import SOURCE as WEBTOON

# Live sources first: that is the order of searches, lists and menus.
SOURCES = {source.name: source for source in (MANGADEX, MANGAUPDATES, MANGAPLUS, WEBTOON, TAPAS, FEED, BATO)}
ALIASES = {alias: source for source in SOURCES.values() for alias in source.aliases}
# A bare id is tried against these in turn: a short number is Bato's, a UUID
# MangaDex's, a longer number MangaUpdates'.
_BARE_ORDER = (BATO, MANGADEX, MANGAUPDATES)
_BARE = re.compile(r"^[\w-]+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!//)")

# The sites a title's address may be on, in a sentence ("… on {SITES_IN_WORDS}").
SITES_IN_WORDS = "MangaDex, MangaUpdates, MANGA Plus, WEBTOON, Tapas or Bato (or a feed, as feed: and its address)"
ACCEPTED = (
    "a title's page on MangaDex (https://mangadex.org/title/<uuid>), MangaUpdates "
    "(https://www.mangaupdates.com/series/<id>/<name>) or a Bato mirror (https://bato.to/title/110100), "
    "a MANGA Plus title page (https://mangaplus.shueisha.co.jp/titles/100020), a WEBTOON series page "
    "(https://www.webtoons.com/en/fantasy/tower-of-god/list?title_no=95), a Tapas series page "
    "(https://tapas.io/series/some-story), "
    "a MangaDex UUID, a MangaUpdates id (64897697818), a Bato id (110100), "
    "a source and its id (mangadex:<uuid>, mangaupdates:<id>, mangaplus:<id>, bato:<id>), "
    "or feed: and an RSS or Atom feed's address (feed:https://example.org/series/feed/)"
)


def get(name):
    """A source by its name, or by the name of one of its gates ("feed:example.org")."""
    return SOURCES[name.split(":", 1)[0]]


def gate_label(gate):
    """A gate as staff read it: its source, and its host for a source with a gate per host."""
    source, _, host = gate.partition(":")
    return f"{get(source).display_name}{f' ({host})' if host else ''}"


def choices():
    return [(source.name, source.display_name) for source in SOURCES.values()]


def searchable():
    return [source for source in SOURCES.values() if source.searchable]


@dataclass(frozen=True)
class TitleRef:
    """A title on a source: the source's name and its own id for the title."""

    source: str
    source_id: str

    def __str__(self):
        return f"{self.source}:{self.source_id}"


def reference_lines(text):
    """(line number, text) of each line of a list of titles that names one, as they are read: `#` starts
    a comment (also after a title), blank lines are none. A reader stops when it has enough."""
    for n, line in enumerate(io.StringIO(text, newline=None), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            yield n, line


def parse_reference(text):
    """The title a pasted URL, id or `source:id` names; InvalidTitleReference says what was wrong."""
    text = (text or "").strip()
    if not text:
        raise InvalidTitleReference(f"Nothing given: expected {ACCEPTED}.")
    if len(text) > 1000:
        raise InvalidTitleReference(f"That is {len(text)} characters long, too long for a title URL or id.")
    scheme = _SCHEME.match(text)
    if scheme and scheme.group(1).lower() in ALIASES:
        return _explicit(ALIASES[scheme.group(1).lower()], text[scheme.end() :].strip())
    if _BARE.match(text):
        return _bare(text)
    if scheme:
        raise InvalidTitleReference(f"{text!r} is not an http(s) URL: expected {ACCEPTED}.")
    return _url(text)


def _explicit(source, source_id):
    parsed = source.parse_id(source_id)
    if parsed is None:
        raise InvalidTitleReference(f"{source_id!r} is not a {source.display_name} id: expected {source.accepted}.")
    return TitleRef(source.name, parsed)


def _bare(text):
    for source in _BARE_ORDER:
        parsed = source.parse_id(text)
        if parsed is not None:
            return TitleRef(source.name, parsed)
    if text.isdecimal():
        why = (
            f"a {len(text)}-digit number is too large for any source's id"
            if len(text) > 19
            else "no source has an id of that size"
        )
        raise InvalidTitleReference(f"{text!r}: {why}; expected {ACCEPTED}.")
    raise InvalidTitleReference(f"{text!r} is neither a URL nor an id: expected {ACCEPTED}.")


def _url(text):
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise InvalidTitleReference(f"{text!r} is not a URL: expected {ACCEPTED}.") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidTitleReference(f"{text!r} is not an http(s) URL: expected {ACCEPTED}.")
    if "@" in parts.netloc:  # even an empty "user:@" or ":@"
        raise InvalidTitleReference(f"{text!r} carries a user name or password: expected {ACCEPTED}.")
    if not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", host):
        raise InvalidTitleReference(f"{text!r} is not a URL: expected {ACCEPTED}.")
    host = host.removeprefix("www.")
    for source in SOURCES.values():
        if host in source.hosts():
            return TitleRef(source.name, source.id_from_url(parts, text))
    raise InvalidTitleReference(
        f"{host} is not a site batoshelf follows (MangaDex, MangaUpdates, MANGA Plus, WEBTOON, Tapas, or a "
        f"Bato mirror listed in BATO_MIRRORS): expected {ACCEPTED}. If it has an RSS or Atom feed, follow "
        f"that: feed:{text}"
    )
