"""A stand-in for Bato's GraphQL endpoint (POST /apo/), in the shape the Bato notes in docs/sources.md give.

curl -X POST localhost:8765/_standin/titles/102497/chapters -d '{"count": 2}'
"""

import itertools
import re
from dataclasses import dataclass, field

from tests.standins.server import (
    COMMON_FAULTS,
    StandIn,
    json_answer,
    now_ms,
    weekly_times_ms,
)

DETAILS_FIELD = "get_content_comicNode"
CHAPTERS_FIELD = "get_content_chapterList"
DETAIL_FIELDS = {
    "id",
    "name",
    "altNames",
    "authors",
    "artists",
    "genres",
    "origLang",
    "originalStatus",
    "originalPubFrom",
    "originalPubTill",
    "uploadStatus",
    "readDirection",
    "summary",
    "text",
    "stat_score_val",
    "stat_count_votes",
    "stat_count_follows",
    "stat_count_reviews",
    "stat_count_post_reply",
    "stat_count_scores",
    "stat_count_views",
    "stat_count_emotions",
    "field",
    "count",
}
CHAPTER_FIELDS = {
    "id",
    "dname",
    "title",
    "urlPath",
    "dateCreate",
    "datePublic",
    "isHidden",
    "isDeleted",
    "stat_count_views_guest",
    "stat_count_views_login",
    "stat_count_post_reply",
}
KNOWN_FIELDS = {DETAILS_FIELD, CHAPTERS_FIELD, "data"} | DETAIL_FIELDS | CHAPTER_FIELDS

_chapter_ids = itertools.count(1_900_000)


