"""The running service: a real django-q2 cluster checks due titles, and `serve` runs and stops cleanly."""

import signal

import pytest
from django.utils import timezone
from django_q.brokers import get_broker

from notifications.models import Notification
from scraping.checks import import_title
from scraping.models import CheckSchedule, ScrapeLog
from scraping.jobs import ensure_all
from scraping.tasks import request_check
from tests.processes import ManagedProcess, free_port, http_status, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_running_cluster_checks_a_due_title_and_tells_its_follower(standin, reader, tmp_path):
    """On this run's broker: django's ORM on the embedded default, Redis when REDIS_URL is set."""
    standin.add_title("102497", chapters=5)
    manga = import_title("102497", user=reader).manga
    ensure_all()
    get_broker().purge_queue()
    standin.add_chapters("102497", 2)
    CheckSchedule.objects.filter(manga=manga).update(next_check_at=timezone.now())

    cluster = ManagedProcess(tmp_path / "qcluster.log", "qcluster", Q_WORKERS="1")
    try:
        # The cluster's scheduler looks at its schedules every 30 s.
        wait_for(lambda: ScrapeLog.objects.filter(manga=manga, new_chapters=2).exists(), 90,
                 "the cluster to check the title")
    finally:
        code = cluster.stop()
    assert ScrapeLog.objects.get(manga=manga, new_chapters=2).outcome == "success"
    assert sorted(Notification.objects.filter(user=reader).values_list("chapter__dname", flat=True)) == [
        "Chapter 6", "Chapter 7",
    ]
    assert CheckSchedule.objects.get(manga=manga).next_check_at > timezone.now()
    assert code == 0, cluster.output()


def test_sigterm_lets_the_running_check_finish_before_the_worker_exits(standin, reader, tmp_path):
    standin.add_title("102497", chapters=5)
    manga = import_title("102497", user=reader).manga
    get_broker().purge_queue()
    cluster = ManagedProcess(tmp_path / "qcluster.log", "qcluster", Q_WORKERS="1")
    try:
        wait_for(lambda: "running" in cluster.output(), 30, "the cluster to start")
        standin.hang_seconds = 6  # the site answers, slowly
        standin.set_fault("hang")
        standin.add_chapters("102497", 2)
        assert request_check(manga, reader).queued
        wait_for(lambda: len(standin.api_requests()) == 2, 30, "the check to reach the site")
    finally:
        code = cluster.stop(signal.SIGTERM, timeout=40)
    assert code == 0, cluster.output()
    log = ScrapeLog.objects.filter(manga=manga).latest("pk")
    assert (log.outcome, log.new_chapters) == ("success", 2), cluster.output()
    assert manga.chapters.count() == 7


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path):
    port = free_port()
    server = ManagedProcess(tmp_path / "serve.log", "serve", "--port", str(port))
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/admin/login/") == 200, 30, "daphne to answer")
        wait_for(lambda: "Q Cluster" in server.output() and "running" in server.output(), 30,
                 "the cluster to start")
    finally:
        code = server.stop(signal.SIGINT)
    assert code == 0, server.output()
    assert server.output().rstrip().endswith("stopped")
    assert http_status(f"http://127.0.0.1:{port}/admin/login/") is None

