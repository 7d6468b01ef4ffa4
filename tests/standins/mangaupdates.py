"""A stand-in for the MangaUpdates API v1, in the shapes docs/sources.md records.

Served under /v1: GET /v1 (health), GET /v1/series/{id} (404 for an unknown
id), POST /v1/releases/search (search_type "series", newest first, pages of
at most 100) and POST /v1/series/search. Ids are 64-bit; names carry HTML
entities and descriptions HTML; chapters come as "25", "25-26" or text; dates
are days, with `time_added` on most releases.
"""

import html
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from scraping.sources.mangaupdates import base36
from tests.standins.server import StandIn, cover_image, image_answer, json_answer, now_ms, weekly_times_ms

FIRST_ID = 64_897_697_818  # "ttaew4a" in base 36, the example in MangaUpdates' docs
MAX_PER_PAGE = 100
_release_ids = itertools.count(987_654)


def time_value(ms, offset_hours=0):
    """A TimeV1; `offset_hours` writes its RFC 3339 form in that offset, as some real answers do (-07:00)."""
    zone = timezone(timedelta(hours=offset_hours))
    when = datetime.fromtimestamp(ms / 1000, tz=zone)
    return {
        "timestamp": ms // 1000,
        "as_rfc3339": when.isoformat(timespec="seconds"),
        "as_string": when.strftime("%B %d, %Y %I:%M%p UTC"),
    }


@dataclass
class MangaUpdatesSeries:
    series_id: int
    record: dict
    releases: list = field(default_factory=list)  # release records, oldest first


