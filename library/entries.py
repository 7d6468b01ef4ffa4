"""A title of a library being brought in, as the file or list it comes from gives it: pure, no Django.

Every format (a Mihon backup, a Kenmei CSV, an AniList or MyAnimeList list, a MangaDex list, a plain
file, batoshelf's own export) is read into `Entry`s; matching turns each into a title to follow.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from scraping.sources.values import UNSHOWABLE

# The reading statuses of readers.models.Status, by the words other trackers use for them.
STATUSES = {
    "reading": "reading",
    "current": "reading",
    "repeating": "reading",
    "rereading": "reading",
    "planned": "planned",
    "plan_to_read": "planned",
    "planning": "planned",
    "on_hold": "on_hold",
    "paused": "on_hold",
    "completed": "completed",
    "complete": "completed",
    "dropped": "dropped",
}
# The largest chapter number batoshelf stores (readers.models.MAX_NUMBER).
MAX_PROGRESS = Decimal("999999.99")
MAX_NAME = 500
MAX_SHELF = 60


class LibraryRefused(ValueError):
    """A file or list that cannot be read as a library; the message says why in a sentence or two."""


@dataclass(frozen=True)
class Entry:
    """One title as a library lists it.

    `refs`: (source, id) pairs that name it on a source batoshelf follows ("mangadex", uuid);
    `links`: its ids elsewhere, to confirm a match found by name ("al", "30013"), ("mal", "13");
    `progress`: the last chapter read; `settings`: what batoshelf's own export carries beyond that.
    """

    names: tuple[str, ...] = ()
    refs: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    year: int | None = None
    status: str = ""
    progress: Decimal | None = None
    shelves: tuple[str, ...] = ()
    muted: bool = False
    settings: dict = field(default_factory=dict)
    unreadable: str = ""  # why the line it came from names no title: it is shown as not found, with this

    @property
    def name(self) -> str:
        return self.names[0] if self.names else ""


def status_of(word) -> str:
    """Our reading status for another tracker's word ("CURRENT", "plan_to_read"); "" when unknown."""
    return STATUSES.get(re.sub(r"[\s-]+", "_", str(word or "").strip().lower()), "")


def progress_of(value) -> Decimal | None:
    """A last-read chapter number from text or a number ("58", 58.0, "10.5"); None for none or nonsense."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number <= 0:
        return None
    # Compared before it is rounded: 1e30 has more digits than rounding to hundredths can hold.
    return MAX_PROGRESS if number > MAX_PROGRESS else number.quantize(Decimal("0.01"))


def clean_names(*names) -> tuple[str, ...]:
    """Names with their spaces tidied, empty ones and repeats dropped, each at most MAX_NAME long."""
    seen, kept = set(), []
    for name in names:
        text = " ".join(UNSHOWABLE.sub("", str(name or "")).split())[:MAX_NAME]
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return tuple(kept)


def clean_shelves(names) -> tuple[str, ...]:
    tidied = (" ".join(UNSHOWABLE.sub("", str(n)).split())[:MAX_SHELF] for n in names)
    return tuple(dict.fromkeys(name for name in tidied if name))
