"""Stand-ins for the publishers that give a series as an RSS 2.0 feed: WEBTOON and Tapas, in the
shapes docs/sources.md records. Each feed lists the latest 20 episodes (WEBTOON's count is
unconfirmed), newest first, with title, link, guid and pubDate.

WEBTOON: GET /<lang>/<genre>/<slug>/rss?title_no=<n> (Canvas: /<lang>/challenge/<slug>/rss), each
item's link the episode's viewer (…/viewer?title_no=<n>&episode_no=<e>).
Tapas: GET /series/<slug> (an HTML page carrying the series id in its tapastic:// app link) and
GET /rss/series/<id>, each item's link https://tapas.io/episode/<id>.
"""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.etree import ElementTree

from tests.standins.server import StandIn

LISTED = 20
_episode_ids = itertools.count(2_000_001)


@dataclass
class FeedSeries:
    key: str  # what the feed's address names: WEBTOON's title_no, Tapas's series id
    name: str
    path: str  # WEBTOON: /<lang>/<genre>/<slug>; Tapas: the slug
    episodes: list = field(default_factory=list)  # (episode id, title, when), oldest first


def rss(series, link_of):
    root = ElementTree.Element("rss", version="2.0")
    channel = ElementTree.SubElement(root, "channel")
    ElementTree.SubElement(channel, "title").text = series.name
    ElementTree.SubElement(channel, "description").text = f"The story of {series.name}."
    ElementTree.SubElement(channel, "link").text = link_of(None)
    for episode_id, title, when in reversed(series.episodes[-LISTED:]):
        item = ElementTree.SubElement(channel, "item")
        ElementTree.SubElement(item, "title").text = title
        ElementTree.SubElement(item, "link").text = link_of(episode_id)
        ElementTree.SubElement(item, "guid").text = link_of(episode_id)
        ElementTree.SubElement(item, "pubDate").text = format_datetime(when)
    body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, body


class FeedStandIn(StandIn):
    """What the two share: series with episodes a week apart, new ones now."""

    episode_name = "Episode {n}"

    def add_series(self, key, name, path, episodes=10):
        with self.lock:
            series = FeedSeries(str(key), name, path)
            self.titles[series.key] = series
            now = datetime.now(UTC)
            for n in range(1, episodes + 1):
                self._add(series, now - timedelta(weeks=episodes - n))
            return series

    def _add(self, series, when):
        n = len(series.episodes) + 1
        episode = (self.episode_id(series, n), self.episode_name.format(n=n), when)
        series.episodes.append(episode)
        return episode

    def add_chapters(self, key, count=1):
        with self.lock:
            series = self.titles[str(key)]
            return [self._add(series, datetime.now(UTC)) for _ in range(count)]

    def add_title_from(self, body):
        series = self.add_series(body["id"], body.get("name", "A Series"), body.get("path", "a-series"))
        return series.key, len(series.episodes)

    def add_chapters_from(self, title_id, body):
        return [e[1] for e in self.add_chapters(title_id, int(body.get("count", 1)))]

    def set_status(self, title_id, status):
        raise KeyError(title_id)  # a feed has no status

    def describe_titles(self):
        return {key: {"name": s.name, "chapters": len(s.episodes)} for key, s in self.titles.items()}


class WebtoonStandIn(FeedStandIn):
    name = "webtoon"
    episode_name = "Ep. {n}"

    def add_title(
        self, title_no=95, name="Tower of God", *, lang="en", genre="fantasy", slug="tower-of-god", episodes=10
    ):
        return self.add_series(
            title_no, name, f"/{lang}/{'challenge' if genre == 'canvas' else genre}/{slug}", episodes
        )

    def episode_id(self, series, n):
        return n  # WEBTOON numbers a series' episodes 1, 2, 3…

    def answer(self, request):
        title_no = (request.query.get("title_no") or [""])[0]
        series = self.titles.get(title_no)
        if series is None or request.path != f"{series.path}/rss":
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"
        slug_path = series.path.replace("/challenge/", "/canvas/")
        return rss(
            series,
            lambda e: (
                f"https://www.webtoons.com{slug_path}/list?title_no={series.key}"
                if e is None
                else f"https://www.webtoons.com{slug_path}/episode-{e}/viewer?title_no={series.key}&episode_no={e}"
            ),
        )


