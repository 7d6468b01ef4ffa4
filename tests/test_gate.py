"""A good citizen of the site: one limiter for the cluster, Retry-After, the breaker, mirrors, per-title pauses.

Against the stand-in on loopback; the gate's clock is the test's (`site_clock`)
except where real worker processes keep real time.
"""

from datetime import timedelta
from email.utils import format_datetime
from itertools import pairwise

import pytest
from django.utils import timezone
from django_q.brokers import get_broker

from notifications.models import Notification
from readers.models import Follow
from scraping.checking.jobs import run_job
from scraping.checking.pipeline import check_title, import_title
from scraping.checking.tasks import check_title_task, dispatch_due_checks, request_check
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.gate.limiter import DatabaseLimiter, RedisLimiter, limiter
from scraping.gate.rules import decide_turn
from scraping.models import (
    CheckLog,
    CheckRequest,
    CheckSchedule,
    SourceState,
    Title,
)
from tests.conftest import bato, run_command
from tests.processes import ManagedProcess, free_port, wait_for
from tests.standins import BatoStandIn

pytestmark = pytest.mark.django_db(transaction=True)


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


def imported_titles(standin, count, *, start=1):
    """`count` tracked titles, imported from the stand-in."""
    made = []
    for n in range(start, start + count):
        standin.add_title(str(n), f"Title {n}", chapters=2)
        made.append(import_title(bato(n)).title)
    return made


def make_due(*titles):
    CheckSchedule.objects.filter(title__in=titles).update(next_check_at=timezone.now() - timedelta(minutes=1))


def staff_alerts():
    return list(Notification.objects.filter(kind=Notification.Kind.ALERT).values_list("message", flat=True))


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True)


# One limiter for every worker


@pytest.mark.slow
def test_four_workers_and_thirty_due_titles_never_put_two_requests_closer_than_the_minimum(standin, tmp_path):
    """Four worker processes of a real cluster, sharing the limiter in the database or in Redis."""
    titles = imported_titles(standin, 30)
    get_broker().purge_queue()
    standin.requests.clear()
    make_due(*titles)
    assert dispatch_due_checks(limit=30) == 30
    cluster = ManagedProcess(
        tmp_path / "worker.log", "worker", Q_WORKERS="4", BATO_MIN_DELAY="0.2", BATO_MAX_DELAY="0.25"
    )
    try:
        wait_for(lambda: CheckLog.objects.filter(outcome="no_change").count() == 30, 90, "30 checks")
    finally:
        cluster.stop()
    times = sorted(r.at for r in standin.api_requests())
    assert len(times) == 30
    gaps = [b - a for a, b in pairwise(times)]
    # A few milliseconds go between a turn and its request reaching the site.
    assert min(gaps) >= 0.2 - 0.04, sorted(gaps)[:5]
    assert not CheckLog.objects.filter(outcome__in=["failed", "skipped"]).exists()


def test_while_redis_is_unreachable_the_database_keeps_the_spacing(site_clock):
    unreachable = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", "bato")
    now = site_clock.now().timestamp()

    def decide(state):
        return decide_turn(state, now, delay=5, per_hour=10)

    assert unreachable.attempt(decide).granted
    assert not unreachable.attempt(decide).granted, "the second turn came without the spacing"
    assert DatabaseLimiter("bato").peek().next_at == now + 5
    assert unreachable.peek().requests_in_last_hour(now) == 1


def test_the_hourly_budget_holds_every_check_and_the_dispatch(standin, site_clock, settings):
    settings.BATO_MAX_REQUESTS_PER_HOUR = 3
    first, second, third = imported_titles(standin, 3)  # three imports: the hour's budget is spent
    standin.requests.clear()
    skipped = check_title(fresh(first))
    assert skipped.log.outcome == CheckLog.Outcome.SKIPPED
    assert "3 requests an hour" in skipped.log.message
    make_due(second, third)
    assert dispatch_due_checks() == 0
    assert not standin.api_requests()

    site_clock.advance(3601)
    assert check_title(fresh(first)).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert len(standin.api_requests()) == 1


# 429 and Retry-After


