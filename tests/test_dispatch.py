"""The dispatcher the cluster runs every minute, and the check task it queues."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule, Task

from scraping.checking.jobs import SCHEDULE_PREFIX, ensure_all
from scraping.checking.pipeline import import_title
from scraping.checking.tasks import check_title_task, dispatch_due_checks
from scraping.gate import keeper
from scraping.models import CheckLog, CheckSchedule
from tests.conftest import bato

# Real commits: the dispatcher queues each check only after its claim commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def titles(standin):
    """Five tracked titles, none due yet."""
    tracked = []
    for n in range(1, 6):
        standin.add_title(str(n), f"Title {n}", chapters=2)
        tracked.append(import_title(bato(n)).title)
    return tracked


def make_due(title, minutes_ago=1, **fields):
    CheckSchedule.objects.filter(title=title).update(
        next_check_at=timezone.now() - timedelta(minutes=minutes_ago), **fields
    )


@pytest.fixture
def queued(monkeypatch):
    """Capture what the dispatcher hands to the queue instead of running it."""
    calls = []
    monkeypatch.setattr("scraping.checking.tasks.async_task", lambda func, *args, **kw: calls.append(args))
    return calls


def test_the_dispatch_schedule_exists_once_runs_every_minute_and_is_idempotent():
    ensure_all()
    ensure_all()
    [schedule] = Schedule.objects.filter(name=SCHEDULE_PREFIX + "dispatch_due_checks")
    assert (schedule.func, schedule.args, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "scraping.checking.jobs.run_scheduled_job",
        "'dispatch_due_checks'",
        Schedule.MINUTES,
        1,
        -1,
    )


def test_due_unpaused_titles_are_queued_most_urgent_first(titles, queued):
    make_due(titles[0], minutes_ago=5)
    make_due(titles[1], minutes_ago=50)
    make_due(titles[2], minutes_ago=1, priority=10)
    make_due(titles[3], minutes_ago=60, paused=True)
    assert dispatch_due_checks() == 3
    assert [title_id for title_id, _ in queued] == [titles[2].pk, titles[1].pk, titles[0].pk]


def test_a_queued_title_is_not_queued_again_until_its_claim_expires(titles, queued):
    make_due(titles[0])
    assert dispatch_due_checks() == 1
    assert dispatch_due_checks() == 0
    CheckSchedule.objects.filter(title=titles[0]).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert dispatch_due_checks() == 1


def test_the_dispatch_limit_holds_back_the_rest(titles, queued, settings):
    settings.CHECK_DISPATCH_LIMIT = 2
    for title in titles:
        make_due(title)
    assert dispatch_due_checks() == 2
    assert dispatch_due_checks() == 2
    assert dispatch_due_checks() == 1


def test_nothing_is_queued_while_the_source_is_paused(titles, queued):
    make_due(titles[0])
    keeper.pause("bato", timezone.now(), 60, "429")
    assert dispatch_due_checks() == 0
    assert not queued


def test_the_queued_task_checks_the_title_with_its_claim(titles, standin, queued):
    make_due(titles[0])
    dispatch_due_checks()
    [(title_id, token)] = queued
    standin.add_chapters("1", 1)
    assert "1 new chapter" in check_title_task(title_id, token)
    schedule = CheckSchedule.objects.get(title_id=title_id)
    assert schedule.claim_token is None and schedule.next_check_at > timezone.now()
    # Delivered twice (at least once): the second run finds the claim gone and the title no longer due.
    assert "no change" in check_title_task(title_id, token)


def test_a_task_for_a_deleted_title_says_so():
    assert check_title_task(987654) == "title 987654 no longer exists"


def test_in_sync_mode_dispatch_runs_the_checks_through_django_q(titles, standin, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)
    make_due(titles[0])
    standin.add_chapters("1", 2)
    dispatch_due_checks()
    log = CheckLog.objects.filter(title=titles[0]).latest("pk")
    assert (log.outcome, log.new_chapters) == ("success", 2)
    task = Task.objects.get(name=f"check title {titles[0].pk}")
    assert task.success and "2 new chapters" in task.result
