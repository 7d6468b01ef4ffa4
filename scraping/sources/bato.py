"""Bato: one GraphQL POST gives a title's details and its whole chapter list.

Bato and all its mirrors stopped answering on 2026-01-18. It stays a source
for the shelves that had it and for the day it returns; its titles can move to
a live source ("find on another source"). It has no documented search.

The parsers come first, pure functions (no Django, no I/O) from Bato's GraphQL answer to the shared
records.

Be liberal where Bato's documentation is silent: missing and null fields
become None or empty values; only a missing title id, or a shape that is not
the one documented, makes the answer unusable. Dates come as epoch
milliseconds or, from some mirrors, as ISO strings; both are read.
"""

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

import scraping.sources.values as values
from scraping.sources.base import (
    ChapterRecord,
    Link,
    Politeness,
    Request,
    Source,
    TitleDetails,
    TitleSnapshot,
    alt_name,
)
from scraping.sources.errors import BadResponse, InvalidTitleReference, TitleNotFound
from scraping.sources.http import read_json
from scraping.sources.values import link_on

DETAILS_FIELD = "get_content_comicNode"
CHAPTERS_FIELD = "get_content_chapterList"

_DETAIL_FIELDS = (
    "id name altNames authors artists genres origLang originalStatus originalPubFrom "
    "originalPubTill uploadStatus readDirection summary { text } stat_score_val stat_count_votes "
    "stat_count_follows stat_count_reviews stat_count_post_reply stat_count_scores { field count } "
    "stat_count_views { field count } stat_count_emotions { field count }"
)
_CHAPTER_FIELDS = (
    "id dname title urlPath dateCreate datePublic isHidden isDeleted stat_count_views_guest "
    "stat_count_views_login stat_count_post_reply"
)
# One document, two root fields: a check is a single POST.
TITLE_QUERY = (
    "query batoshelfTitle($id: ID!) {\n"
    f"  {DETAILS_FIELD}(id: $id) {{ id data {{ {_DETAIL_FIELDS} }} }}\n"
    f"  {CHAPTERS_FIELD}(comicId: $id) {{ id data {{ {_CHAPTER_FIELDS} }} }}\n"
    "}"
)

# Where requests go, most preferred first (BATO_SITE_URLS replaces the list).
SITE_URLS = ("https://bato.to", "https://batotwo.com", "https://wto.to", "https://mto.to", "https://xbato.com")
# Hosts whose title URLs a user may paste (BATO_MIRRORS replaces the list; the request addresses are added).
MIRRORS = (
    "bato.to",
    "batotwo.com",
    "batotoo.com",
    "wto.to",
    "mto.to",
    "dto.to",
    "hto.to",
    "xbato.com",
    "zbato.com",
    "zbato.net",
    "readtoto.com",
    "battwo.com",
    "batocomic.com",
    "batocomic.net",
    "batocomic.org",
    "comiko.net",
    "comiko.org",
    "mangatoto.com",
    "mangatoto.net",
    "mangatoto.org",
    "readtoto.net",
    "readtoto.org",
    "xbato.net",
    "xbato.org",
    "zbato.org",
)

# No title has more chapters than this: an answer with more is a broken or hostile one.
MAX_CHAPTERS = 20_000

# Bato's title ids are small numbers; a longer bare number is a MangaUpdates id.
BARE_ID = re.compile(r"^\d{1,8}$")
# /title/110100, /title/110100-some-slug, /title/110100-slug/1906652-ch_1, /series/72315/some-slug
TITLE_PATH = re.compile(r"^/(?:title/(?P<title>\d{1,12})(?:-[^/]*)?|series/(?P<series>\d{1,12}))(?:/.*)?$")


def parse_title_response(payload: Any, requested_id: str) -> TitleSnapshot:
    """Parse the JSON body of TITLE_QUERY's answer.

    Raises TitleNotFound when Bato has no such title, BadResponse when the
    answer cannot be used.
    """
    if not isinstance(payload, dict):
        raise BadResponse(f"expected a JSON object, got {type(payload).__name__}")
    data = payload.get("data")
    errors = payload.get("errors")
    if data is not None and not isinstance(data, dict):
        raise BadResponse(f"'data' is a {type(data).__name__}, not an object")
    node = (data or {}).get(DETAILS_FIELD)
    if errors:
        messages = "; ".join(_error_message(e) for e in errors) if isinstance(errors, list) else str(errors)
        if node is None and "not found" in messages.lower():
            raise TitleNotFound(f"Bato has no title {requested_id}: {messages}")
        raise BadResponse(f"GraphQL errors: {messages[:500]}")
    if data is None:
        raise BadResponse("the answer has neither 'data' nor 'errors'")
    if node is None:
        raise TitleNotFound(f"Bato has no title {requested_id}")
    details = _parse_details(node, requested_id)
    raw_chapters = data.get(CHAPTERS_FIELD)
    if raw_chapters is None:
        raw_chapters = []
    if not isinstance(raw_chapters, list):
        raise BadResponse(f"'{CHAPTERS_FIELD}' is a {type(raw_chapters).__name__}, not a list")
    if len(raw_chapters) > MAX_CHAPTERS:
        raise BadResponse(f"Bato listed {len(raw_chapters)} chapters for one title, more than any title has")
    return TitleSnapshot(details=details, chapters=[_parse_chapter(c) for c in raw_chapters])


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