def test_a_429_with_retry_after_120_means_no_request_from_anyone_for_120_seconds(standin, site_clock):
    limited, *others = imported_titles(standin, 5)
    standin.set_fault("rate_limit", retry_after=120)
    assert check_title(fresh(limited)).log.error_kind == "rate_limited"
    standin.set_fault(None)
    standin.requests.clear()
    make_due(*others)

    for seconds in (1, 60, 119):
        site_clock.current = SourceState.current("bato").paused_until - timedelta(seconds=120 - seconds)
        for title in others:  # four workers, each with its title
            result = check_title(fresh(title))
            assert result.log.outcome == CheckLog.Outcome.SKIPPED and "paused until" in result.log.message
        assert dispatch_due_checks() == 0
    assert not standin.api_requests()
    assert fresh(limited).schedule.failures == 0, "the site's 429 was held against the title"

    site_clock.advance(1)
    assert check_title(fresh(others[0])).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert len(standin.api_requests()) == 1
    make_due(limited)
    assert dispatch_due_checks() == 4


def test_after_a_429_the_cluster_keeps_twice_the_spacing_for_an_hour(standin, site_clock, settings):
    settings.BATO_MIN_DELAY = settings.BATO_MAX_DELAY = 5
    (title,) = imported_titles(standin, 1)
    standin.set_fault("rate_limit", retry_after=120)
    check_title(fresh(title))
    standin.set_fault(None)
    site_clock.advance(120)
    check_title(fresh(title))
    assert limiter("bato").peek().next_at == (site_clock.now() + timedelta(seconds=10)).timestamp()
    assert keeper.source_status("bato", site_clock.now())["slow_pace_until"] is not None

    site_clock.advance(3600)
    check_title(fresh(title))
    assert limiter("bato").peek().next_at == (site_clock.now() + timedelta(seconds=5)).timestamp()


def test_retry_after_as_an_http_date_is_honoured_and_a_huge_one_is_capped(standin, site_clock, settings):
    settings.SOURCE_MAX_RETRY_AFTER = 600
    (title,) = imported_titles(standin, 1)
    standin.set_fault("rate_limit", retry_after=format_datetime(timezone.now() + timedelta(seconds=300), usegmt=True))
    check_title(fresh(title))
    paused = SourceState.current("bato").paused_until - site_clock.now()
    assert timedelta(seconds=298) <= paused <= timedelta(seconds=301)

    site_clock.advance(301)
    standin.set_fault("rate_limit", retry_after=86_400)
    check_title(fresh(title))
    assert SourceState.current("bato").paused_until == site_clock.now() + timedelta(seconds=600)


def test_a_429_without_retry_after_waits_the_default_backoff(standin, site_clock, settings):
    settings.SOURCE_RATE_LIMIT_BACKOFF = 90
    (title,) = imported_titles(standin, 1)
    standin.set_fault("rate_limit")
    check_title(fresh(title))
    assert SourceState.current("bato").paused_until == site_clock.now() + timedelta(seconds=90)


# The circuit breaker


def test_a_cloudflare_page_opens_the_breaker_and_a_probe_that_works_closes_it(standin, site_clock, staff):
    blocked, other = imported_titles(standin, 2)
    standin.set_fault("cloudflare", status=403)
    assert check_title(fresh(blocked)).log.error_kind == "blocked"
    assert keeper.source_status("bato", site_clock.now())["breaker"] == "open"
    assert len(staff_alerts()) == 1 and "Checks to Bato stopped" in staff_alerts()[0]
    standin.requests.clear()
    make_due(blocked, other)

    site_clock.advance(299)
    assert check_title(fresh(other)).log.outcome == CheckLog.Outcome.SKIPPED
    assert dispatch_due_checks() == 0
    assert not standin.api_requests()

    site_clock.advance(2)  # five minutes: one probe may go
    assert keeper.source_status("bato", site_clock.now())["breaker"] == "half open"
    assert keeper.dispatch_allowance("bato", site_clock.now(), 15) == (1, "circuit breaker half open: one probe check")
    probe = check_title(fresh(other))
    assert probe.log.error_kind == "blocked", "the site still blocks"
    state = SourceState.current("bato")
    assert state.breaker_openings == 2 and state.breaker_until == site_clock.now() + timedelta(seconds=600)
    assert len(staff_alerts()) == 1, "staff were told twice about one outage"

    site_clock.advance(601)
    standin.set_fault(None)
    assert check_title(fresh(other)).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert keeper.source_status("bato", site_clock.now())["breaker"] == "closed"
    assert "Bato answers again" in staff_alerts()[0]
    assert check_title(fresh(blocked)).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert len(standin.api_requests()) == 3


