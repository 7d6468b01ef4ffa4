"""A reader's channels (Apprise URLs) and private feed: settings page, JSON API, delivery once, failures."""

import logging
import socket
from datetime import timedelta

import feedparser
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import channels
from notifications.channels import ChannelRefused, check_target, send
from notifications.models import Channel, ChannelDelivery, Notification
from readers.models import Follow, Reader
from scraping.checking.jobs import run_job
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Title
from tests.conftest import bato
from tests.standins.webhook import WebHookStandIn

pytestmark = pytest.mark.django_db

SECRET = "s3cret-t0ken-9f8e7d"


@pytest.fixture
def webhook(settings):
    """A web hook on loopback; private targets allowed, as a self-hoster's own would need."""
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    with WebHookStandIn() as server:
        yield server


def hook_url(webhook, path="/hook"):
    """A json:// URL with a password in it, as channel URLs often carry."""
    return webhook.channel_url(path).replace("json://", f"json://reader:{SECRET}@", 1)


@pytest.fixture
def followed(standin, reader):
    standin.add_title("110100", "Solo Stationer", chapters=3)
    return import_title(bato("110100"), user=reader).title


def run_on_commit(callbacks):
    for callback in callbacks:
        callback()


def test_a_new_chapter_reaches_each_channel_once(
    standin, followed, reader, webhook, django_capture_on_commit_callbacks
):
    channel = Channel.objects.create(user=reader, name="hook", url=hook_url(webhook))
    standin.add_chapters("110100", 1)
    with django_capture_on_commit_callbacks() as callbacks:
        check_title(Title.objects.get(pk=followed.pk))
    assert webhook.posts() == []  # the check only queues: a slow channel cannot hold it up
    assert len(callbacks) >= 1
    assert channels.deliver([channel.pk]) == 1
    [post] = webhook.posts()
    assert post["title"] == "batoshelf: Solo Stationer"
    assert "Chapter 4 of Solo Stationer" in post["message"]
    # A retry, the minute job and the same check again send nothing more.
    assert channels.deliver([channel.pk]) == 0
    assert channels.deliver_due(timezone.now() + timedelta(hours=1)) == 0
    check_title(Title.objects.get(pk=followed.pk))
    channels.deliver_due(timezone.now() + timedelta(hours=1))
    assert len(webhook.posts()) == 1
    assert ChannelDelivery.objects.get().sent_at is not None


def test_a_channel_gets_only_the_kinds_and_importance_it_asked_for(standin, followed, reader, webhook):
    quiet = Channel.objects.create(
        user=reader, name="status only", url=hook_url(webhook, "/status"), kinds=["status_change"]
    )
    high = Channel.objects.create(
        user=reader, name="high", url=hook_url(webhook, "/high"), min_importance=Notification.Importance.HIGH
    )
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert set(ChannelDelivery.objects.values_list("channel_id", flat=True)) == {high.pk}
    assert not ChannelDelivery.objects.filter(channel=quiet).exists()


def test_a_failing_channel_backs_off_then_is_switched_off_and_the_reader_told(
    standin, followed, reader, webhook, caplog
):
    # The secret is in the path too, as in a Discord or Slack web hook.
    failing = Channel.objects.create(user=reader, name="broken", url=hook_url(webhook, f"/broken/{SECRET}"))
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    webhook.set_fault("server_error", status=500)
    now = timezone.now()
    waits = []
    with caplog.at_level(logging.DEBUG):
        for _ in range(channels.FAILURES_BEFORE_DISABLED):
            assert channels.deliver([failing.pk], now) == 0
            row = ChannelDelivery.objects.get(channel=failing)
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    failing.refresh_from_db()
    assert not failing.enabled and failing.failures_in_a_row == 5 and failing.disabled_at
    [told] = Notification.objects.filter(user=reader, kind=Notification.Kind.CHANNEL_DISABLED)
    assert "'broken' failed 5 times in a row" in told.message
    # Its secret never reaches the log.
    assert "The web hook at 127.0.0.1 answered 500, not 2xx" in caplog.text and SECRET not in caplog.text
    # Switched off, it gets nothing more; the reader's other channels hear of it.
    webhook.set_fault(None)
    other = Channel.objects.create(user=reader, name="working", url=hook_url(webhook, "/working"))
    channels.queue([told])
    assert channels.deliver_due(now + timedelta(hours=1)) == 1
    assert "'broken' failed 5 times" in webhook.posts()[-1]["message"]
    assert not ChannelDelivery.objects.filter(channel=failing, notification=told).exists()
    assert ChannelDelivery.objects.get(channel=other, notification=told).sent_at


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:8080/hook",
        "jsons://10.1.2.3/hook",
        "form://192.168.1.10/hook",
        "xml://169.254.169.254/latest/meta-data",
        "json://[::1]:9000/hook",
        "json://localhost/hook",
        "ntfy://127.0.0.1/topic",
        "mailto://user:pass@example.org?smtp=127.0.0.1",
        "mailtos://user:pass@10.0.0.2?from=me@example.org",
    ],
)
def test_channels_may_not_reach_this_machine_or_a_private_network(url, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ChannelRefused, match="staff can allow channels inside the network"):
        check_target(url)
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    assert check_target(url)


