"""A reader's channels: the places outside batoshelf that their notifications go (Apprise URLs).

The sending is Apprise's (discord://, tgram://, ntfy://, mailto://...), but for
json:// web hooks, which Apprise reads and notifications.webhooks sends at a
fraction of the CPU; what is ours is which URLs are accepted, how they are
shown, what one message says, and the outbox that sends each notification to
each channel once:

- A notification that a channel wants gets a ChannelDelivery row in the same
  transaction as the notification (`queue`), so a crash loses nothing.
- After the commit one task sends what is due to every channel concerned
  (`deliver`), the channels side by side with a limit per host. It claims the rows
  with a conditional UPDATE, so a retry or a second task never sends a
  notification twice, and sends each channel's as one message.
- A failure puts the rows back for later (1, 2, 4, 8, 16 minutes); the minute job
  `deliver_due` retries them. After FAILURES_BEFORE_DISABLED failures in a row
  the channel is disabled and its reader told, on the page and in their other
  channels. A slow channel holds up only itself: not the check, not the
  browsers' push, not the other channels (at most PER_HOST sends to its host at once).

Channel URLs often hold tokens: they are shown masked (Channel.masked_url,
Apprise's privacy mode), never logged, and never given back in full.
"""

import ipaddress
import logging
import re
import socket
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

import apprise
import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from batoshelf import egress
from notifications import webhooks, webpush
from notifications.models import Channel, ChannelDelivery, Notification, PushDevice

logger = logging.getLogger(__name__)

FAILURES_BEFORE_DISABLED = 5
RETRY_FIRST = timedelta(minutes=1)
# A task that died mid-send gives its rows back after this (Apprise's own timeouts are seconds).
CLAIM_LEASE = timedelta(minutes=5)
# Notifications in one message at most; more go in the next.
MESSAGE_BATCH = 20
# Sends at once in one run, and to one host at once: a slow or dead host holds back no other.
SENDERS = 32
PER_HOST = 8
# A delivery task has this many channels at least (fewer are not worth another process's turn).
CHANNELS_PER_TASK_AT_LEAST = 100
# Deliveries one run claims at most (it sends for CLAIM_LEASE / 2 at most, and gives back the rest).
CLAIM_AT_ONCE = 5000
# The Apprise services a reader may send to: the hosted ones, and the self-hosted ones that name their
# server (which the connect-time check keeps off this machine and its networks). Services that reach
# this machine itself (syslog), speak raw protocols to any port (irc, rsyslog) or drive devices on the
# network (kodi, enigma2, hassio...) are not among them. NOTIFY_EXTRA_SCHEMES adds others.
ALLOWED_SCHEMES = frozenset(
    {
        "apprise",
        "apprises",
        "bark",
        "barks",
        "discord",
        "form",
        "forms",
        "gotify",
        "gotifys",
        "ifttt",
        "join",
        "json",
        "jsons",
        "line",
        "mailto",
        "mailtos",
        "matrix",
        "matrixs",
        "mmost",
        "mmosts",
        "msteams",
        "ntfy",
        "ntfys",
        "opsgenie",
        "pbul",
        "pover",
        "pushed",
        "rocket",
        "rockets",
        "signal",
        "signals",
        "slack",
        "tgram",
        "xml",
        "xmls",
        "zulip",
    }
)
# Hosted services whose URL holds ids and tokens where others name a server (tgram://bot-token/chat,
# discord://webhook-id/token): they send to the service's own servers, never to a host the reader
# names, so there is no server in the URL to look up when it is saved (nor a port: "bot:token").
OWN_SERVERS = frozenset(
    {"discord", "ifttt", "join", "line", "msteams", "opsgenie", "pbul", "pover", "pushed", "slack", "tgram"}
)
SERVICES_IN_WORDS = (
    "Discord, Telegram, Slack, Microsoft Teams, Matrix, Mattermost, Rocket.Chat, Zulip, Signal, LINE, Pushover, "
    "Pushbullet, ntfy, Gotify, Bark, mail and web hooks (json://, form://, xml://)"
)
# One send holds a worker this long at most: then its sockets are shut.
SEND_DEADLINE = 8
# A reader's channels at most.
MAX_CHANNELS = 20
ASSET = apprise.AppriseAsset(service_timeout=SEND_DEADLINE)
# A header a web hook adds (?+Name=value): a name is an HTTP token; a value is printable ASCII (a tab
# is allowed): a line break would end the header and start another, and other bytes cannot be sent.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")  # printable ASCII: what every HTTP library sends as it is
# Headers that say where a request goes and where it ends are the sender's to set: one given by a
# URL could reach another site on the same address (Host) or hide a second request in the body.
SENDERS_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "te", "trailer", "upgrade", "expect"}
)


