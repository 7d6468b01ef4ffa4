"""A check end to end against the stand-in: what is stored, who is told, what is logged."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from readers.models import Follow
from scraping.checking.pipeline import check_title, import_title
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.models import (
    Chapter,
    CheckLog,
    CheckSchedule,
    Title,
)
from tests.conftest import bato

pytestmark = pytest.mark.django_db


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


def snapshot_of_stored_data():
    """Everything a failed check must leave as it was."""
    return (
        list(Title.objects.values()),
        list(Chapter.objects.order_by("pk").values()),
        list(Notification.objects.values()),
    )


@pytest.fixture
def title(standin, reader):
    standin.add_title("102497", chapters=10)
    return import_title(bato("102497"), user=reader).title


def test_import_stores_the_title_its_chapters_and_a_schedule_and_tells_no_one(standin, reader):
    standin.add_title("102497", "악녀의 문구점", chapters=10)
    result = import_title(bato("102497"), user=reader)
    title = fresh(result.title)
    assert result.created and result.followed and result.chapters == 10
    assert title.name == "악녀의 문구점" and title.authors == ["여로은"]
    assert title.chapters.count() == 10
    # The stand-in's chapters came out weekly; the next is due a week after the last.
    last_release = title.chapters.order_by("-published_at").first().published_at
    assert title.schedule.next_check_at == last_release + timedelta(days=7, minutes=5)
    assert title.schedule.reason.startswith("predicted weekly release")
    assert Follow.objects.filter(user=reader, title=title).exists()
    assert not Notification.objects.exists()
    assert CheckLog.objects.get().outcome == CheckLog.Outcome.IMPORTED
    assert len(standin.api_requests()) == 1


def test_importing_a_tracked_title_again_only_follows_it(title, standin, other_reader):
    again = import_title(bato("102497"), user=other_reader)
    assert not again.created and again.followed
    assert len(standin.api_requests()) == 1
    assert Title.objects.count() == 1


def test_a_new_chapter_is_stored_and_each_follower_is_told_once(title, standin, reader, other_reader):
    Follow.objects.create(user=other_reader, title=title)
    standin.add_chapters("102497", 1)
    result = check_title(fresh(title))
    assert [str(c) for c in result.new_chapters] == ["Chapter 11"]
    assert result.log.outcome == CheckLog.Outcome.SUCCESS
    assert (result.log.new_chapters, result.log.chapters_seen, result.log.http_requests) == (1, 11, 1)
    for user in (reader, other_reader):
        [mine] = Notification.objects.filter(user=user)
        assert (mine.kind, mine.chapter.name) == ("new_chapter", "Chapter 11")
        assert mine.importance == Notification.Importance.HIGH
        assert mine.message.startswith("Chapter 11 of ")


def test_two_chapters_at_once_are_one_row_for_each_follower(title, standin, reader, other_reader):
    """One style for a check that found several: one notification, live and reloaded alike."""
    Follow.objects.create(user=other_reader, title=title)
    standin.add_chapters("102497", 2)
    result = check_title(fresh(title))
    assert [str(c) for c in result.new_chapters] == ["Chapter 11", "Chapter 12"]
    for user in (reader, other_reader):
        [mine] = Notification.objects.filter(user=user)
        assert (mine.kind, mine.chapter_count, mine.chapter.name) == ("batch", 2, "Chapter 12")
        assert mine.message.endswith(": Chapter 11 – Chapter 12")


def test_several_chapters_at_once_make_one_batch_notification(title, standin, reader):
    standin.add_chapters("102497", 4)
    check_title(fresh(title))
    [batch] = Notification.objects.filter(user=reader)
    assert batch.kind == "batch" and batch.chapter_count == 4
    assert batch.chapter.name == "Chapter 14"
    assert "4 new chapters" in batch.message and "Chapter 11 – Chapter 14" in batch.message


def test_a_status_change_is_its_own_notification(title, standin, reader):
    standin.set_upload_status("102497", "completed")
    result = check_title(fresh(title))
    assert result.log.outcome == CheckLog.Outcome.NO_CHANGE
    [change] = Notification.objects.filter(user=reader)
    assert (change.kind, change.old_status, change.new_status) == ("status_change", "ongoing", "completed")
    assert change.chapter is None
    assert fresh(title).upload_status == "completed"


def test_an_edited_chapter_keeps_its_identity_and_nobody_is_told(title, standin):
    chapter_id = standin.titles["102497"].chapters[3]["id"]
    standin.edit_chapter(
        "102497", chapter_id, urlPath=f"/title/102497-new-slug/{chapter_id}-ch_4", dname="Chapter 4 (fixed)"
    )
    result = check_title(fresh(title))
    assert result.log.outcome == CheckLog.Outcome.NO_CHANGE
    assert "1 chapter edited" in result.log.message
    edited = Chapter.objects.get(source_id=chapter_id)
    assert edited.url_path.startswith("/title/102497-new-slug/")
    assert edited.name == "Chapter 4 (fixed)"
    assert Chapter.objects.count() == 10
    assert not Notification.objects.exists()


def test_running_the_same_check_again_creates_nothing(title, standin):
    standin.add_chapters("102497", 2)
    check_title(fresh(title))
    counts = (Chapter.objects.count(), Notification.objects.count())
    again = check_title(fresh(title))
    assert again.log.outcome == CheckLog.Outcome.NO_CHANGE
    assert (Chapter.objects.count(), Notification.objects.count()) == counts
    assert fresh(title).schedule.misses == 1


def test_a_title_without_followers_is_checked_and_stored_all_the_same(standin):
    standin.add_title("5", chapters=1)
    title = import_title(bato("5")).title
    standin.add_chapters("5", 1)
    assert check_title(fresh(title)).log.new_chapters == 1
    assert not Notification.objects.exists()


TITLE_ERRORS = [
    ("graphql_errors", {}, "bad_response", 200),
]
SITE_ERRORS = [
    ("malformed", {}, "bad_response", 200),
    ("rate_limit", {"retry_after": 120}, "rate_limited", 429),
    ("cloudflare", {"status": 503}, "blocked", 503),
    ("server_error", {"status": 500}, "server_error", 500),
]


def check_failing_with(title, standin, fault, options):
    """Check `title` while the stand-in answers `fault`; assert nothing stored changed; return the log."""
    standin.add_chapters("102497", 2)
    standin.set_upload_status("102497", "hiatus")
    before = snapshot_of_stored_data()
    standin.set_fault(fault, **options)
    result = check_title(fresh(title))
    assert snapshot_of_stored_data() == before
    log = CheckLog.objects.latest("pk")
    assert log.message
    assert result.error.kind == log.error_kind
    assert fresh(title).schedule.claim_token is None
    return log


@pytest.mark.parametrize("fault, options, kind, status", TITLE_ERRORS)
def test_a_title_error_leaves_stored_data_untouched_and_backs_off_that_title(
    title, standin, fault, options, kind, status
):
    log = check_failing_with(title, standin, fault, options)
    assert (log.outcome, log.error_kind, log.http_status) == ("failed", kind, status)
    schedule = fresh(title).schedule
    assert schedule.failures == 1
    assert schedule.next_check_at == log.started_at + timedelta(minutes=15)


@pytest.mark.parametrize("fault, options, kind, status", SITE_ERRORS)
def test_a_source_error_leaves_stored_data_untouched_and_the_title_due(title, standin, fault, options, kind, status):
    due_at = fresh(title).schedule.next_check_at
    log = check_failing_with(title, standin, fault, options)
    assert (log.outcome, log.error_kind, log.http_status) == ("failed", kind, status)
    schedule = fresh(title).schedule
    assert schedule.failures == 0, "the site's fault was held against the title"
    assert schedule.next_check_at == due_at


def test_a_timeout_and_an_unknown_title_are_failed_checks_too(title, standin, settings):
    settings.SOURCE_TIMEOUT = 1
    standin.set_fault("hang")
    standin.hang_seconds = 2
    assert check_title(fresh(title)).log.error_kind == "timeout"
    standin.set_fault(None)
    del standin.titles["102497"]
    log = check_title(fresh(title)).log
    assert (log.outcome, log.error_kind) == ("failed", "not_found")
    schedule = fresh(title).schedule
    assert schedule.failures == 1, "only the missing title counts against it"
    assert schedule.next_check_at == log.started_at + timedelta(minutes=15)
    assert Chapter.objects.count() == 10


def test_a_429_pauses_every_check_until_its_retry_after(title, standin):
    standin.add_title("7", chapters=1)
    other = import_title(bato("7")).title
    standin.set_fault("rate_limit", retry_after=120)
    failed = check_title(fresh(title))
    paused = keeper.active_pause("bato", timezone.now())
    assert paused is not None
    assert paused.until == pytest.approx(failed.log.started_at + timedelta(seconds=120), abs=timedelta(seconds=2))
    requests_so_far = len(standin.api_requests())
    skipped = check_title(fresh(other))
    assert skipped.log.outcome == CheckLog.Outcome.SKIPPED
    assert "paused until" in skipped.log.message
    assert len(standin.api_requests()) == requests_so_far
    assert fresh(other).schedule.claim_token is None


def test_a_block_opens_the_breaker_for_its_first_wait(title, standin, settings):
    settings.SOURCE_BREAKER_FIRST_WAIT = 300
    standin.set_fault("cloudflare")
    started = timezone.now()
    check_title(fresh(title))
    assert keeper.active_pause("bato", started + timedelta(seconds=290)) is not None
    assert keeper.active_pause("bato", started + timedelta(seconds=310)) is None


def test_import_while_the_source_is_paused_stores_nothing(standin):
    standin.add_title("8", chapters=1)
    keeper.pause("bato", timezone.now(), 60, "testing")
    with pytest.raises(SourcePaused):
        import_title(bato("8"))
    assert not Title.objects.exists()
    assert not standin.api_requests()


def test_a_title_being_checked_elsewhere_is_skipped_not_checked_twice(title, standin):
    schedule = fresh(title).schedule
    assert schedule.claim(timezone.now()) is not None
    result = check_title(fresh(title))
    assert result.log.outcome == CheckLog.Outcome.SKIPPED
    assert "another check" in result.log.message
    assert len(standin.api_requests()) == 1  # only the import


def test_a_claim_from_a_killed_worker_expires(title, standin):
    schedule = fresh(title).schedule
    schedule.claim(timezone.now() - CheckSchedule.claim_lease() - timedelta(seconds=1))
    assert check_title(fresh(title)).log.outcome == CheckLog.Outcome.NO_CHANGE


def test_an_unchanged_2000_chapter_title_is_checked_in_at_most_10_queries(standin, reader):
    standin.add_title("2000", chapters=2000)
    title = import_title(bato("2000"), user=reader).title
    loaded = fresh(title)
    with CaptureQueriesContext(connection) as unchanged:
        assert check_title(loaded).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert len(unchanged) <= 10, [q["sql"][:120] for q in unchanged]

    standin.add_chapters("2000", 5)
    loaded = fresh(title)
    with CaptureQueriesContext(connection) as five_new:
        assert check_title(loaded).log.new_chapters == 5
    assert len(five_new) <= 15, "\n".join(q["sql"][:150] for q in five_new)
    assert Notification.objects.filter(user=reader, kind="batch", chapter_count=5).count() == 1


def test_null_fields_and_non_latin_text_are_stored_as_given(standin, reader):
    standin.add_title("31", "月曜日のたわわ", chapters=2, nulls=True)
    standin.edit_chapter("31", standin.titles["31"].chapters[0]["id"], title=None, dname="第1話 はじまり")
    title = fresh(import_title(bato("31"), user=reader).title)
    assert title.name == "月曜日のたわわ"
    assert (title.upload_status, title.description, title.alt_names, title.score) == ("", "", [], None)
    first = title.chapters.order_by("published_at").first()
    assert (first.name, first.subtitle, str(first.number)) == ("第1話 はじまり", "", "1.00")