def test_while_the_probe_is_out_no_other_check_goes(standin, site_clock):
    (title,) = imported_titles(standin, 1)
    standin.set_fault("cloudflare")
    check_title(fresh(title))
    site_clock.advance(301)
    state = SourceState.current("bato")
    assert keeper.admit(state, site_clock.now()).probe
    with pytest.raises(SourcePaused, match="one probe check is under way"):
        keeper.admit(SourceState.current("bato"), site_clock.now())
    assert keeper.dispatch_allowance("bato", site_clock.now(), 15)[0] == 0
    # A probe whose worker died gives way after its lease.
    site_clock.advance(keeper.PROBE_LEASE.total_seconds() + 1)
    assert keeper.admit(SourceState.current("bato"), site_clock.now()).probe


def test_a_run_of_network_failures_opens_the_breaker(standin, site_clock, settings):
    settings.SOURCE_BREAKER_FAILURES = 3
    titles = imported_titles(standin, 3)
    settings.BATO_SITE_URLS = [f"http://127.0.0.1:{free_port()}"]  # nothing listens there
    for count, title in enumerate(titles, 1):
        assert check_title(fresh(title)).log.error_kind == "network"
        assert keeper.source_status("bato", site_clock.now())["breaker"] == ("open" if count == 3 else "closed")
    assert all(fresh(m).schedule.failures == 0 for m in titles)


def test_a_site_answering_garbage_writes_nothing_opens_the_breaker_and_recovers(standin, site_clock, reader):
    titles = imported_titles(standin, 4)
    for title in titles:
        Follow.objects.create(user=reader, title=title)
        standin.add_chapters(title.source_id, 1)
    standin.set_fault("malformed")
    for title in titles[:3]:
        assert check_title(fresh(title)).log.error_kind == "bad_response"
    assert keeper.source_status("bato", site_clock.now())["breaker"] == "open"
    assert check_title(fresh(titles[3])).log.outcome == CheckLog.Outcome.SKIPPED
    assert not Notification.objects.exists() and all(m.chapters.count() == 2 for m in titles)

    standin.set_fault(None)
    site_clock.advance(301)
    for title in titles:
        assert check_title(fresh(title)).log.new_chapters == 1
    assert keeper.source_status("bato", site_clock.now())["breaker"] == "closed"
    assert Notification.objects.filter(user=reader).count() == 4


# Mirrors


def test_failover_moves_to_the_next_mirror_and_stays_there_across_a_restart(standin, site_clock, settings):
    (title,) = imported_titles(standin, 1)
    with BatoStandIn() as second:
        second.titles = standin.titles
        settings.BATO_SITE_URLS = [standin.url, second.url]
        standin.set_fault("cloudflare")
        standin.requests.clear()
        assert check_title(fresh(title)).log.error_kind == "blocked"
        assert keeper.source_status("bato", site_clock.now())["mirror"] == second.url

        site_clock.advance(301)  # the probe goes to the next mirror and works
        assert check_title(fresh(title)).log.outcome == CheckLog.Outcome.NO_CHANGE
        standin.set_fault(None)  # the first mirror is back: we stay where it works
        assert SourceState.current("bato").mirror == second.url  # in the database, not in this process
        for _ in range(2):
            assert check_title(fresh(title)).log.outcome == CheckLog.Outcome.NO_CHANGE
        assert len(standin.api_requests()) == 1
        assert len(second.api_requests()) == 3
        out, _ = run_command("checktitles", "--once")
        assert f"Bato via {second.url}" in out


