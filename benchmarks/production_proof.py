"""Production proof: batoshelf deployed as a busy instance would be, on one machine, with faults and load.

    scripts/prove-production           # the full run: 200 titles, 200 readers, 10 min of garbage (about 30 min)
    scripts/prove-production --short   # the CI run: 20 titles, 20 readers, short faults (a few minutes)

It makes a fresh MariaDB database and uses a Redis database of its own, starts
the three sources' stand-ins with the titles spread over them (Bato, MangaDex,
MangaUpdates in turn), gunicorn for the pages (2 worker processes), 2 daphne
for the WebSockets and 2 `manage.py worker` processes, and WebSocket clients
for the readers, half on each daphne. Chapters arrive on the
stand-ins over time. Then, each scripted and reported: a worker killed with
SIGKILL mid-check, MariaDB restarted, Redis stopped, every source answering
garbage. Then load: 1,000 sockets on one daphne, and the notifications page
under wrk, served by gunicorn as production serves it.

Every promise it checks is printed PASS or FAIL with its figures; it exits 1
if any fails. Time is compressed where the defaults would make a run take
hours: checks every 36 s, a claim lease of 60 s, the breaker's waits capped
(all printed at the start).
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraping.sources import TitleRef  # noqa: E402
from tests.standins import BatoStandIn, MangaDexStandIn, MangaUpdatesStandIn  # noqa: E402

DATABASE_SERVER = os.environ.get("PROOF_DATABASE_URL", "mysql://root@127.0.0.1:3306/batoshelf_proof")
REDIS_URL = os.environ.get("PROOF_REDIS_URL", "redis://127.0.0.1:6379/13")
# How MariaDB and Redis are started on this machine (and on CI, which runs on it).
MARIADB_START = ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"]
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]

FULL = {
    "titles": 200,
    "readers": 200,
    "follows": 5,
    "rounds": 6,
    "round_seconds": 20,
    "per_round": 40,
    "redis_down": 60,
    "garbage": 600,
    "breaker_first": 60,
    "breaker_max": 120,
    "sockets": 1000,
    "wrk_seconds": 20,
}
SHORT = {
    "titles": 20,
    "readers": 20,
    "follows": 3,
    "rounds": 2,
    "round_seconds": 10,
    "per_round": 8,
    "redis_down": 10,
    "garbage": 75,
    "breaker_first": 5,
    "breaker_max": 10,
    "sockets": 200,
    "wrk_seconds": 5,
}


class Report:
    def __init__(self):
        self.results = []

    def promise(self, name, ok, detail):
        self.results.append((name, bool(ok), detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)

    def figure(self, name, detail):
        print(f"      {name}: {detail}", flush=True)

    def summary(self):
        failed = [name for name, ok, _ in self.results if not ok]
        print(
            f"\n{len(self.results) - len(failed)} of {len(self.results)} promises kept"
            + (f"; broken: {', '.join(failed)}" if failed else ""),
            flush=True,
        )
        return 1 if failed else 0


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# The services this machine runs


def fresh_database(url):
    import MySQLdb

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = MySQLdb.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", passwd=parts.password or ""
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    connection.close()


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_timeout=5)


def bounce_mariadb(down_seconds):
    subprocess.run(["mariadb-admin", "-uroot", "shutdown"], check=True, timeout=60)
    time.sleep(down_seconds)
    subprocess.run(MARIADB_START, check=True, timeout=30)
    deadline = time.monotonic() + 60
    while subprocess.run(["mariadb-admin", "-uroot", "ping"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError("MariaDB did not come back within 60 s")
        time.sleep(0.5)


def shut_down_redis():
    subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True, timeout=30)


def start_redis():
    subprocess.run(REDIS_START, check=True, timeout=30)
    deadline = time.monotonic() + 30
    while subprocess.run(["redis-cli", "ping"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError("Redis did not come back within 30 s")
        time.sleep(0.2)


# batoshelf's processes


class Service:
    """A batoshelf process in its own session, its output in a file."""

    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.started = 0
        self._argv, self._env = argv, env
        self.log_path.write_text("")
        self.start()

    def start(self):
        with open(self.log_path, "a") as out:
            self.popen = subprocess.Popen(
                self._argv, cwd=ROOT, env=self._env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started += 1

    def alive(self):
        return self.popen.poll() is None

    def kill(self):
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout=60):
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


# The readers' browsers


class Fleet:
    """WebSocket clients on their own event loop thread; each reconnects with ?since= like the page does."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.received = {}  # user id -> {notification id: receipt time}
        self.pushed_at = {}  # notification id -> receipt time of the live push
        self.duplicates = 0
        self.reconnects = 0
        self.connect_seconds = []
        self.connected = set()
        self._stop = None
        self._tasks = []
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coroutine, timeout=None):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def connect(self, clients, timeout=180):
        """Connect [(user id, session key, port)]; return when all are connected."""

        async def start():
            self._stop = self._stop or asyncio.Event()
            gate = asyncio.Semaphore(50)
            for user_id, key, port in clients:
                self.received.setdefault(user_id, {})
                self._tasks.append(asyncio.create_task(self._client(user_id, key, port, gate)))

        self.run(start())
        deadline = time.monotonic() + timeout
        while not all(user_id in self.connected for user_id, _, _ in clients):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.connected)} of {len(clients)} sockets connected in {timeout} s")
            time.sleep(0.2)

    async def _client(self, user_id, key, port, gate):
        import websockets

        last_id = 0
        while not self._stop.is_set():
            try:
                async with gate:
                    began = time.monotonic()
                    ws = await websockets.connect(
                        f"ws://127.0.0.1:{port}/ws/notifications/?since={last_id}",
                        additional_headers={"Cookie": f"sessionid={key}", "Origin": f"http://127.0.0.1:{port}"},
                        open_timeout=60,
                        ping_interval=None,
                        max_queue=None,
                    )
                    first = json.loads(await ws.recv())
                    self.connect_seconds.append(time.monotonic() - began)
                self.connected.add(user_id)
                for message in [first]:
                    last_id = self._take(user_id, message, last_id)
                while not self._stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    last_id = self._take(user_id, json.loads(raw), last_id)
                await ws.close()
            except Exception:
                if self._stop.is_set():
                    return
                self.reconnects += 1
                self.connected.discard(user_id)
                await asyncio.sleep(1)

    def _take(self, user_id, message, last_id):
        now = time.time()
        if message["type"] == "sync":
            items = message["notifications"]
        elif message["type"] == "notification":
            items = [message["notification"]]
            self.pushed_at.setdefault(items[0]["id"], now)
        else:
            return last_id
        mine = self.received[user_id]
        for item in items:
            if item["id"] in mine:
                self.duplicates += 1
            mine.setdefault(item["id"], now)
            last_id = max(last_id, item["id"])
        return last_id

    def close(self):
        async def stop():
            self._stop.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        self.run(stop(), timeout=60)
        self._tasks.clear()
        self._stop = None


