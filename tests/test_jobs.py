"""The job registry: configuration, runs, windows, no overlap, retries, rollups, pruning, alerts, the staff API."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule

from notifications.models import Notification
from scraping.checking import jobs
from scraping.checking.jobs import (
    REGISTRY,
    SCHEDULE_PREFIX,
    JobOutcome,
    JobType,
    config_for,
    ensure_all,
    run_job,
    update_config,
)
from scraping.checking.pipeline import check_title, import_title
from scraping.models import (
    CheckLog,
    CheckSchedule,
    DailyStats,
    JobConfig,
    JobRun,
    Title,
    TitleDailyStats,
)
from scraping.schedule.policy import in_active_window
from scraping.sources.errors import SourceError
from tests.conftest import bato, run_command


def at(hour, minute=0):
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    "now, window, inside",
    [
        (at(12), (None, None, 0), True),
        (at(8), (8, 20, 0), True),
        (at(19, 59), (8, 20, 0), True),
        (at(20), (8, 20, 0), False),
        (at(7, 30), (8, 20, 0), False),
        (at(7, 30), (8, 20, 30), True),
        (at(20, 29), (8, 20, 30), True),
        (at(23), (22, 6, 0), True),
        (at(3), (22, 6, 0), True),
        (at(12), (22, 6, 0), False),
        (at(12), (5, 5, 0), True),
        (at(12), (8, 9, 720), True),
    ],
)
def test_active_windows(now, window, inside):
    assert in_active_window(now, *window) is inside


def test_every_job_types_defaults_are_valid():
    for job in REGISTRY.values():
        assert job.validate_options(dict(job.default_options)) == [], job.name


@pytest.fixture
def quiet_job(monkeypatch):
    """A registered job that records being called, and can be told to fail or to take its time."""
    calls = []
    behaviour = {"fail": False, "sleep": 0}

    def run(options, now):
        calls.append(now)
        time.sleep(behaviour["sleep"])
        if behaviour["fail"]:
            raise SourceError("the site was down")
        outcome = JobOutcome(checked=3, updated=1)
        outcome.say("did it", rows=1)
        return outcome

    monkeypatch.setitem(REGISTRY, "quiet", JobType("quiet", "A quiet job", run, default_interval=5))
    return calls, behaviour


@pytest.mark.django_db
def test_a_run_is_recorded_and_moves_the_last_success(quiet_job, admin_user):
    run = run_job("quiet", trigger="manual", user=admin_user)
    assert (run.status, run.trigger, run.triggered_by, run.items_checked, run.items_updated) == (
        "succeeded",
        "manual",
        admin_user,
        3,
        1,
    )
    assert run.log[0]["message"] == "did it" and run.log[0]["metadata"] == {"rows": 1}
    assert run.finished_at >= run.started_at
    assert JobConfig.objects.get(job_type="quiet").last_success_at == run.started_at


@pytest.mark.django_db
def test_a_failed_run_keeps_the_last_success_and_is_retried_in_a_minute(quiet_job):
    calls, behaviour = quiet_job
    first = run_job("quiet")
    behaviour["fail"] = True
    failed = run_job("quiet")
    assert failed.status == "failed" and "the site was down" in failed.log[0]["message"]
    assert JobConfig.objects.get(job_type="quiet").last_success_at == first.started_at
    retry = Schedule.objects.get(name=jobs.RETRY_PREFIX + "quiet")
    assert retry.func == "scraping.checking.jobs.run_retry" and retry.schedule_type == Schedule.ONCE
    assert timedelta(seconds=55) < retry.next_run - failed.started_at <= timedelta(seconds=61)
    assert JobConfig.objects.get(job_type="quiet").running_until is None


@pytest.mark.django_db
def test_outside_its_window_a_scheduled_run_is_skipped_but_manual_and_force_run(quiet_job):
    calls, _ = quiet_job
    now = timezone.now()
    config = config_for("quiet")
    config.active_from_hour, config.active_until_hour = (now.hour + 2) % 24, (now.hour + 3) % 24
    config.save()

    skipped = run_job("quiet")
    assert skipped.status == "skipped" and "outside its active window" in skipped.log[0]["message"]
    assert run_job("quiet", trigger="manual").status == "succeeded"
    assert run_job("quiet", force=True).status == "succeeded"
    assert len(calls) == 2


@pytest.mark.django_db
def test_configuration_changes_move_the_queue_schedule_without_a_restart(quiet_job):
    config = config_for("quiet")
    config.save()
    assert Schedule.objects.get(name=SCHEDULE_PREFIX + "quiet").minutes == 5
    update_config(config, {"interval_minutes": 30})
    assert Schedule.objects.get(name=SCHEDULE_PREFIX + "quiet").minutes == 30
    update_config(config, {"enabled": False})
    assert not Schedule.objects.filter(name=SCHEDULE_PREFIX + "quiet").exists()
    assert run_job("quiet").log[0]["message"] == "skipped: the job is disabled"
    update_config(config, {"enabled": True})
    assert Schedule.objects.filter(name=SCHEDULE_PREFIX + "quiet").exists()


@pytest.mark.django_db(transaction=True)
def test_two_triggers_at_once_make_one_run(quiet_job):
    calls, behaviour = quiet_job
    behaviour["sleep"] = 1
    config_for("quiet")
    results = []

    def trigger():
        try:
            results.append(run_job("quiet", trigger="manual").status)
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["skipped", "succeeded"]
    assert len(calls) == 1
    assert "another run of this job is in progress" in JobRun.objects.get(status="skipped").log[0]["message"]


@pytest.fixture
def checked_title(standin):
    standin.add_title("110100", "Rolled", chapters=3)
    return import_title(bato("110100")).title


def log(title, days_ago, outcome="no_change", new=0, ms=100):
    return CheckLog.objects.create(
        title=title,
        started_at=timezone.now() - timedelta(days=days_ago),
        outcome=outcome,
        new_chapters=new,
        duration_ms=ms,
    )


@pytest.mark.django_db
def test_rollups_count_each_day_and_survive_pruning(checked_title):
    log(checked_title, 40, "success", new=2, ms=200)
    log(checked_title, 40, "failed", ms=400)
    config = config_for("roll_up_statistics")
    update_config(config, {"options": {"days": 60}})
    assert run_job("roll_up_statistics").status == "succeeded"
    old_day = (timezone.now() - timedelta(days=40)).date()
    stats = DailyStats.objects.get(day=old_day)
    assert (stats.checks, stats.failures, stats.new_chapters, stats.mean_duration_ms) == (2, 1, 2, 300)
    assert TitleDailyStats.objects.get(title=checked_title, day=old_day).checks == 2
    # Releases count on the day they were published: the stand-in's three came out a week apart.
    releases = TitleDailyStats.objects.filter(title=checked_title, releases__gt=0)
    assert sorted(releases.values_list("releases", flat=True)) == [1, 1, 1]

    update_config(
        config_for("prune_history"),
        {"options": {"check_log_days": 30, "read_notification_days": 30, "job_run_days": 30}},
    )
    pruned = run_job("prune_history")
    assert pruned.items_updated >= 2 and not CheckLog.objects.filter(started_at__date=old_day).exists()
    update_config(config, {"options": {"days": 3}})
    run_job("roll_up_statistics")
    assert DailyStats.objects.get(day=old_day).checks == 2


@pytest.mark.django_db
def test_pruning_keeps_unread_and_recent_notifications(reader, checked_title):
    old = timezone.now() - timedelta(days=400)
    kept_unread = Notification.objects.create(
        user=reader, title=checked_title, kind="new_chapter", message="a", created_at=old
    )
    Notification.objects.create(
        user=reader, title=checked_title, kind="new_chapter", message="b", created_at=old, is_read=True
    )
    recent_read = Notification.objects.create(
        user=reader, title=checked_title, kind="new_chapter", message="c", is_read=True
    )
    run_job("prune_history")
    assert set(Notification.objects.values_list("pk", flat=True)) == {kept_unread.pk, recent_read.pk}


@pytest.mark.django_db
def test_staff_are_told_once_when_a_title_keeps_failing(admin_user, reader, checked_title):
    CheckSchedule.objects.filter(title=checked_title).update(failures=5, reason="retrying after 5 failure(s): blocked")
    first = run_job("alert_failing_titles")
    assert (first.items_checked, first.items_updated) == (1, 1)
    alert = Notification.objects.get(user=admin_user)
    assert alert.kind == "alert" and "failed 5 checks in a row" in alert.message
    assert not Notification.objects.filter(user=reader).exists()
    run_job("alert_failing_titles")
    assert Notification.objects.filter(user=admin_user).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, reason",
    [
        ({"job_type": "nope"}, "job_type must be one of"),
        ({"job_type": "prune_history", "interval_minutes": 0}, "interval_minutes"),
        ({"job_type": "prune_history", "interval_minutes": 1441}, "interval_minutes"),
        ({"job_type": "prune_history", "enabled": "yes"}, "enabled has the wrong type"),
        ({"job_type": "prune_history", "interval_minutes": True}, "interval_minutes has the wrong type"),
        (
            {
                "job_type": "prune_history",
                "options": {"check_log_days": 1, "read_notification_days": 1, "job_run_days": 1},
            },
            "check_log_days must be a whole number of at least 7",
        ),
        ({"job_type": "prune_history", "options": {"keep": 1}}, "unknown option 'keep'"),
        ({"job_type": "prune_history", "color": "red"}, "unknown field(s) color"),
        ({"job_type": "prune_history", "active_from_hour": 8}, "both hours of the active window"),
        ({"job_type": "prune_history", "active_from_hour": 24, "active_until_hour": 2}, "active_from_hour"),
    ],
)
def test_invalid_configuration_is_a_400_with_the_reason(admin_client, body, reason):
    response = admin_client.post("/api/jobs/config", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert JobConfig.objects.get(job_type="prune_history").interval_minutes == 1440


@pytest.mark.django_db
def test_the_admin_checks_options_as_the_job_type_does_and_moves_the_schedule(admin_client):
    config = config_for("prune_history")
    page = f"/admin/scraping/jobconfig/{config.pk}/change/"
    form = {
        "enabled": "on",
        "interval_minutes": "1440",
        "active_from_hour": "",
        "active_until_hour": "",
        "window_buffer_minutes": "0",
    }
    refused = admin_client.post(
        page, {**form, "options": json.dumps({"check_log_days": 2, "read_notification_days": 1, "job_run_days": 1})}
    )
    assert refused.status_code == 200
    assert "check_log_days must be a whole number of at least 7" in refused.content.decode()
    assert JobConfig.objects.get(pk=config.pk).options["check_log_days"] == 90
    saved = admin_client.post(
        page,
        {
            **form,
            "interval_minutes": "720",
            "options": json.dumps({"check_log_days": 30, "read_notification_days": 30, "job_run_days": 30}),
        },
    )
    assert saved.status_code == 302
    assert Schedule.objects.get(name=SCHEDULE_PREFIX + "prune_history").minutes == 720


@pytest.mark.django_db
def test_staff_change_configuration_through_the_api(admin_client):
    response = admin_client.post(
        "/api/jobs/config",
        json.dumps(
            {
                "job_type": "roll_up_statistics",
                "interval_minutes": 120,
                "active_from_hour": 1,
                "active_until_hour": 5,
                "window_buffer_minutes": 15,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    changed = next(job for job in response.json()["jobs"] if job["job_type"] == "roll_up_statistics")
    assert (changed["interval_minutes"], changed["active_from_hour"], changed["window_buffer_minutes"]) == (120, 1, 15)
    assert Schedule.objects.get(name=SCHEDULE_PREFIX + "roll_up_statistics").minutes == 120
    assert admin_client.post("/api/jobs/config", "{not json", content_type="application/json").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/jobs/config"),
        ("post", "/api/jobs/config"),
        ("get", "/api/jobs/status"),
        ("post", "/api/jobs/trigger"),
        ("get", "/api/jobs/runs"),
        ("get", "/api/jobs/runs/latest"),
        ("get", "/api/jobs/runs/1"),
    ],
)
def test_the_jobs_api_is_for_staff_only(client, reader, method, path):
    assert getattr(client, method)(path).status_code == 401
    client.force_login(reader)
    response = getattr(client, method)(path)
    assert response.status_code == 403 and response.json() == {"error": "staff only"}


@pytest.mark.django_db
def test_status_trigger_and_run_history(admin_client, admin_user):
    ensure_all()
    broker = get_broker()
    broker.purge_queue()
    response = admin_client.post(
        "/api/jobs/trigger", json.dumps({"job_type": "roll_up_statistics"}), content_type="application/json"
    )
    assert response.status_code == 202 and broker.queue_size() == 1
    broker.purge_queue()
    assert (
        admin_client.post(
            "/api/jobs/trigger", json.dumps({"job_type": "x"}), content_type="application/json"
        ).status_code
        == 400
    )

    run = run_job("roll_up_statistics", trigger="manual", user=admin_user)
    run_job("prune_history")
    status = {job["job_type"]: job for job in admin_client.get("/api/jobs/status").json()["jobs"]}
    assert set(status) >= set(REGISTRY)
    assert status["roll_up_statistics"]["last_run"]["id"] == run.pk
    assert status["roll_up_statistics"]["running"] is False
    assert status["dispatch_due_checks"]["next_run"] is not None

    runs = admin_client.get("/api/jobs/runs?limit=1").json()["runs"]
    assert len(runs) == 1 and runs[0]["job_type"] == "prune_history"
    assert admin_client.get("/api/jobs/runs?limit=0").status_code == 400
    assert admin_client.get("/api/jobs/runs/latest").json()["run"]["job_type"] == "prune_history"
    by_type = admin_client.get("/api/jobs/runs/latest?by_type=1").json()["runs"]
    assert by_type["roll_up_statistics"]["triggered_by"] == admin_user.username
    assert by_type["alert_failing_titles"] is None
    assert admin_client.get(f"/api/jobs/runs/{run.pk}").json()["run"]["trigger"] == "manual"
    assert admin_client.get("/api/jobs/runs/999999").status_code == 404


@pytest.mark.django_db
def test_posts_to_the_jobs_api_need_the_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        "/api/jobs/trigger", json.dumps({"job_type": "prune_history"}), content_type="application/json"
    )
    assert response.status_code == 403 and "CSRF" in response.json()["error"]


def run_command_out(*args):
    return run_command(*args)[0]


@pytest.mark.django_db
def test_shelfstats_shows_today_at_once_and_an_import_is_not_new_chapters(checked_title, standin):
    today = timezone.now().date()
    out = run_command_out("shelfstats")
    assert "last rollup: never; today is counted live" in out
    assert f"{today}        1        0     0.0%        0" in out, "the import: one check, no new chapter"
    log(checked_title, 0, "failed", ms=300)
    standin.add_chapters("110100", 2)
    check_title(Title.objects.select_related("schedule").get(pk=checked_title.pk))
    out = run_command_out("shelfstats", "--days", "2")
    assert f"{today}        3        1    33.3%        2" in out, "two new chapters, found by a check"
    log(checked_title, 1, "success", new=4)
    run_command_out("runjob", "roll_up_statistics")
    out = run_command_out("shelfstats", "--days", "2")
    assert "last rollup: 20" in out
    assert f"{today - timedelta(days=1)}        1        0     0.0%        4" in out
    assert f"{today}        3        1    33.3%        2" in out
    title = run_command_out("shelfstats", "--title", checked_title.reference, "--days", "30")
    assert "total: 5 releases in 4 checks" in title  # 3 a week apart, 2 today; 3 checks today, 1 yesterday


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["--days", "0"], "--days must be between 1 and 3650"),
        (["--title", "999999"], "bato:999999 is not tracked"),
    ],
)
def test_shelfstats_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run_command_out("shelfstats", *args)


@pytest.mark.django_db
def test_runjob_honours_the_window_unless_forced(quiet_job):
    now = timezone.now()
    update_config(
        config_for("quiet"), {"active_from_hour": (now.hour + 2) % 24, "active_until_hour": (now.hour + 3) % 24}
    )
    assert "skipped: outside its active window" in run_command_out("runjob", "quiet")
    assert "quiet: succeeded, 3 checked, 1 updated" in run_command_out("runjob", "quiet", "--force")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/jobs/trigger"),
        ("post", "/api/jobs/status"),
        ("post", "/api/jobs/runs"),
        ("post", "/api/jobs/runs/latest"),
        ("put", "/api/jobs/config"),
        ("post", "/api/admin/stats"),
    ],
)
def test_wrong_methods_on_the_staff_api_are_405(admin_client, method, path):
    assert getattr(admin_client, method)(path).status_code == 405
