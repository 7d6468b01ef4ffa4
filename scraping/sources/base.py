"""The shapes every source speaks in, and what a source must know.

Pure data: no Django, no I/O. A source turns its own answers into these
records; the check pipeline, the gate, the schedule and the pages only ever
see these.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import SplitResult

EXACT = "exact"
DAY = "day"  # the source gives a release day, not a time (MangaUpdates)


def alt_name(name: str, language: str = "") -> dict[str, str]:
    """One of a title's other names, with its language ("" when the source does not say)."""
    return {"name": name, "language": language}


@dataclass(frozen=True)
class TitleDetails:
    """What a source says about a title; fields a source does not have stay empty."""

    source_id: str
    name: str
    alt_names: list = field(default_factory=list)  # of alt_name() dicts
    authors: list = field(default_factory=list)
    artists: list = field(default_factory=list)
    genres: list = field(default_factory=list)
    # Other tags by their group, kept apart from the genres: {"theme": [...], "format": [...], "content": [...]}
    tags: dict = field(default_factory=dict)
    content_rating: str = ""  # MangaDex: safe, suggestive, erotica, pornographic
    upload_status: str = ""  # ongoing, completed, hiatus, cancelled, dropped, or "" when unknown
    original_status: str = ""  # the status in the source's own words
    year: int | None = None
    description: str = ""  # in the source's own markup, as description_format says
    description_format: str = "text"  # "text" (plain) or "markdown" (MangaDex)
    cover_url: str = ""
    orig_lang: str = ""
    # Ids of the title elsewhere, as the source lists them (MangaDex: {"mu": "ttaew4a", "al": "30013"})
    links: dict = field(default_factory=dict)
    available_languages: list = field(default_factory=list)  # the chapter languages the source has
    # The publisher's own date of the next chapter, where the source gives one (MANGA Plus)
    next_release_at: datetime | None = None
    # Bato's extras
    read_direction: str = ""
    original_pub_from: str = ""
    original_pub_till: str = ""
    score: float | None = None
    votes: int | None = None
    score_distribution: dict = field(default_factory=dict)
    follows: int | None = None
    reviews: int | None = None
    replies: int | None = None
    views_all_time: int | None = None
    emotions: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ChapterRecord:
    """One chapter (or, on MangaUpdates, one group's release), identified by the source's id within its title."""

    source_id: str
    name: str  # how the source names it: "Chapter 12", "Vol.2 Ch.10.5", "c.25-26"
    subtitle: str = ""  # its own title, if the source gives one
    number: Decimal | None = None  # the chapter number, the last of a range
    number_from: Decimal | None = None  # the first number of a range ("25-26"); None for one number
    volume: str = ""
    language: str = ""
    groups: tuple = ()
    published_at: datetime | None = None
    published_precision: str = EXACT
    created_at: datetime | None = None
    url_path: str = ""  # the chapter's page on the source's own site, as a path
    external_url: str = ""  # or an official page elsewhere (http(s) only)
    available: bool = True  # hidden, deleted or taken down chapters are stored but announce nothing
    views_guest: int | None = None
    views_member: int | None = None
    replies: int | None = None


@dataclass(frozen=True)
class TitleSnapshot:
    details: TitleDetails | None  # None when this check did not refresh them
    chapters: list  # of ChapterRecord, as the source listed them
    memo: Mapping[str, str] | None = None  # what to keep for the next check (Known.memo); None: keep it as it is


@dataclass(frozen=True)
class Known:
    """What batoshelf already has of a title, so a check asks for no more than it needs."""

    chapter_ids: frozenset[str] = frozenset()
    details_refreshed_at: datetime | None = None
    languages: tuple[str, ...] = ()  # the chapter languages to fetch, where the source has several
    full: bool = True  # the whole list (an import); False: only what is new since the last check
    now: datetime | None = None
    memo: Mapping[str, str] = field(default_factory=dict)  # what the source kept from its last check (an ETag)

    def details_due(self, every: timedelta) -> bool:
        """Whether to ask for the title's details again: on an import, and once every `every`."""
        refreshed = self.details_refreshed_at
        return self.full or refreshed is None or self.now is None or self.now - refreshed >= every


