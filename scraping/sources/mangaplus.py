"""MANGA Plus (Shueisha): the publisher's own simulpub, read from its web API's protobuf answers.

A check is one request, GET /title_detailV3?title_id=<id>: the title's details and its chapter
list together. A long series lists only its first chapters and its latest few, never the middle;
a chapter that is not listed is not gone (the pipeline never reads a missing chapter as taken
down). Where the answer carries the publisher's date of the next chapter, the schedule checks
just after it.

The answer is decoded by the protobuf library with `mangaplus.proto` (compiled to
`mangaplus_pb2.py`); its field numbers come from the Mihon extension, MANGA Plus publishes none.
The parsers come first, pure functions (no Django, no I/O) from that message to the shared records.
"""

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from google.protobuf.message import DecodeError

from scraping.sources import mangaplus_pb2
from scraping.sources.base import ChapterRecord, Link, Politeness, Request, Source, TitleDetails, TitleSnapshot
from scraping.sources.errors import BadResponse, Blocked, InvalidTitleReference, TitleNotFound
from scraping.sources.http import honest_user_agent, raise_source_faults

SITE = "https://mangaplus.shueisha.co.jp"
COVER_HOST = "jumpg-assets.tokyo-cdn.com"
TITLE_PATH = re.compile(r"^/titles/(?P<id>[0-9]{1,9})/?$")
BARE_ID = re.compile(r"^[0-9]{1,9}$")
# Chapter names: "#001", "#1132", "#12.5"; "ex" and one-shots have no number, nor has a name whose number
# is too long to be a chapter's ("#99999999999": what the database keeps is 6 digits and 2 decimals).
CHAPTER_NAME = re.compile(r"^#\s*([0-9]{1,6}(?:\.[0-9]{1,2})?)(?![0-9.])")
# Title.language, as ISO codes.
LANGUAGES = {0: "en", 1: "es", 2: "fr", 3: "id", 4: "pt-br", 5: "ru", 6: "th", 7: "de", 9: "vi"}
# A timestamp past this is no date (2100-01-01): int32/int64 garbage, not a release.
LAST_PLAUSIBLE = 4102444800
# One SESSION-TOKEN per process, as the site's own client keeps one per visit.
SESSION_TOKEN = str(uuid.uuid4())


def decode(content: bytes) -> Any:
    """The Response message in an answer's bytes; BadResponse when they are not one."""
    response = mangaplus_pb2.Response()
    try:
        response.ParseFromString(content)
    except (DecodeError, RecursionError):
        raise BadResponse(f"MANGA Plus's answer is not its protobuf message ({len(content)} bytes)") from None
    return response


def error_text(response: Any) -> str:
    """The English words of an error answer ("" when there are none)."""
    popup = response.error.english_popup
    return ": ".join(part for part in (popup.subject, popup.body) if part)


def parse_status(non_appearance_info: str) -> str:
    words = (non_appearance_info or "").lower()
    if "complete" in words:
        return "completed"
    if "hiatus" in words:
        return "hiatus"
    return "ongoing"


