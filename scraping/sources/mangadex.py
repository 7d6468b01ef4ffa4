"""MangaDex (API v5): chapters per language and scanlation group.

A check asks for the newest page of the title's feed in its languages, and
pages further only while a whole page is new: an unchanged title costs one
request, two on the day its details are refreshed. An import pages through
the whole feed, 500 chapters a request, narrowing by creation time past the
API's 10,000-result window. Requests carry batoshelf's own User-Agent:
MangaDex turns away browser-like agents with a plain-text 400.

The parsers come first, pure functions (no Django, no I/O) from MangaDex's answers to the shared
records.

Answers come in envelopes: `{"result": "ok", "response": "entity" | "collection",
"data": ...}`, or `{"result": "error", "errors": [{status, title, detail}]}`.
Times are RFC 3339 in UTC. A chapter's number is free text (null for oneshots).
"""

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings

import scraping.sources.values as values
from scraping.sources.base import (
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
from scraping.sources.errors import BadResponse, InvalidTitleReference, Misconfigured, TitleRefused
from scraping.sources.http import honest_user_agent, read_json
from scraping.sources.values import link_on

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# /title/<uuid>, /title/<uuid>/<slug>, and the older /manga/<uuid>
TITLE_PATH = re.compile(r"^/(?:title|manga)/(?P<id>[0-9a-fA-F-]{36})(?:/[^/]*)?/?$")

SITE = "https://mangadex.org"
LIST_URL = re.compile(r"^https?://(?:www\.)?mangadex\.org/list/(?P<id>[0-9a-fA-F-]{36})(?:/[^/?#]*)?/?(?:[?#].*)?$")
COVERS = "https://uploads.mangadex.org/covers"
STATUSES = {"ongoing", "completed", "hiatus", "cancelled"}
# Titles in a name map, most readable first.
NAME_LANGUAGES = ("en", "ja-ro", "ko-ro", "zh-ro")
# Every content rating MangaDex gives a title (MANGADEX_CONTENT_RATINGS chooses those followed).
CONTENT_RATINGS = ("safe", "suggestive", "erotica", "pornographic")


def parse_uuid(text: Any) -> str | None:
    """The lowercase UUID in `text`, or None."""
    lowered = values.text(text).lower()
    return lowered if UUID.match(lowered) else None


def error_detail(payload: Any) -> str:
    """The errors of an error envelope, as one line ("" when it is none)."""
    if not isinstance(payload, dict) or payload.get("result") != "error":
        return ""
    errors = payload.get("errors")
    if not isinstance(errors, list):
        return "an error without details"
    return "; ".join(
        f"{values.text(e.get('title'))}: {values.text(e.get('detail'))}" if isinstance(e, dict) else values.text(e)
        for e in errors
    )[:500]


def _envelope(payload: Any, response: str) -> Any:
    if not isinstance(payload, dict):
        raise BadResponse(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("result") != "ok":
        raise BadResponse(f"MangaDex answered an error: {error_detail(payload) or payload.get('result')!r}")
    if payload.get("response") != response:
        raise BadResponse(f"expected a MangaDex {response}, got {payload.get('response')!r}")
    return payload.get("data")


def _name(names: Any) -> str:
    """The most readable name in a {language: name} map."""
    if not isinstance(names, dict):
        return ""
    for language in NAME_LANGUAGES:
        if values.text(names.get(language)):
            return values.text(names[language])
    return next((values.text(v) for v in names.values() if values.text(v)), "")


def _related(relationships: list[Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in relationships if isinstance(r, dict) and r.get("type") == kind]


def _attributes(obj: Any, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BadResponse(f"a {what} is a {type(obj).__name__}, not an object")
    attributes = obj.get("attributes")
    if not isinstance(attributes, dict):
        raise BadResponse(f"a {what} has no attributes")
    return attributes


def parse_title(payload: Any, requested_id: str) -> TitleDetails:
    """TitleDetails from `GET /manga/{id}` (MangaDex's word for a title), authors, artists and cover expanded."""
    entity = _envelope(payload, "entity")
    attributes = _attributes(entity, "manga")
    title_id = parse_uuid(entity.get("id"))
    if title_id != requested_id:
        raise BadResponse(f"asked for title {requested_id}, the answer is about {entity.get('id')!r}")
    relationships = values.listed(entity.get("relationships"))
    title_map = values.fields(attributes.get("title"))
    name = _name(title_map)
    status = values.text(attributes.get("status"))
    tags = _tags(attributes.get("tags"))
    rating = values.text(attributes.get("contentRating"))
    return TitleDetails(
        source_id=title_id,
        name=name or f"Title {title_id}",
        alt_names=_alt_names(name, title_map, attributes.get("altTitles")),
        authors=_people(relationships, "author"),
        artists=_people(relationships, "artist"),
        genres=tags.pop("genre", []),
        tags=tags,
        content_rating=rating if rating in CONTENT_RATINGS else "",
        upload_status=status if status in STATUSES else "",
        original_status=status,
        year=_year(attributes.get("year")),
        # Markdown, kept as MangaDex wrote it; pages render it safely.
        description=_name(attributes.get("description")),
        description_format="markdown",
        cover_url=_cover(title_id, relationships),
        orig_lang=values.text(attributes.get("originalLanguage")),
        links=_links(attributes.get("links")),
        available_languages=[
            code
            for code in values.listed(attributes.get("availableTranslatedLanguages"))
            if isinstance(code, str) and values.CHAPTER_LANGUAGE.match(code)
        ],
    )


def _alt_names(name: str, title_map: dict[str, Any], alt_titles: Any) -> list[dict[str, str]]:
    """Every other name with its language: the title map's others, then altTitles (one-key maps)."""
    pairs = [(language, values.text(v)) for language, v in title_map.items()]
    pairs += [
        (language, values.text(v)) for alt in values.listed(alt_titles) for language, v in values.fields(alt).items()
    ]
    seen, names = {name}, []
    for language, alt in pairs:
        if alt and alt not in seen:
            seen.add(alt)
            names.append(alt_name(alt, language if isinstance(language, str) else ""))
    return names


def _links(links: Any) -> dict[str, str]:
    """The title's ids elsewhere (`links` may be null): site code → id or URL, both text."""
    return {
        site: values.text(value)[:300]
        for site, value in values.fields(links).items()
        if isinstance(site, str) and len(site) <= 10 and values.text(value)
    }


def _people(relationships: list[Any], kind: str) -> list[str]:
    names = [
        values.text((r.get("attributes") or {}).get("name"))
        for r in _related(relationships, kind)
        if isinstance(r.get("attributes"), dict)
    ]
    return list(dict.fromkeys(n for n in names if n))


TAG_GROUPS = ("genre", "theme", "format", "content")


def _tags(tags: Any) -> dict[str, list[str]]:
    """Tag names by their group (genre, theme, format, content); a tag of no known group is a genre."""
    grouped: dict[str, list[str]] = {}
    for tag in values.listed(tags):
        attributes = values.fields(tag.get("attributes") if isinstance(tag, dict) else None)
        tag_name = _name(attributes.get("name"))
        group = values.text(attributes.get("group"))
        if tag_name:
            grouped.setdefault(group if group in TAG_GROUPS else "genre", []).append(tag_name)
    return grouped


def _year(value: Any) -> int | None:
    year = values.integer(value)
    return year if year is not None and 1800 < year < 3000 else None


def _cover(title_id: str, relationships: list[Any]) -> str:
    for art in _related(relationships, "cover_art"):
        file_name = (
            values.text((art.get("attributes") or {}).get("fileName"))
            if isinstance(art.get("attributes"), dict)
            else ""
        )
        if re.fullmatch(r"[\w.-]{1,200}", file_name):
            return f"{COVERS}/{title_id}/{file_name}.512.jpg"
    return ""


def parse_feed(payload: Any) -> tuple[list[ChapterRecord], int]:
    """(chapters, total) from a page of `GET /manga/{id}/feed` or `GET /chapter`."""
    data = _envelope(payload, "collection")
    if not isinstance(data, list):
        raise BadResponse(f"a MangaDex collection's data is a {type(data).__name__}, not a list")
    total = values.integer(payload.get("total"))
    if total is None or total < 0:
        raise BadResponse("a MangaDex collection has no total")
    return [_chapter(c) for c in data], total


def _chapter(raw: Any) -> ChapterRecord:
    attributes = _attributes(raw, "chapter")
    chapter_id = parse_uuid(raw.get("id"))
    if chapter_id is None:
        raise BadResponse(f"a chapter has no usable id: {raw.get('id')!r}")
    number_text = values.text(attributes.get("chapter"))
    number_from, number = values.chapter_numbers(number_text)
    subtitle = values.text(attributes.get("title"))
    external = values.public_link(attributes.get("externalUrl"))
    published = values.iso_datetime(attributes.get("readableAt")) or values.iso_datetime(attributes.get("publishAt"))
    groups = [
        values.text((g.get("attributes") or {}).get("name"))
        for g in _related(values.listed(raw.get("relationships")), "scanlation_group")
        if isinstance(g.get("attributes"), dict)
    ]
    return ChapterRecord(
        source_id=chapter_id,
        name=f"Chapter {number_text}" if number_text else (subtitle or "Oneshot"),
        subtitle=subtitle,
        number=number,
        number_from=number_from,
        volume=values.text(attributes.get("volume")),
        language=values.text(attributes.get("translatedLanguage")),
        groups=tuple(g for g in groups if g),
        published_at=published,
        created_at=values.iso_datetime(attributes.get("createdAt")),
        url_path="" if external else f"/chapter/{chapter_id}",
        external_url=external,
        # Taken down (DMCA): listed, but its pages are gone.
        available=attributes.get("isUnavailable") is not True,
    )


def list_id(text: str) -> str | None:
    """The list's UUID in a MangaDex list's address (https://mangadex.org/list/<uuid>/<name>), or None."""
    match = LIST_URL.match((text or "").strip())
    return parse_uuid(match.group("id")) if match else None


def parse_list(payload: Any) -> tuple[str, list[str]]:
    """(the list's name, its titles' ids) from `GET /list/{id}`: a custom_list whose titles are its
    relationships of type manga."""
    data = _envelope(payload, "entity")
    if not isinstance(data, dict) or data.get("type") != "custom_list":
        raise BadResponse("a MangaDex list's data is not a custom_list")
    attributes = values.fields(data.get("attributes"))
    ids = [
        title_id
        for relation in values.listed(data.get("relationships"))
        if isinstance(relation, dict) and relation.get("type") == "manga"
        if (title_id := parse_uuid(relation.get("id")))
    ]
    return values.text(attributes.get("name")), list(dict.fromkeys(ids))


def parse_search(payload: Any) -> list[tuple[Candidate, str]]:
    """[(Candidate without its latest chapter, id of its latest uploaded chapter or "")] from `GET /manga`."""
    data = _envelope(payload, "collection")
    if not isinstance(data, list):
        raise BadResponse("a MangaDex search's data is not a list")
    found = []
    for entity in data:
        attributes = _attributes(entity, "manga")
        title_id = parse_uuid(entity.get("id"))
        if title_id is None:
            continue
        title_map = values.fields(attributes.get("title"))
        name = _name(title_map) or title_id
        found.append(
            (
                Candidate(
                    source="mangadex",
                    source_id=title_id,
                    name=name,
                    alt_names=tuple(_alt_names(name, title_map, attributes.get("altTitles"))[:8]),
                    year=_year(attributes.get("year")),
                    url=f"{SITE}/title/{title_id}",
                    cover_url=_cover(title_id, values.listed(entity.get("relationships"))),
                    links=tuple(_links(attributes.get("links")).items()),
                ),
                parse_uuid(attributes.get("latestUploadedChapter")) or "",
            )
        )
    return found


# The source: what it accepts, how it asks (each request through the gate's `ask`), its links.


# Chapters a request: an import takes the most the API gives; a check's first
# page is small, since it is usually all known.
FULL_PAGE = 500
CHECK_PAGE = 100
# The API serves no result past offset + limit = 10,000.
WINDOW = 10_000
# An import of a title past any real size stops here (40 × 500 chapters).
MAX_FULL_REQUESTS = 40
DETAILS_EVERY = timedelta(days=1)
# The titles of a list read at most (an import takes 5,000 at most).
MAX_LIST_TITLES = 5000


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
        title_id = parse_uuid(match.group("id")) if match else None
        if title_id is None:
            hint = " (that is a chapter; paste its title's page)" if parts.path.startswith("/chapter/") else ""
            raise InvalidTitleReference(
                f"{text!r} is not a MangaDex title page{hint}: expected https://mangadex.org/title/<uuid>."
            )
        return title_id

    def base_urls(self):
        return [settings.MANGADEX_API_URL]

    def politeness(self):
        return Politeness(
            settings.MANGADEX_MIN_DELAY, settings.MANGADEX_MAX_DELAY, settings.MANGADEX_MAX_REQUESTS_PER_HOUR
        )

    def headers(self, base_url, request):
        # Never a Via header: MangaDex refuses requests through non-transparent proxies.
        return {"User-Agent": honest_user_agent(), "Accept": "application/json"}

    def languages(self, chosen):
        return tuple(chosen) if chosen else tuple(settings.MANGADEX_LANGUAGES)

    def fetch_title(self, ask, source_id, known):
        details = None
        if known.details_due(DETAILS_EVERY):
            details = ask(
                Request(
                    "GET",
                    f"/manga/{source_id}",
                    (("includes[]", "author"), ("includes[]", "artist"), ("includes[]", "cover_art")),
                ),
                lambda answer: read(
                    answer,
                    lambda payload: parse_title(payload, source_id),
                    not_found=f"MangaDex has no title {source_id}",
                ),
            )
            rating = details.content_rating
            if known.full and rating and rating not in settings.MANGADEX_CONTENT_RATINGS:
                raise TitleRefused(f"This batoshelf does not follow MangaDex titles rated {rating}.")
        fetch = self._whole_feed if known.full else self._new_in_feed
        return TitleSnapshot(details=details, chapters=fetch(ask, source_id, known))

    def _feed(self, ask, source_id, languages, params):
        page, total = ask(
            Request(
                "GET",
                f"/manga/{source_id}/feed",
                feed_filters(languages, settings.MANGADEX_CONTENT_RATINGS) + params,
            ),
            lambda answer: read(answer, parse_feed, not_found=f"MangaDex has no title {source_id}"),
        )
        asked = int(dict(params)["limit"])
        if len(page) > asked:
            raise BadResponse(f"MangaDex answered {len(page)} chapters to a request for at most {asked}")
        return page, total

    def _new_in_feed(self, ask, source_id, known):
        """The newest chapters, a page at a time, until a page holds one already stored."""
        chapters, offset = [], 0
        while offset + CHECK_PAGE <= WINDOW:
            page, total = self._feed(
                ask,
                source_id,
                known.languages,
                (("order[readableAt]", "desc"), ("limit", str(CHECK_PAGE)), ("offset", str(offset))),
            )
            chapters.extend(page)
            offset += CHECK_PAGE
            if not page or offset >= total or any(c.source_id in known.chapter_ids for c in page):
                break
        return chapters

    def _whole_feed(self, ask, source_id, known):
        """Every chapter, oldest first; past the 10,000-result window, again from the last creation time."""
        chapters: dict[str, ChapterRecord] = {}
        offset, since = 0, None
        for _ in range(MAX_FULL_REQUESTS):
            params: tuple[tuple[str, str], ...] = (
                ("order[createdAt]", "asc"),
                ("limit", str(FULL_PAGE)),
                ("offset", str(offset)),
            )
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

    def search(self, ask, query, limit, *, latest=True):
        found = ask(
            Request(
                "GET",
                "/manga",
                (
                    ("title", query[:200]),
                    ("limit", str(limit)),
                    ("order[relevance]", "desc"),
                    ("includes[]", "cover_art"),
                    *rating_filters(settings.MANGADEX_CONTENT_RATINGS),
                ),
            ),
            lambda answer: read(answer, parse_search),
        )
        latest_ids = [chapter_id for _, chapter_id in found if chapter_id] if latest else []
        names = {}
        if latest_ids:
            chapters, _ = ask(
                Request(
                    "GET",
                    "/chapter",
                    tuple(("ids[]", i) for i in latest_ids)
                    + (("limit", str(len(latest_ids))), *rating_filters(settings.MANGADEX_CONTENT_RATINGS)),
                ),
                lambda answer: read(answer, parse_feed),
            )
            names = {c.source_id: f"{c.name} ({c.language})" if c.language else c.name for c in chapters}
        return [replace(candidate, latest_chapter=names.get(chapter_id, "")) for candidate, chapter_id in found]

    def list_titles(self, ask, uuid):
        """(name, [Candidate]) of a public MangaDex list: one request for the list, one per 100 of its titles
        (a title of a content rating this instance does not follow is left out)."""
        name, ids = ask(
            Request("GET", f"/list/{uuid}"),
            lambda answer: read(answer, parse_list, not_found="MangaDex has no public list with that address"),
        )
        titles: list[Candidate] = []
        for start in range(0, min(len(ids), MAX_LIST_TITLES), 100):
            chunk = ids[start : start + 100]
            found = ask(
                Request(
                    "GET",
                    "/manga",
                    (
                        *(("ids[]", i) for i in chunk),
                        ("limit", str(len(chunk))),
                        ("includes[]", "cover_art"),
                        *rating_filters(settings.MANGADEX_CONTENT_RATINGS),
                    ),
                ),
                lambda answer: read(answer, parse_search),
            )
            titles.extend(candidate for candidate, _ in found)
        return name, titles

    def title_url(self, source_id):
        return f"{SITE}/title/{source_id}"

    def cover_fetch_url(self, cover_url):
        # The 256 px thumbnail, from MANGADEX_COVERS_URL (a stand-in's, in tests).
        if not cover_url.startswith(f"{COVERS}/") or not cover_url.endswith(".512.jpg"):
            return ""
        return settings.MANGADEX_COVERS_URL + cover_url[len(COVERS) : -len(".512.jpg")] + ".256.jpg"

    def chapter_link(self, title_source_id, url_path, external_url):
        if external_url:
            return Link(external_url, external=True)
        return Link(link_on(SITE, url_path) or self.title_url(title_source_id))


def rating_filters(ratings: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The content ratings to ask for, every one named: the API's default leaves pornographic titles out."""
    return tuple(("contentRating[]", rating) for rating in ratings)


def feed_filters(languages: Iterable[str], ratings: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """What every feed request asks for: the title's languages, the ratings followed, the groups' names,
    nothing scheduled for later, nothing taken down.

    MangaDex documents its `include*` chapter filters as tri-state (left out: no filter; 1: only
    the chapters where it holds; 0: only those where it does not). Whether `includeUnavailable`
    follows that rule or is a plain "list them too" switch is unconfirmed: `1` would then ask for
    the taken-down chapters alone. `0` means the same under both readings: the readable chapters.
    A chapter that still comes marked `isUnavailable` is stored and announced to no one.
    """
    return (
        *(("translatedLanguage[]", language) for language in languages),
        *rating_filters(ratings),
        ("includes[]", "scanlation_group"),
        ("includeFuturePublishAt", "0"),
        ("includeUnavailable", "0"),
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