@dataclass(frozen=True)
class Candidate:
    """A title a search found, as a person chooses among them."""

    source: str
    source_id: str
    name: str
    alt_names: tuple = ()  # of alt_name() dicts
    year: int | None = None
    latest_chapter: str = ""
    url: str = ""
    cover_url: str = ""  # on the source's own host; batoshelf shows it only once it has fetched it
    links: tuple = ()  # (site, id) pairs, as TitleDetails.links


@dataclass(frozen=True)
class Request:
    """One HTTP request, relative to the base URL the gate gives it."""

    method: str
    path: str
    params: tuple = ()  # (name, value) pairs; a name may repeat ("translatedLanguage[]")
    body: Any = None  # sent as JSON
    url: str = ""  # instead of `path` on the base URL: an absolute URL (an image host's, a feed's)
    headers: tuple = ()  # (name, value) pairs sent besides the source's own (If-None-Match)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


# How a source sends a request: the check pipeline passes one bound to the gate
# (every request waits for its turn and reports what came back); `read` turns
# the answer into a payload or raises a SourceError.
Ask = Callable[[Request, Callable[[Answer], Any]], Any]


@dataclass(frozen=True)
class Politeness:
    min_delay: float  # seconds between two requests, chosen at random in [min_delay, max_delay]
    max_delay: float
    per_hour: int  # the most requests in any hour


@dataclass(frozen=True)
class Link:
    url: str
    external: bool = False  # an official page outside the source


class Source:
    """A place chapters come from. Subclasses fill in the parts; see scraping.sources for the list."""

    name = ""  # stored with every title: "bato", "mangadex", "mangaupdates"
    display_name = ""
    aliases: tuple = ()  # short prefixes accepted before an id: "md:…"
    searchable = False  # whether "find on another source" can search it
    private = False  # whether its titles are seen by their followers (and staff) alone: see Title.objects.seen_by
    accepted = ""  # the forms of title references it accepts, for error messages

    def hosts(self) -> set:
        """The website hosts whose title URLs this source accepts."""
        raise NotImplementedError

    def parse_id(self, text: str) -> str | None:
        """The normalised id in a bare `text`, or None when it is not this source's shape."""
        raise NotImplementedError

    def id_from_url(self, parts: SplitResult, text: str) -> str:
        """The id in a URL on one of `hosts()`; InvalidTitleReference when it is no title page."""
        raise NotImplementedError

    def base_urls(self) -> list:
        """Where requests go, most preferred first (the gate fails over to the next)."""
        raise NotImplementedError

    def politeness(self) -> Politeness:
        raise NotImplementedError

    def headers(self, base_url: str, request: Request) -> dict:
        raise NotImplementedError

    def prepare_session(self, session: Any) -> None:
        """Set up a new HTTP session (cookies, say) before its first request."""

    def gate_for(self, request: Request) -> str:
        """The gate this request waits at: the source's own, or one per host for sources on many hosts (feeds),
        named "<source>:<host>"."""
        return self.name

    def may_connect(self, address: Any) -> bool:
        """Whether a request may connect to this IP address (checked where each connection is made)."""
        return True

    def languages(self, chosen: Any) -> tuple:
        """The chapter languages a title follows: its own choice, or the source's default."""
        return ()

    def fetch_title(self, ask: Ask, source_id: str, known: Known) -> TitleSnapshot:
        raise NotImplementedError

    def search(self, ask: Ask, query: str, limit: int, *, latest: bool = True) -> list:
        """Candidates for `query`, best first; `latest` False spares the requests for their latest chapters."""
        raise NotImplementedError

    def title_url(self, source_id: str) -> str:
        raise NotImplementedError

    def cover_fetch_url(self, cover_url: str) -> str:
        """Where to fetch a cover this source gave (a small size where it has one); "" when the URL is
        not on the source's own image host, which is all a cover is fetched from."""
        return ""

    def chapter_link(self, title_source_id: str, url_path: str, external_url: str) -> Link:
        """Where a chapter is read: its page here, an official page elsewhere, or the title's page."""
        raise NotImplementedError
