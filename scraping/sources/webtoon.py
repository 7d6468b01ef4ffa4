"""WEBTOON (Naver): a series' episodes from its RSS feed, one request a check.

A series is named by its page, `https://www.webtoons.com/<lang>/<genre>/<slug>/list?title_no=<n>`
(Canvas: `/<lang>/canvas/<slug>/list?title_no=<n>`, formerly `/challenge/`). Its feed is the same
path ending in `/rss` (Canvas's under `/challenge/`). Each language is a series of its own. The
feed lists the latest episodes (about 20, unconfirmed): an import stores those, and an episode no
longer listed is not gone.

The parsers come first, pure functions (no Django, no I/O).
"""

import re
from urllib.parse import parse_qs, urlsplit

from django.conf import settings

from scraping.sources.base import Link, Politeness, Request, Source, TitleDetails, TitleSnapshot
from scraping.sources.errors import BadResponse, InvalidTitleReference, TitleNotFound
from scraping.sources.feeds import chapter_of, parse_feed
from scraping.sources.http import honest_user_agent, raise_source_faults
from scraping.sources.values import link_on

SITE = "https://www.webtoons.com"
LANGUAGES = {"en": "en", "es": "es", "fr": "fr", "de": "de", "id": "id", "th": "th", "zh-hant": "zh-hk"}
SERIES_PATH = re.compile(
    r"^/(?P<lang>[a-z]{2}(?:-[a-z]{4})?)/(?P<genre>[a-z0-9-]{1,40})/(?P<slug>[a-z0-9-]{1,60})/list/?$"
)
# What is stored: "<lang>/<genre>/<slug>/<title_no>", the parts its feed's address needs.
SOURCE_ID = re.compile(
    r"^(?P<lang>[a-z]{2}(?:-[a-z]{4})?)/(?P<genre>[a-z0-9-]+)/(?P<slug>[a-z0-9-]+)/(?P<no>[0-9]{1,9})$"
)
NUMBER = re.compile(r"[0-9]{1,9}")  # a title_no or episode_no: ASCII digits ("²" is a digit to str.isdigit)
MAX_ID = 64


def series_id(lang, genre, slug, title_no):
    genre = "canvas" if genre == "challenge" else genre
    source_id = f"{lang}/{genre}/{slug}/{int(title_no)}"
    return source_id if len(source_id) <= MAX_ID else None


def feed_path(source_id):
    lang, genre, slug, title_no = source_id.split("/")
    return f"/{lang}/{'challenge' if genre == 'canvas' else genre}/{slug}/rss", title_no


def parse_series(content, source_id):
    """The details and the listed episodes of a series' RSS feed."""
    feed = parse_feed(content, "WEBTOON")
    lang = source_id.split("/", 1)[0]
    chapters = []
    for entry in feed.entries:
        link = urlsplit(entry.link)
        episode = (parse_qs(link.query).get("episode_no") or [""])[0]
        if not NUMBER.fullmatch(episode):
            continue
        chapters.append(
            chapter_of(
                entry,
                episode,
                number_fallback=episode,
                language=LANGUAGES.get(lang, lang),
                url_path=f"{link.path}?{link.query}" if link.path.endswith("/viewer") else "",
            )
        )
    details = TitleDetails(
        source_id=source_id,
        name=feed.name.removesuffix(" | WEBTOON").strip() or source_id.split("/")[2].replace("-", " ").title(),
        description=feed.description,
        available_languages=[LANGUAGES.get(lang, lang)],
        upload_status="ongoing",
    )
    return TitleSnapshot(details=details, chapters=chapters)


class Webtoon(Source):
    name = "webtoon"
    display_name = "WEBTOON"
    aliases = ("webtoon", "webtoons")
    accepted = (
        "a WEBTOON series page (https://www.webtoons.com/en/fantasy/tower-of-god/list?title_no=95) "
        "or a Canvas one (https://www.webtoons.com/en/canvas/some-story/list?title_no=123456)"
    )

    def hosts(self):
        return {"webtoons.com", "m.webtoons.com"}

    def parse_id(self, text):
        match = SOURCE_ID.match(text)
        return series_id(*match.group("lang", "genre", "slug", "no")) if match else None

    def id_from_url(self, parts, text):
        match = SERIES_PATH.match(parts.path)
        title_no = (parse_qs(parts.query).get("title_no") or [""])[0]
        if not match or not NUMBER.fullmatch(title_no):
            raise InvalidTitleReference(f"{text!r} is not a WEBTOON series page: expected {self.accepted}.")
        lang, genre, slug = match.group("lang", "genre", "slug")
        found = series_id(lang, genre, slug, title_no)
        if found is None:
            raise InvalidTitleReference(f"{text!r}: the series' name in that address is too long for batoshelf.")
        return found

    def base_urls(self):
        return [settings.WEBTOON_URL]

    def politeness(self):
        return Politeness(
            settings.WEBTOON_MIN_DELAY, settings.WEBTOON_MAX_DELAY, settings.WEBTOON_MAX_REQUESTS_PER_HOUR
        )

    def headers(self, base_url, request):
        return {"User-Agent": honest_user_agent(), "Accept": "application/rss+xml, application/xml, text/xml"}

    def prepare_session(self, session):
        # What the site's age gate and consent banner would otherwise put in front of a feed.
        session.cookies.set("ageGatePass", "true")
        session.cookies.set("needGDPR", "false")

    def fetch_title(self, ask, source_id, known):
        path, title_no = feed_path(source_id)
        return ask(
            Request("GET", path, params=(("title_no", title_no),)), lambda answer: read_series(answer, source_id)
        )

    def search(self, ask, query, limit, *, latest=True):
        return []

    def title_url(self, source_id):
        lang, genre, slug, title_no = source_id.split("/")
        return f"{SITE}/{lang}/{genre}/{slug}/list?title_no={title_no}"

    def chapter_link(self, title_source_id, url_path, external_url):
        return Link(link_on(SITE, url_path) or self.title_url(title_source_id))


def read_series(answer, source_id):
    if answer.status in (404, 410):  # its own HTML "not found" page
        raise TitleNotFound(f"WEBTOON has no series {source_id}", status=answer.status)
    raise_source_faults(answer, "WEBTOON")
    if answer.status != 200:
        moved = f" to {answer.headers.get('Location', '')[:200]}" if 300 <= answer.status < 400 else ""
        raise BadResponse(f"WEBTOON answered HTTP {answer.status}{moved} for series {source_id}", status=answer.status)
    return parse_series(answer.content, source_id)


SOURCE = Webtoon()