class MangaUpdatesStandIn(StandIn):
    name = "mangaupdates"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_id = FIRST_ID

    @property
    def api_url(self):
        return f"{self.url}/v1"

    def add_title(
        self,
        series_id=None,
        name="Kaguya&#039;s Love &amp; War",
        *,
        releases=10,
        status="12 Volumes (Ongoing)",
        groups=("Some Scans",),
        range_every=0,
        time_added=True,
    ):
        """A series with `releases` releases a week apart up to now; every `range_every`-th one a range."""
        with self.lock:
            if series_id is None:
                series_id, self._next_id = self._next_id, self._next_id + 1
            series_id = int(series_id)
            series = MangaUpdatesSeries(
                series_id,
                {
                    "series_id": series_id,
                    "title": name,
                    "url": f"https://www.mangaupdates.com/series/{base36(series_id)}/example",
                    "associated": [{"title": "Kaguya-sama wa Kokurasetai"}, {"title": "かぐや様は告らせたい"}],
                    "description": "<p>Two geniuses &amp; their <i>war</i> of love.<br>Who confesses first?</p>",
                    "image": {
                        "url": {
                            "original": f"https://cdn.mangaupdates.com/image/i{series_id % 10**6:06d}.jpg",
                            "thumb": f"https://cdn.mangaupdates.com/image/thumb/i{series_id % 10**6:06d}.jpg",
                        },
                        "height": 350,
                        "width": 250,
                    },
                    "type": "Manga",
                    "year": "2015",
                    "bayesian_rating": 8.9,
                    "rating_votes": 4321,
                    "genres": [{"genre": "Comedy"}, {"genre": "Romance"}],
                    "categories": [],
                    "latest_chapter": 0,
                    "forum_id": 1,
                    "status": status,
                    "licensed": True,
                    "completed": False,
                    "anime": {"start": "", "end": ""},
                    "related_series": [],
                    "authors": [
                        {"name": "AKASAKA Aka", "author_id": 1, "url": "", "type": "Author"},
                        {"name": "AKASAKA Aka", "author_id": 1, "url": "", "type": "Artist"},
                    ],
                    "publishers": [],
                    "publications": [],
                    "recommendations": [],
                    "category_recommendations": [],
                    "rank": {},
                    "last_updated": time_value(now_ms()),
                    "admin": {"added_by": 1, "approved": True},
                },
            )
            self.titles[series_id] = series
            for i, when in enumerate(weekly_times_ms(releases)):
                number = len(series.releases) + 1
                is_range = range_every and (i + 1) % range_every == 0
                self._add(
                    series,
                    f"{number}-{number + 1}" if is_range else str(number),
                    groups[i % len(groups)],
                    when,
                    time_added,
                )
            return series

    def add_chapters(
        self, series_id, count=1, *, chapter=None, group="Some Scans", time_added=True, when=None, offset_hours=0
    ):
        """New releases now, numbered on from the highest, unless `chapter` is given ("30", "31-32", "Extra").

        `group` is one group's name or a tuple of none or several; `time_added=False` leaves it out, and
        `offset_hours` gives it in another offset than UTC, as real answers do.
        """
        with self.lock:
            series = self.titles[int(series_id)]
            added = []
            for i in range(count):
                text = chapter or str(self._highest(series) + 1)
                added.append(self._add(series, text, group, (when or now_ms()) + i, time_added, offset_hours))
            return added

    @staticmethod
    def _highest(series):
        numbers = [int(part) for r in series.releases for part in r["chapter"].split("-") if part.isdigit()]
        return max(numbers, default=0)

    def _add(self, series, chapter, group, when, time_added, offset_hours=0):
        names = (group,) if isinstance(group, str) else group
        release = {
            "id": next(_release_ids),
            "title": series.record["title"],
            "volume": "",
            "chapter": chapter,
            # Only some groups carry a url in real answers.
            "groups": [
                {
                    "name": name,
                    "group_id": 12_345_678_901 + i,
                    **({"url": "https://www.mangaupdates.com/group/x"} if i == 0 else {}),
                }
                for i, name in enumerate(names)
            ],
            "release_date": datetime.fromtimestamp(when / 1000, tz=timezone(timedelta(hours=offset_hours))).strftime(
                "%Y-%m-%d"
            ),
        }
        if time_added:
            release["time_added"] = time_value(when, offset_hours)
        series.releases.append(release)
        series.record["latest_chapter"] = self._highest(series)
        return release

    def set_status(self, series_id, status):
        with self.lock:
            self.titles[int(series_id)].record["status"] = status

    # Control API

    def add_title_from(self, body):
        series = self.add_title(
            body.get("id"),
            body.get("name", "Example Series"),
            releases=int(body.get("chapters", 10)),
            status=body.get("status", "Ongoing"),
        )
        return str(series.series_id), len(series.releases)

    def add_chapters_from(self, title_id, body):
        added = self.add_chapters(
            title_id, int(body.get("count", 1)), chapter=body.get("chapter"), group=body.get("group", "Some Scans")
        )
        return [f"c.{r['chapter']} by {', '.join(g['name'] for g in r['groups']) or 'no group'}" for r in added]

    def describe_titles(self):
        return {
            str(sid): {"name": s.record["title"], "chapters": len(s.releases), "status": s.record["status"]}
            for sid, s in self.titles.items()
        }

    # The API

    def answer(self, request):
        path = request.path
        if request.method == "GET" and path.startswith("/image/"):
            # The image host (cdn.mangaupdates.com): each series' cover, named in its image.url.original.
            names = {s.record["image"]["url"]["original"].rsplit("/", 1)[-1] for s in self.titles.values()}
            if path.rsplit("/", 1)[-1] not in names:
                return 404, {"Content-Type": "text/plain"}, b"Not Found"
            return image_answer(cover_image(path))
        if not path.startswith("/v1"):
            return json_answer(404, {"status": "exception", "reason": "Not found", "context": {}})
        path = path[3:] or "/"
        with self.lock:
            if request.method == "GET" and path in ("", "/"):
                return json_answer(200, {"status": "success", "reason": "MangaUpdates API v1", "context": {}})
            if request.method == "GET" and path.startswith("/series/"):
                series_id = path[len("/series/") :]
                series = self.titles.get(int(series_id)) if series_id.isdigit() and len(series_id) < 20 else None
                if series is None:
                    return json_answer(404, {"status": "exception", "reason": "Series not found", "context": {}})
                return json_answer(200, series.record)
            if request.method == "POST" and path == "/releases/search":
                return self._releases(request.body)
            if request.method == "POST" and path == "/series/search":
                return self._search(request.body)
        return json_answer(
            404, {"status": "exception", "reason": f"No route for {request.method} {path}", "context": {}}
        )

    @staticmethod
    def _paging(body):
        page, per_page = body.get("page", 1), body.get("perpage", 25)
        if not isinstance(page, int) or not isinstance(per_page, int) or page < 1 or per_page < 1:
            return None
        return page, min(per_page, MAX_PER_PAGE)

    def _releases(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("search"), str):
            return json_answer(
                400,
                {
                    "status": "exception",
                    "reason": "Validation error",
                    "context": {"search": [{"index": 0, "errors": ["must be a string"]}]},
                },
            )
        paging = self._paging(body)
        if paging is None or body.get("asc", "asc") not in ("asc", "desc"):
            return json_answer(400, {"status": "exception", "reason": "Validation error", "context": {}})
        page, per_page = paging
        if body.get("search_type") == "series":
            series = self.titles.get(int(body["search"])) if body["search"].isdigit() else None
            releases = list(series.releases) if series else []
        else:
            releases = [
                r for s in self.titles.values() for r in s.releases if body["search"].lower() in r["title"].lower()
            ]
        if body.get("orderby", "date") == "date":
            releases.sort(key=lambda r: (r["release_date"], r["id"]), reverse=body.get("asc", "asc") == "desc")
        chosen = releases[(page - 1) * per_page : page * per_page]
        return json_answer(
            200,
            {
                "total_hits": len(releases),
                "page": page,
                "per_page": per_page,
                "results": [{"record": r, "metadata": {"user_list": None}} for r in chosen],
            },
        )

    def _search(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("search"), str):
            return json_answer(400, {"status": "exception", "reason": "Validation error", "context": {}})
        paging = self._paging(body)
        if paging is None:
            return json_answer(400, {"status": "exception", "reason": "Validation error", "context": {}})
        page, per_page = paging
        wanted = body["search"].lower()
        found = []
        for series in self.titles.values():
            names = [series.record["title"], *(a["title"] for a in series.record["associated"])]
            hit = next((n for n in names if wanted in html.unescape(n).lower()), None)
            if hit is not None:
                record = {
                    k: series.record[k]
                    for k in (
                        "series_id",
                        "title",
                        "url",
                        "description",
                        "image",
                        "type",
                        "year",
                        "bayesian_rating",
                        "rating_votes",
                        "genres",
                        "latest_chapter",
                        "rank",
                        "last_updated",
                        "admin",
                    )
                }
                found.append({"record": record, "hit_title": hit, "metadata": {"user_list": None}})
        return json_answer(
            200,
            {
                "total_hits": len(found),
                "page": page,
                "per_page": per_page,
                "results": found[(page - 1) * per_page : page * per_page],
            },
        )