@pytest.mark.parametrize(
    "url",
    [
        "json://example.org/hook?+X-Token=a%0D%0AX-Admin:%20yes",
        "form://example.org/hook?+X-Token=a%0Ab",
        "xml://example.org/hook?+X-Token=a%00b",
        "json://example.org/hook?+X%20Token=abc",
        "json://example.org/hook?+X:Token=abc",
        "json://example.org/hook?+X-Token=a%C2%85b",
        "json://example.org/hook?+X-Token=a%E2%80%A8b",
    ],
)
def test_a_web_hook_header_http_cannot_send_is_refused_when_saved_and_when_sent(url, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True  # the host is not what is wrong
    with pytest.raises(ChannelRefused, match="is not one HTTP can send"):
        check_target(url)
    assert "is not one HTTP can send" in send(url, "title", "body")  # a channel stored before the check
    assert check_target("json://example.org/hook?+X-Token=a%09b&+Authorization=Bearer%20abc")


@pytest.mark.parametrize(
    "header", ["Host", "content-length", "Transfer-Encoding", "Connection", "Proxy-Authorization", "Expect"]
)
def test_a_web_hook_may_not_set_where_its_request_goes_or_ends(header, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    with pytest.raises(ChannelRefused, match=f"may not set the header {header}"):
        check_target(f"json://example.org/hook?+{header}=0")


@pytest.mark.parametrize(
    "url",
    [
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/123456",
        "discord://1234567890123456789/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
        "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi",
        "pbul://o.gn5kj6nfhv736I7jC3cj3QLRiyhgl98b",
        "ifttt://b9jnB8R2rCQmGG8KbQyBnf/Event",
        "join://abcdefghijklmnopqrstuvwxyz012345/device",
    ],
)
def test_hosted_services_whose_url_holds_tokens_not_a_server_are_saved(url, settings):
    """Their ids and tokens sit where other URLs have a host: nothing there to look up, or to refuse."""
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    assert check_target(url)


def test_a_zulip_channel_is_checked_at_its_organizations_server(settings, monkeypatch):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    asked = []

    def resolve(host, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert check_target("zulip://bot@myorg/abcdefghijklmnopqrstuvwxyz012345")
    assert check_target("zulip://bot@team.chat.example.org/abcdefghijklmnopqrstuvwxyz012345")
    assert asked == ["myorg.zulipchat.com", "team.chat.example.org"]


@pytest.mark.parametrize("url", ["", "not a url", "bogus://x", "http://", "x" * 3000])
def test_urls_apprise_does_not_know_are_refused_with_a_reason(url):
    with pytest.raises(ChannelRefused, match="Apprise|does not send to"):
        check_target(url)


def test_the_settings_page_adds_tests_switches_and_deletes_a_channel(as_reader, reader, webhook, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    refused = as_reader.post(
        "/settings/", {"name": "home", "url": hook_url(webhook), "kinds": ["new_chapter"], "min_importance": 1}
    )
    assert refused.status_code == 400 and b"allow channels inside the network" in refused.content
    assert not Channel.objects.exists()
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    added = as_reader.post(
        "/settings/", {"name": "home", "url": hook_url(webhook), "kinds": ["new_chapter", "batch"], "min_importance": 1}
    )
    assert added.status_code == 302
    channel = Channel.objects.get(user=reader)
    page = as_reader.get("/settings/")
    assert b"home" in page.content and SECRET.encode() not in page.content
    assert as_reader.post(f"/settings/channels/{channel.pk}/test", follow=True).status_code == 200
    assert webhook.posts()[-1]["title"] == "batoshelf: a test"
    as_reader.post(f"/settings/channels/{channel.pk}/toggle")
    assert not Channel.objects.get(pk=channel.pk).enabled
    as_reader.post(f"/settings/channels/{channel.pk}/delete")
    assert not Channel.objects.exists()


def test_the_api_never_gives_a_channel_url_back_and_keeps_readers_apart(as_reader, as_other, webhook):
    made = as_reader.post(
        "/api/me/channels",
        {"name": "hook", "url": hook_url(webhook), "kinds": ["new_chapter"], "min_importance": 2},
        content_type="application/json",
    )
    assert made.status_code == 201 and SECRET not in made.content.decode()
    channel_id = made.json()["id"]
    listed = as_reader.get("/api/me/channels")
    assert [c["name"] for c in listed.json()["channels"]] == ["hook"] and SECRET not in listed.content.decode()
    assert as_reader.post(f"/api/me/channels/{channel_id}/test").json()["sent"] is True
    # Another reader's channel is as missing as one that never was.
    assert as_other.get("/api/me/channels").json() == {"channels": []}
    assert as_other.post(f"/api/me/channels/{channel_id}/test").status_code == 404
    assert as_other.delete(f"/api/me/channels/{channel_id}").status_code == 404
    assert as_reader.delete(f"/api/me/channels/{channel_id}").status_code == 200
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    "body, why",
    [
        ({"name": "x", "url": "bogus://nothing"}, "batoshelf does not send to bogus:// channels"),
        ({"name": "", "url": "json://example.org/hook"}, "This field is required"),
        ({"name": "x", "url": "json://example.org/hook", "kinds": "new_chapter"}, "kinds must be a list"),
        ({"name": "x", "url": "json://example.org/hook", "kinds": ["nope"]}, "not one of the available choices"),
        ({"name": "x", "url": "json://example.org/hook", "kinds": ["alert"]}, "not one of the available choices"),
        ({"name": "x", "url": "json://example.org/hook", "min_importance": 9}, "not one of the available choices"),
        ({"name": ["x"], "url": "json://example.org/hook"}, "must be text"),
        ({"name": "x", "url": {"deep": [[[]]]}}, "must be text"),
    ],
)
def test_bad_channels_are_a_400_with_the_reason(as_reader, body, why):
    answer = as_reader.post("/api/me/channels", body, content_type="application/json")
    assert answer.status_code == 400 and why in answer.content.decode()
    assert not Channel.objects.exists()


def test_the_feed_lists_the_readers_notifications_and_a_new_address_kills_the_old(
    standin, followed, reader, as_reader, client
):
    for _ in range(2):
        standin.add_chapters("110100", 1)
        check_title(Title.objects.get(pk=followed.pk))
    url = as_reader.get("/api/me/feed").json()["url"]
    assert url.startswith("http://testserver/feeds/")
    answer = client.get(url)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo and feed.feed.title == "batoshelf: your notifications"
    titles = [entry.title for entry in feed.entries]
    assert titles == ["Chapter 5 of Solo Stationer", "Chapter 4 of Solo Stationer"]
    assert all(entry.link.startswith(standin.url) for entry in feed.entries)
    as_reader.post("/settings/feed/regenerate")
    assert client.get(url).status_code == 404
    assert client.get(as_reader.get("/api/me/feed").json()["url"]).status_code == 200
    assert client.get("/feeds/not-a-token/").status_code == 404
    assert Reader.objects.count() == 1


def test_the_admin_lists_channels_without_their_secrets(admin_client, reader, webhook):
    Channel.objects.create(user=reader, name="hook", url=hook_url(webhook))
    listing = admin_client.get("/admin/notifications/channel/")
    assert listing.status_code == 200 and b"hook" in listing.content and SECRET.encode() not in listing.content
    change = admin_client.get(f"/admin/notifications/channel/{Channel.objects.get().pk}/change/")
    assert change.status_code == 200 and SECRET.encode() not in change.content


def test_secrets_in_a_hooks_headers_arguments_and_path_are_never_shown(as_reader, reader, admin_client):
    url = "json://user:PASSWORD1@93.184.216.34/hook/PATHSECRET?+Authorization=Bearer%20TOKEN1&-key=ARG1&:f=FIELD1"
    channel = Channel.objects.create(user=reader, name="hook", url=url)
    shown = [
        as_reader.get("/settings/").content.decode(),
        str(as_reader.get("/api/me/channels").json()),
        admin_client.get(f"/admin/notifications/channel/{channel.pk}/change/").content.decode(),
    ]
    for page in shown:
        assert "93.184.216.34/hook/" in page
        assert not any(secret in page for secret in ("PASSWORD1", "PATHSECRET", "TOKEN1", "ARG1", "FIELD1")), page
    assert channel.masked_url.endswith("&+Authorization=****&-key=****&:f=****")
    # A path that is the key itself shows its first letters only.
    keyed = Channel.objects.create(user=reader, name="keyed", url="json://93.184.216.34/alice-SECRET-TOKEN")
    assert keyed.shown_url == "json://93.184.216.34/ali…"


def test_the_minute_job_sends_what_is_due(standin, followed, reader, webhook):
    Channel.objects.create(user=reader, name="hook", url=hook_url(webhook))
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    run = run_job("deliver_to_channels", trigger="manual", force=True)
    assert run.status == "succeeded" and len(webhook.posts()) == 1


@pytest.fixture
def hanging_host(settings):
    """A second web hook, on its own port, that answers nothing until long after a send's deadline."""
    with WebHookStandIn() as server:
        server.hang_seconds = 4.0
        server.set_fault("hang")
        yield server


def test_a_dead_host_holds_back_no_other_channel(standin, followed, reader, webhook, hanging_host, monkeypatch):
    monkeypatch.setattr(channels, "SEND_DEADLINE", 1.5)
    webhook.hang_seconds = 0.1  # a host that takes a moment to answer: one send at a time would take 5 s
    webhook.set_fault("hang")
    good = Channel.objects.bulk_create(
        [Channel(user=reader, name=f"good {n}", url=webhook.channel_url(f"/good/{n}")) for n in range(50)]
    )
    dead = Channel.objects.bulk_create(
        [Channel(user=reader, name=f"dead {n}", url=hanging_host.channel_url(f"/dead/{n}")) for n in range(10)]
    )
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    now = timezone.now()

    assert channels.deliver(now=now) == 50
    # Every good channel got its one post, and all of them while the dead host was still hanging.
    assert sorted(r.path for r in webhook.api_requests()) == sorted(f"/good/{n}" for n in range(50))
    first_hang = min(r.at for r in hanging_host.api_requests())
    assert max(r.at for r in webhook.api_requests()) < first_hang + hanging_host.hang_seconds
    assert 1 < webhook.most_at_once <= channels.PER_HOST  # side by side, not one after another
    # PER_HOST sends to the dead host at once; when they ran to their deadline, its other channels were not tried.
    assert len(hanging_host.api_requests()) == channels.PER_HOST
    # The dead host's channels failed: their rows wait a minute, nothing is lost or sent twice.
    for row in ChannelDelivery.objects.filter(channel__in=dead):
        assert row.sent_at is None and row.attempts == 1 and row.next_attempt_at == now + timedelta(minutes=1)
        assert row.error
    assert set(Channel.objects.filter(failures_in_a_row=1).values_list("pk", flat=True)) == {c.pk for c in dead}
    assert ChannelDelivery.objects.filter(channel__in=good, sent_at__isnull=False).count() == 50
    assert channels.deliver(now=now) == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_notification_once(standin, reader, webhook):
    standin.add_title("110100", "Solo Stationer", chapters=3)
    title = import_title(bato("110100"), user=reader).title
    Channel.objects.bulk_create(
        [Channel(user=reader, name=f"hook {n}", url=webhook.channel_url(f"/hook/{n}")) for n in range(40)]
    )
    standin.add_chapters("110100", 3)
    check_title(Title.objects.get(pk=title.pk))
    due = ChannelDelivery.objects.count()
    assert due == 40

    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return channels.deliver()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        went = sum(pool.map(lambda _: run(), range(2)))
    assert went == 40
    paths = [r.path for r in webhook.api_requests()]
    assert sorted(paths) == sorted(f"/hook/{n}" for n in range(40))  # each channel once, its 3 chapters in one message
    assert all("Chapter 6" in post["message"] for post in webhook.posts())


@pytest.mark.parametrize("url", ["json://8.8.8.8:99999/x", "json://[::1/x", "json://exa\uff03mple.com/x"])
def test_a_url_with_no_real_host_or_port_is_refused_when_saved(url):
    with pytest.raises(ChannelRefused):
        check_target(url)


def test_a_stored_channel_whose_url_does_not_parse_fails_alone(standin, followed, reader, webhook):
    # Saved before ports were checked: it may fail, the others' deliveries may not wait for it.
    Channel.objects.bulk_create(
        [
            Channel(user=reader, name="broken", url="json://8.8.8.8:99999/x"),
            Channel(user=reader, name="good", url=hook_url(webhook)),
        ]
    )
    standin.add_chapters("110100", 1)
    check_title(Title.objects.get(pk=followed.pk))
    assert channels.deliver() == 1 and len(webhook.posts()) == 1
    broken = ChannelDelivery.objects.get(channel__name="broken")
    assert broken.sent_at is None and broken.attempts == 1 and broken.error


@pytest.mark.parametrize(
    "options",
    [
        "",
        "?+X-Token=abc&+Accept-Language=fr",  # headers
        "?-page=2&-tag=new%20chapter",  # query arguments
        "?:message=text&:type=&:source=batoshelf",  # payload fields renamed, dropped, added
        "?method=PUT",
    ],
)
def test_a_json_hook_gets_the_request_apprise_itself_would_send(webhook, options):
    """json:// hooks are sent by notifications.webhooks, not Apprise's plugin: the same URL must bring the same
    request (method, path, query, headers that matter, body)."""
    url = hook_url(webhook, "/same/path") + options
    title, body = "batoshelf: Solo Stationer", "Chapter 4 — « Ça va » https://example.org/c/4\nand a second line"
    assert check_target(url).notify(title=title, body=body), "Apprise's own send"
    assert channels.send(url, title, body) is None, "ours"
    by_apprise, by_us = webhook.api_requests()
    kept = ("User-Agent", "Content-Type", "Authorization", "X-Token", "Accept-Language")
    for request in (by_apprise, by_us):
        request.headers = {name: value for name, value in request.headers.items() if name in kept}
    assert (by_us.method, by_us.path, by_us.query, by_us.headers, by_us.body) == (
        by_apprise.method,
        by_apprise.path,
        by_apprise.query,
        by_apprise.headers,
        by_apprise.body,
    )
    assert by_us.headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_json_hook_that_redirects_is_not_followed_and_the_reader_is_told_why(webhook, status):
    webhook.redirect = (status, f"{webhook.url}/elsewhere")
    assert channels.send(hook_url(webhook), "t", "b") == (
        f"The web hook at 127.0.0.1 answered {status}, not 2xx: the message was not taken"
    )
    assert [r.path for r in webhook.api_requests()] == ["/hook"], "the redirect's target was never asked"


def test_a_json_hook_nobody_listens_on_fails_with_a_reason(settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    with WebHookStandIn() as gone:
        url = gone.channel_url()
    assert channels.send(url, "t", "b").startswith("The web hook at 127.0.0.1 could not be reached")


def test_sending_to_ten_times_the_channels_costs_the_same_statements(standin, webhook):
    """A chapter's followers share its title and chapter: they are read once, not once per channel."""
    standin.add_title("110100", "Solo Stationer", chapters=3)
    title = import_title(bato("110100")).title
    statements, following = [], 0
    for readers in (4, 40):
        following += readers
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"r{readers}-{n}") for n in range(readers)
        )
        Follow.objects.bulk_create(Follow(user=user, title=title) for user in users)
        Channel.objects.bulk_create(
            Channel(user=user, name="hook", url=webhook.channel_url(f"/hook/{user.pk}")) for user in users
        )
        standin.add_chapters("110100", 1)
        check_title(Title.objects.get(pk=title.pk))
        with CaptureQueriesContext(connection) as queries:
            went = channels.deliver()
        assert went == following, "each follower's channel got the new chapter"
        statements.append(len(queries))
    assert len(webhook.posts()) == 4 + 44, "and got it once"
    assert statements[0] == statements[1], statements


def test_a_json_hook_whose_answer_never_ends_is_sent_without_reading_it(webhook, monkeypatch):
    """Only the status counts: an answer that takes for ever (or is a terabyte long) is not read."""
    monkeypatch.setattr(channels, "SEND_DEADLINE", 2)
    webhook.drip_seconds = 1  # its 12 bytes of body a second each
    webhook.set_fault("drip")
    assert channels.send(hook_url(webhook), "t", "b") is None
