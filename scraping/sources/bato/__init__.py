"""Bato: one GraphQL POST gives a title's details and its whole chapter list.

Bato and all its mirrors stopped answering on 2026-01-18. It stays a source
for the shelves that had it and for the day it returns; its titles can move to
a live source ("find on another source"). It has no documented search.
"""

from django.conf import settings

from scraping.sources.base import Link, Politeness, Request, Source
from scraping.sources.bato.parsing import BARE_ID, TITLE_PATH, TITLE_QUERY, parse_title_response
from scraping.sources.errors import InvalidTitleReference
from scraping.sources.http import read_json
from scraping.sources.values import link_on

# What the site's own web client sends; a bare python-requests agent is blocked sooner.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Safari/537.36"
)


class Bato(Source):
    name = "bato"
    display_name = "Bato"
    aliases = ("bato",)
    accepted = "a Bato title URL on a known mirror (https://bato.to/title/110100-some-slug) or a Bato id (110100)"

    def hosts(self):
        return {mirror.lower().removeprefix("www.") for mirror in settings.BATO_MIRRORS}

    def parse_id(self, text):
        return str(int(text)) if BARE_ID.match(text) else None

    def id_from_url(self, parts, text):
        match = TITLE_PATH.match(parts.path)
        if not match:
            raise InvalidTitleReference(
                f"{text!r} is not a Bato title page: expected https://bato.to/title/110100-some-slug "
                "or https://bato.to/series/72315/some-slug."
            )
        return str(int(match.group("title") or match.group("series")))

    def base_urls(self):
        return settings.BATO_SITE_URLS

    def politeness(self):
        return Politeness(settings.BATO_MIN_DELAY, settings.BATO_MAX_DELAY, settings.BATO_MAX_REQUESTS_PER_HOUR)

    def headers(self, base_url, request):
        comic_id = request.body["variables"]["id"]
        return {
            "User-Agent": BROWSER_USER_AGENT,
            "Accept": "application/json",
            "Origin": base_url,
            "Referer": f"{base_url}/title/{comic_id}",
        }

    def prepare_session(self, session):
        # A cookie, not a fixed header: the site's own cookies (Cloudflare's) then come back too.
        session.cookies.set("theme", "dark")

    def fetch_title(self, ask, source_id, known):
        request = Request("POST", "/apo/", body={"query": TITLE_QUERY, "variables": {"id": str(source_id)}})
        return ask(request, lambda answer: read_json(
            answer, "Bato", lambda payload: parse_title_response(payload, str(source_id))))

    def search(self, ask, query, limit):
        return []

    def title_url(self, source_id):
        return f"{settings.BATO_SITE_URLS[0]}/title/{source_id}"

    def chapter_link(self, title_source_id, url_path, external_url):
        return Link(link_on(settings.BATO_SITE_URLS[0], url_path) or self.title_url(title_source_id))


SOURCE = Bato()
