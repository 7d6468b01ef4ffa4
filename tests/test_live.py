"""The WebSocket through the full ASGI application, on this run's channel layer
(in-memory on the embedded default, Redis when REDIS_URL is set)."""

import asyncio
import functools
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batoshelf.asgi import application
from notifications import delivery
from notifications.messages import NEW_NOTIFICATIONS
from notifications.models import Notification
from scraping.checking.pipeline import check_title, import_title
from tests.conftest import bato, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")
# Long enough for the relay's poll (0.2 s here) and a Redis round trip on a busy machine.
DELIVERY_TIMEOUT = 5


@pytest.fixture(autouse=True)
def fast_relay(settings):
    settings.NOTIFICATIONS_RELAY_INTERVAL = 0.2


HOST = (b"host", b"localhost")


def session_headers(user, origin=ORIGIN):
    cookie = f"sessionid={logged_in(user).cookies['sessionid'].value}".encode()
    return [origin, HOST, (b"cookie", cookie)]


def live(test):
    """Run an async test body from a sync test, so database work shares the test's thread.

    The web process's listener and relay are stopped before the test's event
    loop ends, or a receive cut off mid-way would hold the layer's lock.
    """

    async def body(*args, **kwargs):
        try:
            await test(*args, **kwargs)
        finally:
            await delivery.web_process.stop()

    @functools.wraps(test)
    def run(*args, **kwargs):
        return async_to_sync(body)(*args, **kwargs)

    return run


async def connect(headers, query=""):
    communicator = WebsocketCommunicator(application, f"/ws/notifications/{query}", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


@pytest.fixture
def followed_title(standin, reader):
    standin.add_title("110100", chapters=3)
    return import_title(bato("110100"), user=reader).title


def make_notifications(user, title, count, **fields):
    now = timezone.now()
    return Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                title=title,
                kind="new_chapter",
                message=f"Chapter {i} of {title.name}",
                created_at=now,
                **fields,
            )
            for i in range(count)
        ]
    )


@live
async def test_anonymous_connections_are_refused_before_accept():
    communicator, connected = await connect([ORIGIN, HOST])
    assert not connected


@live
@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost:9999", "https://localhost", "http://localhost.evil.example", "null", ""],
)
async def test_connections_from_another_origin_are_refused(reader, origin):
    headers = await database_sync_to_async(session_headers)(reader, origin=(b"origin", origin.encode()))
    communicator, connected = await connect(headers)
    assert not connected