class TapasStandIn(FeedStandIn):
    name = "tapas"

    def add_title(self, series_id=12345, name="Some Story", *, slug="some-story", episodes=10):
        return self.add_series(series_id, name, slug, episodes)

    def episode_id(self, series, n):
        return next(_episode_ids)

    def answer(self, request):
        with self.lock:
            by_slug = {s.path: s for s in self.titles.values()}
        if request.path.startswith("/series/"):
            series = by_slug.get(request.path.removeprefix("/series/").strip("/"))
            if series is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"
            page = (
                f'<html><head><meta property="al:android:url" content="tapastic://series/{series.key}/info">'
                f"<title>{series.name} | Tapas</title></head><body><h1>{series.name}</h1></body></html>"
            )
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
        series = self.titles.get(request.path.removeprefix("/rss/series/").strip("/"))
        if series is None or not request.path.startswith("/rss/series/"):
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"
        return rss(
            series,
            lambda e: f"https://tapas.io/series/{series.path}" if e is None else f"https://tapas.io/episode/{e}",
        )


class SiteFeedStandIn(FeedStandIn):
    """Any site's own feed (a scanlation site's WordPress `/feed/`): GET /feed/<key>, Atom or RSS 2.0, with
    an ETag and a Last-Modified that change with each new entry, and 304 for a client that has them."""

    name = "feed"
    episode_name = "Series Name Chapter {n}"

    def __init__(self, *args, atom=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.atom = atom
        self.moved_to = None  # a URL: answer 301 there

    def add_title(self, key="series", name="Series Name", episodes=10):
        return self.add_series(key, name, key, episodes)

    def episode_id(self, series, n):
        return f"https://scans.example.org/series/chapter-{n}/"

    def validators(self, series):
        last = series.episodes[-1][2] if series.episodes else datetime(2020, 1, 1, tzinfo=UTC)
        return f'"{series.key}-{len(series.episodes)}"', format_datetime(last, usegmt=True)

    def answer(self, request):
        if self.moved_to:
            return 301, {"Location": self.moved_to, "Content-Type": "text/html"}, b"<html>Moved</html>"
        with self.lock:
            series = self.titles.get(request.path.removeprefix("/feed/").strip("/"))
            if series is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"
            etag, modified = self.validators(series)
            headers = {name.lower(): value for name, value in request.headers.items()}
            if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers and headers.get("if-modified-since") == modified
            ):
                return 304, {"ETag": etag, "Last-Modified": modified}, b""
            status, answer_headers, body = (
                self.atom_feed(series) if self.atom else rss(series, lambda e: e or "https://scans.example.org/series/")
            )
        return status, {**answer_headers, "ETag": etag, "Last-Modified": modified}, body

    def atom_feed(self, series):
        ns = "http://www.w3.org/2005/Atom"
        root = ElementTree.Element("feed", xmlns=ns)
        ElementTree.SubElement(root, "title").text = series.name
        for episode_id, title, when in reversed(series.episodes[-LISTED:]):
            entry = ElementTree.SubElement(root, "entry")
            ElementTree.SubElement(entry, "id").text = f"tag:scans.example.org,2026:{episode_id}"
            ElementTree.SubElement(entry, "title").text = title
            ElementTree.SubElement(entry, "link", href=episode_id)
            ElementTree.SubElement(entry, "updated").text = when.isoformat()
        body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        return 200, {"Content-Type": "application/atom+xml; charset=utf-8"}, body
