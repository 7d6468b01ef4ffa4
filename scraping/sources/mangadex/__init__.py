"""MangaDex (API v5): chapters per language and scanlation group.

A check asks for the newest page of the title's feed in its languages, and
pages further only while a whole page is new: an unchanged title costs one
request, two on the day its details are refreshed. An import pages through
the whole feed, 500 chapters a request, narrowing by creation time past the
API's 10,000-result window. Requests carry batoshelf's own User-Agent:
MangaDex turns away browser-like agents with a plain-text 400.
"""

from dataclasses import replace
from datetime import timedelta

from django.conf import settings

from scraping.sources.base import Link, Politeness, Request, Source, TitleSnapshot
from scraping.sources.errors import BadResponse, InvalidTitleReference, Misconfigured
from scraping.sources.http import honest_user_agent, read_json
from scraping.sources.mangadex.parsing import (
    CONTENT_RATINGS,
    SITE,
    TITLE_PATH,
    error_detail,
    parse_feed,
    parse_manga,
    parse_search,
    parse_uuid,
)
from scraping.sources.values import link_on

# Chapters a request: an import takes the most the API gives; a check's first
# page is small, since it is usually all known.
FULL_PAGE = 500
CHECK_PAGE = 100
# The API serves no result past offset + limit = 10,000.
WINDOW = 10_000
# An import of a title past any real size stops here (40 × 500 chapters).
MAX_FULL_REQUESTS = 40
DETAILS_EVERY = timedelta(days=1)


class WindowTooLarge(BadResponse):
    """The feed refused a page past its 10,000-result window."""


