"""Tapas: a series' episodes from its RSS feed, `https://tapas.io/rss/series/<seriesId>`.

A series' page is `https://tapas.io/series/<slug>`; its feed needs the numeric series id, which
is in the page (read from its `tapastic://series/<id>` app link or its `seriesId`; unconfirmed
which the live page carries). A title added by its feed's address or `tapas:<id>` costs one
request a check; one added by its page's slug costs two (the page, then the feed). The feed
lists the latest episodes: one no longer listed is not gone.

The parsers come first, pure functions (no Django, no I/O).
"""

import re
from urllib.parse import urlsplit

from django.conf import settings

from scraping.sources.base import Link, Politeness, Request, Source, TitleDetails, TitleSnapshot
from scraping.sources.errors import BadResponse, InvalidTitleReference, TitleNotFound
from scraping.sources.feeds import chapter_of, parse_feed
from scraping.sources.http import honest_user_agent, raise_source_faults
from scraping.sources.values import link_on

SITE = "https://tapas.io"
SERIES_PATH = re.compile(r"^/series/(?P<slug>[A-Za-z0-9_-]{1,60})(?:/(?:info|episodes))?/?$")
# Ids are ASCII digits ("١٢٣" is a digit to \d), and never the first 12 digits of a longer number.
FEED_PATH = re.compile(r"^/rss/series/(?P<id>[0-9]{1,12})/?$")
EPISODE_PATH = re.compile(r"^/episode/(?P<id>[0-9]{1,12})/?$")
SLUG = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
SERIES_ID_IN_PAGE = (
    re.compile(r"tapastic://series/([0-9]{1,12})(?![0-9])"),
    re.compile(r'"seriesId"\s*:\s*"?([0-9]{1,12})(?![0-9])'),
    re.compile(r'data-series-id="([0-9]{1,12})"'),
)


def series_id_in_page(html: str) -> str | None:
    for pattern in SERIES_ID_IN_PAGE:
        match = pattern.search(html)
        if match:
            return match.group(1)
    return None


def parse_series(content, source_id):
    """The details and the listed episodes of a series' RSS feed."""
    feed = parse_feed(content, "Tapas")
    chapters = []
    for entry in feed.entries:
        path = urlsplit(entry.link).path
        episode = EPISODE_PATH.match(path)
        if episode:
            chapters.append(chapter_of(entry, episode.group("id"), url_path=path))
    details = TitleDetails(
        source_id=source_id, name=feed.name or source_id, description=feed.description, cover_url=feed.image
    )
    return TitleSnapshot(details=details, chapters=chapters)


class Tapas(Source):
    name = "tapas"
    display_name = "Tapas"
    aliases = ("tapas",)
    accepted = (
        "a Tapas series page (https://tapas.io/series/some-story), its feed "
        "(https://tapas.io/rss/series/12345) or tapas:<series id>"
    )

    def hosts(self):
        return {"tapas.io", "m.tapas.io"}

    def parse_id(self, text):
        return text if SLUG.match(text) else None

    def id_from_url(self, parts, text):
        for pattern, group in ((FEED_PATH, "id"), (SERIES_PATH, "slug")):
            match = pattern.match(parts.path)
            if match:
                return match.group(group)
        raise InvalidTitleReference(f"{text!r} is not a Tapas series page or feed: expected {self.accepted}.")

    def base_urls(self):
        return [settings.TAPAS_URL]

    def politeness(self):
        return Politeness(settings.TAPAS_MIN_DELAY, settings.TAPAS_MAX_DELAY, settings.TAPAS_MAX_REQUESTS_PER_HOUR)

    def headers(self, base_url, request):
        return {"User-Agent": honest_user_agent(), "Accept": "application/rss+xml, application/xml, text/html"}

    def fetch_title(self, ask, source_id, known):
        number = (
            source_id
            if source_id.isascii() and source_id.isdecimal()
            else ask(Request("GET", f"/series/{source_id}"), read_page)
        )
        return ask(Request("GET", f"/rss/series/{number}"), lambda answer: read_series(answer, source_id))

    def search(self, ask, query, limit, *, latest=True):
        return []

    def title_url(self, source_id):
        return f"{SITE}/rss/series/{source_id}" if source_id.isdecimal() else f"{SITE}/series/{source_id}"

    def chapter_link(self, title_source_id, url_path, external_url):
        return Link(link_on(SITE, url_path) or self.title_url(title_source_id))


def _status(answer, what):
    if answer.status in (404, 410):  # its own HTML "not found" page
        raise TitleNotFound(f"Tapas has no {what}", status=answer.status)
    raise_source_faults(answer, "Tapas")
    if answer.status != 200:
        raise BadResponse(f"Tapas answered HTTP {answer.status} for {what}", status=answer.status)


def read_page(answer):
    """The numeric series id in a series' page (an HTML page: only its status says it is a fault)."""
    if answer.status != 200:
        _status(answer, "such series page")
    found = series_id_in_page(answer.text)
    if found is None:
        raise BadResponse("Tapas's series page does not say its series id")
    return found


def read_series(answer, source_id):
    _status(answer, f"series {source_id}")
    return parse_series(answer.content, source_id)


SOURCE = Tapas()