class ChannelRefused(ValueError):
    """The URL cannot be a channel; the message says why, in words a reader can act on."""


def allowed_schemes():
    return ALLOWED_SCHEMES | set(settings.NOTIFY_EXTRA_SCHEMES)


def target_policy():
    """Which addresses a channel's connections may reach: public ones, or any with NOTIFY_ALLOW_PRIVATE_TARGETS."""
    return egress.anywhere if settings.NOTIFY_ALLOW_PRIVATE_TARGETS else egress.is_public


def _plugin(url):
    if not isinstance(url, str) or not url.strip() or len(url) > 2000:
        raise ChannelRefused("Give an Apprise URL, such as ntfy://ntfy.sh/your-topic or json://example.org/hook.")
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower() if "://" in url else ""
        if scheme not in OWN_SERVERS:
            parts.port  # noqa: B018 (it raises for a port that is none: "99999", "4860:4860::8888")
    except ValueError:
        raise ChannelRefused("That URL does not parse: check its host (an IPv6 address in [ ]) and port.") from None
    if scheme not in allowed_schemes():
        raise ChannelRefused(
            f"batoshelf does not send to {scheme + '://' if scheme else 'that kind of'} channels. It sends to "
            f"{SERVICES_IN_WORDS}; ask your staff if you need another."
        )
    plugin = apprise.Apprise.instantiate(url, asset=ASSET, suppress_exceptions=True)
    if not plugin:
        raise ChannelRefused(
            f"Apprise does not understand this {scheme}:// URL. See how to write one at "
            "https://github.com/caronc/apprise/wiki."
        )
    for name, value in (getattr(plugin, "headers", None) or {}).items():
        if not HEADER_NAME.fullmatch(name) or not HEADER_VALUE.fullmatch(value):
            raise ChannelRefused(
                f"The header +{name.encode('unicode_escape').decode()} is not one HTTP can send: a name is "
                "one word (letters, digits, - and _), and a value is plain ASCII, with no line break or other "
                "control character."
            )
        if name.lower() in SENDERS_HEADERS or name.lower().startswith("proxy-"):
            raise ChannelRefused(f"A web hook may not set the header {name}: batoshelf sets it for each request.")
    # What the URL may not loosen (?verify=no&cto=300): certificates are checked, waits stay short.
    if hasattr(plugin, "verify_certificate"):
        plugin.verify_certificate = True
    for timeout in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, timeout):
            setattr(plugin, timeout, min(getattr(plugin, timeout) or 4.0, 4.0))
    return plugin


def load_services():
    """Load every Apprise service's module now. Apprise loads them all on the first URL it reads, which in a
    worker process would be the first chapter's sends (a fifth of a second of a check's delivery)."""
    apprise.plugins.N_MGR.load_modules()


def check_target(url):
    """The Apprise plugin for a reader's URL, or ChannelRefused with the reason: a service batoshelf does
    not send to, a server name that does not resolve, or one on this machine or a private network (unless
    NOTIFY_ALLOW_PRIVATE_TARGETS). This is for a clear answer when the channel is saved; every connection
    a send makes is checked again where it connects (`send`)."""
    plugin = _plugin(url)
    check_host(_named_server(plugin, urlsplit(url.strip()).scheme.lower()))
    return plugin


def _named_server(plugin, scheme):
    """The server a channel's URL names, "" when it names none (a hosted service's own servers)."""
    if scheme in OWN_SERVERS:
        return ""
    if scheme == "zulip":  # zulip://bot@org/token sends to org.zulipchat.com (or to org.another.host)
        return f"{plugin.organization}.{plugin.hostname}"
    return (getattr(plugin, "smtp_host", None) or getattr(plugin, "host", None) or "").strip("[]")


