"""Where a reader is in a title, and how many chapters are unread: pure functions, no Django.

A follow reads some of a title's chapters: those in its languages, from the groups it keeps, and
not taken down. Progress is a chapter number (everything up to it is read) plus marks on single
chapters that say otherwise: a numbered chapter's mark stands for its number, one without a number
is read only when marked. Unread chapters are counted by distinct number, so a second group's upload
of chapter 12 never adds one; each chapter without a number counts on its own.

`ChapterIndex` is built once per title and set of filters; counting a follow with it costs a
binary search and a look at its marks, so a check can recount a thousand followers at once.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from scraping.sources.values import numbers_covered

# A chapter dated further ahead than this is a placeholder date (9999-12-31), not the latest chapter.
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class ChapterFacts:
    """What progress needs of a stored chapter."""

    pk: int
    number: Decimal | None
    number_from: Decimal | None
    language: str
    groups: tuple[str, ...]
    available: bool
    published_at: datetime | None

    @property
    def numbers(self) -> frozenset[Decimal]:
        return numbers_covered(self.number_from, self.number)


@dataclass(frozen=True)
class Reads:
    """Which of a title's chapters a follow reads: its languages (empty: all), groups kept or ignored."""

    languages: frozenset[str] = frozenset()
    groups_only: frozenset[str] = frozenset()
    groups_ignored: frozenset[str] = frozenset()

    @classmethod
    def of(cls, languages: Iterable[str], groups_only: Iterable[str], groups_ignored: Iterable[str]) -> "Reads":
        return cls(frozenset(languages), frozenset(groups_only), frozenset(groups_ignored))

    def includes(self, chapter: ChapterFacts) -> bool:
        if not chapter.available or (self.languages and chapter.language not in self.languages):
            return False
        groups = set(chapter.groups)
        if self.groups_only and not groups & self.groups_only:
            return False
        return not (self.groups_ignored and groups and groups <= self.groups_ignored)


@dataclass(frozen=True)
class Standing:
    """Where one follow is: unread chapters, and the newest chapter it reads."""

    unread_count: int
    latest: ChapterFacts | None


@dataclass
class ChapterIndex:
    """The chapters one set of filters reads, arranged for counting many follows fast."""

    chapters: list[ChapterFacts]
    now: datetime
    numbers: list[Decimal] = field(init=False)
    unnumbered: set[int] = field(init=False)
    by_pk: dict[int, ChapterFacts] = field(init=False)
    latest: ChapterFacts | None = field(init=False)

    def __post_init__(self) -> None:
        self.by_pk = {c.pk: c for c in self.chapters}
        self.numbers = sorted({n for c in self.chapters for n in c.numbers})
        self.unnumbered = {c.pk for c in self.chapters if c.number is None}
        # The same for every follow counted with this index: found once.
        self.latest = self._latest_released()

    @classmethod
    def build(cls, chapters: Iterable[ChapterFacts], reads: Reads, now: datetime) -> "ChapterIndex":
        return cls([c for c in chapters if reads.includes(c)], now)

    @property
    def highest(self) -> Decimal | None:
        return self.numbers[-1] if self.numbers else None

    def _latest_released(self) -> ChapterFacts | None:
        """The newest chapter by its release (placeholder dates far ahead are not), ties by number."""
        released = [c for c in self.chapters if c.published_at is None or c.published_at <= self.now + FUTURE_SLACK]
        if not released:
            return None
        return max(
            released,
            key=lambda c: (c.published_at or datetime.min.replace(tzinfo=self.now.tzinfo), c.number or -1, c.pk),
        )

    def marks_by_number(self, marks: Mapping[int, bool]) -> dict[Decimal, bool]:
        """The marks on numbered chapters this index holds, as number → read."""
        return {n: read for pk, read in marks.items() if pk in self.by_pk for n in self.by_pk[pk].numbers}

    def is_read(self, chapter: ChapterFacts, last_read: Decimal | None, marks: Mapping[int, bool]) -> bool:
        if chapter.number is None:
            return marks.get(chapter.pk, False)
        by_number = self.marks_by_number(marks)
        return all(by_number.get(n, last_read is not None and n <= last_read) for n in chapter.numbers)

    def standing(self, last_read: Decimal | None, marks: Mapping[int, bool]) -> Standing:
        """Unread chapters: the numbers past `last_read` (a mark says otherwise), and each chapter
        without a number that is not marked read."""
        unread = len(self.numbers) - (bisect_right(self.numbers, last_read) if last_read is not None else 0)
        for number, read in self.marks_by_number(marks).items():
            default = last_read is not None and number <= last_read
            unread += (not read and default) - (read and not default)
        unread += len(self.unnumbered) - sum(1 for pk, read in marks.items() if read and pk in self.unnumbered)
        return Standing(max(0, unread), self.latest)


