"""The running service: a real django-q2 cluster checks due titles, and `serve` runs and stops cleanly."""

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.tasks import async_task

from notifications.models import Notification
from scraping.checking.jobs import ensure_all
from scraping.checking.pipeline import import_title
from scraping.checking.tasks import check_title_task
from scraping.models import CheckLog, CheckSchedule
from tests.conftest import bato
from tests.processes import (
    ROOT,
    ManagedProcess,
    free_port,
    http_status,
    logged_in_sessions,
    project_env,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_running_cluster_checks_a_due_title_and_tells_its_follower(standin, reader, tmp_path):
    """On this run's broker: django's ORM on the embedded default, Redis when REDIS_URL is set."""
    standin.add_title("102497", chapters=5)
    title = import_title(bato("102497"), user=reader).title
    ensure_all()
    get_broker().purge_queue()
    standin.add_chapters("102497", 2)
    CheckSchedule.objects.filter(title=title).update(next_check_at=timezone.now())

    cluster = ManagedProcess(tmp_path / "worker.log", "worker", Q_WORKERS="1")
    try:
        # The worker looks at its schedules as it starts, not first after the cluster's 30 s cycle.
        wait_for(
            lambda: CheckLog.objects.filter(title=title, new_chapters=2).exists(), 20, "the cluster to check the title"
        )
    finally:
        code = cluster.stop()
    assert CheckLog.objects.get(title=title, new_chapters=2).outcome == "success"
    [told] = Notification.objects.filter(user=reader)
    assert (told.kind, told.chapter_count, told.chapter.name) == ("batch", 2, "Chapter 7")
    assert CheckSchedule.objects.get(title=title).next_check_at > timezone.now()
    assert code == 0, cluster.output()


def test_on_sigterm_the_running_check_finishes_and_the_taken_ones_wait(standin, reader, tmp_path):
    standin.add_title("102497", chapters=5)
    standin.add_title("110100", chapters=3)
    running = import_title(bato("102497"), user=reader).title
    waiting = import_title(bato("110100"), user=reader).title
    get_broker().purge_queue()
    cluster = ManagedProcess(tmp_path / "worker.log", "worker", Q_WORKERS="1")
    try:
        wait_for(lambda: "running" in cluster.output(), 30, "the cluster to start")
        standin.hang_seconds = 6  # the site answers, slowly
        standin.set_fault("hang")
        standin.add_chapters("102497", 2)
        standin.add_chapters("110100", 1)
        CheckSchedule.objects.filter(title=waiting).update(claim_token="t" * 32, claimed_until=timezone.now())
        async_task(check_title_task, running.pk)
        async_task(check_title_task, waiting.pk, "t" * 32)  # taken by the worker while the first runs
        wait_for(lambda: len(standin.api_requests()) == 3, 30, "the first check to reach the site")
    finally:
        code = cluster.stop(signal.SIGTERM, timeout=40)
    assert code == 0, cluster.output()
    log = CheckLog.objects.filter(title=running).latest("pk")
    assert (log.outcome, log.new_chapters) == ("success", 2), cluster.output()
    assert running.chapters.count() == 7
    assert len(standin.api_requests()) == 3, "a check started after SIGTERM"
    assert waiting.chapters.count() == 3
    assert CheckSchedule.objects.get(title=waiting).claim_token is None, "the waiting title was not given back"


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path):
    port = free_port()
    server = ManagedProcess(tmp_path / "serve.log", "serve", "--port", str(port))
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/admin/login/") == 200, 30, "daphne to answer")
        wait_for(lambda: "Q Cluster" in server.output() and "running" in server.output(), 30, "the cluster to start")
    finally:
        code = server.stop(signal.SIGINT)
    assert code == 0, server.output()
    assert server.output().rstrip().endswith("stopped")
    assert http_status(f"http://127.0.0.1:{port}/admin/login/") is None


def test_sigterm_to_the_whole_process_group_stops_serve_without_waiting_out_its_grace(tmp_path):
    """systemd's default KillMode signals every process: the cluster's sentinel and workers die at once,
    and its main process used to wait on the dead sentinel until `serve` killed it 30 s later."""
    port = free_port()
    server = ManagedProcess(tmp_path / "serve.log", "serve", "--port", str(port))
    try:
        wait_for(lambda: "Q Cluster" in server.output() and "running" in server.output(), 30, "the cluster to start")
        os.killpg(server.popen.pid, signal.SIGTERM)
    finally:
        code = server.stop(signal.SIGTERM, timeout=45)
    assert code == 0 and "killing it" not in server.output(), server.output()


def test_serve_on_a_taken_port_says_so_before_it_starts_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ManagedProcess(tmp_path / "serve.log", "serve", "--port", str(port))
        code = server.popen.wait(timeout=30)
    assert code != 0 and f"127.0.0.1:{port} is taken" in server.output()
    assert "running" not in server.output(), "nothing was started"


def test_productions_gunicorn_serves_the_pages_and_static_files(tmp_path):
    """The page server production runs (gunicorn with batoshelf/gunicorn.py), against the test database."""
    [(user_id, session_key)] = logged_in_sessions("served-", 1)
    Notification.objects.create(user_id=user_id, kind="alert", message="Gunicorn was here")
    port = free_port()
    with open(tmp_path / "gunicorn.log", "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:batoshelf.gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "batoshelf.wsgi:application",
            ],
            cwd=ROOT,
            env=project_env(STATIC_ROOT=str(tmp_path / "not-collected")),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/accounts/login/") == 200, 30, "gunicorn to answer")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/notifications/", headers={"Cookie": f"sessionid={session_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as page:
            assert page.status == 200 and "Gunicorn was here" in page.read().decode()
        assert http_status(f"http://127.0.0.1:{port}/static/batoshelf/notifications.js") == 200
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, (tmp_path / "gunicorn.log").read_text()


def test_the_running_cluster_sends_a_new_chapter_to_a_readers_channel_once(standin, reader, tmp_path):
    from notifications.models import Channel, ChannelDelivery
    from tests.standins.webhook import WebHookStandIn

    standin.add_title("102497", chapters=5)
    title = import_title(bato("102497"), user=reader).title
    get_broker().purge_queue()
    with WebHookStandIn() as webhook:
        Channel.objects.create(user=reader, name="hook", url=webhook.channel_url())
        cluster = ManagedProcess(tmp_path / "worker.log", "worker", Q_WORKERS="2", NOTIFY_ALLOW_PRIVATE_TARGETS="true")
        try:
            standin.add_chapters("102497", 1)
            async_task(check_title_task, title.pk)
            wait_for(lambda: webhook.posts(), 90, "the chapter to reach the web hook")
            wait_for(
                lambda: ChannelDelivery.objects.filter(sent_at__isnull=False).exists(), 10, "the delivery's record"
            )
        finally:
            code = cluster.stop()
        [post] = webhook.posts()
    assert "Chapter 6" in post["message"]
    assert code == 0, cluster.output()
