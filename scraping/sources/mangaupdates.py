"""MangaUpdates (API v1): release records across every group and publisher.

A check is one request: the newest page of the series' releases (it pages on
only while a whole page is new). Details are refreshed at most once a day. An
import stores the newest releases, a few pages of them: older ones cannot be
new, and they are plenty to learn the series' rhythm. Release dates are days,
so the schedule knows a release only to the day.

The parsers come first, pure functions (no Django, no I/O) from MangaUpdates' answers to the shared
records.

A series id is a 64-bit integer, written in base 36 in the site's URLs. Names
carry HTML entities and descriptions are HTML. A release is one group's
release of a chapter, a range ("25-26") or a volume; its date is a day,
refined by `time_added` when that falls on the same day.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

import scraping.sources.values as values
from scraping.sources.base import (
    DAY,
    EXACT,
    Candidate,
    ChapterRecord,
    Link,
    Politeness,
    Request,
    Source,
    TitleDetails,
    TitleSnapshot,
    alt_name,
)
from scraping.sources.errors import BadResponse, InvalidTitleReference
from scraping.sources.http import honest_user_agent, read_json

SITE = "https://www.mangaupdates.com"
COVER_HOST = "cdn.mangaupdates.com"
# /series/ttaew4a, /series/ttaew4a/some-slug
SERIES_PATH = re.compile(r"^/series/(?P<id>[0-9a-zA-Z]{1,13})(?:/[^/]*)?/?$")
DIGITS = re.compile(r"^\d{1,19}$")
STATUS_WORDS = (
    ("complete", "completed"),
    ("ongoing", "ongoing"),
    ("hiatus", "hiatus"),
    ("cancel", "cancelled"),
    ("discontinued", "cancelled"),
    ("dropped", "dropped"),
)


def parse_series_id(text: Any) -> str | None:
    """A bare decimal series id, or None."""
    text = values.text(text)
    if not DIGITS.match(text):
        return None
    number = int(text)
    return str(number) if 0 < number <= values.MAX_INT64 else None


def id_from_base36(text: str) -> str | None:
    """The series id a site URL writes in base 36, or None."""
    try:
        number = int(text, 36)
    except ValueError:
        return None
    return str(number) if 0 < number <= values.MAX_INT64 else None


def base36(series_id: int | str) -> str:
    number, digits = int(series_id), ""
    while True:
        number, digit = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if number == 0:
            return digits


def series_url(series_id: int | str) -> str:
    return f"{SITE}/series/{base36(series_id)}"


def normal_status(text: Any) -> str:
    """ongoing / completed / hiatus / cancelled / dropped from the free-text status ("12 Volumes (Ongoing)").

    The status may run over several lines ("652 Chapters (Ongoing)\n18 Volumes (Ongoing)\n\nS1: ...
    (Complete)"): the first line that says one is the main work's, before any season's or side story's.
    """
    for line in values.text(text).lower().splitlines():
        status = next((status for word, status in STATUS_WORDS if word in line), "")
        if status:
            return status
    return ""


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadResponse(f"expected a JSON object for {what}, got {type(payload).__name__}")
    return payload


def _year(value: Any) -> int | None:
    match = re.match(r"^\s*(\d{4})", values.text(value))
    return int(match.group(1)) if match else None


def parse_series(payload: Any, requested_id: str) -> TitleDetails:
    """TitleDetails from `GET /series/{id}`."""
    series = _object(payload, "a series")
    series_id = values.integer(series.get("series_id"))
    if series_id is None or str(series_id) != requested_id:
        raise BadResponse(f"asked for series {requested_id}, the answer is about {series.get('series_id')!r}")
    authors = values.listed(series.get("authors"))

    def people(kind):
        names = [values.unescape(a.get("name")) for a in authors if isinstance(a, dict) and a.get("type") == kind]
        return list(dict.fromkeys(n for n in names if n))

    image = values.fields(series.get("image"))
    image_urls = values.fields(image.get("url"))
    name = values.unescape(series.get("title"))
    associated = values.listed(series.get("associated"))
    genres = values.listed(series.get("genres"))
    status = values.text(series.get("status"))
    return TitleDetails(
        source_id=requested_id,
        name=name or f"Series {requested_id}",
        alt_names=[
            alt_name(alt)
            for alt in dict.fromkeys(
                values.unescape(a.get("title"))
                for a in associated
                if isinstance(a, dict) and values.unescape(a.get("title")) not in ("", name)
            )
        ],
        authors=people("Author"),
        artists=people("Artist"),
        genres=[values.unescape(g.get("genre")) for g in genres if isinstance(g, dict) and values.text(g.get("genre"))],
        upload_status=normal_status(status),
        original_status=values.unescape(status)[:200],
        year=_year(series.get("year")),
        description=values.html_to_text(series.get("description")),
        cover_url=values.public_link(image_urls.get("original")),
        score=values.decimal_or_none(series.get("bayesian_rating")),
        votes=values.count(series.get("rating_votes")),
    )


def parse_releases(payload: Any) -> tuple[list[ChapterRecord], int, int]:
    """(releases, total hits, releases a page) from `POST /releases/search`."""
    body = _object(payload, "a release search")
    results = body.get("results")
    if not isinstance(results, list):
        raise BadResponse("a release search has no results list")
    total = values.integer(body.get("total_hits"))
    per_page = values.integer(body.get("per_page"))
    return [_release(r) for r in results], total or 0, per_page or 0


def _release(result: Any) -> ChapterRecord:
    record = _object(result, "a release").get("record")
    record = _object(record, "a release's record")
    release_id = values.integer(record.get("id"))
    if release_id is None or release_id <= 0:
        raise BadResponse(f"a release has no usable id: {record.get('id')!r}")
    chapter = values.unescape(record.get("chapter"))
    volume = values.unescape(record.get("volume"))
    number_from, number = values.chapter_numbers(chapter)
    groups = values.listed(record.get("groups"))
    published_at, precision = _release_time(record)
    if chapter:
        name = f"Chapter {chapter}"
    else:
        name = f"Volume {volume}" if volume else "Release"
    return ChapterRecord(
        source_id=str(release_id),
        name=name[:255],
        number=number,
        number_from=number_from,
        volume=volume[:20],
        groups=tuple(
            values.unescape(g.get("name")) for g in groups if isinstance(g, dict) and values.text(g.get("name"))
        ),
        published_at=published_at,
        published_precision=precision,
        created_at=_utc(_time_added(record)),
    )


def _utc(when: datetime | None) -> datetime | None:
    return when.astimezone(UTC) if when else None


def _time_added(record: dict[str, Any]) -> datetime | None:
    """When the release was added, in the offset the answer gives it (`-07:00` has been seen)."""
    added = record.get("time_added")
    if not isinstance(added, dict):
        return None
    return values.iso_datetime(added.get("as_rfc3339"), in_utc=False) or values.epoch_ms(added.get("timestamp"))


def _release_time(record: dict[str, Any]) -> tuple[datetime | None, str]:
    """The release's time: `time_added` when it falls on the release day (a day in the time's own
    offset: 18:28 -07:00 is still that day there), else the day itself."""
    release_day = values.day(record.get("release_date"))
    added = _time_added(record)
    if added is not None and (release_day is None or added.date() == release_day):
        return added.astimezone(UTC), EXACT
    if release_day is None:
        return None, DAY
    return datetime(release_day.year, release_day.month, release_day.day, tzinfo=UTC), DAY


def parse_search(payload: Any) -> list[Candidate]:
    """Candidates from `POST /series/search`."""
    body = _object(payload, "a series search")
    results = body.get("results")
    if not isinstance(results, list):
        raise BadResponse("a series search has no results list")
    found = []
    for result in results:
        record = result.get("record") if isinstance(result, dict) else None
        if not isinstance(record, dict):
            continue
        series_id = values.integer(record.get("series_id"))
        if series_id is None or not 0 < series_id <= values.MAX_INT64:
            continue
        hit = values.unescape(result.get("hit_title"))
        name = values.unescape(record.get("title")) or str(series_id)
        latest = values.count(record.get("latest_chapter"))
        image = values.fields(values.fields(record.get("image")).get("url"))
        found.append(
            Candidate(
                source="mangaupdates",
                source_id=str(series_id),
                name=name,
                alt_names=(alt_name(hit),) if hit and hit != name else (),
                year=_year(record.get("year")),
                latest_chapter=f"Chapter {latest}" if latest else "",
                url=series_url(series_id),
                cover_url=values.public_link(image.get("original")),
            )
        )
    return found


# The source: what it accepts, how it asks (each request through the gate's `ask`), its links.


PER_PAGE = 100
CHECK_PER_PAGE = 25
# An import asks for at most this many pages of releases (the newest 400).
IMPORT_PAGES = 4
DETAILS_EVERY = timedelta(days=1)


class MangaUpdates(Source):
    name = "mangaupdates"
    display_name = "MangaUpdates"
    aliases = ("mangaupdates", "mu")
    searchable = True
    accepted = (
        "a MangaUpdates series URL (https://www.mangaupdates.com/series/ttaew4a/some-title) "
        "or its numeric id (64897697818)"
    )

    def hosts(self):
        return {"mangaupdates.com"}

    def parse_id(self, text):
        return parse_series_id(text)

    def id_from_url(self, parts, text):
        if parts.path.startswith("/series.html"):
            raise InvalidTitleReference(
                f"{text!r} is an old MangaUpdates link: its id belongs to the site's old numbering, which the "
                "API does not use and which has no published mapping to the new one. Open the page and paste "
                "the address it shows now: expected https://www.mangaupdates.com/series/<id>/<name>."
            )
        match = SERIES_PATH.match(parts.path)
        series_id = id_from_base36(match.group("id").lower()) if match else None
        if series_id is None:
            raise InvalidTitleReference(
                f"{text!r} is not a MangaUpdates series page: expected "
                "https://www.mangaupdates.com/series/ttaew4a/some-title."
            )
        return series_id

    def base_urls(self):
        return [settings.MANGAUPDATES_API_URL]

    def politeness(self):
        return Politeness(
            settings.MANGAUPDATES_MIN_DELAY,
            settings.MANGAUPDATES_MAX_DELAY,
            settings.MANGAUPDATES_MAX_REQUESTS_PER_HOUR,
        )

    def headers(self, base_url, request):
        return {"User-Agent": honest_user_agent(), "Accept": "application/json"}

    def fetch_title(self, ask, source_id, known):
        details = None
        if known.details_due(DETAILS_EVERY):
            details = ask(
                Request("GET", f"/series/{source_id}"),
                lambda answer: read(
                    answer,
                    lambda payload: parse_series(payload, source_id),
                    not_found=f"MangaUpdates has no series {source_id}",
                ),
            )
        releases, page = [], 1
        per_page = PER_PAGE if known.full else CHECK_PER_PAGE
        while True:
            found, total, answered_per_page = ask(
                Request(
                    "POST",
                    "/releases/search",
                    body={
                        "search": source_id,
                        "search_type": "series",
                        "orderby": "date",
                        "asc": "desc",
                        "page": page,
                        "perpage": per_page,
                    },
                ),
                lambda answer: read(answer, parse_releases),
            )
            if len(found) > per_page:
                raise BadResponse(f"MangaUpdates answered {len(found)} releases to a request for at most {per_page}")
            releases.extend(found)
            # The server may give fewer a page than asked: page by what it says.
            seen = page * (answered_per_page or per_page)
            if not found or seen >= total:
                break
            if known.full and page >= IMPORT_PAGES:
                break
            if not known.full and any(r.source_id in known.chapter_ids for r in found):
                break
            page += 1
        return TitleSnapshot(details=details, chapters=releases)

    def search(self, ask, query, limit, *, latest=True):
        return ask(
            Request(
                "POST",
                "/series/search",
                body={
                    "search": query[:200],
                    "stype": "title",
                    "page": 1,
                    "perpage": limit,
                    # Spelled as the API's schema spells the types; lowercase ones may be ignored.
                    "filter_types": ["Drama CD", "Novel"],
                },
            ),
            lambda answer: read(answer, parse_search),
        )[:limit]

    def title_url(self, source_id):
        return series_url(source_id)

    def cover_fetch_url(self, cover_url):
        # From MANGAUPDATES_COVERS_URL (a stand-in's, in tests); never from another host a series names.
        parts = urlsplit(cover_url)
        if parts.scheme != "https" or parts.hostname != COVER_HOST or not parts.path.startswith("/image/"):
            return ""
        return settings.MANGAUPDATES_COVERS_URL + parts.path

    def chapter_link(self, title_source_id, url_path, external_url):
        # MangaUpdates has no chapter pages: a release links to its series, which lists them.
        return Link(self.title_url(title_source_id))


def read(answer, parse, *, not_found=None):
    """`parse` of a MangaUpdates answer, or the SourceError it is."""
    return read_json(
        answer,
        "MangaUpdates",
        parse,
        not_found=not_found,
        reason=lambda payload: payload.get("reason") if isinstance(payload, dict) else "",
    )


SOURCE = MangaUpdates()