def slugify(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "title"


@dataclass
class StandInTitle:
    comic_id: str
    details: dict
    chapters: list = field(default_factory=list)

    @property
    def slug(self):
        return slugify(self.details.get("name") or "")

    def add_chapters(self, count, *, published_ms=None, dname_format="Chapter {n}", gap_ms=0):
        added = []
        for _ in range(count):
            n = len(self.chapters) + len(added) + 1
            chapter_id = str(next(_chapter_ids))
            when = (published_ms or now_ms()) + gap_ms * len(added)
            added.append(
                {
                    "id": chapter_id,
                    "data": {
                        "id": chapter_id,
                        "dname": dname_format.format(n=n),
                        "title": "",
                        "urlPath": f"/title/{self.comic_id}-{self.slug}/{chapter_id}-ch_{n}",
                        "dateCreate": when - 60_000,
                        "datePublic": when,
                        "isHidden": False,
                        "isDeleted": False,
                        "stat_count_views_guest": 100 * n,
                        "stat_count_views_login": 40 * n,
                        "stat_count_post_reply": n % 7,
                    },
                }
            )
        self.chapters.extend(added)
        return added


def make_details(comic_id, name, *, status="ongoing", lang="ko", nulls=False):
    if nulls:
        # Every optional field null or missing, as some old titles answer.
        return {
            "id": comic_id,
            "name": name,
            "uploadStatus": None,
            "originalStatus": None,
            "summary": None,
            "altNames": None,
            "genres": None,
            "stat_score_val": None,
        }
    return {
        "id": comic_id,
        "name": name,
        "altNames": ["악녀의 문구점에 오지 마세요!", "悪女の文房具店に来ないでください!"],
        "authors": ["여로은"],
        "artists": ["Studio Ink"],
        "genres": ["adaptation", "comedy", "drama", "slice_of_life"],
        "origLang": lang,
        "originalStatus": status,
        "originalPubFrom": "2022",
        "originalPubTill": None,
        "uploadStatus": status,
        "readDirection": "ttb",
        "summary": {"text": "문구점을 운영하는 악녀의 이야기."},
        "stat_score_val": 8.7822,
        "stat_count_votes": 5590,
        "stat_count_follows": 21034,
        "stat_count_reviews": 12,
        "stat_count_post_reply": 830,
        "stat_count_scores": [{"field": str(i), "count": i * 37} for i in range(1, 11)],
        "stat_count_views": [
            {"field": f, "count": c} for f, c in (("h001", 12), ("d030", 4021), ("d360", 90210), ("d000", 1234567))
        ],
        "stat_count_emotions": [
            {"field": e, "count": c} for e, c in (("upvote", 120), ("funny", 33), ("love", 54), ("sad", 2))
        ],
    }


class BatoStandIn(StandIn):
    """Bato's endpoint. Extra faults: graphql_errors (an errors array), not_found_errors (an unknown
    id answers with an errors entry rather than a null node)."""

    name = "bato"
    faults = COMMON_FAULTS + ("graphql_errors", "not_found_errors")

    def add_title(
        self,
        comic_id,
        name="Please Don't Come To The Villainess' Stationery Store!",
        *,
        chapters=10,
        status="ongoing",
        lang="ko",
        nulls=False,
    ):
        comic_id = str(comic_id)
        with self.lock:
            title = StandInTitle(comic_id, make_details(comic_id, name, status=status, lang=lang, nulls=nulls))
            times = weekly_times_ms(chapters)
            if times:
                title.add_chapters(chapters, published_ms=times[0], gap_ms=times[1] - times[0] if chapters > 1 else 0)
            self.titles[comic_id] = title
            return title

    def add_chapters(self, comic_id, count=1, **kwargs):
        with self.lock:
            return self.titles[str(comic_id)].add_chapters(count, **kwargs)

    def edit_chapter(self, comic_id, chapter_id, **data):
        with self.lock:
            for chapter in self.titles[str(comic_id)].chapters:
                if chapter["id"] == str(chapter_id):
                    chapter["data"].update(data)
                    return chapter
        raise KeyError(chapter_id)

    def set_upload_status(self, comic_id, status):
        with self.lock:
            self.titles[str(comic_id)].details["uploadStatus"] = status

    # Control API

    def add_title_from(self, body):
        title = self.add_title(
            body["id"],
            body.get("name", f"Title {body['id']}"),
            chapters=int(body.get("chapters", 10)),
            status=body.get("status", "ongoing"),
        )
        return title.comic_id, len(title.chapters)

    def add_chapters_from(self, title_id, body):
        return [c["data"]["dname"] for c in self.add_chapters(title_id, int(body.get("count", 1)))]

    def set_status(self, title_id, status):
        self.set_upload_status(title_id, status)

    def describe_titles(self):
        return {
            cid: {"name": t.details.get("name"), "chapters": len(t.chapters), "status": t.details.get("uploadStatus")}
            for cid, t in self.titles.items()
        }

    # The GraphQL endpoint

    def answer(self, request):
        if request.method != "POST" or request.path != "/apo/":
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        return self.graphql(request.body)

    def graphql(self, body):
        """(status, headers, bytes) for a POST /apo/ body."""
        fault = self.fault
        if fault == "graphql_errors":
            return json_answer(200, {"errors": [{"message": "Internal server error: upstream timeout"}], "data": None})
        problem = _validate(body)
        if problem:
            return json_answer(200, {"errors": [{"message": problem}], "data": None})
        comic_id = body["variables"]["id"]
        query = body["query"]
        with self.lock:
            title = self.titles.get(comic_id)
            if title is None and fault == "not_found_errors":
                return json_answer(
                    200, {"errors": [{"message": f"Comic {comic_id} not found"}], "data": {DETAILS_FIELD: None}}
                )
            data = {}
            if DETAILS_FIELD in query:
                data[DETAILS_FIELD] = {"id": comic_id, "data": dict(title.details)} if title else None
            if CHAPTERS_FIELD in query:
                data[CHAPTERS_FIELD] = (
                    [{"id": c["id"], "data": dict(c["data"])} for c in title.chapters] if title else None
                )
        return json_answer(200, {"data": data})


def _validate(body):
    """A GraphQL error message for a request the real endpoint would refuse, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return "Must provide query string."
    query = body["query"]
    if "String!" in query:
        return 'Variable "$id" of type "String!" used in position expecting type "ID!".'
    variables = body.get("variables")
    if not isinstance(variables, dict) or not isinstance(variables.get("id"), str):
        return 'Variable "$id" of required type "ID!" was not provided.'
    selection = re.sub(r"\([^)]*\)", "", query)  # arguments
    selection = re.sub(r"^\s*query\s*\w*", "", selection)  # operation header
    unknown = sorted(set(re.findall(r"[A-Za-z_]\w*", selection)) - KNOWN_FIELDS)
    if unknown:
        return f'Cannot query field "{unknown[0]}".'
    return None
