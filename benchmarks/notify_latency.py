"""From a check's commit to the follower's browser: p50 / p99 over real WebSocket clients.

    .venv/bin/python benchmarks/notify_latency.py                 # both modes, 100 and 1,000 clients
    .venv/bin/python benchmarks/notify_latency.py --modes redis --clients 1000 --rounds 5

For each mode it makes a throwaway test database, starts `manage.py serve`
(daphne and the django-q2 worker, exactly as a user runs them), connects N
logged-in WebSocket clients that all follow one title on the Bato stand-in,
and then, each round, adds a chapter on the stand-in and queues a check. The
worker checks, commits, and the notification travels: published by the worker
through Redis (redis mode), or relayed by daphne from the outbox (embedded).

Commit time is read from the check's check log (its start plus its duration,
the last write before the commit), so latencies are if anything overstated.
The baseline is the seed's behaviour, a relay that polls every 60 s, measured
in the same run with 100 clients. Each round starts at a random point of the
relay's poll; the worker's own poll keeps one phase to the relay's for the
life of a pair of processes, so each mode runs on several fresh services
(--runs) and the figures pool them. Nothing is asserted; it prints figures.

With --channels each mode also runs with one channel per follower (a json://
web hook on a small loopback receiver of its own process, sent by the worker's tasks;
--threaded-hook receives them with the tests' thread-per-connection stand-in instead): it prints the
time from the commit to each channel's delivery and to the last one, and the
browsers' latency beside the same mode without channels, measured in the same run.
With --hanging as well, a third run per mode has one channel in ten on a second
web hook that never answers (each send gives up at its deadline): the figures are
then for the other nine in ten.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraping.sources import TitleRef  # noqa: E402

MODES = {
    "embedded": {"DATABASE_URL": None, "REDIS_URL": None},
    "redis": {"DATABASE_URL": "mysql://root@127.0.0.1:3306/batoshelf", "REDIS_URL": "redis://127.0.0.1:6379/14"},
}
TITLE = "110100"
CONNECT_CONCURRENCY = 50
ROUND_TIMEOUT = 90
# With --hanging, this one channel in so many is on a web hook that never answers.
HANGING_EVERY = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="embedded,redis", help="comma-separated: embedded, redis")
    parser.add_argument("--clients", default="100,1000", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=3, help="new chapters per client count and run")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="fresh services per mode: the relay's and the worker's polls keep one phase per run",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the 60 s polling baseline (about 2 min)")
    parser.add_argument(
        "--channels", action="store_true", help="also run each mode with one channel per follower (a web hook)"
    )
    parser.add_argument(
        "--hanging", action="store_true", help="with --channels: also a run where one channel in ten never answers"
    )
    parser.add_argument(
        "--threaded-hook", action="store_true", help="receive the hooks with the tests' threaded stand-in instead"
    )
    parser.add_argument("--workers", default="2", help="the worker's processes (Q_WORKERS; 2 is the default)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--with-channels", choices=("all", "hanging"), help=argparse.SUPPRESS)
    parser.add_argument("--relay-interval", help=argparse.SUPPRESS)
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    if args.child:
        return measure(
            args.child, counts, args.rounds, args.relay_interval, args.with_channels, args.workers, args.threaded_hook
        )

    variants = (None, "all", "hanging") if args.hanging else (None, "all") if args.channels else (None,)
    runs = [
        (mode, counts, None, args.rounds, channels)
        for mode in args.modes.split(",")
        for _ in range(args.runs)
        for channels in variants
    ]
    if not args.no_baseline:
        runs.append(("embedded", [min(counts)], "60", 4, None))
    samples = {}  # (label, clients) -> {"latencies": [...], "missing": n, "channels": [...], "last": [...]}
    for mode, mode_counts, interval, rounds, channels in runs:
        label = {
            None: mode,
            "all": f"{mode} + a channel each",
            "hanging": f"{mode} + a channel each, 1 in 10 hanging",
        }[channels]
        if interval:
            label = f"{mode}, the seed's 60 s poll"
        print(f"\n== {label}", flush=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({k: v for k, v in MODES[mode].items() if v})
        command = [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--clients",
            ",".join(map(str, mode_counts)),
            "--rounds",
            str(rounds),
            "--workers",
            args.workers,
        ]
        if interval:
            command += ["--relay-interval", interval]
        if channels:
            command += ["--with-channels", channels]
        if args.threaded_hook:
            command.append("--threaded-hook")
        child = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
        for line in child.stdout.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[7:])
                entry = samples.setdefault(
                    (label, result["clients"]), {"latencies": [], "missing": 0, "channels": [], "last": []}
                )
                entry["latencies"] += result["latencies"]
                entry["missing"] += result["missing"]
                entry["channels"] += result.get("channels", [])
                entry["last"] += result.get("last", [])
            else:
                print(line)
        if child.returncode:
            print(f"{label}: the run failed (exit {child.returncode})")
    report(
        [
            {
                "label": label,
                "clients": clients,
                "samples": len(entry["latencies"]),
                "missing": entry["missing"],
                "p50": percentile(entry["latencies"], 0.50) * 1000,
                "p99": percentile(entry["latencies"], 0.99) * 1000,
                "max": max(entry["latencies"]) * 1000,
                "channels": entry["channels"],
                "last": entry["last"],
            }
            for (label, clients), entry in samples.items()
        ]
    )


def report(results):
    print("\nmode                         clients  samples  missing    p50 ms    p99 ms    max ms")
    for r in results:
        print(
            f"{r['label']:<28} {r['clients']:>7} {r['samples']:>8} {r['missing']:>8} "
            f"{r['p50']:>9.0f} {r['p99']:>9.0f} {r['max']:>9.0f}"
        )
    for r in results:
        if r["channels"]:
            print(
                f"{r['label']} at {r['clients']} clients: commit to a channel's delivery p50 "
                f"{percentile(r['channels'], 0.5):.2f} s, p99 {percentile(r['channels'], 0.99):.2f} s; to the last "
                f"of the {r['clients'] - (r['clients'] // HANGING_EVERY if 'hanging' in r['label'] else 0)} "
                f"answering channels {statistics.fmean(r['last']):.2f} s on average "
                f"over {len(r['last'])} rounds"
            )
            plain = next(
                (p for p in results if p["label"] == r["label"].split(" + ")[0] and p["clients"] == r["clients"]), None
            )
            if plain:
                print(
                    f"  browsers meanwhile: p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms; without channels "
                    f"{plain['p50']:.0f} ms and {plain['p99']:.0f} ms (ratio {r['p50'] / plain['p50']:.2f} and "
                    f"{r['p99'] / plain['p99']:.2f}); the last channel / the browsers' p99 = "
                    f"{statistics.fmean(r['last']) * 1000 / r['p99']:.1f}"
                )
    baseline = next((r for r in results if "60 s" in r["label"]), None)
    if baseline:
        for r in results:
            if r is not baseline:
                print(
                    f"{r['label']} at {r['clients']} clients: p50 {baseline['p50'] / r['p50']:.0f}x "
                    f"and p99 {baseline['p99'] / r['p99']:.0f}x lower than the 60 s poll"
                )


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(mode, counts, rounds, relay_interval, with_channels=None, workers="2", threaded_hook=False):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    old_name = connection.settings_dict["NAME"]
    # Its own throwaway database, so the test suite can run meanwhile.
    test = connection.settings_dict["TEST"]
    test["NAME"] = (
        str(ROOT / "var" / f"bench-notify-{os.getpid()}.sqlite3")
        if connection.vendor == "sqlite"
        else f"test_batoshelf_notify_{os.getpid()}"
    )
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.conf import settings

        from tests.standins import BatoStandIn

        with (
            BatoStandIn() as site,
            WebHookElsewhere(threaded=threaded_hook) as webhook,
            WebHookElsewhere(hang=60, threaded=threaded_hook) as dead,
        ):
            settings.BATO_SITE_URLS = [site.url]
            site.add_title(TITLE, "Benchmark Title", chapters=3)
            run_service_and_clients(
                mode,
                site,
                counts,
                rounds,
                relay_interval,
                webhook if with_channels else None,
                dead if with_channels == "hanging" else None,
                workers,
            )
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


class WebHookElsewhere:
    """A reader's web hook in a process of its own, as a reader's hook is on another machine: its work
    is not this process's (which runs a thousand WebSocket clients). It is a small asyncio server, not
    the tests' thread-per-connection stand-in: on these 2 cores that one answers ~500 posts a second
    and would measure itself (--threaded-hook runs with it, to compare). Read over its control API."""

    def __init__(self, hang=None, threaded=False):
        self.hang = hang
        self.threaded = threaded

    def __enter__(self):
        import multiprocessing

        ready = multiprocessing.Queue()
        target = _serve_threaded_web_hook if self.threaded else _serve_web_hook
        self.process = multiprocessing.Process(target=target, args=(ready, self.hang), daemon=True)
        self.process.start()
        self.url = ready.get(timeout=30)
        return self

    def __exit__(self, *exc):
        self.process.terminate()

    def channel_url(self, path):
        return self.url.replace("http://", "json://", 1) + path

    def api_requests(self):
        import requests

        return [argparse.Namespace(**post) for post in requests.get(f"{self.url}/_standin/posts", timeout=30).json()]


def _serve_threaded_web_hook(ready, hang):
    from tests.standins.webhook import WebHookStandIn

    with WebHookStandIn() as webhook:
        if hang:
            webhook.hang_seconds = hang
            webhook.set_fault("hang")
        ready.put(webhook.url)
        signal.pause()


def _serve_web_hook(ready, hang):
    """Answer every POST 200 (or, with `hang`, hold it unanswered that long) and record its arrival time
    (time.monotonic, system-wide) and JSON body; GET /_standin/posts gives them back."""
    posts = []

    async def answer(writer, status, body, close):
        writer.write(
            b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (status, len(body), b"Connection: close\r\n" if close else b"")
            + body
        )
        await writer.drain()

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                fields = dict(line.lower().split(": ", 1) for line in lines if ": " in line)
                body = await reader.readexactly(int(fields.get("content-length", 0)))
                close = fields.get("connection") == "close" or request_line.endswith("HTTP/1.0")
                method, path = request_line.split(" ")[:2]
                if path == "/_standin/posts":
                    await answer(writer, 200, json.dumps(posts).encode(), close)
                elif method == "POST":
                    posts.append({"at": time.monotonic(), "path": path, "body": json.loads(body or b"null")})
                    if hang:
                        await asyncio.sleep(hang)
                        break
                    await answer(writer, 200, b'{"ok": true}', close)
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        writer.close()

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        ready.put(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        await server.serve_forever()

    asyncio.run(serve())


def run_service_and_clients(mode, site, counts, rounds, relay_interval, webhook, dead=None, workers="2"):
    from notifications.models import Channel
    from readers.models import Follow
    from scraping.checking.pipeline import import_title
    from tests.processes import (
        ManagedProcess,
        free_port,
        http_status,
        logged_in_sessions,
        wait_for,
    )

    title = import_title(TitleRef("bato", str(TITLE))).title
    sessions = logged_in_sessions("bench", max(counts))
    port = free_port()
    extra = {"Q_WORKERS": workers, "LOG_LEVEL": "WARNING", "NOTIFY_ALLOW_PRIVATE_TARGETS": "true"}
    if webhook:
        Channel.objects.bulk_create(
            [
                Channel(
                    user_id=pk,
                    name="hook",
                    url=(dead if dead and n % HANGING_EVERY == HANGING_EVERY - 1 else webhook).channel_url(
                        f"/hook/{pk}"
                    ),
                )
                for n, (pk, _) in enumerate(sessions)
            ]
        )
    if relay_interval:
        extra["NOTIFICATIONS_RELAY_INTERVAL"] = relay_interval
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"batoshelf-bench-{mode}-{os.getpid()}.log"
    service = ManagedProcess(log, "serve", "--port", str(port), **extra)
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/accounts/login/") == 200, 60, "daphne")
        chapter = 3
        for count in counts:
            Follow.objects.bulk_create(
                [Follow(user_id=pk, title=title) for pk, _ in sessions[:count]], ignore_conflicts=True
            )
            latencies, missing, channel_latencies, last = asyncio.run(
                clients_round_trip(
                    port,
                    [key for _, key in sessions[:count]],
                    site,
                    title,
                    chapter,
                    rounds,
                    float(relay_interval or 1),
                    webhook,
                    count - count // HANGING_EVERY if dead else count,
                )
            )
            chapter += rounds
            print(
                f"  {count} clients: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, {missing} missing",
                flush=True,
            )
            if webhook:
                print(
                    f"  {count} channels: the last delivery {statistics.fmean(last):.1f} s after the commit", flush=True
                )
            result = {"clients": count, "missing": missing, "latencies": latencies, "channels": channel_latencies}
            print("RESULT " + json.dumps({**result, "last": last}), flush=True)
    finally:
        code = service.stop(signal.SIGINT)
        if code:
            print(service.output()[-3000:])
        log.unlink(missing_ok=True)


async def clients_round_trip(
    port, session_keys, site, title, first_chapter, rounds, poll_seconds, webhook=None, answering=0
):
    """Connect every client, then per round add a chapter, queue a check and time its arrival everywhere.

    Each round starts at a random point of the relay's poll, as a real release would.
    """
    import websockets
    from django.db import close_old_connections
    from django_q.tasks import async_task

    from scraping.checking.tasks import check_title_task
    from scraping.models import CheckLog

    received = {}  # chapter name -> [receipt times]
    ready = asyncio.Semaphore(CONNECT_CONCURRENCY)
    connected = 0
    stop = asyncio.Event()

    async def client(key):
        nonlocal connected
        async with ready:
            ws = await websockets.connect(
                f"ws://127.0.0.1:{port}/ws/notifications/",
                additional_headers={"Cookie": f"sessionid={key}", "Origin": f"http://127.0.0.1:{port}"},
                open_timeout=60,
                ping_interval=None,
                max_queue=None,
            )
            json.loads(await ws.recv())  # the sync message
            connected += 1
        try:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                at = time.time()
                data = json.loads(raw)
                if data["type"] == "notification":
                    received.setdefault(data["notification"]["chapter_name"], []).append(at)
        finally:
            await ws.close()

    started = time.monotonic()
    tasks = [asyncio.create_task(client(key)) for key in session_keys]
    while connected < len(session_keys):
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise failed[0].exception()
        await asyncio.sleep(0.1)
    print(f"  {len(session_keys)} clients connected in {time.monotonic() - started:.1f} s", flush=True)

    def check_and_commit_time():
        close_old_connections()
        last_log = CheckLog.objects.order_by("-pk").values_list("pk", flat=True).first()
        site.add_chapters(TITLE, 1)
        async_task(check_title_task, title.pk)
        deadline = time.monotonic() + ROUND_TIMEOUT
        while time.monotonic() < deadline:
            log = CheckLog.objects.filter(title=title, pk__gt=last_log).first()
            if log:
                if log.outcome != "success":
                    raise RuntimeError(f"the check did not find the chapter: {log.outcome} {log.message}")
                return log.started_at.timestamp() + log.duration_ms / 1000
            time.sleep(0.05)
        raise RuntimeError("the worker did not check the title")

    latencies, missing, channel_latencies, last = [], 0, [], []
    wall_offset = time.time() - time.monotonic()  # the web hook stand-in stamps with the monotonic clock
    for number in range(first_chapter + 1, first_chapter + rounds + 1):
        name = f"Chapter {number}"
        await asyncio.sleep(random.uniform(0, poll_seconds))
        committed_at = await asyncio.to_thread(check_and_commit_time)
        deadline = time.monotonic() + ROUND_TIMEOUT
        while len(received.get(name, [])) < len(session_keys) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        arrivals = received.get(name, [])
        missing += len(session_keys) - len(arrivals)
        latencies.extend(at - committed_at for at in arrivals)
        if webhook:
            delivered = []
            while len(delivered) < answering and time.monotonic() < deadline + ROUND_TIMEOUT:
                delivered = [r.at + wall_offset for r in webhook.api_requests() if name in json.dumps(r.body)]
                await asyncio.sleep(0.2)
            channel_latencies.extend(at - committed_at for at in delivered)
            if delivered:
                last.append(max(delivered) - committed_at)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, missing, channel_latencies, last


if __name__ == "__main__":
    main()
