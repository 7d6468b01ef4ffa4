"""Stand-ins for the trackers whose lists readers bring in: AniList's GraphQL endpoint and MyAnimeList's
v2 list endpoint, answering in their documented shapes (docs/library.md says which were confirmed).

    anilist.add_list("someone", [anilist_entry(30013, "One Piece", idMal=13, progress=1100), ...])
    mal.add_list("someone", [mal_entry(13, "One Piece", num_chapters_read=1100), ...])
"""

from urllib.parse import urlencode

from tests.standins.server import StandIn, json_answer


def anilist_entry(media_id, english, *, romaji=None, idMal=None, status="CURRENT", progress=0, custom=(), year=None):
    """One MediaList as AniList's MediaListCollection gives it."""
    return {
        "status": status,
        "progress": progress,
        "customLists": {name: True for name in custom} or None,
        "media": {
            "id": media_id,
            "idMal": idMal,
            "format": "MANGA",
            "synonyms": [],
            "title": {"romaji": romaji or english, "english": english, "native": None},
            "startDate": {"year": year},
        },
    }


class ListStandIn(StandIn):
    """A tracker that holds readers' lists, public or private, by user name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lists = {}  # user name → entries, as the tracker gives them
        self.private = set()

    def add_list(self, user_name, entries, *, private=False):
        with self.lock:
            self.lists[user_name.lower()] = list(entries)
            if private:
                self.private.add(user_name.lower())


class AniListStandIn(ListStandIn):
    name = "anilist"

    def answer(self, request):
        if (
            request.method != "POST"
            or not isinstance(request.body, dict)
            or "MediaListCollection" not in str(request.body.get("query", ""))
        ):
            return json_answer(400, {"data": None, "errors": [{"message": "Invalid query", "status": 400}]})
        name = str((request.body.get("variables") or {}).get("userName") or "").lower()
        with self.lock:
            if name not in self.lists:
                return json_answer(
                    404,
                    {"data": {"MediaListCollection": None}, "errors": [{"message": "User not found", "status": 404}]},
                )
            if name in self.private:
                return json_answer(
                    404, {"data": {"MediaListCollection": None}, "errors": [{"message": "Private User", "status": 404}]}
                )
            entries = self.lists[name]
        by_status = {}
        for entry in entries:
            by_status.setdefault(entry["status"], []).append(entry)
        groups = [
            {"name": status.title(), "isCustomList": False, "entries": items} for status, items in by_status.items()
        ]
        custom = {n for e in entries for n, on in (e["customLists"] or {}).items() if on}
        for list_name in sorted(custom):
            # The same entry comes again in each custom list it is on: readers of the list dedupe by media.
            groups.append(
                {
                    "name": list_name,
                    "isCustomList": True,
                    "entries": [e for e in entries if (e["customLists"] or {}).get(list_name)],
                }
            )
        return json_answer(
            200,
            {"data": {"MediaListCollection": {"lists": groups}}},
            **{"X-RateLimit-Limit": "90", "X-RateLimit-Remaining": "89"},
        )


def mal_entry(manga_id, title, *, status="reading", num_chapters_read=0, english=None, start_date=None):
    """One item of MyAnimeList's `GET /users/{name}/mangalist?fields=list_status` data."""
    node = {
        "id": manga_id,
        "title": title,
        "main_picture": {"medium": "https://cdn.myanimelist.net/images/manga/1/1.jpg"},
    }
    if english is not None:
        node["alternative_titles"] = {"synonyms": [], "en": english, "ja": ""}
    if start_date:
        node["start_date"] = start_date
    return {
        "node": node,
        "list_status": {
            "status": status,
            "is_rereading": False,
            "num_volumes_read": 0,
            "num_chapters_read": num_chapters_read,
            "score": 0,
            "updated_at": "2026-11-28T18:29:36+00:00",
        },
    }


class MyAnimeListStandIn(ListStandIn):
    name = "myanimelist"

    def __init__(self, *args, client_id="standin-client-id", **kwargs):
        super().__init__(*args, **kwargs)
        self.client_id = client_id

    @property
    def api_url(self):
        return f"{self.url}/v2"

    def answer(self, request):
        parts = request.path.strip("/").split("/")
        if request.method != "GET" or len(parts) != 4 or parts[:2] != ["v2", "users"] or parts[3] != "mangalist":
            return json_answer(404, {"message": "", "error": "not_found"})
        if request.headers.get("X-MAL-CLIENT-ID") != self.client_id:
            if not request.headers.get("X-MAL-CLIENT-ID"):
                return json_answer(403, {"message": "", "error": "forbidden"})
            return json_answer(400, {"message": "Invalid client id", "error": "bad_request"})
        name = parts[2].lower()
        with self.lock:
            if name not in self.lists:
                return json_answer(404, {"message": "", "error": "not_found"})
            if name in self.private:
                return json_answer(403, {"message": "", "error": "forbidden"})
            entries = self.lists[name]
        try:
            limit = min(int(request.query.get("limit", ["100"])[-1]), 1000)
            offset = int(request.query.get("offset", ["0"])[-1])
        except ValueError:
            return json_answer(400, {"message": "invalid q", "error": "bad_request"})
        paging = {}
        if offset + limit < len(entries):
            query = {k: v[-1] for k, v in request.query.items()}
            paging["next"] = (
                f"{self.api_url}/users/{parts[2]}/mangalist?{urlencode({**query, 'offset': offset + limit})}"
            )
        return json_answer(200, {"data": entries[offset : offset + limit], "paging": paging})