def _parse_details(node: Any, requested_id: str) -> TitleDetails:
    if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
        raise BadResponse(f"'{DETAILS_FIELD}' has no 'data' object")
    d = node["data"]
    title_id = _id(d.get("id", node.get("id")), "title")
    if title_id != str(requested_id):
        raise BadResponse(f"asked for title {requested_id}, the answer is about title {title_id}")
    summary = d.get("summary")
    pub_from = values.text(d.get("originalPubFrom"))
    year = re.match(r"^(\d{4})", pub_from)
    return TitleDetails(
        source_id=title_id,
        name=values.text(d.get("name")) or f"Title {title_id}",
        alt_names=[alt_name(alt) for alt in values.strings(d.get("altNames"))],
        authors=values.strings(d.get("authors")),
        artists=values.strings(d.get("artists")),
        genres=values.strings(d.get("genres")),
        orig_lang=values.text(d.get("origLang")),
        original_status=values.text(d.get("originalStatus")),
        upload_status=values.text(d.get("uploadStatus")),
        year=int(year.group(1)) if year else None,
        original_pub_from=pub_from,
        original_pub_till=values.text(d.get("originalPubTill")),
        read_direction=values.text(d.get("readDirection")),
        description=values.text(summary.get("text")) if isinstance(summary, dict) else values.text(summary),
        score=values.decimal_or_none(d.get("stat_score_val")),
        votes=values.count(d.get("stat_count_votes")),
        score_distribution=_counts(d.get("stat_count_scores")),
        follows=values.count(d.get("stat_count_follows")),
        reviews=values.count(d.get("stat_count_reviews")),
        replies=values.count(d.get("stat_count_post_reply")),
        views_all_time=_counts(d.get("stat_count_views")).get("d000"),
        emotions=_counts(d.get("stat_count_emotions")),
    )


def _parse_chapter(raw: Any) -> ChapterRecord:
    if not isinstance(raw, dict):
        raise BadResponse(f"a chapter is a {type(raw).__name__}, not an object")
    d = raw.get("data")
    if not isinstance(d, dict):
        d = {}
    name = values.text(d.get("dname"))
    # Some clients read the id only from data.id: a missing top-level id is no reason to fail.
    raw_id = raw.get("id") if raw.get("id") not in (None, "") else d.get("id")
    return ChapterRecord(
        source_id=_id(raw_id, "chapter"),
        name=name,
        subtitle=values.text(d.get("title")),
        url_path=values.text(d.get("urlPath")),
        number=values.chapter_number_in(name),
        published_at=_date(d.get("datePublic")),
        created_at=_date(d.get("dateCreate")),
        available=not (d.get("isHidden") is True or d.get("isDeleted") is True),
        views_guest=values.count(d.get("stat_count_views_guest")),
        views_member=values.count(d.get("stat_count_views_login")),
        replies=values.count(d.get("stat_count_post_reply")),
    )


def _date(value: Any) -> datetime | None:
    """Epoch milliseconds, as documented, or an ISO string, as some answers carry."""
    if isinstance(value, str) and not value.strip().isdecimal():
        return values.iso_datetime(value)
    return values.epoch_ms(value)


def _id(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip().isdecimal() or len(value.strip()) > 18:
        raise BadResponse(f"a {what} has no usable id: {value!r}")
    return str(int(value))


def _counts(value: Any) -> dict[str, int]:
    """[{field, count}, ...] → {field: count}, skipping entries we cannot read."""
    if not isinstance(value, list):
        return {}
    counts = {}
    for entry in value:
        if isinstance(entry, dict) and isinstance(entry.get("field"), str):
            count = values.count(entry.get("count"), values.MAX_INT64)
            if count is not None:
                counts[entry["field"]] = count
    return counts


# The source: what it accepts, how it asks (each request through the gate's `ask`), its links.


# What the site's own web client sends; a bare python-requests agent is blocked sooner.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"
)


class Bato(Source):
    name = "bato"
    display_name = "Bato"
    aliases = ("bato",)
    accepted = "a Bato title URL on a known mirror (https://bato.to/title/110100-some-slug) or a Bato id (110100)"

    def hosts(self):
        pasted = settings.BATO_MIRRORS or MIRRORS
        requested = (urlsplit(url).hostname or "" for url in self.base_urls())
        return {host.lower().removeprefix("www.") for host in (*pasted, *requested) if host}

    def parse_id(self, text):
        return str(int(text)) if BARE_ID.match(text) else None

    def id_from_url(self, parts, text):
        match = TITLE_PATH.match(parts.path)
        if not match:
            raise InvalidTitleReference(
                f"{text!r} is not a Bato title page: expected https://bato.to/title/110100-some-slug "
                "or https://bato.to/series/72315/some-slug."
            )
        return str(int(match.group("title") or match.group("series")))

    def base_urls(self):
        return list(settings.BATO_SITE_URLS or SITE_URLS)

    def politeness(self):
        return Politeness(settings.BATO_MIN_DELAY, settings.BATO_MAX_DELAY, settings.BATO_MAX_REQUESTS_PER_HOUR)

    def headers(self, base_url, request):
        comic_id = request.body["variables"]["id"]
        return {
            "User-Agent": BROWSER_USER_AGENT,
            "Accept": "application/json",
            "Origin": base_url,
            "Referer": f"{base_url}/title/{comic_id}",
        }

    def prepare_session(self, session):
        # A cookie, not a fixed header: the site's own cookies (Cloudflare's) then come back too.
        session.cookies.set("theme", "dark")

    def fetch_title(self, ask, source_id, known):
        request = Request("POST", "/apo/", body={"query": TITLE_QUERY, "variables": {"id": str(source_id)}})
        return ask(
            request,
            lambda answer: read_json(answer, "Bato", lambda payload: parse_title_response(payload, str(source_id))),
        )

    def search(self, ask, query, limit, *, latest=True):
        return []

    def title_url(self, source_id):
        return f"{self.base_urls()[0]}/title/{source_id}"

    def chapter_link(self, title_source_id, url_path, external_url):
        return Link(link_on(self.base_urls()[0], url_path) or self.title_url(title_source_id))


SOURCE = Bato()