@live
async def test_a_trusted_origin_behind_a_tls_proxy_is_let_in(reader, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://shelf.example.org"]
    settings.ALLOWED_HOSTS = ["shelf.example.org"]
    cookie = (await database_sync_to_async(session_headers)(reader))[-1]
    headers = [(b"origin", b"https://shelf.example.org"), (b"host", b"shelf.example.org"), cookie]
    communicator, connected = await connect(headers)
    assert connected
    await communicator.disconnect()


@live
@pytest.mark.parametrize("since", ["9" * 5000, "9223372036854775808", "²", "-1", "1e9"])
async def test_a_since_past_any_id_gets_a_reason_and_a_close(reader, since):
    communicator, connected = await connect(await database_sync_to_async(session_headers)(reader), f"?since={since}")
    assert connected
    message = await communicator.receive_json_from()
    assert message["type"] == "error" and "since must be a notification id" in message["error"]
    assert (await communicator.receive_output())["code"] == 4400


@live
async def test_a_bad_since_gets_a_reason_and_a_close(reader):
    communicator, connected = await connect(await database_sync_to_async(session_headers)(reader), "?since=abc")
    assert connected
    message = await communicator.receive_json_from()
    assert message["type"] == "error" and "since must be a notification id" in message["error"]
    assert (await communicator.receive_output())["code"] == 4400


@live
async def test_the_socket_only_sends_and_says_so(reader):
    communicator, _ = await connect(await database_sync_to_async(session_headers)(reader))
    await communicator.receive_json_from()
    await communicator.send_to(text_data="not json {")
    answer = await communicator.receive_json_from()
    await communicator.disconnect()
    assert answer == {"type": "error", "error": "this socket only sends; use the API to change things"}


@live
async def test_on_connect_the_browser_gets_its_unread_count_and_what_it_missed(reader, followed_title):
    seen, *missed = await database_sync_to_async(make_notifications)(reader, followed_title, 3)
    await database_sync_to_async(Notification.objects.filter(pk=seen.pk).update)(is_read=True)

    communicator, connected = await connect(await database_sync_to_async(session_headers)(reader), f"?since={seen.pk}")
    assert connected
    sync = await communicator.receive_json_from()
    await communicator.disconnect()

    assert sync["type"] == "sync"
    assert sync["unread_count"] == 2
    assert [n["id"] for n in sync["notifications"]] == [n.pk for n in missed]
    first = sync["notifications"][0]
    assert first["title_id"] == followed_title.pk and first["title_name"] == followed_title.name
    assert set(first) >= {
        "kind",
        "importance",
        "message",
        "chapter_name",
        "chapter_url",
        "chapter_count",
        "old_status",
        "new_status",
        "is_read",
        "created_at",
    }


@live
async def test_a_check_that_commits_reaches_its_follower_live_and_no_one_else(
    standin, reader, other_reader, followed_title
):
    reader_socket, _ = await connect(await database_sync_to_async(session_headers)(reader))
    other_socket, _ = await connect(await database_sync_to_async(session_headers)(other_reader))
    assert (await reader_socket.receive_json_from())["unread_count"] == 0
    await other_socket.receive_json_from()

    standin.add_chapters("110100", 1)
    result = await database_sync_to_async(check_title)(followed_title)
    assert result.log.new_chapters == 1

    try:
        message = await reader_socket.receive_json_from(timeout=DELIVERY_TIMEOUT)
        assert message["type"] == "notification"
        assert message["unread_count"] == 1
        assert message["notification"]["chapter_name"] == "Chapter 4"
        assert message["notification"]["chapter_url"].startswith(standin.url)
        assert await other_socket.receive_nothing(timeout=1)
        assert await reader_socket.receive_nothing(timeout=0.5), "the same notification was pushed twice"
    finally:
        await reader_socket.disconnect()
        await other_socket.disconnect()
    emitted = await database_sync_to_async(lambda: list(Notification.objects.values_list("emitted_at", flat=True)))()
    assert len(emitted) == 1 and emitted[0] is not None


@live
async def test_a_connection_idle_longer_than_redis_read_timeouts_still_receives(reader, followed_title):
    # redis-py 8 reads time out after 5 s by default, which used to end every idle consumer.
    communicator, _ = await connect(await database_sync_to_async(session_headers)(reader))
    await communicator.receive_json_from()
    await asyncio.sleep(7)
    (notification,) = await database_sync_to_async(make_notifications)(reader, followed_title, 1)
    await database_sync_to_async(delivery.publish)([notification.pk])
    message = await communicator.receive_json_from(timeout=DELIVERY_TIMEOUT)
    await communicator.disconnect()
    assert message["notification"]["id"] == notification.pk


@live
async def test_a_browser_that_reconnects_gets_what_arrived_while_it_was_away(reader, followed_title):
    headers = await database_sync_to_async(session_headers)(reader)
    first, _ = await connect(headers)
    await first.receive_json_from()
    await first.disconnect()

    while_away = await database_sync_to_async(make_notifications)(reader, followed_title, 2)

    again, _ = await connect(headers, "?since=0")
    sync = await again.receive_json_from()
    await again.disconnect()
    assert [n["id"] for n in sync["notifications"]] == [n.pk for n in while_away]
    assert sync["unread_count"] == 2


@live
async def test_reading_in_one_tab_updates_the_others(reader, followed_title):
    headers = await database_sync_to_async(session_headers)(reader)
    notification, _ = await database_sync_to_async(make_notifications)(
        reader,
        followed_title,
        2,
        emitted_at=timezone.now(),  # already pushed: only the read state travels
    )
    other_tab, _ = await connect(headers, f"?since={notification.pk + 1}")
    await other_tab.receive_json_from()

    def read_in_this_tab():
        return logged_in(reader).post(f"/api/notifications/{notification.pk}/read")

    assert (await database_sync_to_async(read_in_this_tab)()).status_code == 200
    message = await other_tab.receive_json_from(timeout=DELIVERY_TIMEOUT)
    await other_tab.disconnect()
    assert message == {"type": "read", "ids": [notification.pk], "unread_count": 1}


def test_the_committing_process_publishes_after_commit_when_redis_carries_it(standin, reader, followed_title):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(NEW_NOTIFICATIONS, channel)
    standin.add_chapters("110100", 1)

    with transaction.atomic():
        check_title(followed_title)
        assert not Notification.objects.filter(emitted_at__isnull=False).exists(), "pushed before commit"
    pushed = Notification.objects.filter(emitted_at__isnull=False).count()

    if settings.REDIS_URL:
        assert pushed == 1
        (event,) = async_to_sync(layer.receive)(channel)["events"]
        assert event["user_id"] == reader.pk
        assert event["notification"]["chapter_name"] == "Chapter 4"
    else:
        # An in-memory layer would not leave this process: the web process's relay pushes it.
        assert pushed == 0


def test_one_claim_per_notification_however_many_relays(reader, followed_title):
    rows = make_notifications(reader, followed_title, 3)
    now = timezone.now()
    token, claimed = delivery.claim(Notification.objects.all(), now)
    assert sorted(claimed) == sorted(n.pk for n in rows)
    assert delivery.claim(Notification.objects.all(), now) == (None, [])

    delivery.release(token)
    assert len(delivery.claim(Notification.objects.all(), now)[1]) == 3


def test_a_failed_publish_keeps_the_rows_for_the_relay(settings, reader, followed_title):
    rows = make_notifications(reader, followed_title, 2)
    working_layers = settings.CHANNEL_LAYERS
    # Nothing listens on port 1: the publish fails the way it does while Redis is down.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    assert delivery.publish([n.pk for n in rows]) == 0
    assert not Notification.objects.filter(emitted_at__isnull=False).exists()

    settings.CHANNEL_LAYERS = working_layers
    assert async_to_sync(delivery.relay_once)() == 2
    assert Notification.objects.filter(emitted_at__isnull=True).count() == 0


def test_a_publish_larger_than_one_claim_sends_everything(monkeypatch, reader, followed_title):
    monkeypatch.setattr(delivery, "RELAY_BATCH", 2)
    rows = make_notifications(reader, followed_title, 5)
    assert delivery.publish([n.pk for n in rows]) == 5
    assert not Notification.objects.filter(emitted_at__isnull=True).exists()


def test_old_unpushed_rows_are_marked_but_not_announced(reader, followed_title):
    stale, fresh = make_notifications(reader, followed_title, 2)
    Notification.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=1))
    token, claimed = delivery.claim(Notification.objects.all(), timezone.now())
    events = delivery.events_for(Notification.objects.filter(pk__in=claimed), timezone.now())
    assert [event["notification"]["id"] for event in events] == [fresh.pk]
    assert Notification.objects.filter(emitted_at__isnull=True).count() == 0


