"""A stand-in for MANGA Plus's web API, in the shapes docs/sources.md records: protobuf answers.

Served under /api: GET /api/title_detailV3?title_id=<id> answers a Response whose SuccessResult
holds the TitleDetailView (field numbers as scraping/sources/mangaplus.proto; the message is built
with the protobuf library, as the real server's is). A long series lists only its first 3 chapters
and its latest 3, as MANGA Plus does. An unknown id answers a Response with an ErrorResult popup
(HTTP 200, unconfirmed but what the extension handles). `next_release` sets the TitleDetailView's
next_time_stamp. Requests without a SESSION-TOKEN header are refused with 403.
"""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scraping.sources import mangaplus_pb2
from tests.standins.server import StandIn, cover_image, image_answer

FIRST_ID = 100_020
LISTED_AT_EACH_END = 3
_chapter_ids = itertools.count(1_000_001)


def protobuf_answer(message, status=200):
    return status, {"Content-Type": "application/octet-stream"}, message.SerializeToString()


@dataclass
class MangaPlusTitle:
    title_id: int
    name: str
    author: str
    language: int = 0
    status: str = ""  # nonAppearanceInfo
    next_release: datetime | None = None
    one_shot: bool = False
    chapters: list = field(default_factory=list)  # (chapter id, name, subtitle, start epoch), oldest first


class MangaPlusStandIn(StandIn):
    name = "mangaplus"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_id = FIRST_ID

    @property
    def api_url(self):
        return f"{self.url}/api"

    def add_title(
        self, title_id=None, name="ONE PIECE", *, chapters=10, author="Eiichiro Oda", language=0, next_release=None
    ):
        """A title with `chapters` chapters ("#001"...) a week apart up to now."""
        with self.lock:
            if title_id is None:
                title_id, self._next_id = self._next_id, self._next_id + 1
            title = MangaPlusTitle(int(title_id), name, author, language, next_release=next_release)
            self.titles[title.title_id] = title
            now = datetime.now(UTC)
            for n in range(1, chapters + 1):
                self._add(title, now - timedelta(weeks=chapters - n))
            return title

    def _add(self, title, when, name=None):
        number = len(title.chapters) + 1
        chapter = (next(_chapter_ids), name or f"#{number:03d}", f"Chapter {number}: Adventure", int(when.timestamp()))
        title.chapters.append(chapter)
        return chapter

    def add_chapters(self, title_id, count=1):
        with self.lock:
            title = self.titles[int(title_id)]
            return [self._add(title, datetime.now(UTC)) for _ in range(count)]

    def expire(self, title_id, chapter_id):
        """The chapter's free reading ends: MANGA Plus then lists it without a subtitle."""
        with self.lock:
            title = self.titles[int(title_id)]
            title.chapters = [(c[0], c[1], "" if c[0] == chapter_id else c[2], c[3]) for c in title.chapters]

    def set_status(self, title_id, status):
        with self.lock:
            self.titles[int(title_id)].status = status

    def set_next_release(self, title_id, when):
        with self.lock:
            self.titles[int(title_id)].next_release = when

    # Control API

    def add_title_from(self, body):
        title = self.add_title(body.get("id"), body.get("name", "ONE PIECE"), chapters=int(body.get("chapters", 10)))
        return str(title.title_id), len(title.chapters)

    def add_chapters_from(self, title_id, body):
        return [c[1] for c in self.add_chapters(title_id, int(body.get("count", 1)))]

    def describe_titles(self):
        return {str(t.title_id): {"name": t.name, "chapters": len(t.chapters)} for t in self.titles.values()}

    # The API

    def answer(self, request):
        if request.path.startswith("/covers/"):
            return image_answer(cover_image(request.path))
        if not {name.lower() for name in request.headers} >= {"session-token"}:
            return 403, {"Content-Type": "text/plain"}, b"Forbidden"
        if request.path != "/api/title_detailV3":
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        raw_id = (request.query.get("title_id") or [""])[0]
        with self.lock:
            title = self.titles.get(int(raw_id)) if raw_id.isdigit() else None
            if title is None:
                response = mangaplus_pb2.Response()
                response.error.english_popup.subject = "Not Found"
                response.error.english_popup.body = "This title is not available."
                return protobuf_answer(response)
            return protobuf_answer(self.detail(title))

    def detail(self, title):
        response = mangaplus_pb2.Response()
        view = response.success.title_detail_view
        view.title.title_id = title.title_id
        view.title.name = title.name
        view.title.author = title.author
        view.title.portrait_image_url = (
            f"https://jumpg-assets.tokyo-cdn.com/covers/{title.title_id}.jpg?hash=abc&expires=1"
        )
        view.title.language = title.language
        view.overview = f"The story of {title.name}."
        view.non_appearance_info = title.status
        if title.next_release:
            view.next_time_stamp = int(title.next_release.timestamp())
        view.genre_list.add(name="Action", slug="action")
        if title.one_shot:
            view.genre_list.add(name="One-shot", slug="one-shot")
        group = view.chapter_list_group.add()
        chapters = title.chapters
        first = chapters[:LISTED_AT_EACH_END]
        last = chapters[max(LISTED_AT_EACH_END, len(chapters) - LISTED_AT_EACH_END) :]
        for target, listed in ((group.first_chapter_list, first), (group.last_chapter_list, last)):
            for chapter_id, name, subtitle, start in listed:
                target.add(
                    title_id=title.title_id,
                    chapter_id=chapter_id,
                    name=name,
                    sub_title=subtitle,
                    start_time_stamp=start,
                )
        return response
