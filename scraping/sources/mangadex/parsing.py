"""MangaDex API v5 answers → the shared records. Pure functions: no Django, no I/O.

Answers come in envelopes: `{"result": "ok", "response": "entity" | "collection",
"data": ...}`, or `{"result": "error", "errors": [{status, title, detail}]}`.
Times are RFC 3339 in UTC. A chapter's number is free text (null for oneshots).
"""

import re

from scraping.sources import values
from scraping.sources.base import Candidate, ChapterRecord, TitleDetails
from scraping.sources.errors import BadResponse

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# /title/<uuid>, /title/<uuid>/<slug>, and the older /manga/<uuid>
TITLE_PATH = re.compile(r"^/(?:title|manga)/(?P<id>[0-9a-fA-F-]{36})(?:/[^/]*)?/?$")
LANGUAGE = re.compile(r"^[a-z]{2}(-[a-z]{2})?$")

SITE = "https://mangadex.org"
COVERS = "https://uploads.mangadex.org/covers"
STATUSES = {"ongoing", "completed", "hiatus", "cancelled"}
# Titles in a name map, most readable first.
NAME_LANGUAGES = ("en", "ja-ro", "ko-ro", "zh-ro")
# Every content rating: the default leaves pornographic titles' feeds empty.
CONTENT_RATINGS = ("safe", "suggestive", "erotica", "pornographic")


def parse_uuid(text):
    """The lowercase UUID in `text`, or None."""
    lowered = values.text(text).lower()
    return lowered if UUID.match(lowered) else None


def error_detail(payload):
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


def _envelope(payload, response):
    if not isinstance(payload, dict):
        raise BadResponse(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("result") != "ok":
        raise BadResponse(f"MangaDex answered an error: {error_detail(payload) or payload.get('result')!r}")
    if payload.get("response") != response:
        raise BadResponse(f"expected a MangaDex {response}, got {payload.get('response')!r}")
    return payload.get("data")


def _name(names):
    """The most readable name in a {language: name} map."""
    if not isinstance(names, dict):
        return ""
    for language in NAME_LANGUAGES:
        if values.text(names.get(language)):
            return values.text(names[language])
    return next((values.text(v) for v in names.values() if values.text(v)), "")


def _related(relationships, kind):
    return [r for r in relationships if isinstance(r, dict) and r.get("type") == kind]


def _relationships(obj):
    relationships = obj.get("relationships")
    return relationships if isinstance(relationships, list) else []


def _attributes(obj, what):
    if not isinstance(obj, dict):
        raise BadResponse(f"a {what} is a {type(obj).__name__}, not an object")
    attributes = obj.get("attributes")
    if not isinstance(attributes, dict):
        raise BadResponse(f"a {what} has no attributes")
    return attributes


def parse_manga(payload, requested_id):
    """TitleDetails from `GET /manga/{id}` with authors, artists and cover art expanded."""
    manga = _envelope(payload, "entity")
    attributes = _attributes(manga, "manga")
    manga_id = parse_uuid(manga.get("id"))
    if manga_id != requested_id:
        raise BadResponse(f"asked for title {requested_id}, the answer is about {manga.get('id')!r}")
    relationships = _relationships(manga)
    title_map = attributes.get("title") if isinstance(attributes.get("title"), dict) else {}
    name = _name(title_map)
    alt_names = [values.text(v) for v in title_map.values() if values.text(v) and values.text(v) != name]
    for alt in attributes.get("altTitles") or []:
        if isinstance(alt, dict):
            alt_names.extend(values.text(v) for v in alt.values() if values.text(v))
    status = values.text(attributes.get("status"))
    return TitleDetails(
        source_id=manga_id,
        name=name or f"Title {manga_id}",
        alt_names=list(dict.fromkeys(a for a in alt_names if a != name)),
        authors=_people(relationships, "author"),
        artists=_people(relationships, "artist"),
        genres=_tags(attributes.get("tags")),
        upload_status=status if status in STATUSES else "",
        original_status=status,
        year=_year(attributes.get("year")),
        description=_name(attributes.get("description")),
        cover_url=_cover(manga_id, relationships),
        orig_lang=values.text(attributes.get("originalLanguage")),
    )


def _people(relationships, kind):
    names = [values.text((r.get("attributes") or {}).get("name")) for r in _related(relationships, kind)
             if isinstance(r.get("attributes"), dict)]
    return list(dict.fromkeys(n for n in names if n))


def _tags(tags):
    if not isinstance(tags, list):
        return []
    names = []
    for tag in tags:
        attributes = tag.get("attributes") if isinstance(tag, dict) else None
        if isinstance(attributes, dict):
            names.append(_name(attributes.get("name")))
    return [n for n in names if n]


def _year(value):
    year = values.integer(value)
    return year if year is not None and 1800 < year < 3000 else None


def _cover(manga_id, relationships):
    for art in _related(relationships, "cover_art"):
        file_name = values.text((art.get("attributes") or {}).get("fileName")) if isinstance(
            art.get("attributes"), dict) else ""
        if re.fullmatch(r"[\w.-]{1,200}", file_name):
            return f"{COVERS}/{manga_id}/{file_name}.512.jpg"
    return ""


def parse_feed(payload):
    """(chapters, total) from a page of `GET /manga/{id}/feed` or `GET /chapter`."""
    data = _envelope(payload, "collection")
    if not isinstance(data, list):
        raise BadResponse(f"a MangaDex collection's data is a {type(data).__name__}, not a list")
    total = values.integer(payload.get("total"))
    if total is None or total < 0:
        raise BadResponse("a MangaDex collection has no total")
    return [_chapter(c) for c in data], total


def _chapter(raw):
    attributes = _attributes(raw, "chapter")
    chapter_id = parse_uuid(raw.get("id"))
    if chapter_id is None:
        raise BadResponse(f"a chapter has no usable id: {raw.get('id')!r}")
    number_text = values.text(attributes.get("chapter"))
    number_from, number = values.chapter_numbers(number_text)
    title = values.text(attributes.get("title"))
    external = values.external_link(attributes.get("externalUrl"))
    published = values.iso_datetime(attributes.get("readableAt")) or values.iso_datetime(attributes.get("publishAt"))
    groups = [values.text((g.get("attributes") or {}).get("name"))
              for g in _related(_relationships(raw), "scanlation_group") if isinstance(g.get("attributes"), dict)]
    return ChapterRecord(
        source_id=chapter_id,
        dname=f"Chapter {number_text}" if number_text else (title or "Oneshot"),
        title=title,
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


def parse_search(payload):
    """[(Candidate without its latest chapter, id of its latest uploaded chapter or "")] from `GET /manga`."""
    data = _envelope(payload, "collection")
    if not isinstance(data, list):
        raise BadResponse("a MangaDex search's data is not a list")
    found = []
    for manga in data:
        attributes = _attributes(manga, "manga")
        manga_id = parse_uuid(manga.get("id"))
        if manga_id is None:
            continue
        title_map = attributes.get("title") if isinstance(attributes.get("title"), dict) else {}
        alt = [values.text(v) for a in attributes.get("altTitles") or [] if isinstance(a, dict) for v in a.values()]
        found.append((
            Candidate(source="mangadex", source_id=manga_id, name=_name(title_map) or manga_id,
                      alt_names=tuple(a for a in alt if a)[:5], year=_year(attributes.get("year")),
                      url=f"{SITE}/title/{manga_id}"),
            parse_uuid(attributes.get("latestUploadedChapter")) or "",
        ))
    return found