def check_host(host):
    """ChannelRefused when a channel's server has no address or is on this machine or a private network
    (unless NOTIFY_ALLOW_PRIVATE_TARGETS)."""
    if settings.NOTIFY_ALLOW_PRIVATE_TARGETS or not host:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        raise ChannelRefused(f"{host} has no address: check how it is spelled.") from None
    if not all(target_policy()(ipaddress.ip_address(address.split("%")[0])) for address in addresses):
        raise ChannelRefused(
            f"{host} is on this machine or a private network, which channels may not reach. A server of your "
            "own at home? Your staff can allow channels inside the network (NOTIFY_ALLOW_PRIVATE_TARGETS=true)."
        )


def message_for(notifications):
    """(title, body) of one message telling these notifications."""
    if len(notifications) == 1:
        only = notifications[0]
        return f"batoshelf: {only.title.name if only.title_id else only.get_kind_display()}", _line(only)
    return f"batoshelf: {len(notifications)} notifications", "\n".join(_line(n) for n in notifications)


def _line(notification):
    link = notification.chapter_link()
    return f"{notification.message}{f' {link.url}' if link and link.url else ''}"


def send_to(channel, notifications, vapid_key):
    """Tell these notifications to one channel, in one message: None when it went, webpush.GONE when the
    channel is a device whose subscription ended, else why not. (Sender threads pass the VAPID key read
    beforehand: they do not touch the database.)"""
    if channel.is_device:
        return push_to(channel, webpush.payload_for(notifications), vapid_key)
    return send(channel.url, *message_for(notifications))


def push_to(channel, payload, vapid_key=None):
    """One web push to a device's channel, under the channels' rules for where it may connect and how long."""
    return webpush.push(
        channel.device, payload, vapid_key or webpush.vapid(), policy=target_policy(), seconds=SEND_DEADLINE
    )


def send(url, title, body):
    """Send one message through Apprise (a json:// hook through notifications.webhooks); None when it went,
    else why not (never the URL: it holds secrets).

    Every connection it makes is checked on the address it connects to, and the whole send ends
    within SEND_DEADLINE seconds (batoshelf.egress).
    """
    try:
        plugin = check_target(url)
    except ChannelRefused as refused:
        return str(refused)
    status = None
    try:
        # The plugin's own send, in this thread: Apprise's pool (a few threads) would queue side-by-side sends.
        with egress.guarded(SEND_DEADLINE, policy=target_policy(), what="the channel") as guard:
            if webhooks.handles(plugin):
                status = webhooks.post(plugin, title, body)
                sent = 200 <= status < 300
            else:
                sent = plugin.notify(title=title, body=body)
    except urllib3.exceptions.HTTPError:
        sent = False
    except Exception as error:  # a plugin's own bug must not take the task down
        return f"the service failed: {type(error).__name__}"
    if sent:
        return None
    if guard.refusals:
        return guard.refusals[0]
    hook = webhooks.handles(plugin)
    named = f"The web hook at {plugin.host}" if hook else plugin.service_name
    if guard.expired:
        return f"{named} did not answer within {SEND_DEADLINE} s"
    if status:
        return f"{named} answered {status}, not 2xx: the message was not taken"
    if hook:
        return f"{named} could not be reached (the connection was refused, or closed without an answer)"
    return f"{named} did not accept the message (see the worker's log for its answer)"


def add_device(user, subscription, user_agent=""):
    """The channel for a browser's push subscription (PushManager.subscribe's, as JSON), made or brought up
    to date: one per device. SubscriptionRefused or ChannelRefused say what is wrong."""
    endpoint, p256dh, auth = webpush.read_subscription(subscription)
    host = urlsplit(endpoint).hostname
    check_host(host)
    fields = {"p256dh": p256dh, "auth": auth, "user_agent": (user_agent or "")[:300]}
    with transaction.atomic():
        known = PushDevice.objects.select_for_update().select_related("channel").filter(endpoint=endpoint).first()
        if known and known.channel.user_id == user.pk:
            PushDevice.objects.filter(pk=known.pk).update(**fields)
            Channel.objects.filter(pk=known.channel_id).update(enabled=True, failures_in_a_row=0, disabled_at=None)
            return known.channel
        if known and (known.p256dh, known.auth) != (p256dh, auth):
            raise ChannelRefused("This device's alerts belong to another subscription: turn them off and on again.")
        if known:  # a shared computer where another reader logged in since: the same subscription is theirs now
            known.channel.delete()
        names = set(Channel.objects.filter(user=user).values_list("name", flat=True))
        if len(names) >= MAX_CHANNELS:
            raise ChannelRefused(f"You have {MAX_CHANNELS} channels and devices, the most a reader may have.")
        browser = webpush.browser_name(user_agent)
        name = next(n for n in (browser, *(f"{browser} {i}" for i in range(2, MAX_CHANNELS + 2))) if n not in names)
        netloc = f"[{host}]" if ":" in host else host
        channel = Channel.objects.create(user=user, name=name, url=f"{PushDevice.SCHEME}://{netloc}")
        PushDevice.objects.create(channel=channel, endpoint=endpoint, **fields)
    return channel


