"""RSS 2.0 and Atom feeds, read by feedparser: what the publishers' per-series feeds (WEBTOON, Tapas)
share. Pure: bytes in, records out (no Django, no I/O).

A feed lists the latest episodes only (WEBTOON's about 20, unconfirmed): an episode no longer listed
is not gone. feedparser is always given the bytes, never a URL: it would fetch one itself.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from scraping.sources.base import ChapterRecord
from scraping.sources.errors import BadResponse
from scraping.sources.values import chapter_number_in


@dataclass(frozen=True)
class Entry:
    """One item of a feed: its id (or link), title, link and date."""

    key: str
    title: str
    link: str
    published_at: datetime | None


@dataclass(frozen=True)
class Feed:
    name: str
    description: str
    link: str
    image: str
    entries: list  # of Entry, as the feed lists them


def parse_feed(content: bytes, who: str) -> Feed:
    """The feed in an answer's bytes; BadResponse when they are no RSS or Atom feed."""
    parsed = feedparser.parse(bytes(content))
    channel = parsed.get("feed") or {}
    if not parsed.get("version") or not isinstance(channel, dict):
        raise BadResponse(f"{who}'s answer is not an RSS or Atom feed (a web page? give its feed's address)")
    entries = []
    for item in parsed.get("entries") or []:
        link = str(item.get("link") or "")
        key = str(item.get("id") or link)
        if key:
            entries.append(Entry(key, str(item.get("title") or "").strip(), link, _when(item)))
    return Feed(
        name=str(channel.get("title") or "").strip(),
        description=str(channel.get("subtitle") or channel.get("description") or "").strip(),
        link=str(channel.get("link") or ""),
        image=str((channel.get("image") or {}).get("href") or ""),
        entries=entries,
    )


def _when(item: Any) -> datetime | None:
    moment = item.get("published_parsed") or item.get("updated_parsed")
    if not moment:
        return None
    try:
        return datetime(*moment[:6]).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def chapter_of(
    entry: Entry, source_id: str, *, number_fallback: Any = None, language: str = "", url_path: str = ""
) -> ChapterRecord:
    """A feed entry as a chapter: its number read from its title ("Ep. 12", "Episode 12"), else
    `number_fallback` (a site's own episode count)."""
    number = chapter_number_in(entry.title)
    if number is None and number_fallback is not None:
        number = chapter_number_in(str(number_fallback))
    return ChapterRecord(
        source_id=source_id,
        name=entry.title[:300] or f"Episode {source_id}",
        number=number,
        language=language,
        published_at=entry.published_at,
        url_path=url_path,
    )