def epoch(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if 0 < seconds < LAST_PLAUSIBLE else None


def parse_chapter(chapter: Any, language: str) -> ChapterRecord:
    match = CHAPTER_NAME.match(chapter.name.strip())
    return ChapterRecord(
        source_id=str(chapter.chapter_id),
        name=chapter.name.strip() or f"Chapter {chapter.chapter_id}",
        subtitle=chapter.sub_title.strip(),
        number=Decimal(match.group(1)) if match else None,
        language=language,
        published_at=epoch(chapter.start_time_stamp),
        url_path=f"/viewer/{chapter.chapter_id}",
        # A chapter whose free reading expired has no subtitle: kept, never announced.
        available=bool(chapter.sub_title),
    )


def parse_title(response: Any, source_id: str) -> TitleSnapshot:
    """The details and the listed chapters of a title_detailV3 answer."""
    if response.HasField("error") or not response.success.HasField("title_detail_view"):
        said = error_text(response)
        if "banned" in said.lower():  # some address ranges are refused outright (unconfirmed which)
            raise Blocked(f"MANGA Plus refused this server: {said}")
        raise TitleNotFound(f"MANGA Plus has no title {source_id}{f': {said}' if said else ''}")
    view = response.success.title_detail_view
    title = view.title
    if not title.name:
        raise BadResponse(f"MANGA Plus's answer for title {source_id} has no name")
    language = LANGUAGES.get(title.language, "")
    chapters: dict[int, ChapterRecord] = {}
    for group in view.chapter_list_group:
        for chapter in (*group.first_chapter_list, *group.last_chapter_list):
            chapters.setdefault(chapter.chapter_id, parse_chapter(chapter, language))
    slugs = {tag.slug for tag in view.genre_list}
    details = TitleDetails(
        source_id=source_id,
        name=title.name.strip(),
        authors=[name.strip() for name in title.author.split("/") if name.strip()],
        genres=[tag.name for tag in view.genre_list if tag.name and tag.slug != "one-shot"],
        tags={"format": ["Oneshot"]} if "one-shot" in slugs else {},
        upload_status=parse_status(view.non_appearance_info),
        original_status=view.non_appearance_info.strip(),
        description=view.overview.strip(),
        cover_url=title.portrait_image_url,
        orig_lang="ja",
        available_languages=[language] if language else [],
        next_release_at=epoch(view.next_time_stamp),
    )
    return TitleSnapshot(details=details, chapters=list(chapters.values()))


# The source


class MangaPlus(Source):
    name = "mangaplus"
    display_name = "MANGA Plus"
    aliases = ("mangaplus", "mplus")
    accepted = "a MANGA Plus title page (https://mangaplus.shueisha.co.jp/titles/100020) or mangaplus:<id>"

    def hosts(self):
        return {"mangaplus.shueisha.co.jp"}

    def parse_id(self, text):
        return str(int(text)) if BARE_ID.match(text) else None

    def id_from_url(self, parts, text):
        match = TITLE_PATH.match(parts.path)
        if not match:
            raise InvalidTitleReference(
                f"{text!r} is not a MANGA Plus title page: expected https://mangaplus.shueisha.co.jp/titles/100020."
            )
        return str(int(match.group("id")))

    def base_urls(self):
        return [settings.MANGAPLUS_API_URL]

    def politeness(self):
        return Politeness(
            settings.MANGAPLUS_MIN_DELAY, settings.MANGAPLUS_MAX_DELAY, settings.MANGAPLUS_MAX_REQUESTS_PER_HOUR
        )

    def headers(self, base_url, request):
        return {
            "User-Agent": honest_user_agent(),
            "Accept": "application/octet-stream",
            "Origin": SITE,
            "Referer": f"{SITE}/",
            "SESSION-TOKEN": SESSION_TOKEN,
        }

    def fetch_title(self, ask, source_id, known):
        request = Request("GET", "/title_detailV3", params=(("title_id", str(source_id)),))
        return ask(request, lambda answer: read_title(answer, str(source_id)))

    def search(self, ask, query, limit, *, latest=True):
        return []

    def title_url(self, source_id):
        return f"{SITE}/titles/{source_id}"

    def cover_fetch_url(self, cover_url):
        # From MANGAPLUS_COVERS_URL (a stand-in's, in tests); never from another host an answer names.
        parts = urlsplit(cover_url)
        if parts.scheme != "https" or parts.hostname != COVER_HOST:
            return ""
        return settings.MANGAPLUS_COVERS_URL + parts.path + (f"?{parts.query}" if parts.query else "")

    def chapter_link(self, title_source_id, url_path, external_url):
        return Link(f"{SITE}{url_path}" if url_path.startswith("/viewer/") else self.title_url(title_source_id))


def read_title(answer, source_id):
    """A title_detailV3 answer as a TitleSnapshot, or the SourceError that says whose fault it is."""
    raise_source_faults(answer, "MANGA Plus")
    if answer.status == 404:
        raise TitleNotFound(f"MANGA Plus has no title {source_id}", status=404)
    if answer.status != 200:
        raise BadResponse(f"MANGA Plus answered HTTP {answer.status}", status=answer.status)
    return parse_title(decode(answer.content), source_id)


SOURCE = MangaPlus()
