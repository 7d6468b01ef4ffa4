"""MangaUpdates (API v1): release records across every group and publisher.

A check is one request: the newest page of the series' releases (it pages on
only while a whole page is new). Details are refreshed at most once a day. An
import stores the newest releases, a few pages of them: older ones cannot be
new, and they are plenty to learn the series' rhythm. Release dates are days,
so the schedule knows a release only to the day.
"""

from datetime import timedelta

from django.conf import settings

from scraping.sources.base import Link, Politeness, Request, Source, TitleSnapshot
from scraping.sources.errors import InvalidTitleReference
from scraping.sources.http import honest_user_agent, read_json
from scraping.sources.mangaupdates.parsing import (
    SERIES_PATH,
    id_from_base36,
    parse_releases,
    parse_search,
    parse_series,
    parse_series_id,
    series_url,
)

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
    accepted = ("a MangaUpdates series URL (https://www.mangaupdates.com/series/ttaew4a/some-title) "
                "or its numeric id (64897697818)")

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
        return Politeness(settings.MANGAUPDATES_MIN_DELAY, settings.MANGAUPDATES_MAX_DELAY,
                          settings.MANGAUPDATES_MAX_REQUESTS_PER_HOUR)

    def headers(self, base_url, request):
        return {"User-Agent": honest_user_agent(), "Accept": "application/json"}

    def fetch_title(self, ask, source_id, known):
        details = None
        if known.details_due(DETAILS_EVERY):
            details = ask(Request("GET", f"/series/{source_id}"), lambda answer: read(
                answer, lambda payload: parse_series(payload, source_id),
                not_found=f"MangaUpdates has no series {source_id}"))
        releases, page = [], 1
        per_page = PER_PAGE if known.full else CHECK_PER_PAGE
        while True:
            found, total, answered_per_page = ask(
                Request("POST", "/releases/search", body={
                    "search": source_id, "search_type": "series", "orderby": "date", "asc": "desc",
                    "page": page, "perpage": per_page,
                }),
                lambda answer: read(answer, parse_releases),
            )
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

    def search(self, ask, query, limit):
        return ask(
            Request("POST", "/series/search", body={
                "search": query[:200], "stype": "title", "page": 1, "perpage": limit,
                "filter_types": ["drama cd", "novel"],
            }),
            lambda answer: read(answer, parse_search),
        )[:limit]

    def title_url(self, source_id):
        return series_url(source_id)

    def chapter_link(self, title_source_id, url_path, external_url):
        # MangaUpdates has no chapter pages: a release links to its series, which lists them.
        return Link(self.title_url(title_source_id))


def read(answer, parse, *, not_found=None):
    """`parse` of a MangaUpdates answer, or the SourceError it is."""
    return read_json(answer, "MangaUpdates", parse, not_found=not_found,
                     reason=lambda payload: payload.get("reason") if isinstance(payload, dict) else "")


SOURCE = MangaUpdates()