class MangaDex(Source):
    name = "mangadex"
    display_name = "MangaDex"
    aliases = ("mangadex", "md")
    searchable = True
    accepted = "a MangaDex title URL (https://mangadex.org/title/<uuid>) or its UUID"

    def hosts(self):
        return {"mangadex.org", "canary.mangadex.dev"}

    def parse_id(self, text):
        return parse_uuid(text)

    def id_from_url(self, parts, text):
        match = TITLE_PATH.match(parts.path)
        manga_id = parse_uuid(match.group("id")) if match else None
        if manga_id is None:
            hint = " (that is a chapter; paste its title's page)" if parts.path.startswith("/chapter/") else ""
            raise InvalidTitleReference(
                f"{text!r} is not a MangaDex title page{hint}: expected https://mangadex.org/title/<uuid>."
            )
        return manga_id

    def base_urls(self):
        return [settings.MANGADEX_API_URL]

    def politeness(self):
        return Politeness(settings.MANGADEX_MIN_DELAY, settings.MANGADEX_MAX_DELAY,
                          settings.MANGADEX_MAX_REQUESTS_PER_HOUR)

    def headers(self, base_url, request):
        # Never a Via header: MangaDex refuses requests through non-transparent proxies.
        return {"User-Agent": honest_user_agent(), "Accept": "application/json"}

    def languages(self, chosen):
        return tuple(chosen) if chosen else tuple(settings.MANGADEX_LANGUAGES)

    def fetch_title(self, ask, source_id, known):
        details = None
        if known.details_due(DETAILS_EVERY):
            details = ask(
                Request("GET", f"/manga/{source_id}", (("includes[]", "author"), ("includes[]", "artist"),
                                                       ("includes[]", "cover_art"))),
                lambda answer: read(answer, lambda payload: parse_manga(payload, source_id),
                                    not_found=f"MangaDex has no title {source_id}"),
            )
        fetch = self._whole_feed if known.full else self._new_in_feed
        return TitleSnapshot(details=details, chapters=fetch(ask, source_id, known))

    def _feed(self, ask, source_id, languages, params):
        return ask(
            Request("GET", f"/manga/{source_id}/feed", feed_filters(languages) + params),
            lambda answer: read(answer, parse_feed, not_found=f"MangaDex has no title {source_id}"),
        )

    def _new_in_feed(self, ask, source_id, known):
        """The newest chapters, a page at a time, until a page holds one already stored."""
        chapters, offset = [], 0
        while offset + CHECK_PAGE <= WINDOW:
            page, total = self._feed(ask, source_id, known.languages, (
                ("order[readableAt]", "desc"), ("limit", str(CHECK_PAGE)), ("offset", str(offset))))
            chapters.extend(page)
            offset += CHECK_PAGE
            if not page or offset >= total or any(c.source_id in known.chapter_ids for c in page):
                break
        return chapters

    def _whole_feed(self, ask, source_id, known):
        """Every chapter, oldest first; past the 10,000-result window, again from the last creation time."""
        chapters, offset, since = {}, 0, None
        for _ in range(MAX_FULL_REQUESTS):
            params = (("order[createdAt]", "asc"), ("limit", str(FULL_PAGE)), ("offset", str(offset)))
            if since:
                params += (("createdAtSince", since),)
            try:
                page, total = self._feed(ask, source_id, known.languages, params)
            except WindowTooLarge:
                page, total = [], offset + FULL_PAGE + 1  # the server's window is smaller than we thought
            chapters.update((c.source_id, c) for c in page)
            offset += FULL_PAGE
            if offset >= total and page:
                break
            if offset + FULL_PAGE > WINDOW or not page:
                newest = max((c.created_at for c in chapters.values() if c.created_at), default=None)
                next_since = newest.strftime("%Y-%m-%dT%H:%M:%S") if newest else None
                if next_since is None or next_since == since:
                    break  # nothing newer to narrow to
                since, offset = next_since, 0
        return list(chapters.values())

    def search(self, ask, query, limit):
        found = ask(
            Request("GET", "/manga", (("title", query[:200]), ("limit", str(limit)), ("order[relevance]", "desc"),
                                      ("includes[]", "cover_art"), *rating_filters())),
            lambda answer: read(answer, parse_search),
        )
        latest = [chapter_id for _, chapter_id in found if chapter_id]
        names = {}
        if latest:
            chapters, _ = ask(
                Request("GET", "/chapter", tuple(("ids[]", i) for i in latest) + (
                    ("limit", str(len(latest))), *rating_filters())),
                lambda answer: read(answer, parse_feed),
            )
            names = {c.source_id: f"{c.dname} ({c.language})" if c.language else c.dname for c in chapters}
        return [replace(candidate, latest_chapter=names.get(chapter_id, "")) for candidate, chapter_id in found]

    def title_url(self, source_id):
        return f"{SITE}/title/{source_id}"

    def chapter_link(self, title_source_id, url_path, external_url):
        if external_url:
            return Link(external_url, external=True)
        return Link(link_on(SITE, url_path) or self.title_url(title_source_id))


def rating_filters():
    return tuple(("contentRating[]", rating) for rating in CONTENT_RATINGS)


def feed_filters(languages):
    """What every feed request asks for: the title's languages, every rating, the groups' names,
    chapters taken down listed (marked, not announced), nothing scheduled for later."""
    return (
        *(("translatedLanguage[]", language) for language in languages), *rating_filters(),
        ("includes[]", "scanlation_group"), ("includeFuturePublishAt", "0"), ("includeUnavailable", "1"),
    )


def read(answer, parse, *, not_found=None):
    """`parse` of a MangaDex answer, or the SourceError it is."""
    if answer.status == 400 and not answer.text.lstrip().startswith("{"):
        raise Misconfigured(
            f"MangaDex refused the request with a plain-text HTTP 400 ({answer.text[:80]!r}): it turns away "
            f"User-Agents that look like a browser. batoshelf sends {honest_user_agent()!r}; make sure no proxy "
            "replaces it, and set BATOSHELF_CONTACT_URL to a page where MangaDex can reach you.",
            status=400,
        )
    if answer.status == 400 and "result window is too large" in answer.text.lower():
        raise WindowTooLarge("MangaDex refused a page past its 10,000-result window", status=400)
    return read_json(answer, "MangaDex", parse, not_found=not_found, reason=error_detail)


SOURCE = MangaDex()
