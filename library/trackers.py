"""Reading a reader's public list on AniList or MyAnimeList: the requests, and their answers as Entries.

Neither is a source of chapters: batoshelf reads a list once, when a reader brings it in, through the
same HTTP shell as the sources (bounded answers, a deadline), a few requests at most, spaced out.

- AniList: one GraphQL query, `MediaListCollection(userName:, type: MANGA)`, no login; the whole
  list comes in one answer. AniList allows 30 to 90 requests a minute.
- MyAnimeList: `GET /users/{name}/mangalist?fields=list_status`, 1,000 a page, with the
  `X-MAL-CLIENT-ID` header of a client id the operator registers (MAL_CLIENT_ID).
"""

import re
import time
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings

from library.entries import Entry, LibraryRefused, clean_names, clean_shelves, progress_of, status_of
from scraping.sources.base import Request
from scraping.sources.errors import SourceError
from scraping.sources.http import honest_user_agent, json_of, send
from scraping.sources.values import whole_number

NO_MAL_CLIENT_ID = (
    "Reading MyAnimeList lists needs a MyAnimeList client id, which whoever runs this batoshelf registers "
    "at https://myanimelist.net/apiconfig and sets as MAL_CLIENT_ID. Meanwhile, export the list from "
    "MyAnimeList, or bring it in through AniList."
)
USER_NAME = re.compile(r"[A-Za-z0-9_-]{2,40}")
MAL_PAGE = 1000
MAL_MAX_PAGES = 10
PAGE_GAP = 2.0  # seconds between two pages of one list
TIMEOUT = 20

ANILIST_QUERY = """
query ($userName: String) {
  MediaListCollection(userName: $userName, type: MANGA) {
    lists {
      name isCustomList
      entries {
        status progress customLists
        media { id idMal format synonyms title { romaji english native } startDate { year } }
      }
    }
  }
}
"""


class Tracker:
    """What the HTTP shell asks of whoever it sends for."""

    name = ""
    display_name = ""

    def prepare_session(self, session):
        pass

    def headers(self, base_url, request):
        return {"User-Agent": honest_user_agent(), "Accept": "application/json"}

    def may_connect(self, address):
        return True  # the trackers' own configured API hosts

    def fetch(self, request, base_url):
        """The JSON answer to one request, or LibraryRefused saying why there is none."""
        try:
            answer = send(self, base_url, request, timeout=TIMEOUT)
            return answer.status, json_of(answer, self.display_name)
        except SourceError as error:
            raise LibraryRefused(f"{self.display_name} did not answer usefully: {error}") from None


class AniList(Tracker):
    name, display_name = "anilist", "AniList"

    def read_list(self, user_name):
        """(entries, requests made) of `user_name`'s public manga list."""
        user_name = checked_name(user_name, self.display_name)
        status, payload = self.fetch(
            Request("POST", "", body={"query": ANILIST_QUERY, "variables": {"userName": user_name}}),
            settings.ANILIST_API_URL,
        )
        return parse_anilist(status, payload, user_name), 1


class MyAnimeList(Tracker):
    name, display_name = "myanimelist", "MyAnimeList"

    def headers(self, base_url, request):
        return {**super().headers(base_url, request), "X-MAL-CLIENT-ID": settings.MAL_CLIENT_ID}

    def read_list(self, user_name):
        if not settings.MAL_CLIENT_ID:
            raise LibraryRefused(NO_MAL_CLIENT_ID)
        user_name = checked_name(user_name, self.display_name)
        base = settings.MAL_API_URL.rstrip("/")
        request = Request(
            "GET",
            f"/users/{user_name}/mangalist",
            (("fields", "list_status,alternative_titles,start_date"), ("limit", str(MAL_PAGE)), ("nsfw", "true")),
        )
        entries, requests = [], 0
        while request and requests < MAL_MAX_PAGES:
            if requests:
                time.sleep(PAGE_GAP)
            status, payload = self.fetch(request, base)
            requests += 1
            page, following = parse_mal(status, payload, user_name)
            entries.extend(page)
            request = next_page(following, base)
        return entries, requests


