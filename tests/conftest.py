import os
import socket
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from scraping.sources import TitleRef
from tests.standins import BatoStandIn, MangaDexStandIn, MangaUpdatesStandIn

UNDER_CI = os.environ.get("CI", "").lower() == "true"

# Fuzzing (tests/test_fuzz.py) explores new inputs on every local run; CI
# replays one fixed exploration, so a red CI run is a bug that reproduces.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if UNDER_CI:
    hypothesis_settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption(
        "--clock-ahead",
        type=float,
        default=0,
        metavar="DAYS",
        help="run with this process's clock moved DAYS ahead, to find tests that rely on today's date "
        "(a fraction moves the hour too: 0.25 is six hours, for tests that rely on the time of day; "
        "processes the tests start keep the real clock: deselect them with -m 'not slow')",
    )


def pytest_configure(config):
    days = config.getoption("--clock-ahead")
    if days:
        import time_machine

        traveller = time_machine.travel(timezone.now() + timedelta(days=days), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def _reachable(url, default_port):
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _missing_services():
    """The services this run's settings need that do not answer, with the reason."""
    missing = []
    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("mysql") and not _reachable(
        f"mysql://{database['HOST']}:{database['PORT'] or 3306}", 3306
    ):
        missing.append(f"MariaDB at {database['HOST']}:{database['PORT'] or 3306} does not answer")
    if django_settings.REDIS_URL and not _reachable(django_settings.REDIS_URL, 6379):
        missing.append(f"Redis at {django_settings.REDIS_URL} does not answer")
    return missing


def pytest_collection_modifyitems(config, items):
    missing = _missing_services()
    if not missing:
        return
    reason = "; ".join(missing)
    if UNDER_CI:
        pytest.exit(f"CI=true and {reason}: these tests must run, not skip", returncode=1)
    for item in items:
        item.add_marker(pytest.mark.skip(reason=f"{reason} (start it, or run without DATABASE_URL/REDIS_URL)"))


def pytest_report_header(config):
    database = django_settings.DATABASES["default"]
    return (
        f"batoshelf: database {database['ENGINE'].rsplit('.', 1)[-1]}, "
        f"broker {'redis' if django_settings.REDIS_URL else 'django ORM'}, "
        f"channel layer {django_settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}"
    )


@pytest.fixture(autouse=True)
def fresh_limiter():
    """The Redis limiters' keys outlive a test (the database limiters' rows do not): start each test clean."""
    from scraping.gate.limiter import limiter

    if django_settings.REDIS_URL:
        for source in ("bato", "mangadex", "mangaupdates"):
            redis_limiter = limiter(source)
            redis_limiter.redis.delete(redis_limiter.key)
    yield


@pytest.fixture(autouse=True)
def fresh_cache():
    """Search answers and queued-fetch marks live in the shared cache: each test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer. Each test's async code runs in an event loop of its own,
    and a Redis layer's receive locks belong to the loop that made them: one left held by a
    receive cut off at a loop's end would fail the next test's sockets ("bound to a different
    event loop"). Daphne runs one loop for its life, so production never meets this."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield


class FakeClock:
    """A clock for the gate that moves only when told to, or when the gate sleeps."""

    def __init__(self, start):
        self.current = start

    def now(self):
        return self.current

    def sleep(self, seconds):
        self.advance(seconds)

    def advance(self, seconds):
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def site_clock(monkeypatch):
    """The site gate's clock (pauses, breaker, limiter), under the test's control."""
    import scraping.gate.keeper

    clock = FakeClock(timezone.now())
    monkeypatch.setattr(scraping.gate.keeper, "clock", clock)
    return clock


def bato(comic_id):
    """The Bato title `comic_id`, as import_title takes it."""
    return TitleRef("bato", str(comic_id))


@pytest.fixture
def standin(settings):
    """The Bato stand-in on loopback, with the project pointed at it."""
    with BatoStandIn() as server:
        settings.BATO_SITE_URLS = [server.url]
        yield server


@pytest.fixture
def mangadex(settings):
    """The MangaDex stand-in on loopback, with the project pointed at it."""
    with MangaDexStandIn() as server:
        settings.MANGADEX_API_URL = server.api_url
        settings.MANGADEX_COVERS_URL = f"{server.url}/covers"
        yield server


@pytest.fixture
def mangaupdates(settings):
    """The MangaUpdates stand-in on loopback, with the project pointed at it."""
    with MangaUpdatesStandIn() as server:
        settings.MANGAUPDATES_API_URL = server.api_url
        settings.MANGAUPDATES_COVERS_URL = server.url
        yield server


@pytest.fixture
def mangaplus(settings):
    """The MANGA Plus stand-in on loopback, with the project pointed at it."""
    from tests.standins.mangaplus import MangaPlusStandIn

    with MangaPlusStandIn() as server:
        settings.MANGAPLUS_API_URL = server.api_url
        settings.MANGAPLUS_COVERS_URL = server.url
        yield server


@pytest.fixture
def webtoon(settings):
    """The WEBTOON stand-in on loopback, with the project pointed at it."""
    from tests.standins.feeds import WebtoonStandIn

    with WebtoonStandIn() as server:
        settings.WEBTOON_URL = server.url
        yield server


@pytest.fixture
def tapas(settings):
    """The Tapas stand-in on loopback, with the project pointed at it."""
    from tests.standins.feeds import TapasStandIn

    with TapasStandIn() as server:
        settings.TAPAS_URL = server.url
        yield server


@pytest.fixture
def site_feed(settings):
    """A site's own feed on loopback, and feeds allowed to reach it (they may not by default)."""
    from tests.standins.feeds import SiteFeedStandIn

    settings.FEEDS_ALLOW_PRIVATE = True
    with SiteFeedStandIn() as server:
        yield server


def url_routes(patterns=None, prefix=""):
    """Every route of the URL configuration, as written ("shelf/<id:title_id>/follow"), the admin's too."""
    from django.urls import URLPattern, URLResolver, get_resolver

    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def run_command(*args):
    """Run a management command here; return what it wrote to stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reader(django_user_model):
    return django_user_model.objects.create_user("reader", password="reader-pass-123")


@pytest.fixture
def other_reader(django_user_model):
    return django_user_model.objects.create_user("other", password="other-pass-123")


@pytest.fixture
def as_reader(reader):
    return logged_in(reader)


@pytest.fixture
def as_other(other_reader):
    return logged_in(other_reader)


def run_queued(django_capture_on_commit_callbacks):
    """Take every task from the real broker (the ORM's or Redis) and run it here, as a worker would,
    until the queue is empty; return what they returned."""
    import pydoc

    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker, results = get_broker(), []
    for _ in range(50):
        if not broker.queue_size():
            return results
        for ack_id, payload in broker.dequeue() or ():
            task = SignedPackage.loads(payload)
            func = pydoc.locate(task["func"]) if isinstance(task["func"], str) else task["func"]
            with django_capture_on_commit_callbacks(execute=True):
                results.append(func(*task["args"], **task["kwargs"]))
            if ack_id is not None:
                broker.acknowledge(ack_id)
    raise AssertionError("tasks kept queueing tasks: 50 rounds and the queue is not empty")


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """`with run_tasks(): client.post(...)`: a page's request, its commit, and then the worker's part:
    every task it queued (and they queued) runs here, through the real broker."""
    from contextlib import contextmanager

    from django_q.brokers import get_broker

    get_broker().purge_queue()

    @contextmanager
    def running():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        running.results = run_queued(django_capture_on_commit_callbacks)

    return running
