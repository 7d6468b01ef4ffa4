"""A stand-in for the MangaDex API v5, in the shapes docs/sources.md records.

GET /manga/{id} (with includes[] expanding authors, artists and cover art),
GET /manga/{id}/feed (languages, content ratings, ordering, limit ≤ 500, the
10,000-result window, createdAtSince, includeUnavailable), GET /manga
(search by title) and GET /chapter (by ids[]). Envelopes, 404s and 400s as
the API sends them; a browser-like or missing User-Agent gets the plain-text
400 MangaDex has answered since June 2026; a 429 carries
X-RateLimit-Retry-After as an epoch second.
"""

import itertools
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.standins.server import DAY_MS, StandIn, cover_image, image_answer, json_answer, now_ms, weekly_times_ms

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
WINDOW = 10_000
DEFAULT_RATINGS = ("safe", "suggestive", "erotica")
TITLE_LINKS = {"mu": "ttaew4a", "al": "30013", "mal": "13013"}
TAGS = (
    ("Action", "genre"),
    ("Drama", "genre"),
    ("Time Travel", "theme"),
    ("Long Strip", "format"),
    ("Gore", "content"),
)
_group_ids = itertools.count(1)


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def error(status, title, detail):
    return json_answer(
        status,
        {
            "result": "error",
            "errors": [{"id": str(uuid.uuid4()), "status": status, "title": title, "detail": detail, "context": None}],
        },
    )


@dataclass
class MangaDexTitle:
    dex_id: str
    attributes: dict
    authors: list
    artists: list
    cover_file: str
    chapters: list = field(default_factory=list)  # chapter objects as the feed lists them, without includes

    @property
    def rating(self):
        return self.attributes["contentRating"]


