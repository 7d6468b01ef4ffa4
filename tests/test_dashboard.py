"""The staff dashboard and its JSON: figures, system state, recent checks, charts."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from readers.models import Reader
from scraping.checking.jobs import run_job
from scraping.checking.pipeline import import_title
from scraping.gate import keeper
from scraping.models import CheckLog, CheckSchedule
from scraping.staff.dashboard import bar_chart
from tests.conftest import bato

pytestmark = pytest.mark.django_db


def test_bar_charts_are_plain_svg_scaled_to_the_largest_value():
    svg = bar_chart([0, 5, 10], ["a", "b", "<c>"], "checks", width=300, height=120)
    assert svg.startswith("<svg") and "<script" not in svg
    assert svg.count("<rect") == 3
    assert 'height="100.0"' in svg and 'height="50.0"' in svg  # 10 fills the plot, 5 half of it
    assert "&lt;c&gt;: 10" in svg and "max 10" in svg
    assert bar_chart([], [], "nothing").count("<rect") == 0


@pytest.fixture
def title(standin):
    standin.add_title("110100", "Watched", chapters=2)
    return import_title(bato("110100")).title


def add_logs(title, outcomes, ms=100, minutes_ago=10):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    CheckLog.objects.bulk_create(
        [
            CheckLog(
                title=title,
                started_at=at,
                outcome=outcome,
                duration_ms=ms * (i + 1),
                error_kind="blocked" if outcome == "failed" else "",
            )
            for i, outcome in enumerate(outcomes)
        ]
    )


@pytest.mark.parametrize("path", ["/api/admin/stats", "/api/admin/system-status", "/api/admin/logs"])
def test_the_figures_are_for_staff_only(client, reader, path):
    assert client.get(path).status_code == 401
    client.force_login(reader)
    assert client.get(path).status_code == 403
    assert client.get("/admin/dashboard/").status_code == 302  # to the admin login


def test_stats_give_rates_durations_and_hourly_buckets(admin_client, title):
    CheckLog.objects.all().delete()
    add_logs(title, ["success"] * 8 + ["failed"] * 2, ms=100)
    stats = admin_client.get("/api/admin/stats").json()
    day = stats["last_24h"]
    assert (day["checks"], day["failures"], day["success_rate"], day["error_rate"]) == (10, 2, 0.8, 0.2)
    assert day["mean_duration_ms"] == 550 and day["p95_duration_ms"] == 1000
    assert sum(b["checks"] for b in day["buckets"]) == 10 and len(day["buckets"]) in (24, 25)
    assert stats["last_7d"]["checks"] == 10 and stats["last_7d"]["bucket_hours"] == 6
    assert stats["alert"] == "20% of the checks in the last 24 h failed"


def test_no_alert_at_a_low_error_rate_and_due_titles_are_counted(admin_client, title):
    CheckLog.objects.all().delete()
    add_logs(title, ["no_change"] * 19 + ["failed"])
    CheckSchedule.objects.filter(title=title).update(next_check_at=timezone.now() - timedelta(hours=1))
    stats = admin_client.get("/api/admin/stats").json()
    assert stats["alert"] is None
    assert (stats["titles_due"], stats["titles_overdue"]) == (1, 1)


def test_system_status_reads_the_heartbeat_the_queue_and_the_source_pause(admin_client):
    status = admin_client.get("/api/admin/system-status").json()
    assert status["cluster_alive"] is False and status["cluster_last_heartbeat"] is None
    assert isinstance(status["queue_depth"], int)

    run_job("heartbeat")
    keeper.pause("bato", timezone.now(), 600, "HTTP 429")
    status = admin_client.get("/api/admin/system-status").json()
    assert status["cluster_alive"] is True
    bato = next(s for s in status["sources"] if s["source"] == "bato")
    assert bato["paused_until"] is not None and bato["pause_reason"] == "HTTP 429"
    assert [s["source"] for s in status["sources"]] == [
        "mangadex",
        "mangaupdates",
        "mangaplus",
        "webtoon",
        "tapas",
        "feed",
        "bato",
    ]
    assert all(s["paused_until"] is None for s in status["sources"] if s["source"] != "bato")


def test_logs_filter_by_outcome_and_limit(admin_client, title):
    add_logs(title, ["failed", "no_change", "failed"])
    failed = admin_client.get("/api/admin/logs?outcome=failed").json()["logs"]
    assert len(failed) == 2 and {log["error_kind"] for log in failed} == {"blocked"}
    assert len(admin_client.get("/api/admin/logs?limit=1").json()["logs"]) == 1
    bad = admin_client.get("/api/admin/logs?outcome=exploded")
    assert bad.status_code == 400 and "outcome must be one of" in bad.json()["error"]
    assert admin_client.get("/api/admin/logs?limit=abc").status_code == 400


def test_the_dashboard_page_shows_status_charts_alert_and_filtered_logs(admin_client, title):
    add_logs(title, ["failed"] * 3)
    page = admin_client.get("/admin/dashboard/?error_kind=blocked").content.decode()
    assert "Error rate alert" in page
    assert "no heartbeat" in page
    assert page.count('<svg class="chart"') == 4
    first_chart = page.split('<svg class="chart"')[1]
    ends = re.findall(r'font-size="11"(?: text-anchor="end")?>([^<]*)</text>', first_chart)[:2]
    assert len(ends) == 2 and ends[0] != ends[1], f"the 24-hour chart's ends read the same: {ends}"
    assert page.count("<td>blocked</td>") == 3
    assert '<script src="http' not in page and '<link rel="stylesheet" href="http' not in page
    assert 'href="/admin/dashboard/"' in admin_client.get("/admin/").content.decode()


def test_imported_chapters_are_not_counted_as_new(admin_client, title):
    CheckLog.objects.create(title=title, outcome="success", new_chapters=2)
    stats = admin_client.get("/api/admin/stats").json()
    assert stats["last_24h"]["new_chapters"] == 2, "the import's chapters are not new"
    assert stats["last_24h"]["checks"] == 2
    [bato] = [s for s in stats["by_source_24h"] if s["source"] == "bato"]
    assert (bato["checks"], bato["new_chapters"], bato["titles"]) == (2, 2, 1)


def test_the_heartbeat_logs_a_line_every_five_minutes(monkeypatch, title):
    from scraping.checking import jobs

    on_the_fifth = timezone.now().replace(minute=10)
    monkeypatch.setattr(jobs.timezone, "now", lambda: on_the_fifth)
    assert run_job("heartbeat").log[0]["message"].startswith("alive: ")
    monkeypatch.setattr(jobs.timezone, "now", lambda: on_the_fifth.replace(minute=11))
    assert run_job("heartbeat").log == []


def test_the_checks_on_the_dashboard_are_in_utc_as_it_says_whatever_the_staff_members_zone(
    admin_client, admin_user, title
):
    Reader.objects.update_or_create(user=admin_user, defaults={"time_zone": "Asia/Tokyo"})
    add_logs(title, ["failed"])
    log = CheckLog.objects.get(outcome="failed")
    page = admin_client.get("/admin/dashboard/").content.decode()
    assert "<th>Started (UTC)</th>" in page
    assert f"<td>{log.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}</td>" in page
