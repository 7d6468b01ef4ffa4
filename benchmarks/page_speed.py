"""How fast the notifications page is served: in-process, and over HTTP by each server, one process each.

    .venv/bin/python benchmarks/page_speed.py [--seconds 10]

It makes a SQLite database with a reader and 25 notifications on the page,
then measures the page rendered in-process (Django's test client), and under
wrk (32 connections, logged in) as served by: one gunicorn sync worker with
its defaults (the baseline, measured in the same run), one worker of
production's gunicorn (batoshelf/gunicorn.py), one worker with 4 threads, one
uvicorn worker (ASGI) and daphne (ASGI, what served pages before). It prints
requests a second, p50 and p99 and each one's ratio to the baseline. Nothing is
asserted.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = Path(tempfile.gettempdir()) / "batoshelf-page-speed.sqlite3"
os.environ.update(
    DJANGO_SETTINGS_MODULE="batoshelf.settings",
    SECRET_KEY="page-speed-benchmark-" + "x" * 40,
    DATABASE_URL=f"sqlite:///{DATABASE}",
    ALLOWED_HOSTS="127.0.0.1,testserver",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from tests.processes import free_port, session_key_for  # noqa: E402

SERVERS = {
    "gunicorn, 1 sync worker (baseline)": ["gunicorn", "--workers", "1", "--worker-class", "sync"],
    "production: batoshelf/gunicorn.py, 1 worker": ["gunicorn", "-c", "python:batoshelf.gunicorn", "--workers", "1"],
    "gunicorn, 1 worker with 4 threads": ["gunicorn", "--workers", "1", "--threads", "4"],
    "uvicorn, 1 worker (ASGI)": ["uvicorn", "--workers", "1", "--no-access-log", "batoshelf.asgi:application"],
    "daphne (ASGI)": ["daphne", "batoshelf.asgi:application"],
}


def make_database():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from notifications.models import Notification
    from scraping.models import Chapter, Title

    for leftover in DATABASE.parent.glob(DATABASE.name + "*"):
        leftover.unlink()
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("reader")
    now = timezone.now()
    for i in range(25):
        title = Title.objects.create(source="bato", source_id=str(i + 1), name=f"Title {i}")
        chapter = Chapter.objects.create(
            title=title, source_id=str(1000 + i), name=f"Chapter {i}", url_path=f"/title/{i}-x/{1000 + i}-ch_{i}"
        )
        Notification.objects.create(
            user=user,
            title=title,
            chapter=chapter,
            kind="new_chapter",
            message=f"Chapter {i} of Title {i}",
            created_at=now,
        )
    return user, session_key_for(user)


def in_process(user, rounds=300, tries=3):
    """Milliseconds a page, the best of `tries` runs of `rounds`."""
    return min(_in_process(user, rounds) for _ in range(tries))


def _in_process(user, rounds):
    from django.test import Client

    client = Client()
    client.force_login(user)
    for _ in range(30):
        client.get("/notifications/")
    started = time.perf_counter()
    for _ in range(rounds):
        assert client.get("/notifications/").status_code == 200
    return (time.perf_counter() - started) / rounds * 1000


def under_wrk(command, session_key, seconds):
    port = free_port()
    bind = (
        ["--bind", f"127.0.0.1:{port}"]
        if command[0] == "gunicorn"
        else (
            ["--host", "127.0.0.1", "--port", str(port)]
            if command[0] == "uvicorn"
            else ["-b", "127.0.0.1", "-p", str(port)]
        )
    )
    args = [sys.executable, "-m", *command[:1], *bind, *command[1:]]
    if command[0] == "gunicorn":
        args.append("batoshelf.wsgi:application")
    server = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{args} did not start") from None
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/notifications/"
        cookie = ["-H", f"Cookie: sessionid={session_key}"]
        subprocess.run(["wrk", "-t2", "-c32", "-d2s", *cookie, url], capture_output=True)  # warm up
        out = subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", *cookie, url], capture_output=True, text=True
        ).stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # daphne waits for the connections wrk left open
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    rate = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (
        rate,
        re.search(r"50%\s+(\S+)", out).group(1),
        re.search(r"99%\s+(\S+)", out).group(1),
        int(bad.group(1)) if bad else 0,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk's run per server (default 10)")
    args = parser.parse_args()
    user, session_key = make_database()
    print(f"the notifications page, 25 rows, logged in, SQLite; {os.cpu_count()} cores")
    print(f"in-process (Django's test client): {in_process(user):.2f} ms a page")
    print(f"\nunder wrk, 32 connections, {args.seconds} s, one process each:")
    baseline = None
    for name, command in SERVERS.items():
        rate, p50, p99, bad = under_wrk(command, session_key, args.seconds)
        baseline = baseline or rate
        print(
            f"  {name:<45} {rate:>7.1f} req/s  p50 {p50:>9}  p99 {p99:>9}  {bad} non-2xx  ratio {rate / baseline:.2f}"
        )
    for leftover in DATABASE.parent.glob(DATABASE.name + "*"):
        leftover.unlink()


if __name__ == "__main__":
    main()