def test_the_layer_follows_redis_url():
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if settings.REDIS_URL:
        assert backend == "channels_redis.core.RedisChannelLayer"
        assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] >= 1000
    else:
        assert backend == "batoshelf.layers.InMemoryChannelLayer"


def test_a_web_process_listens_and_relays_once_per_event_loop():
    async def attach_twice():
        sockets = [object(), object()]
        delivery.web_process.attach(1, sockets[0])
        first = dict(delivery.web_process._tasks)
        delivery.web_process.attach(1, sockets[1])
        assert delivery.web_process._tasks == first
        assert list(delivery.web_process.sockets[1]) == sockets
        for socket in sockets:
            delivery.web_process.detach(1, socket)
        assert 1 not in delivery.web_process.sockets
        await delivery.web_process.stop()

    asyncio.run(attach_twice())


def test_a_reader_with_too_many_open_pages_loses_the_oldest():
    async def open_many():
        sockets = [object() for _ in range(delivery.MAX_SOCKETS_PER_READER + 1)]
        closed = [delivery.web_process.attach(7, socket) for socket in sockets]
        assert closed[:-1] == [None] * delivery.MAX_SOCKETS_PER_READER and closed[-1] is sockets[0]
        assert len(delivery.web_process.sockets[7]) == delivery.MAX_SOCKETS_PER_READER
        for socket in sockets:
            delivery.web_process.detach(7, socket)
        await delivery.web_process.stop()

    asyncio.run(open_many())
