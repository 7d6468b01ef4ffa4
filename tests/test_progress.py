"""Where a reader is in a title and what is unread: the pure rules (readers.progress)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from readers import progress
from readers.progress import ChapterFacts, ChapterIndex, Reads

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def chapter(pk, number=None, *, first=None, language="en", groups=("A",), available=True, days_ago=None):
    return ChapterFacts(
        pk=pk,
        number=None if number is None else Decimal(str(number)),
        number_from=None if first is None else Decimal(str(first)),
        language=language,
        groups=tuple(groups),
        available=available,
        published_at=NOW - timedelta(days=pk if days_ago is None else days_ago),
    )


EVERY_CHAPTER = Reads()


def unread(chapters, last_read=None, marks=None, reads=EVERY_CHAPTER):
    index = ChapterIndex.build(chapters, reads, NOW)
    return index.standing(None if last_read is None else Decimal(str(last_read)), marks or {}).unread_count


def test_the_numbers_past_the_last_read_are_unread():
    chapters = [chapter(n, n) for n in range(1, 61)]
    assert unread(chapters) == 60
    assert unread(chapters, last_read=58) == 2
    assert unread(chapters, last_read=60) == 0
    assert unread(chapters, last_read="10.5") == 50


def test_a_second_groups_upload_of_a_number_never_adds_one():
    chapters = [chapter(1, 1), chapter(2, 2), chapter(3, 2, groups=("B",)), chapter(4, 3, groups=("C", "D"))]
    assert unread(chapters) == 3 and unread(chapters, last_read=1) == 2


def test_a_range_counts_each_of_its_numbers():
    chapters = [chapter(1, 24), chapter(2, 26, first=25), chapter(3, 26, groups=("B",))]
    assert unread(chapters, last_read=24) == 2
    assert unread(chapters, last_read=25) == 1


def test_chapters_without_a_number_count_one_each_until_marked():
    chapters = [chapter(1, 1), chapter(2), chapter(3)]
    assert unread(chapters, last_read=1) == 2
    assert unread(chapters, last_read=1, marks={2: True}) == 1


def test_only_the_languages_and_groups_a_follow_reads_count_and_taken_down_ones_never():
    chapters = [
        chapter(1, 1, language="en"),
        chapter(2, 2, language="en"),
        chapter(3, 3, language="pt-br", groups=("Brasil",)),
        chapter(4, 4, language="en", available=False),
        chapter(5, 5, language="en", groups=("Ignored",)),
    ]
    assert unread(chapters) == 4
    assert unread(chapters, reads=Reads.of(["en"], [], [])) == 3
    assert unread(chapters, reads=Reads.of(["pt-br"], [], [])) == 1
    assert unread(chapters, reads=Reads.of([], [], ["Ignored"])) == 3
    assert unread(chapters, reads=Reads.of([], ["Brasil"], [])) == 1


def test_marks_say_otherwise_than_the_progress():
    chapters = [chapter(n, n) for n in range(1, 11)]
    assert unread(chapters, last_read=5, marks={3: False}) == 6  # chapter 3 marked unread again
    assert unread(chapters, last_read=5, marks={8: True}) == 4  # chapter 8 read ahead


def test_the_latest_chapter_is_the_newest_released_not_a_placeholder_date():
    chapters = [chapter(1, 1, days_ago=10), chapter(2, 2, days_ago=3), chapter(3, 3, days_ago=-3000)]
    assert ChapterIndex.build(chapters, Reads(), NOW).latest.pk == 2


def index_of(chapters):
    return ChapterIndex.build(chapters, Reads(), NOW)


def test_caught_up_reads_everything_numbered_and_marks_the_rest():
    chapters = [chapter(1, 1), chapter(2, 2), chapter(3)]
    move = progress.caught_up(index_of(chapters))
    assert move.last_read == 2 and move.set_marks == {3: True} and move.drop_numbered_marks
    assert index_of(chapters).standing(move.last_read, move.set_marks).unread_count == 0


def test_read_up_to_here_reads_that_chapter_and_every_one_released_before_it():
    chapters = [
        chapter(1, 1, days_ago=9),
        chapter(2, None, days_ago=8),
        chapter(3, 2, days_ago=7),
        chapter(4, 3, days_ago=1),
    ]
    move = progress.read_up_to(index_of(chapters), chapters[2], None)
    assert move.last_read == 2 and move.set_marks == {2: True}
    assert index_of(chapters).standing(move.last_read, move.set_marks).unread_count == 1
    back = progress.read_up_to(index_of(chapters), chapters[0], Decimal(3))
    assert back.last_read == 3, "reading up to an earlier chapter never moves progress back"


@pytest.mark.parametrize("read", [True, False])
def test_marking_one_chapter_marks_its_number_for_every_group(read):
    chapters = [chapter(1, 1), chapter(2, 2), chapter(3, 2, groups=("B",)), chapter(4, 3)]
    move = progress.mark(index_of(chapters), chapters[1], read, Decimal(2) if not read else None, {})
    assert set(move.set_marks) >= {2, 3} and all(value is read for value in move.set_marks.values())


def test_marking_the_next_chapter_read_moves_the_progress_on_past_what_was_read_ahead():
    chapters = [chapter(n, n) for n in range(1, 6)]
    move = progress.mark(index_of(chapters), chapters[3], True, Decimal(2), {})
    assert move.last_read == 2, "chapter 3 is still unread: no move"
    move = progress.mark(index_of(chapters), chapters[2], True, Decimal(2), {4: True})
    assert move.last_read == 4 and move.drop_all_marks and move.set_marks == {}


def test_start_over_forgets_everything():
    move = progress.start_over()
    assert move.last_read is None and move.drop_all_marks
