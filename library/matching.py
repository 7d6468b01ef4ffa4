"""Which title an imported entry is: pure rules, no Django; the searches are handed in.

By id first: an entry that names a title on a source batoshelf follows is that title (on a live
source when it names one there: a MangaDex UUID, a MangaUpdates id; else where it names it, as an
export's WEBTOON title or feed). Else by its names, searched on the live sources: a candidate that carries the entry's
AniList or MyAnimeList id among its links is a match; a candidate found by name only is "uncertain"
and waits for the reader; nothing found is "not found", saying what was tried.
"""

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from library.entries import Entry

MATCHED, UNCERTAIN, NOT_FOUND, ALREADY = "matched", "uncertain", "not_found", "already"
CANDIDATES_KEPT = 5
NAMES_SEARCHED = 2


@dataclass(frozen=True)
class Match:
    match: str
    ref: tuple[str, str] | None = None
    candidates: list = field(default_factory=list)  # Candidate dicts, best first
    tried: str = ""


# search(source name, query) -> [Candidate dicts]; raises nothing (a source that fails finds nothing).
Search = Callable[[str, str], list]


def match_entry(entry: Entry, search: Search, *, live: Mapping[str, str], on_shelf: set) -> Match:
    """The Match of `entry`: `live` names the sources searched (in order, each with the name a reader
    knows it by), `on_shelf` holds the (source, id) of every title the reader follows."""
    if entry.unreadable:
        return Match(NOT_FOUND, tried=entry.unreadable)
    if entry.refs:  # by its id, on a live source if it has one there, else where it names (an export's WEBTOON)
        ref = next((ref for ref in entry.refs if ref[0] in live), entry.refs[0])
        return Match(ALREADY if ref in on_shelf else MATCHED, ref)
    names = entry.names[:NAMES_SEARCHED]
    if not names:
        return Match(NOT_FOUND, tried="it has no name to search for")
    links = set(entry.links)
    found: dict[tuple[str, str], dict] = {}
    for name in names:
        for source in live:
            for candidate in search(source, name):
                key = (candidate["source"], candidate["source_id"])
                found.setdefault(key, candidate)
                if links & {tuple(link) for link in candidate.get("links", ())}:
                    return Match(ALREADY if key in on_shelf else MATCHED, key, [candidate])
        if found and not links:
            break  # found by the first name; no id to confirm it by, so the other names would add nothing
    if not found:
        searched = " and ".join(f"“{n}”" for n in names)
        return Match(NOT_FOUND, tried=f"searched {' and '.join(live.values())} for {searched}")
    ranked = sorted(found.values(), key=lambda c: closeness(entry, c), reverse=True)[:CANDIDATES_KEPT]
    return Match(UNCERTAIN, candidates=ranked)


def folded(text: str) -> str:
    """A name as compared: case, accents, punctuation and spacing set aside."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def closeness(entry: Entry, candidate: dict) -> tuple:
    """How well a candidate fits: the same name (in any language), then the same year."""
    wanted = {folded(n) for n in entry.names} - {""}
    names = {folded(candidate.get("name", ""))} | {folded(a.get("name", "")) for a in candidate.get("alt_names", ())}
    same_name = bool(wanted & names)
    same_year = entry.year is not None and candidate.get("year") == entry.year
    return (same_name, same_year)