def checked_name(user_name, where):
    user_name = (user_name or "").strip().lstrip("@")
    if not USER_NAME.fullmatch(user_name):
        raise LibraryRefused(f"“{user_name[:40]}” is not a {where} user name (letters, digits, _ and -).")
    return user_name


def parse_anilist(status, payload, user_name) -> list[Entry]:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        said = " ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))[:200]
        if "private" in said.lower():
            raise LibraryRefused(f"{user_name}'s AniList list is private: make it public, or export it instead.")
        if "not found" in said.lower() or status == 404:
            raise LibraryRefused(f"AniList has no user “{user_name}”.")
        raise LibraryRefused(f"AniList answered: {said or f'HTTP {status}'}")
    collection = ((payload or {}).get("data") or {}).get("MediaListCollection") if isinstance(payload, dict) else None
    if status != 200 or not isinstance(collection, dict):
        raise LibraryRefused(f"AniList's answer (HTTP {status}) holds no list.")
    entries = {}
    for group in collection.get("lists") or []:
        for item in (group or {}).get("entries") or [] if isinstance(group, dict) else []:
            entry = anilist_entry(item)
            if entry and entry.links[0] not in entries:
                entries[entry.links[0]] = entry
    return list(entries.values())


def anilist_entry(item) -> Entry | None:
    media = item.get("media") if isinstance(item, dict) else None
    if not isinstance(media, dict) or not isinstance(media.get("id"), int) or media.get("format") == "NOVEL":
        return None
    titles = media.get("title") if isinstance(media.get("title"), dict) else {}
    links = [("al", str(media["id"]))]
    if isinstance(media.get("idMal"), int):
        links.append(("mal", str(media["idMal"])))
    custom = item.get("customLists")
    year = (media.get("startDate") or {}).get("year") if isinstance(media.get("startDate"), dict) else None
    return Entry(
        names=clean_names(
            titles.get("english"), titles.get("romaji"), titles.get("native"), *(media.get("synonyms") or [])[:5]
        ),
        links=tuple(links),
        year=year if isinstance(year, int) else None,
        status=status_of(item.get("status")),
        progress=progress_of(item.get("progress")),
        shelves=clean_shelves(name for name, on in custom.items() if on is True) if isinstance(custom, dict) else (),
    )


def parse_mal(status, payload, user_name) -> tuple[list[Entry], str]:
    """(entries of one page, the next page's URL or "")."""
    if status == 404:
        raise LibraryRefused(f"MyAnimeList has no user “{user_name}”.")
    if status == 403:
        raise LibraryRefused(
            f"MyAnimeList refused to show {user_name}'s list: it may be private, or the client id is not valid."
        )
    if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        said = payload.get("message") if isinstance(payload, dict) else ""
        raise LibraryRefused(f"MyAnimeList answered HTTP {status}{f': {said}' if said else ''}.")
    entries = [entry for item in payload["data"] if (entry := mal_entry(item))]
    paging = payload.get("paging") if isinstance(payload.get("paging"), dict) else {}
    following = paging.get("next")
    return entries, following if isinstance(following, str) else ""


def mal_entry(item) -> Entry | None:
    node = item.get("node") if isinstance(item, dict) else None
    if not isinstance(node, dict) or not isinstance(node.get("id"), int):
        return None
    listed = item.get("list_status") if isinstance(item.get("list_status"), dict) else {}
    alternative = node.get("alternative_titles") if isinstance(node.get("alternative_titles"), dict) else {}
    start = str(node.get("start_date") or "")[:4]
    return Entry(
        names=clean_names(
            node.get("title"), alternative.get("en"), alternative.get("ja"), *(alternative.get("synonyms") or [])[:5]
        ),
        links=(("mal", str(node["id"])),),
        year=whole_number(start, digits=4),
        status=status_of(listed.get("status")),
        progress=progress_of(listed.get("num_chapters_read")),
    )


def next_page(following, base):
    """The next page's Request, when MyAnimeList's `paging.next` is on the same host as the API."""
    if not following:
        return None
    parts, own = urlsplit(following), urlsplit(base)
    if (parts.scheme, parts.netloc) != (own.scheme, own.netloc) or not parts.path.startswith(own.path):
        return None
    return Request("GET", parts.path[len(own.path) :], tuple(parse_qsl(parts.query)))