class MangaDexStandIn(StandIn):
    name = "mangadex"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = {}  # name → group id
        self.lists = {}  # list id → (name, [title ids], visibility)
        self.quota_spent_for = None  # seconds: every answer says the endpoint's quota is used up for this long

    def add_title(
        self,
        dex_id=None,
        name="Example Title",
        *,
        chapters=10,
        languages=("en",),
        groups=("Some Scans",),
        status="ongoing",
        rating="safe",
        year=2020,
        alt_names=("例のタイトル",),
        alt_language="ja",
        name_language="en",
        description=None,
        links=TITLE_LINKS,
    ):
        """A title whose `chapters` chapters go round its languages and groups, a week apart up to now.

        As real answers have them: the name may be in another language than English (`name_language`
        "ja-ro"), the description Markdown or empty ({}), `links` null, tags in their groups, and the
        available languages with a null among them.
        """
        dex_id = dex_id or str(uuid.uuid4())
        description = (
            f"The **story** of {name}.\n\n---\n[Official](https://example.org/{dex_id[:8]})"
            if description is None
            else description
        )
        with self.lock:
            title = MangaDexTitle(
                dex_id=dex_id,
                attributes={
                    "title": {name_language: name},
                    "altTitles": [{alt_language: alt} for alt in alt_names],
                    "description": {"en": description} if description else {},
                    "isLocked": False,
                    "links": dict(links) if links is not None else None,
                    "originalLanguage": "ja",
                    "lastVolume": "",
                    "lastChapter": "",
                    "publicationDemographic": "seinen",
                    "status": status,
                    "year": year,
                    "contentRating": rating,
                    "tags": [
                        {
                            "id": str(uuid.uuid4()),
                            "type": "tag",
                            "attributes": {"name": {"en": tag}, "description": {}, "group": group, "version": 1},
                            "relationships": [],
                        }
                        for tag, group in TAGS
                    ],
                    "state": "published",
                    "chapterNumbersResetOnNewVolume": False,
                    "createdAt": iso(now_ms() - 400 * DAY_MS),
                    "updatedAt": iso(now_ms()),
                    "version": 3,
                    "availableTranslatedLanguages": [*languages, None],
                    "latestUploadedChapter": None,
                },
                authors=["Someone A"],
                artists=["Someone B"],
                cover_file=f"{uuid.uuid4()}.jpg",
            )
            self.titles[dex_id] = title
            times = weekly_times_ms(chapters)
            for i, when in enumerate(times):
                self._add(
                    title,
                    number=str(i // len(languages) + 1),
                    language=languages[i % len(languages)],
                    group=groups[i % len(groups)],
                    when=when,
                )
            return title

    def add_chapters(
        self,
        dex_id,
        count=1,
        *,
        language="en",
        group="Some Scans",
        groups=None,
        number=None,
        external_url=None,
        unavailable=False,
        when=None,
    ):
        """New chapters now: numbered on from the highest in `language`, unless `number` is given."""
        with self.lock:
            title = self.titles[dex_id]
            added = []
            for i in range(count):
                if number is None:
                    numbers = [
                        float(c["attributes"]["chapter"])
                        for c in title.chapters
                        if c["attributes"]["translatedLanguage"] == language and c["attributes"]["chapter"]
                    ]
                    chapter_number = f"{int(max(numbers, default=0)) + 1}"
                else:
                    chapter_number = number
                added.append(
                    self._add(
                        title,
                        number=chapter_number,
                        language=language,
                        group=group if groups is None else groups,
                        # A millisecond apart and none in the future: the feed hides those.
                        when=(when or now_ms()) - (count - 1 - i),
                        external_url=external_url,
                        unavailable=unavailable,
                    )
                )
            return added

    def _add(self, title, *, number, language, group, when, external_url=None, unavailable=False):
        """One chapter; `group` is a group's name, or a tuple of none, one or several."""
        chapter_id = str(uuid.uuid4())
        group_ids = [
            self.groups.setdefault(name, f"{next(_group_ids):08x}-0000-4000-8000-000000000000")
            for name in ((group,) if isinstance(group, str) else group)
        ]
        chapter = {
            "id": chapter_id,
            "type": "chapter",
            "attributes": {
                "volume": None,
                "chapter": number,
                "title": None,
                "translatedLanguage": language,
                "externalUrl": external_url,
                "publishAt": iso(when),
                "readableAt": iso(when),
                "createdAt": iso(when - 60_000),
                "updatedAt": iso(when),
                "pages": 0 if external_url else 20,
                "version": 1,
                "isUnavailable": unavailable,
            },
            "relationships": [
                *({"id": group_id, "type": "scanlation_group"} for group_id in group_ids),
                {"id": title.dex_id, "type": "manga"},
                {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "uploader")), "type": "user"},
            ],
        }
        title.chapters.append(chapter)
        title.attributes["latestUploadedChapter"] = chapter_id
        return chapter

    def set_status(self, dex_id, status):
        with self.lock:
            self.titles[dex_id].attributes["status"] = status

    # Control API

    def add_title_from(self, body):
        title = self.add_title(
            body.get("id"),
            body.get("name", "Example Title"),
            chapters=int(body.get("chapters", 10)),
            languages=tuple(body.get("languages", ["en"])),
            groups=tuple(body.get("groups", ["Some Scans"])),
            status=body.get("status", "ongoing"),
        )
        return title.dex_id, len(title.chapters)

    def add_chapters_from(self, title_id, body):
        added = self.add_chapters(
            title_id,
            int(body.get("count", 1)),
            language=body.get("language", "en"),
            group=body.get("group", "Some Scans"),
            number=body.get("number"),
        )
        return [f"Chapter {c['attributes']['chapter']} ({c['attributes']['translatedLanguage']})" for c in added]

    def describe_titles(self):
        return {
            mid: {
                "name": next(iter(t.attributes["title"].values())),
                "chapters": len(t.chapters),
                "status": t.attributes["status"],
            }
            for mid, t in self.titles.items()
        }

    # The API

    def rate_limited(self):
        retry_at = int(time.time() + (self.retry_after or 60))
        status, headers, body = error(429, "rate_limit_exceeded", "You have exceeded the rate limit")
        return (
            status,
            {
                **headers,
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Retry-After": str(retry_at),
            },
            body,
        )

    def answer(self, request):
        agent = request.headers.get("User-Agent", "")
        if not agent or "mozilla" in agent.lower() or "Via" in request.headers:
            return (
                400,
                {"Content-Type": "text/plain", "Server": "MangaDex"},
                b"You must set an appropriate User-Agent header",
            )
        status, headers, body = self._route(request)
        if self.quota_spent_for is not None:
            headers = {
                **headers,
                "X-RateLimit-Limit": "40",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Retry-After": str(int(time.time() + self.quota_spent_for)),
            }
        return status, headers, body

    def _route(self, request):
        if request.method != "GET":
            return error(
                405, "method_not_allowed_http_exception", f'No route found for "{request.method} {request.path}"'
            )
        with self.lock:
            cover = re.fullmatch(rf"/covers/({UUID})/([\w.-]+)\.(256|512)\.jpg", request.path)
            if cover:
                title = self.titles.get(cover.group(1))
                if title is None or title.cover_file != cover.group(2):
                    return 404, {"Content-Type": "text/plain"}, b"Not Found"
                width = int(cover.group(3))
                return image_answer(cover_image(title.cover_file, width, width * 7 // 5))
            if request.path == "/manga":
                return self._search(request.query)
            listed = re.fullmatch(rf"/list/({UUID})", request.path)
            if listed:
                return self._list(listed.group(1))
            if request.path == "/chapter":
                return self._chapters_by_id(request.query)
            match = re.fullmatch(rf"/manga/({UUID})(/feed)?", request.path)
            if match is None:
                return error(404, "not_found_http_exception", f'No route found for "GET {request.path}"')
            title = self.titles.get(match.group(1))
            if title is None:
                return error(404, "not_found_http_exception", f'Manga with ID "{match.group(1)}" was not found')
            if match.group(2):
                return self._feed(title, request.query)
            return json_answer(
                200,
                {"result": "ok", "response": "entity", "data": self._manga(title, request.query.get("includes[]", []))},
            )

    def _manga(self, title, includes):
        relationships = []
        for kind, names in (("author", title.authors), ("artist", title.artists)):
            for name in names:
                relation = {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "type": kind}
                if kind in includes:
                    relation["attributes"] = {"name": name}
                relationships.append(relation)
        cover = {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, title.cover_file)), "type": "cover_art"}
        if "cover_art" in includes:
            cover["attributes"] = {"fileName": title.cover_file, "volume": "1", "locale": "ja"}
        relationships.append(cover)
        return {
            "id": title.dex_id,
            "type": "manga",
            "attributes": dict(title.attributes),
            "relationships": relationships,
        }

    def _chapter(self, chapter, includes):
        relationships = []
        for relation in chapter["relationships"]:
            relation = dict(relation)
            if relation["type"] == "scanlation_group" and "scanlation_group" in includes:
                name = next(n for n, i in self.groups.items() if i == relation["id"])
                relation["attributes"] = {"name": name, "website": None, "official": False}
            relationships.append(relation)
        return {**chapter, "attributes": dict(chapter["attributes"]), "relationships": relationships}

    @staticmethod
    def _page(query, maximum):
        """(limit, offset) of a list request, or an error answer."""
        try:
            limit = int(query.get("limit", ["100" if maximum == 500 else "10"])[-1])
            offset = int(query.get("offset", ["0"])[-1])
        except ValueError:
            return None, error(400, "validation_exception", "limit and offset must be integers")
        if not 0 <= limit <= maximum or offset < 0:
            return None, error(400, "validation_exception", f"limit must be between 0 and {maximum}")
        if offset + limit > WINDOW:
            return None, error(
                400,
                "bad_request_http_exception",
                f"Result window is too large, from + size must be less than or equal to: "
                f"[{WINDOW}] but was [{offset + limit}]. See the scroll api for a more efficient way "
                "to request large data sets.",
            )
        return (limit, offset), None

    def _feed(self, title, query):
        page, refusal = self._page(query, 500)
        if refusal:
            return refusal
        limit, offset = page
        ratings = query.get("contentRating[]") or list(DEFAULT_RATINGS)
        chapters = list(title.chapters) if title.rating in ratings else []
        languages = query.get("translatedLanguage[]")
        if languages:
            chapters = [c for c in chapters if c["attributes"]["translatedLanguage"] in languages]
        # Tri-state, as MangaDex documents its include* filters: left out, no filter; 1, only
        # the taken-down chapters; 0, only the readable ones.
        unavailable = query.get("includeUnavailable", [None])[-1]
        if unavailable in ("0", "1"):
            chapters = [c for c in chapters if c["attributes"]["isUnavailable"] == (unavailable == "1")]
        now = iso(now_ms())
        chapters = [c for c in chapters if c["attributes"]["publishAt"] <= now]
        since = query.get("createdAtSince", [None])[-1]
        if since is not None:
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", since):
                return error(400, "validation_exception", "createdAtSince must match YYYY-MM-DDTHH:MM:SS")
            chapters = [c for c in chapters if c["attributes"]["createdAt"][:19] >= since]
        for name, values in query.items():
            order = re.fullmatch(r"order\[(\w+)\]", name)
            if order:
                chapters.sort(key=lambda c: c["attributes"][order.group(1)] or "", reverse=values[-1] == "desc")
        includes = query.get("includes[]", [])
        return json_answer(
            200,
            {
                "result": "ok",
                "response": "collection",
                "data": [self._chapter(c, includes) for c in chapters[offset : offset + limit]],
                "limit": limit,
                "offset": offset,
                "total": len(chapters),
            },
        )

    def _search(self, query):
        page, refusal = self._page(query, 100)
        if refusal:
            return refusal
        limit, offset = page
        wanted = (query.get("title", [""])[-1]).lower()
        ratings = query.get("contentRating[]") or list(DEFAULT_RATINGS)
        ids = query.get("ids[]")
        if ids and len(ids) > 100:
            return error(400, "validation_exception", "ids[] takes at most 100 ids")
        found = [
            t
            for t in self.titles.values()
            if t.rating in ratings
            and (not ids or t.dex_id in ids)
            and any(
                wanted in name.lower()
                for name in [
                    *t.attributes["title"].values(),
                    *(v for a in t.attributes["altTitles"] for v in a.values()),
                ]
            )
        ]
        includes = query.get("includes[]", [])
        return json_answer(
            200,
            {
                "result": "ok",
                "response": "collection",
                "data": [self._manga(t, includes) for t in found[offset : offset + limit]],
                "limit": limit,
                "offset": offset,
                "total": len(found),
            },
        )

    def add_list(self, name, dex_ids, *, visibility="public"):
        """A custom list (an MDList) of these titles; returns its id."""
        list_id = str(uuid.uuid4())
        with self.lock:
            self.lists[list_id] = (name, list(dex_ids), visibility)
        return list_id

    def _list(self, list_id):
        """`GET /list/{id}`: a public list, or a 404 as for a list that is private or none."""
        name, ids, visibility = self.lists.get(list_id, (None, [], "private"))
        if name is None or visibility != "public":
            return error(404, "not_found_http_exception", "CustomList could not be found")
        relationships = [{"id": i, "type": "manga"} for i in ids]
        relationships.append({"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "type": "user"})
        return json_answer(
            200,
            {
                "result": "ok",
                "response": "entity",
                "data": {
                    "id": list_id,
                    "type": "custom_list",
                    "attributes": {"name": name, "visibility": visibility, "version": 1},
                    "relationships": relationships,
                },
            },
        )

    def _chapters_by_id(self, query):
        page, refusal = self._page(query, 100)
        if refusal:
            return refusal
        limit, offset = page
        ids = query.get("ids[]", [])
        if len(ids) > 100:
            return error(400, "validation_exception", "ids[] takes at most 100 ids")
        found = [c for t in self.titles.values() for c in t.chapters if c["id"] in ids]
        includes = query.get("includes[]", [])
        return json_answer(
            200,
            {
                "result": "ok",
                "response": "collection",
                "data": [self._chapter(c, includes) for c in found[offset : offset + limit]],
                "limit": limit,
                "offset": offset,
                "total": len(found),
            },
        )
