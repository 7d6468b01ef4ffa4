"""Requests to the site keep BATO_MIN_DELAY..BATO_MAX_DELAY apart, across every worker."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from scraping.checks import check_manga, import_title
from scraping.models import Manga, ScrapeLog, SitePaused, SiteState

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_workers_checking_at_once_never_send_two_requests_closer_than_the_minimum(standin, settings):
    for n in range(1, 9):
        standin.add_title(str(n), f"Title {n}", chapters=3)
        import_title(str(n))
    settings.BATO_MIN_DELAY, settings.BATO_MAX_DELAY = 0.3, 0.4
    standin.requests.clear()
    titles = list(Manga.objects.select_related("schedule"))
    errors = []

    def worker(share):
        try:
            for manga in share:
                check_manga(manga)
        except Exception as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(titles[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    times = sorted(r.at for r in standin.api_requests())
    assert len(times) == 8
    gaps = [b - a for a, b in zip(times, times[1:])]
    # A few milliseconds go between taking a turn and the request leaving.
    assert min(gaps) >= 0.3 - 0.05, gaps
    assert ScrapeLog.objects.filter(outcome="no_change").count() == 8


def test_a_turn_waits_for_the_time_the_last_request_set():
    now = timezone.now()
    SiteState.current()
    SiteState.objects.update(next_request_at=now + timedelta(seconds=2))
    waits = []
    clock = iter([now, now + timedelta(seconds=2)])
    SiteState.take_turn(clock=lambda: next(clock), sleep=waits.append, delay=lambda: 5)
    assert waits == [pytest.approx(2)]
    assert SiteState.current().next_request_at == now + timedelta(seconds=7)


def test_a_pause_refuses_turns_until_it_ends_and_a_shorter_one_does_not_cut_it():
    now = timezone.now()
    until = SiteState.pause(now, 120, "HTTP 429")
    SiteState.pause(now, 10, "a shorter one")
    with pytest.raises(SitePaused) as paused:
        SiteState.take_turn(clock=lambda: now + timedelta(seconds=60), delay=lambda: 0)
    assert paused.value.until == until
    assert "HTTP 429" in str(paused.value)
    SiteState.take_turn(clock=lambda: now + timedelta(seconds=121), delay=lambda: 0)