def test_an_unreachable_mirror_gives_way_to_the_next_on_the_next_check(standin, site_clock, settings):
    (title,) = imported_titles(standin, 1)
    dead = f"http://127.0.0.1:{free_port()}"
    settings.BATO_SITE_URLS = [dead, standin.url]
    standin.requests.clear()
    assert check_title(fresh(title)).log.error_kind == "network"
    assert check_title(fresh(title)).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert SourceState.current("bato").mirror == standin.url
    assert keeper.source_status("bato", site_clock.now())["breaker"] == "closed"


# Per title


def test_a_title_not_found_three_times_is_paused_its_followers_told_once_and_never_checked(
    standin,
    site_clock,
    reader,
    other_reader,
    settings,
):
    settings.CHECK_NOT_FOUND_PAUSE_AFTER = 3
    gone, fine = imported_titles(standin, 2)
    for user in (reader, other_reader):
        Follow.objects.create(user=user, title=gone)
    del standin.titles[gone.source_id]
    for _ in range(3):
        assert check_title(fresh(gone)).log.error_kind == "not_found"
    schedule = fresh(gone).schedule
    assert schedule.paused and "did not have it 3 checks in a row" in schedule.reason
    told = Notification.objects.filter(kind=Notification.Kind.TITLE_PAUSED)
    assert sorted(told.values_list("user__username", flat=True)) == ["other", "reader"]
    assert "could not be found on Bato 3 times in a row" in told.first().message

    check_title(fresh(gone))  # staff check it by hand once more: still gone
    assert told.count() == 2, "followers were told twice"

    standin.requests.clear()
    make_due(gone, fine)
    assert dispatch_due_checks() == 1
    assert CheckSchedule.objects.get(title=gone).claim_token is None
    assert CheckSchedule.objects.get(title=fine).claim_token is not None
    answer = request_check(gone, reader)
    assert not answer.queued and "paused" in answer.detail
    assert all(r.body["variables"]["id"] != gone.source_id for r in standin.api_requests())


def test_staff_hear_when_a_title_keeps_failing_and_again_when_it_recovers(standin, site_clock, staff):
    (title,) = imported_titles(standin, 1)
    standin.set_fault("graphql_errors")
    for _ in range(5):
        check_title(fresh(title))
    run_job("alert_failing_titles")
    assert len(staff_alerts()) == 1 and "failed 5 checks in a row" in staff_alerts()[0]
    standin.set_fault(None)
    check_title(fresh(title))
    assert "checked fine again" in staff_alerts()[0]
    assert len(staff_alerts()) == 2


# Checks someone asked for


def test_a_check_someone_asked_for_goes_before_the_scheduled_one_a_worker_takes(standin, reader):
    scheduled, asked = imported_titles(standin, 2)
    make_due(scheduled)
    ((title_id, token),) = CheckSchedule.objects.claim_due(timezone.now(), 1, CheckSchedule.claim_lease(), "bato")
    assert request_check(asked, reader).queued  # queued behind the scheduled check
    standin.requests.clear()

    lines = check_title_task(title_id, token).splitlines()
    assert [r.body["variables"]["id"] for r in standin.api_requests()] == [asked.source_id, scheduled.source_id]
    assert lines[0].startswith(f"asked for: {asked.reference}")
    assert CheckRequest.objects.get(title=asked).taken_at is not None
    assert CheckLog.objects.filter(title=asked).count() == 2  # import and the asked-for check, not twice


def test_staff_see_the_limiter_and_the_breaker_on_the_dashboard(standin, site_clock, admin_client):
    (title,) = imported_titles(standin, 1)
    standin.set_fault("cloudflare")
    check_title(fresh(title))
    page = admin_client.get("/admin/dashboard/").content.decode()
    assert "<strong>open</strong>" in page and "a probe check at" in page
    assert "2 of 300 requests in the last hour" in page
    sources = {s["source"]: s for s in admin_client.get("/api/admin/system-status").json()["sources"]}
    status = sources["bato"]
    assert status["breaker"] == "open" and status["breaker_openings"] == 1
    assert sources["mangadex"]["breaker"] == "closed", "a Bato block is Bato's alone"
    assert status["requests_last_hour"] == 2 and status["limiter"] in ("database", "redis")
    make_due(title)
    out, _ = run_command("checktitles", "--once")
    assert "Bato via" in out and "breaker open until" in out and "its titles wait for a later cycle" in out