# The outbox


def queue(notifications):
    """Give these just-made notifications to the channels that want them; send them after the commit."""
    # Held ones wait for their reader's "after N unread": recorded, sent nowhere.
    notifications = [n for n in notifications if n.pk and not n.held]
    if not notifications:
        return
    user_ids = {n.user_id for n in notifications}
    channels = list(Channel.objects.filter(user_id__in=user_ids, enabled=True).select_related("user"))
    rows = [
        ChannelDelivery(channel=channel, notification=n)
        for channel in channels
        for n in notifications
        if n.user_id == channel.user_id and channel.wants(n)
    ]
    if not rows:
        return
    ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    channel_ids = sorted({row.channel_id for row in rows})
    transaction.on_commit(lambda: _start(channel_ids))


def _start(channel_ids):
    """Queue the sends: split over as many tasks as a worker runs at once, so they use its every process."""
    tasks = max(1, min(settings.Q_CLUSTER["workers"], len(channel_ids) // CHANNELS_PER_TASK_AT_LEAST))
    for part in range(tasks):
        some = channel_ids[part::tasks]
        try:
            async_task(deliver, some, task_name=f"channels ({len(some)})", group="channels")
        except Exception:
            logger.warning("could not queue %d channels; the minute job will send to them", len(some), exc_info=True)


@dataclass
class Outgoing:
    """What one channel has to send in one run, read before any sending (no thread touches the database)."""

    channel: Channel
    rows: list  # its claimed ChannelDelivery rows, oldest first
    messages: list  # their notifications, MESSAGE_BATCH to a message
    sent: int = 0  # messages that went
    problem: str | None = None  # why the next one did not (webpush.GONE: the device is no more)

    @property
    def host(self):
        """Where its connections go, as far as the URL says: sends to one host are limited (PER_HOST)."""
        parts = urlsplit(self.channel.url)
        try:
            port = parts.port
        except ValueError:  # a URL saved before ports were checked: it fails on its own, never the run
            port = None
        return f"{parts.scheme}://{(parts.hostname or '')}:{port or ''}"


def deliver(channel_ids=None, now=None):
    """Send what is due to these channels (every channel, by default): a message per MESSAGE_BATCH
    notifications, the channels side by side (SENDERS at once, PER_HOST to one host). Returns how many
    notifications went. Rows are claimed by one conditional UPDATE, so no other run sends them; a channel
    sends its messages in order and stops at its first failure."""
    now, went = now or timezone.now(), 0
    while True:
        token = uuid.uuid4().hex
        due = ChannelDelivery.objects.due(now).filter(channel__enabled=True)
        if channel_ids is not None:
            due = due.filter(channel_id__in=channel_ids)
        picked = list(due.order_by("pk").values_list("pk", flat=True)[:CLAIM_AT_ONCE])
        if not picked or not ChannelDelivery.objects.due(now).filter(pk__in=picked).update(
            claim_token=token, claimed_until=now + CLAIM_LEASE
        ):
            return went
        outgoing = _outgoing(token)
        give_up_at = time.monotonic() + CLAIM_LEASE.total_seconds() / 2
        vapid_key = webpush.vapid() if any(o.channel.is_device for o in outgoing) else None
        silent_hosts = set()  # shared by the sender threads; adding to a set is atomic
        side_by_side([(o.host, partial(_send_all, o, give_up_at, vapid_key, silent_hosts)) for o in outgoing])
        went += _record(outgoing, now)
        if len(picked) < CLAIM_AT_ONCE:
            return went


def _outgoing(token):
    # The title and chapter are the same for most rows (one chapter, its followers): each is read once, not
    # once per row with a dozen JSON fields to decode (that took as long as the sending).
    rows = (
        ChannelDelivery.objects.filter(claim_token=token)
        .select_related("channel__device", "notification")
        .prefetch_related("notification__title", "notification__chapter")
    )
    by_channel = {}
    for row in rows.order_by("pk"):
        by_channel.setdefault(row.channel_id, []).append(row)
    return [
        Outgoing(
            channel=rows[0].channel,
            rows=rows,
            messages=[
                [r.notification for r in rows[i : i + MESSAGE_BATCH]] for i in range(0, len(rows), MESSAGE_BATCH)
            ],
        )
        for rows in by_channel.values()
    ]


def _send_all(outgoing, give_up_at, vapid_key, silent_hosts):
    """One channel's messages, in order, until one fails or the run's time is up (in a sender's thread).
    A host that let a send run to its deadline is not tried again in this run: its other channels fail
    at once and back off, so a dead host holds a worker for one SEND_DEADLINE, not one per channel."""
    for notifications in outgoing.messages:
        if time.monotonic() > give_up_at:
            return
        if outgoing.host in silent_hosts:
            outgoing.problem = f"its server did not answer another send within {SEND_DEADLINE} s just now"
            return
        started = time.monotonic()
        outgoing.problem = send_to(outgoing.channel, notifications, vapid_key)
        if outgoing.problem:
            if time.monotonic() - started >= SEND_DEADLINE * 0.9:
                silent_hosts.add(outgoing.host)
            return
        outgoing.sent += 1


def _record(outgoing, now):
    """Write what a run's sends came to: sent rows, failed channels (with their backoff), rows given back,
    devices whose subscription ended removed."""
    sent_ids, given_back, fine, used_devices, gone = [], [], [], [], []
    for o in outgoing:
        went = o.rows[: o.sent * MESSAGE_BATCH]
        sent_ids += [row.pk for row in went]
        rest = o.rows[len(went) :]
        if o.problem == webpush.GONE:
            gone.append(o.channel.pk)
        elif o.problem:
            _failed(o.channel, rest, o.problem, now)
        else:
            given_back += [row.pk for row in rest]
        if went and not o.problem:
            fine.append(o.channel.pk)
        if went and o.channel.is_device:
            used_devices.append(o.channel.pk)
    done_at = timezone.now()
    ChannelDelivery.objects.filter(pk__in=sent_ids).update(sent_at=done_at, claim_token="", error="")
    ChannelDelivery.objects.filter(pk__in=given_back).update(claim_token="")
    Channel.objects.filter(pk__in=fine, failures_in_a_row__gt=0).update(failures_in_a_row=0, last_error="")
    PushDevice.objects.filter(channel_id__in=used_devices).update(last_used_at=done_at)
    if gone:
        logger.info("removed %d devices whose push subscription ended", len(gone))
        Channel.objects.filter(pk__in=gone).delete()
    return len(sent_ids)


def side_by_side(jobs):
    """Run `jobs`, (host, callable) pairs, in threads: SENDERS at once, PER_HOST of one host at once, so a
    slow or dead host holds back no other. Returns when every job has ended."""
    waiting = defaultdict(deque)
    for host, job in jobs:
        waiting[host].append(job)
    with ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="channel") as pool:
        running = {}

        def start(host):
            running[pool.submit(waiting[host].popleft())] = host

        for host in list(waiting):
            for _ in range(min(PER_HOST, len(waiting[host]))):
                start(host)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                host = running.pop(future)
                if future.exception():
                    logger.warning("a channel's send failed unexpectedly", exc_info=future.exception())
                if waiting[host]:
                    start(host)


def _failed(channel, rows, problem, now):
    logger.warning("channel %s (%s) failed: %s", channel.pk, channel.service, problem)
    attempts = max(row.attempts for row in rows) + 1
    ChannelDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
        claim_token="", attempts=attempts, error=problem[:300], next_attempt_at=now + RETRY_FIRST * 2 ** (attempts - 1)
    )
    failures = channel.failures_in_a_row + 1
    if failures < FAILURES_BEFORE_DISABLED:
        Channel.objects.filter(pk=channel.pk).update(failures_in_a_row=failures, last_error=problem[:300])
        return
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(
            failures_in_a_row=failures, last_error=problem[:300], enabled=False, disabled_at=now
        )
        # The reader's open pages get it from the relay; their other channels from here.
        queue(Notification.objects.create_for_disabled_channel(channel, failures, problem, now))


def deliver_due(now=None):
    """Send what every channel has due (the retries); return how many notifications went."""
    return deliver(None, now)
