"""Web push to a reader's devices, through a stand-in push service that checks VAPID and decrypts."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import channels, webpush
from notifications.models import Channel, ChannelDelivery, Notification, PushDevice, VapidKey
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Title
from tests.conftest import bato
from tests.standins.push import PushServiceStandIn

pytestmark = pytest.mark.django_db


def a_public_key():
    """A browser's P-256 public key, as a subscription carries it (base64url, uncompressed point)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return (
        base64.urlsafe_b64encode(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)).rstrip(b"=").decode()
    )


A_KEY = a_public_key()
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)


@pytest.fixture
def push_service(settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True  # the stand-in is on loopback
    with PushServiceStandIn() as server:
        yield server


@pytest.fixture
def followed(standin, reader):
    standin.add_title("110100", "Solo Stationer", chapters=3)
    return import_title(bato("110100"), user=reader).title


def subscribe(client, subscription, agent=PHONE):
    return client.post(
        "/api/me/devices", json.dumps(subscription), content_type="application/json", HTTP_USER_AGENT=agent
    )


def test_a_reader_with_every_tab_closed_gets_the_new_chapter_on_their_phone(
    standin, followed, as_reader, reader, push_service
):
    key = as_reader.get("/api/me/devices").json()["application_server_key"]
    subscription = push_service.subscription()
    answer = subscribe(as_reader, subscription)
    assert answer.status_code == 201 and answer.json()["name"] == "Chrome on Android"
    assert answer.json()["url"] == f"web push through {push_service.url.split('://')[1].split(':')[0]}"

    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert channels.deliver() == 1
    [payload] = push_service.payloads()
    assert payload["title"] == "Solo Stationer"
    assert "Chapter 4" in payload["body"]
    assert payload["url"] == f"/titles/{followed.pk}/"
    assert push_service.refusals == []
    # Signed with the key the browser subscribed with, which stays the same.
    [push] = [r for r in push_service.api_requests() if r.path.startswith("/push/")]
    headers = {name.lower(): value for name, value in push.headers.items()}
    assert f"k={key}" in headers["authorization"] and headers["ttl"] == str(webpush.PUSH_TTL)
    assert VapidKey.objects.count() == 1 and webpush.application_server_key() == key
    device = PushDevice.objects.get()
    assert device.last_used_at is not None
    # The settings page lists it with its browser and last use, removable.
    page = as_reader.get("/settings/").content.decode()
    assert "Chrome on Android" in page and "last alert" in page and ">Remove<" in page


def test_a_device_gets_only_the_kinds_and_importance_it_asked_for(standin, followed, as_reader, push_service):
    subscribe(as_reader, push_service.subscription())
    Channel.objects.filter(url__startswith="webpush://").update(kinds=["status_change"])
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert not ChannelDelivery.objects.exists()
    assert channels.deliver() == 0 and push_service.payloads() == []


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_says_is_gone_is_removed(
    standin, followed, as_reader, reader, push_service, status
):
    ended, kept = push_service.subscription(), push_service.subscription()
    subscribe(as_reader, ended)
    subscribe(as_reader, kept, agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
    if status == 410:
        push_service.end(ended)
    else:
        del push_service.browsers[ended["endpoint"].rsplit("/", 1)[1]]
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert channels.deliver() == 1
    assert list(Channel.objects.filter(user=reader).values_list("name", flat=True)) == ["Firefox on Linux"]
    assert len(push_service.payloads()) == 1
    # The notification itself stays on the page.
    assert Notification.objects.filter(user=reader, kind=Notification.Kind.NEW_CHAPTER).exists()


def test_a_failing_push_service_is_retried_with_the_channels_backoff(standin, followed, as_reader, push_service):
    subscribe(as_reader, push_service.subscription())
    push_service.set_fault("server_error", status=503)
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    now = timezone.now()
    assert channels.deliver(now=now) == 0
    row = ChannelDelivery.objects.get()
    assert row.attempts == 1 and row.next_attempt_at == now + timedelta(minutes=1)
    assert "503" in row.error and PushDevice.objects.exists()
    push_service.set_fault(None)
    assert channels.deliver_due(now + timedelta(minutes=2)) == 1
    assert len(push_service.payloads()) == 1


def test_send_test_reaches_the_device(as_reader, push_service):
    subscribe(as_reader, push_service.subscription())
    channel = Channel.objects.get()
    answer = as_reader.post(f"/settings/channels/{channel.pk}/test", follow=True)
    assert "A test went to" in answer.content.decode()
    [payload] = push_service.payloads()
    assert payload["title"] == "batoshelf: a test" and payload["url"] == "/settings/"


def test_the_same_browser_again_is_one_device_and_another_reader_takes_it_over(
    as_reader, as_other, reader, other_reader, push_service
):
    subscription = push_service.subscription()
    assert subscribe(as_reader, subscription).status_code == 201
    assert subscribe(as_reader, subscription).status_code == 201
    assert PushDevice.objects.count() == 1
    assert subscribe(as_other, subscription).status_code == 201
    [device] = PushDevice.objects.select_related("channel")
    assert device.channel.user == other_reader
    # Another reader's device is as missing as one that does not exist.
    assert as_reader.post(f"/settings/channels/{device.channel_id}/delete").status_code == 404


@pytest.mark.parametrize(
    "body,why",
    [
        ("not json", "JSON"),
        ([1, 2], "JSON object"),
        ({"keys": {}}, "endpoint"),
        ({"endpoint": "ftp://push.example/x", "keys": {}}, "https://"),
        ({"endpoint": "https://push.example/" + "x" * 2000, "keys": {}}, "at most"),
        (
            {"endpoint": "https://push.example/x", "keys": {"p256dh": "short", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
            "P-256",
        ),
        ({"endpoint": "https://push.example/x", "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}}, "P-256"),
        ({"endpoint": "https://push.example/x", "keys": {"p256dh": A_KEY, "auth": "!!"}}, "16-byte"),
        ({"endpoint": "https://[::1/x", "keys": {}}, "https://"),
        ({"endpoint": "https://exa\uff03mple.com/x", "keys": {}}, "https://"),
        ({"endpoint": "https://push.example:99999/x", "keys": {}}, "https://"),
    ],
)
def test_what_is_not_a_subscription_is_a_400_with_the_reason(as_reader, body, why):
    raw = body if isinstance(body, str) else json.dumps(body)
    answer = as_reader.post("/api/me/devices", raw, content_type="application/json")
    assert answer.status_code == 400 and why in answer.json()["error"]
    assert not PushDevice.objects.exists()


def test_a_push_service_inside_the_network_is_refused(as_reader, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    subscription = PushServiceStandIn().subscription()
    https = {**subscription, "endpoint": subscription["endpoint"].replace("http://", "https://")}
    answer = subscribe(as_reader, https)
    assert answer.status_code == 400 and "private network" in answer.json()["error"]


def test_a_push_service_inside_the_network_is_refused_again_where_it_connects(
    standin, followed, as_reader, push_service, settings
):
    subscribe(as_reader, push_service.subscription())
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False  # saved while allowed; checked again at the send
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert channels.deliver() == 0
    assert "127.0.0.1" in ChannelDelivery.objects.get().error
    assert push_service.api_requests() == []


def test_a_push_service_that_redirects_is_not_followed(standin, followed, as_reader, push_service):
    subscribe(as_reader, push_service.subscription())
    with PushServiceStandIn() as elsewhere:
        push_service.redirect_to = f"{elsewhere.url}/push/x"
        standin.add_chapters("110100", 1)
        check_title(Title.objects.get(pk=followed.pk))
        assert channels.deliver() == 0
        assert elsewhere.api_requests() == []
    assert "redirect" in ChannelDelivery.objects.get().error


def test_the_vapid_key_can_come_from_the_environment(settings):
    from py_vapid import Vapid

    made = Vapid()
    made.generate_keys()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "".join(made.private_pem().decode().splitlines()[1:-1])
    assert webpush.vapid().public_key.public_numbers() == made.public_key.public_numbers()
    assert not VapidKey.objects.exists()


def test_the_pages_are_an_installable_web_app(client, as_reader):
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = json.loads(manifest.content)
    assert data["start_url"] == "/shelf/" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    worker = client.get("/sw.js")
    assert worker["Content-Type"] == "text/javascript" and b"showNotification" in worker.content
    assert b'rel="manifest"' in as_reader.get("/shelf/").content


def test_another_readers_subscription_is_not_taken_with_other_keys(as_reader, as_other, reader, push_service):
    subscription = push_service.subscription()
    subscribe(as_reader, subscription)
    forged = {**subscription, "keys": {**subscription["keys"], "p256dh": A_KEY}}
    answer = subscribe(as_other, forged)
    assert answer.status_code == 400 and "another subscription" in answer.json()["error"]
    assert PushDevice.objects.get().channel.user == reader


def test_a_device_on_an_ipv6_push_service_is_kept_in_brackets_and_holds_back_no_channel(
    standin, followed, as_reader, reader, settings
):
    from tests.standins.webhook import WebHookStandIn

    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    with PushServiceStandIn(host="::1") as service, WebHookStandIn() as webhook:
        answer = subscribe(as_reader, service.subscription())
        assert answer.status_code == 201 and answer.json()["url"] == "web push through ::1"
        assert Channel.objects.get().url.startswith("webpush://[::1]")
        Channel.objects.create(user=reader, name="hook", url=webhook.channel_url())
        standin.add_chapters("110100", 1)
        check_title(Title.objects.get(pk=followed.pk))
        # py_vapid will not sign for an address as audience (real push services have names): that device
        # fails on its own and backs off; the web hook is sent all the same.
        assert channels.deliver() == 1 and len(webhook.posts()) == 1
        assert ChannelDelivery.objects.get(channel__url__startswith="webpush://").attempts == 1


def test_a_reader_changes_what_a_device_sends(standin, followed, as_reader, push_service):
    subscribe(as_reader, push_service.subscription())
    device = Channel.objects.get()
    assert "Change what it sends" in as_reader.get("/settings/").content.decode()
    answer = as_reader.post(
        f"/settings/channels/{device.pk}/sends", {"kinds": ["status_change"], "min_importance": 1}, follow=True
    )
    assert "sends status change now" in answer.content.decode()
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert not ChannelDelivery.objects.exists()
    bad = as_reader.post(
        f"/settings/channels/{device.pk}/sends", {"kinds": ["nonsense"], "min_importance": 99}, follow=True
    )
    assert "is unchanged" in bad.content.decode()
    assert Channel.objects.get().kinds == ["status_change"]


def test_another_readers_device_cannot_be_changed(as_reader, as_other, push_service):
    subscribe(as_reader, push_service.subscription())
    device = Channel.objects.get()
    assert as_other.post(f"/settings/channels/{device.pk}/sends", {"kinds": [], "min_importance": 1}).status_code == 404