# The proof


class Proof:
    def __init__(self, size, log_dir):
        self.size = size
        self.log_dir = log_dir
        self.report = Report()
        self.added = []  # ((source, title id), (source, chapter id), published at)
        self.phase_began_after = 0  # the last notification id before the phase being reported

    def setup(self):
        size = self.size
        fresh_database(DATABASE_SERVER)
        self.sites = {
            "bato": BatoStandIn().start(),
            "mangadex": MangaDexStandIn().start(),
            "mangaupdates": MangaUpdatesStandIn().start(),
        }
        politeness = {
            f"{source}_{key}": value
            for source in ("BATO", "MANGADEX", "MANGAUPDATES")
            for key, value in (("MIN_DELAY", "0.02"), ("MAX_DELAY", "0.05"), ("MAX_REQUESTS_PER_HOUR", "1000000"))
        }
        self.env = {
            "DJANGO_SETTINGS_MODULE": "batoshelf.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": DATABASE_SERVER,
            "REDIS_URL": REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BATO_SITE_URLS": self.sites["bato"].api_url,
            "MANGADEX_API_URL": self.sites["mangadex"].api_url,
            "MANGAUPDATES_API_URL": self.sites["mangaupdates"].api_url,
            **politeness,
            "CHECK_INTERVAL_HOURS": "0.01",
            "CHECK_DISPATCH_LIMIT": "1000",
            "CHECK_CLAIM_LEASE": "60",
            "Q_TIMEOUT": "30",
            "CHECK_DEADLINE": "20",
            "SOURCE_TIMEOUT": "5",
            "SOURCE_BREAKER_FIRST_WAIT": str(size["breaker_first"]),
            "SOURCE_BREAKER_MAX_WAIT": str(size["breaker_max"]),
            "NOTIFICATIONS_RELAY_INTERVAL": "2",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        redis_client().flushdb()
        log(
            "compressed time: "
            + ", ".join(
                f"{name}={self.env[name]}"
                for name in (
                    "CHECK_INTERVAL_HOURS",
                    "CHECK_CLAIM_LEASE",
                    "SOURCE_BREAKER_FIRST_WAIT",
                    "SOURCE_BREAKER_MAX_WAIT",
                    "BATO_MIN_DELAY",
                    "BATO_MAX_DELAY",
                )
            )
        )

        from readers.models import Follow
        from scraping.checking.pipeline import import_title
        from tests.processes import logged_in_sessions

        refs = []
        for n in range(size["titles"]):
            source = ("bato", "mangadex", "mangaupdates")[n % 3]
            site = self.sites[source]
            if source == "bato":
                title_id = site.add_title(str(500_000 + n), f"Proof title {n}", chapters=3).comic_id
            elif source == "mangadex":
                title_id = site.add_title(name=f"Proof title {n}", chapters=3).dex_id
            else:
                title_id = str(site.add_title(name=f"Proof title {n}", releases=3).series_id)
            refs.append(TitleRef(source, title_id))
        started = time.monotonic()
        self.titles = [import_title(ref).title for ref in refs]
        log(f"{len(self.titles)} titles imported in {time.monotonic() - started:.1f} s")
        self.sessions = logged_in_sessions("proof-reader-", size["readers"])
        Follow.objects.bulk_create(
            [
                Follow(user_id=user_id, title=self.titles[(i * size["follows"] + k) % len(self.titles)])
                for i, (user_id, _) in enumerate(self.sessions)
                for k in range(size["follows"])
            ],
            ignore_conflicts=True,
        )

        from tests.processes import free_port

        self.page_port = free_port()
        self.pages = Service(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:batoshelf.gunicorn",
                "--bind",
                f"127.0.0.1:{self.page_port}",
                "--workers",
                "2",
                "batoshelf.wsgi:application",
            ],
            self.child_env(),
            self.log_dir,
        )
        self.ports = [free_port(), free_port()]
        self.webs = [self.pages] + [
            Service(
                f"daphne-{i}",
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "batoshelf.asgi:application"],
                self.child_env(),
                self.log_dir,
            )
            for i, port in enumerate(self.ports)
        ]
        self.workers = [
            Service(f"worker-{i}", [sys.executable, "manage.py", "worker"], self.child_env(Q_WORKERS="2"), self.log_dir)
            for i in range(2)
        ]
        from tests.processes import http_status, wait_for

        for port in [self.page_port, *self.ports]:
            wait_for(
                lambda port=port: http_status(f"http://127.0.0.1:{port}/accounts/login/") == 200,
                60,
                f"the server on {port}",
            )
        self.fleet = Fleet()
        self.fleet.connect([(user_id, key, self.ports[i % 2]) for i, (user_id, key) in enumerate(self.sessions)])
        log(f"{len(self.sessions)} readers connected, half on each daphne")

    def child_env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "CI"))}
        env.update(self.env, **extra)
        return env

    # Chapters arrive

    def publish(self, count, titles=None):
        """A new chapter for `count` random titles (or these (source, title id) pairs) on their stand-ins."""
        every = [(m.source, m.source_id) for m in self.titles]
        titles = titles or random.sample(every, min(count, len(every)))
        for source, title_id in titles:
            for chapter in self.sites[source].add_chapters(title_id, 1):
                self.added.append(((source, title_id), (source, str(chapter["id"])), time.time()))
        return titles

    def stored_new_chapters(self):
        """The (source, chapter id) of the chapters this run added that are stored, with how often."""
        from django.db.models import Count

        from scraping.models import Chapter

        wanted = [chapter_id for _, (_, chapter_id), _ in self.added]
        return {
            (source, chapter_id): n
            for source, chapter_id, n in Chapter.objects.filter(source_id__in=wanted)
            .values("title__source", "source_id")
            .annotate(n=Count("pk"))
            .values_list("title__source", "source_id", "n")
        }

    def set_fault(self, fault, **options):
        for site in self.sites.values():
            site.set_fault(fault, **options)

    def settle(self, what, timeout=240):
        """Wait until every chapter on the stand-in is stored and every follower's notification delivered."""
        from django.db import close_old_connections

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                close_old_connections()
                if not self.missing_chapters() and not self.undelivered():
                    return True
            except Exception as error:  # the database may be coming back
                log(f"  waiting ({error.__class__.__name__})")
            time.sleep(2)
        log(
            f"{what}: not settled after {timeout} s: {len(self.missing_chapters())} chapters missing, "
            f"{len(self.undelivered())} notifications undelivered"
        )
        return False

    def missing_chapters(self):
        stored = self.stored_new_chapters()
        return [chapter for _, chapter, _ in self.added if chapter not in stored]

    def undelivered(self):
        from notifications.models import Notification

        rows = Notification.objects.filter(user_id__in=self.fleet.received).values_list("pk", "user_id")
        return [(pk, user_id) for pk, user_id in rows if pk not in self.fleet.received[user_id]]

    def check_books(self, phase):
        """Every chapter stored once; every follower told of each chapter exactly once; all delivered."""
        from django.db.models import Sum

        from notifications.models import Notification
        from readers.models import Follow
        from scraping.models import Chapter

        stored = self.stored_new_chapters()
        on_sites = sum(
            len(t.chapters) for site in self.sites.values() if site.name != "mangaupdates" for t in site.titles.values()
        ) + sum(len(s.releases) for s in self.sites["mangaupdates"].titles.values())
        in_db = Chapter.objects.count()
        once = len(stored) == len(self.added) and all(n == 1 for n in stored.values())
        self.report.promise(
            f"{phase}: every chapter stored exactly once, on every source",
            once and in_db == on_sites,
            f"{len(stored)} of {len(self.added)} new chapters stored; {in_db} chapters stored, "
            f"{on_sites} on the three stand-ins",
        )
        expected = {}
        pk_of = {(m.source, m.source_id): m.pk for m in self.titles}
        per_title = {}
        for title, _, _ in self.added:
            per_title[pk_of[title]] = per_title.get(pk_of[title], 0) + 1
        for user_id, title_id in Follow.objects.filter(title_id__in=per_title).values_list("user_id", "title_id"):
            expected[(user_id, title_id)] = per_title[title_id]
        told = dict(
            ((u, m), n)
            for u, m, n in Notification.objects.filter(kind__in=["new_chapter", "batch"])
            .values("user_id", "title_id")
            .annotate(n=Sum("chapter_count"))
            .values_list("user_id", "title_id", "n")
        )
        wrong = {
            k: (expected.get(k, 0), told.get(k, 0))
            for k in set(expected) | set(told)
            if expected.get(k, 0) != told.get(k, 0)
        }
        self.report.promise(
            f"{phase}: every follower told of each chapter exactly once",
            not wrong,
            f"{sum(expected.values())} chapter notices expected, {sum(told.values())} made"
            + (f"; wrong for {len(wrong)} follows, e.g. {next(iter(wrong.items()))}" if wrong else ""),
        )
        undelivered = self.undelivered()
        total = Notification.objects.filter(user_id__in=self.fleet.received).count()
        latencies = self.push_latencies(after=self.phase_began_after)
        self.report.promise(
            f"{phase}: every notification reached its reader's socket, on either daphne",
            not undelivered,
            f"{total - len(undelivered)} of {total} delivered, all phases so far; "
            f"{self.fleet.reconnects} reconnects, {self.fleet.duplicates} duplicates dropped",
        )
        if latencies:
            self.report.figure(
                f"{phase}: check start to socket, this phase's live pushes",
                f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms over {len(latencies)} pushes",
            )
        self.phase_began_after = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def push_latencies(self, after=0):
        from notifications.models import Notification

        created = dict(
            Notification.objects.filter(pk__in=[pk for pk in self.fleet.pushed_at if pk > after]).values_list(
                "pk", "created_at"
            )
        )
        return [self.fleet.pushed_at[pk] - at.timestamp() for pk, at in created.items()]

    # Phases

    def steady_state(self):
        log(
            f"chapters arrive: {self.size['rounds']} rounds of {self.size['per_round']} titles, "
            f"{self.size['round_seconds']} s apart"
        )
        for _ in range(self.size["rounds"]):
            self.publish(self.size["per_round"])
            time.sleep(self.size["round_seconds"])
        self.settle("steady state")
        self.check_books("steady state")
        found = [self.found_after(c, at) for _, c, at in self.added]
        found = [f for f in found if f is not None]
        if found:
            self.report.figure(
                "steady state: publish to stored (checks every 36 s, dispatch every minute)",
                f"p50 {percentile(found, 0.5):.0f} s, p99 {percentile(found, 0.99):.0f} s",
            )

    def found_after(self, chapter, published_at):
        from scraping.models import Chapter

        source, chapter_id = chapter
        first_seen = (
            Chapter.objects.filter(title__source=source, source_id=chapter_id)
            .values_list("first_seen_at", flat=True)
            .first()
        )
        return first_seen.timestamp() - published_at if first_seen else None

    def kill_a_worker_mid_check(self):
        from scraping.models import CheckLog

        log("fault: SIGKILL a worker in the middle of a check")
        # One worker alone takes the checks, so the one killed surely has one in flight.
        spare = self.workers[1]
        spare.stop()
        for site in self.sites.values():
            site.hang_seconds = 4  # answers come, slowly (under SOURCE_TIMEOUT)
        before = self.requests_so_far()
        self.set_fault("hang")
        comic_ids = self.publish(self.size["per_round"])
        deadline = time.monotonic() + 120
        while self.requests_so_far() == before and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        victim = self.workers[0]
        victim.kill()
        killed_at = time.monotonic()
        self.set_fault(None)
        victim.start()  # as a supervisor (systemd, compose) would
        spare.start()
        ok = self.settle("after the kill", timeout=300)
        self.report.promise(
            "kill -9 mid-check: the check is redone, nothing lost, nothing doubled",
            ok,
            f"worker killed with a request in flight; all {len(comic_ids)} titles' chapters "
            f"stored {time.monotonic() - killed_at:.0f} s later (claim lease 60 s)",
        )
        self.check_books("after the kill")
        self.report.figure(
            "after the kill",
            f"{CheckLog.objects.filter(outcome='failed').count()} failed checks "
            "logged in all (none is needed: the killed check left no row)",
        )

    def restart_mariadb(self):
        log("fault: restart MariaDB during a cycle")
        self.publish(self.size["per_round"])
        time.sleep(2)
        bounce_mariadb(down_seconds=5)
        from django.db import connections

        connections.close_all()
        self.publish(self.size["per_round"])
        ok = self.settle("after the MariaDB restart", timeout=300)
        alive = all(s.alive() for s in self.webs + self.workers)
        self.report.promise(
            "MariaDB restarted: the processes recover without a crash loop",
            ok and alive,
            f"all {len(self.webs + self.workers)} processes still the same ones "
            f"({'alive' if alive else 'NOT all alive'}), chapters from before and after stored "
            "and delivered",
        )
        self.check_books("after the MariaDB restart")

    def stop_redis(self):
        from notifications.models import Notification

        down = self.size["redis_down"]
        log(f"fault: Redis stopped for {down} s")
        before = Notification.objects.count()
        shut_down_redis()
        down_at = time.monotonic()
        self.publish(self.size["per_round"])
        # The queue lives in Redis, so the workers wait; `checktitles --once` checks without it.
        checked = subprocess.run(
            [sys.executable, "manage.py", "checktitles", "--once", "--force"],
            cwd=ROOT,
            env=self.child_env(),
            capture_output=True,
            text=True,
            timeout=down * 10 + 120,
        )
        made_while_down = Notification.objects.count() - before
        time.sleep(max(0.0, down - (time.monotonic() - down_at)))
        start_redis()
        ok = self.settle("after Redis came back", timeout=300)
        alive = all(s.alive() for s in self.webs + self.workers)
        self.report.promise(
            f"Redis down {down} s: notifications kept and delivered after",
            ok and alive and made_while_down > 0 and checked.returncode == 0,
            f"{made_while_down} notifications made while it was down by `checktitles --once` (exit "
            f"{checked.returncode}; the queue itself is in Redis); all delivered after it came back; "
            f"processes {'alive' if alive else 'NOT all alive'}",
        )
        self.check_books("after the Redis stop")

    def requests_so_far(self):
        return sum(len(site.api_requests()) for site in self.sites.values())

    def site_garbage(self):
        from scraping.models import Chapter, SourceState

        seconds = self.size["garbage"]
        log(f"fault: every source answers garbage for {seconds} s")
        self.set_fault("malformed")
        stored_before = Chapter.objects.count()
        self.publish(self.size["per_round"])
        deadline = time.monotonic() + seconds
        opened = set()
        while time.monotonic() < deadline:
            opened |= {s.source for s in SourceState.objects.filter(breaker_until__isnull=False)}
            time.sleep(1)
        written = Chapter.objects.count() - stored_before
        states = {s.source: s for s in SourceState.objects.all()}
        self.set_fault(None)
        self.report.promise(
            "garbage from every source: nothing written, every breaker open",
            written == 0 and opened == set(self.sites),
            f"{written} chapters written during {seconds} s of garbage; breakers opened: "
            f"{', '.join(sorted(opened)) or 'none'} ("
            + ", ".join(f"{name} {state.breaker_openings} openings" for name, state in states.items())
            + ")",
        )
        recovered_at = time.monotonic()
        ok = self.settle("after the garbage", timeout=300)
        still_open = sorted(SourceState.objects.filter(breaker_until__isnull=False).values_list("source", flat=True))
        self.report.promise(
            "garbage from every source: recovery after",
            ok and not still_open,
            f"breakers {'all closed' if not still_open else 'still open: ' + ', '.join(still_open)}; "
            f"everything stored and delivered {time.monotonic() - recovered_at:.0f} s after the "
            f"sources were well again (breaker waits capped at {self.size['breaker_max']} s here)",
        )
        self.check_books("after the garbage")

    def load(self):
        from django.db import close_old_connections

        from notifications.models import Notification
        from readers.models import Follow
        from tests.processes import logged_in_sessions

        count = self.size["sockets"]
        log(f"load: {count} sockets held by one daphne")
        close_old_connections()
        sessions = logged_in_sessions("proof-load-", count)
        title = self.titles[0]
        Follow.objects.bulk_create([Follow(user_id=pk, title=title) for pk, _ in sessions])
        self.fleet.connect_seconds.clear()
        began = time.monotonic()
        self.fleet.connect([(pk, key, self.ports[0]) for pk, key in sessions], timeout=600)
        took = time.monotonic() - began
        connects = list(self.fleet.connect_seconds)
        before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.publish(1, [(title.source, title.source_id)])
        ok = self.settle("load", timeout=300)
        self.report.promise(
            f"load: {count} sockets on one daphne, each gets its notification",
            ok,
            f"connected in {took:.1f} s (handshake and backlog p50 {percentile(connects, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(connects, 0.99) * 1000:.0f} ms), {self.fleet.reconnects} reconnects "
            "in all phases",
        )
        latencies = self.push_latencies(after=before)
        self.report.figure(
            f"load: check start to socket, one chapter to {count}+ followers",
            f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
            f" ({len(latencies)} pushes)",
        )
        self.page_load(sessions[0][1])

    def page_load(self, session_key):
        seconds = self.size["wrk_seconds"]
        if shutil.which("wrk") is None:
            self.report.promise(
                "load: the notifications page under wrk",
                False,
                "wrk is not installed (scripts/prove-production installs Debian's)",
            )
            return
        url = f"http://127.0.0.1:{self.page_port}/notifications/"
        done = subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", f"Cookie: sessionid={session_key}", url],
            capture_output=True,
            text=True,
        )
        out = done.stdout
        p50 = re.search(r"50%\s+(\S+)", out)
        p99 = re.search(r"99%\s+(\S+)", out)
        rate = re.search(r"Requests/sec:\s+(\S+)", out)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: (.*)", out)
        total = re.search(r"(\d+) requests in", out)
        server_errors = sum(s.log_path.read_text(errors="replace").count("Internal Server Error") for s in self.webs)
        server_errors += self.pages.log_path.read_text(errors="replace").count("Traceback")
        ok = done.returncode == 0 and p50 and not bad and not errors and not server_errors
        self.report.promise(
            "load: the notifications page under wrk (gunicorn, 2 workers), no errors",
            ok,
            f"{total.group(1) if total else '?'} requests in {seconds} s with 32 connections, "
            f"{rate.group(1) if rate else '?'}/s, p50 {p50.group(1) if p50 else '?'}, "
            f"p99 {p99.group(1) if p99 else '?'}, "
            f"{bad.group(1) if bad else 0} non-2xx, socket errors: {errors.group(1) if errors else 'none'}; "
            f"{server_errors} server errors in the gunicorn and daphne logs over the whole run",
        )

    def teardown(self):
        if hasattr(self, "fleet"):
            self.fleet.close()
        for service in getattr(self, "webs", []) + getattr(self, "workers", []):
            service.stop()
        for site in getattr(self, "sites", {}).values():
            site.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the CI run: fewer titles and readers, short faults")
    parser.add_argument(
        "--logs",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "batoshelf-proof",
        help="where the processes' output goes (default /tmp/batoshelf-proof)",
    )
    args = parser.parse_args()
    size = SHORT if args.short else FULL
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    args.logs.mkdir(parents=True, exist_ok=True)
    random.seed(7)
    proof = Proof(size, args.logs)
    began = time.monotonic()
    try:
        proof.setup()
        proof.steady_state()
        proof.kill_a_worker_mid_check()
        proof.restart_mariadb()
        proof.stop_redis()
        proof.site_garbage()
        proof.load()
    finally:
        proof.teardown()
        log(f"ran {time.monotonic() - began:.0f} s; process output in {args.logs}")
    restarts = {s.name: s.started - 1 for s in proof.webs + proof.workers if s.started > 1}
    proof.report.figure(
        "processes started again by the script",
        f"{restarts} (the killed worker, and the one stopped so the killed one had the check)",
    )
    sys.exit(proof.report.summary())


if __name__ == "__main__":
    main()
