"""Bato's GraphQL answer → typed records. Pure functions: no Django, no I/O.

Be liberal where bato-api.md is silent: missing and null fields become None or
empty values; only a missing id, or a shape that is not the one documented,
makes the answer unusable.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from scraping.bato.errors import BadResponse, TitleNotFound

DETAILS_FIELD = "get_content_comicNode"
CHAPTERS_FIELD = "get_content_chapterList"

_DETAIL_FIELDS = (
    "id name altNames authors artists genres origLang originalStatus originalPubFrom "
    "originalPubTill uploadStatus readDirection summary { text } stat_score_val stat_count_votes "
    "stat_count_follows stat_count_reviews stat_count_post_reply stat_count_scores { field count } "
    "stat_count_views { field count } stat_count_emotions { field count }"
)
_CHAPTER_FIELDS = (
    "dname title urlPath dateCreate datePublic stat_count_views_guest stat_count_views_login "
    "stat_count_post_reply"
)
# One document, two root fields: a check is a single POST.
TITLE_QUERY = (
    "query batoshelfTitle($id: ID!) {\n"
    f"  {DETAILS_FIELD}(id: $id) {{ id data {{ {_DETAIL_FIELDS} }} }}\n"
    f"  {CHAPTERS_FIELD}(comicId: $id) {{ id data {{ {_CHAPTER_FIELDS} }} }}\n"
    "}"
)


@dataclass(frozen=True)
class TitleDetails:
    bato_id: str
    name: str
    alt_names: list
    authors: list
    artists: list
    genres: list
    orig_lang: str
    original_status: str
    upload_status: str
    original_pub_from: str
    original_pub_till: str
    read_direction: str
    summary: str
    score: float | None
    votes: int | None
    score_distribution: dict
    follows: int | None
    reviews: int | None
    replies: int | None
    views_all_time: int | None
    emotions: dict


@dataclass(frozen=True)
class ChapterRecord:
    bato_id: str
    dname: str
    title: str
    url_path: str
    number: Decimal | None
    published_at: datetime | None
    created_at: datetime | None
    views_guest: int | None
    views_member: int | None
    replies: int | None


@dataclass(frozen=True)
class TitleSnapshot:
    details: TitleDetails
    chapters: list  # of ChapterRecord, oldest first as the site lists them


def parse_title_response(payload, requested_id):
    """Parse the JSON body of TITLE_QUERY's answer.

    Raises TitleNotFound when the site has no such title, BadResponse when the
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
    return TitleSnapshot(details=details, chapters=[_parse_chapter(c) for c in raw_chapters])


def _error_message(error):
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


def _parse_details(node, requested_id):
    if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
        raise BadResponse(f"'{DETAILS_FIELD}' has no 'data' object")
    d = node["data"]
    bato_id = _id(d.get("id", node.get("id")), "title")
    if bato_id != str(requested_id):
        raise BadResponse(f"asked for title {requested_id}, the answer is about title {bato_id}")
    summary = d.get("summary")
    return TitleDetails(
        bato_id=bato_id,
        name=_text(d.get("name")) or f"Title {bato_id}",
        alt_names=_strings(d.get("altNames")),
        authors=_strings(d.get("authors")),
        artists=_strings(d.get("artists")),
        genres=_strings(d.get("genres")),
        orig_lang=_text(d.get("origLang")),
        original_status=_text(d.get("originalStatus")),
        upload_status=_text(d.get("uploadStatus")),
        original_pub_from=_text(d.get("originalPubFrom")),
        original_pub_till=_text(d.get("originalPubTill")),
        read_direction=_text(d.get("readDirection")),
        summary=_text(summary.get("text")) if isinstance(summary, dict) else _text(summary),
        score=_float(d.get("stat_score_val")),
        votes=_int(d.get("stat_count_votes")),
        score_distribution=_counts(d.get("stat_count_scores")),
        follows=_int(d.get("stat_count_follows")),
        reviews=_int(d.get("stat_count_reviews")),
        replies=_int(d.get("stat_count_post_reply")),
        views_all_time=_counts(d.get("stat_count_views")).get("d000"),
        emotions=_counts(d.get("stat_count_emotions")),
    )


def _parse_chapter(raw):
    if not isinstance(raw, dict):
        raise BadResponse(f"a chapter is a {type(raw).__name__}, not an object")
    d = raw.get("data")
    if not isinstance(d, dict):
        d = {}
    dname = _text(d.get("dname"))
    return ChapterRecord(
        bato_id=_id(raw.get("id"), "chapter"),
        dname=dname,
        title=_text(d.get("title")),
        url_path=_text(d.get("urlPath")),
        number=parse_chapter_number(dname),
        published_at=epoch_ms_to_datetime(d.get("datePublic")),
        created_at=epoch_ms_to_datetime(d.get("dateCreate")),
        views_guest=_int(d.get("stat_count_views_guest")),
        views_member=_int(d.get("stat_count_views_login")),
        replies=_int(d.get("stat_count_post_reply")),
    )


def _id(value, what):
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip().isdigit():
        raise BadResponse(f"a {what} has no usable id: {value!r}")
    return str(int(value))


def _text(value):
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _strings(value):
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def _float(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _counts(value):
    """[{field, count}, ...] → {field: count}, skipping entries we cannot read."""
    if not isinstance(value, list):
        return {}
    counts = {}
    for entry in value:
        if isinstance(entry, dict) and isinstance(entry.get("field"), str):
            count = _int(entry.get("count"))
            if count is not None:
                counts[entry["field"]] = count
    return counts


# Epoch milliseconds past this are not dates (year ~2286); a seconds value
# read as milliseconds lands in 1970, which is just as wrong.
_MAX_EPOCH_MS = 10_000_000_000_000
_MIN_EPOCH_MS = 946_684_800_000  # 2000-01-01: Bato did not exist before


def epoch_ms_to_datetime(value):
    """Bato dates are epoch *milliseconds*; anything unusable becomes None."""
    ms = _int(value)
    if ms is None or ms <= 0:
        return None
    if ms < _MIN_EPOCH_MS:
        # Seconds given where milliseconds are documented: accept them rather
        # than storing a date in January 1970.
        ms *= 1000
    if not _MIN_EPOCH_MS <= ms < _MAX_EPOCH_MS:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


_NUMBER = r"(\d{1,6}(?:\.\d{1,2})?)"
_CHAPTER_NUMBER_PATTERNS = (
    # "Chapter 12", "Ch.10.5", "Chap 3", "Episode 7", "Ep. 4", "Vol.2 Ch.10.5"
    re.compile(r"\b(?:chapter|chap|ch|episode|ep)\.?\s*" + _NUMBER, re.IGNORECASE),
    # 第12話 / 第12话 / 第12章 / 第12回, 12화
    re.compile(r"第\s*" + _NUMBER + r"\s*[話话章回]"),
    re.compile(_NUMBER + r"\s*화"),
    # A dname that is only a number: "12", "#12", "12.5"
    re.compile(r"^\s*#?\s*" + _NUMBER + r"\s*$"),
)


def parse_chapter_number(dname):
    """The chapter number in a display name, or None ("Side Story 3", "Extra")."""
    for pattern in _CHAPTER_NUMBER_PATTERNS:
        match = pattern.search(dname or "")
        if match:
            return Decimal(match.group(1))
    return None