@dataclass(frozen=True)
class Move:
    """A change of progress: the new last number read, and the marks to set (pk → read) or drop."""

    last_read: Decimal | None
    set_marks: dict[int, bool] = field(default_factory=dict)
    drop_numbered_marks: bool = False  # every mark on a numbered chapter goes
    drop_all_marks: bool = False


def at_number(number: Decimal) -> Move:
    """ "I'm at chapter N": everything numbered up to N is read, nothing past it."""
    return Move(last_read=number, drop_numbered_marks=True)


def caught_up(index: ChapterIndex) -> Move:
    """Everything so far is read, chapters without a number too."""
    return Move(last_read=index.highest, set_marks=dict.fromkeys(index.unnumbered, True), drop_numbered_marks=True)


def start_over() -> Move:
    return Move(last_read=None, drop_all_marks=True)


def read_up_to(index: ChapterIndex, chapter: ChapterFacts, last_read: Decimal | None) -> Move:
    """ "Read up to here": this chapter and every one released before it is read."""
    cutoff = chapter.published_at
    earlier = [
        c.pk
        for c in index.chapters
        if c.number is None and (c.pk == chapter.pk or (cutoff and c.published_at and c.published_at <= cutoff))
    ]
    number = max(chapter.numbers) if chapter.numbers else last_read
    if number is not None and last_read is not None and number < last_read:
        number = last_read  # reading up to an earlier chapter never moves progress back
    return Move(last_read=number, set_marks=dict.fromkeys(earlier, True), drop_numbered_marks=True)


def mark(
    index: ChapterIndex, chapter: ChapterFacts, read: bool, last_read: Decimal | None, marks: Mapping[int, bool]
) -> Move:
    """Mark one chapter read or unread. A numbered chapter read right after the progress moves the
    progress on (past every read number that follows)."""
    if chapter.number is None:
        return Move(last_read=last_read, set_marks={chapter.pk: read})
    same_number = [c.pk for c in index.chapters if c.numbers & chapter.numbers]
    new_marks = {**marks, **dict.fromkeys(same_number, read)}
    if not read:
        return Move(last_read=last_read, set_marks=dict.fromkeys(same_number, False))
    by_number = index.marks_by_number(new_marks)
    position = last_read
    for number in index.numbers:
        if position is not None and number <= position:
            continue
        if not by_number.get(number, False):
            break
        position = number
    if position == last_read or position is None:
        return Move(last_read=last_read, set_marks=dict.fromkeys(same_number, True))
    # Progress moved past these: the marks up to it say nothing more; those beyond stay.
    kept = {pk: r for pk, r in new_marks.items() if pk in index.by_pk and index.by_pk[pk].number is None}
    kept |= {
        pk: r
        for pk, r in new_marks.items()
        if pk in index.by_pk and index.by_pk[pk].numbers and min(index.by_pk[pk].numbers) > position
    }
    return Move(last_read=position, set_marks=kept, drop_all_marks=True)
