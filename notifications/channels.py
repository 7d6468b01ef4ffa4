"""A reader's channels: the places outside batoshelf that their notifications go (Apprise URLs).

The sending is Apprise's (discord://, tgram://, ntfy://, mailto://, json://...);
what is ours is which URLs are accepted, how they are shown, what one message
says, and the outbox that sends each notification to each channel once:

- A notification that a channel wants gets a ChannelDelivery row in the same
  transaction as the notification (`queue`), so a crash loses nothing.
- After the commit one task per channel sends what is due (`deliver`). It claims
  the rows with a conditional UPDATE, so a retry or a second task never sends a
  notification twice, and sends them as one message.
- A failure puts the rows back for later (1, 2, 4, 8, 16 minutes); the minute job
  `deliver_due` retries them. After FAILURES_BEFORE_DISABLED failures in a row
  the channel is disabled and its reader told, on the page and in their other
  channels. A slow channel holds up only its own task: not the check, not the
  browsers' push, not the other channels.

Channel URLs often hold tokens: they are shown masked (Channel.masked_url,
Apprise's privacy mode), never logged, and never given back in full.
"""

import ipaddress
import logging
import socket
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import apprise
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from batoshelf import egress
from notifications.models import Channel, ChannelDelivery, Notification

logger = logging.getLogger(__name__)

FAILURES_BEFORE_DISABLED = 5
RETRY_FIRST = timedelta(minutes=1)
# A task that died mid-send gives its rows back after this (Apprise's own timeouts are seconds).
CLAIM_LEASE = timedelta(minutes=5)
# Notifications in one message at most; more go in the next.
MESSAGE_BATCH = 20
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
SERVICES_IN_WORDS = (
    "Discord, Telegram, Slack, Microsoft Teams, Matrix, Mattermost, Rocket.Chat, Zulip, Signal, LINE, Pushover, "
    "Pushbullet, ntfy, Gotify, Bark, mail and web hooks (json://, form://, xml://)"
)
# One send holds a worker this long at most: then its sockets are shut.
SEND_DEADLINE = 8
# A reader's channels at most.
MAX_CHANNELS = 20
ASSET = apprise.AppriseAsset(service_timeout=SEND_DEADLINE)


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
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme not in allowed_schemes():
        raise ChannelRefused(
            f"batoshelf does not send to {scheme + '://' if scheme else 'that kind of'} channels. It sends to "
            f"{SERVICES_IN_WORDS}; staff can add others with NOTIFY_EXTRA_SCHEMES."
        )
    plugin = apprise.Apprise.instantiate(url, asset=ASSET, suppress_exceptions=True)
    if not plugin:
        raise ChannelRefused(
            f"Apprise does not understand this {scheme}:// URL. See how to write one at "
            "https://github.com/caronc/apprise/wiki."
        )
    # What the URL may not loosen (?verify=no&cto=300): certificates are checked, waits stay short.
    if hasattr(plugin, "verify_certificate"):
        plugin.verify_certificate = True
    for timeout in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, timeout):
            setattr(plugin, timeout, min(getattr(plugin, timeout) or 4.0, 4.0))
    return plugin


def check_target(url):
    """The Apprise plugin for a reader's URL, or ChannelRefused with the reason: a service batoshelf does
    not send to, a server name that does not resolve, or one on this machine or a private network (unless
    NOTIFY_ALLOW_PRIVATE_TARGETS). This is for a clear answer when the channel is saved; every connection
    a send makes is checked again where it connects (`send`)."""
    plugin = _plugin(url)
    if settings.NOTIFY_ALLOW_PRIVATE_TARGETS:
        return plugin
    host = (getattr(plugin, "smtp_host", None) or getattr(plugin, "host", None) or "").strip("[]")
    if not host:
        return plugin
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        raise ChannelRefused(f"{host} has no address: check how it is spelled.") from None
    if not all(target_policy()(ipaddress.ip_address(address.split("%")[0])) for address in addresses):
        raise ChannelRefused(
            f"{host} is on this machine or a private network, which channels may not reach. A server of your "
            "own at home? Staff can allow it with NOTIFY_ALLOW_PRIVATE_TARGETS=true."
        )
    return plugin


def message_for(notifications):
    """(title, body) of one message telling these notifications."""
    if len(notifications) == 1:
        only = notifications[0]
        return f"batoshelf: {only.title.name if only.title_id else only.get_kind_display()}", _line(only)
    return f"batoshelf: {len(notifications)} notifications", "\n".join(_line(n) for n in notifications)


def _line(notification):
    link = notification.chapter_link()
    return f"{notification.message}{f' {link.url}' if link and link.url else ''}"


def send(url, title, body):
    """Send one message through Apprise; None when it went, else why not (never the URL: it holds secrets).

    Every connection it makes is checked on the address it connects to, and the whole send ends
    within SEND_DEADLINE seconds (batoshelf.egress).
    """
    try:
        plugin = check_target(url)
    except ChannelRefused as refused:
        return str(refused)
    sender = apprise.Apprise(asset=ASSET)
    sender.add(plugin)
    try:
        with egress.guarded(SEND_DEADLINE, policy=target_policy(), what="the channel") as guard:
            sent = sender.notify(title=title, body=body)
    except Exception as error:  # a plugin's own bug must not take the task down
        return f"the service failed: {type(error).__name__}"
    if sent:
        return None
    if guard.refusals:
        return guard.refusals[0]
    if guard.expired:
        return f"{plugin.service_name} did not answer within {SEND_DEADLINE} s"
    return f"{plugin.service_name} did not accept the message (see the worker's log for its answer)"


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
    for channel_id in channel_ids:
        try:
            async_task(deliver, channel_id, task_name=f"channel {channel_id}", group="channels")
        except Exception:
            logger.warning("could not queue channel %s; the minute job will send it", channel_id, exc_info=True)


def deliver(channel_id, now=None):
    """Send what is due to one channel, a message per MESSAGE_BATCH notifications; return how many went."""
    sent, now = 0, now or timezone.now()
    while True:
        channel = Channel.objects.filter(pk=channel_id, enabled=True).first()
        if channel is None:
            return sent
        token = uuid.uuid4().hex
        due = ChannelDelivery.objects.due(now).filter(channel=channel).order_by("pk")
        # Claimed only if still due: of two tasks at the same rows, one sends them.
        picked = list(due.values_list("pk", flat=True)[:MESSAGE_BATCH])
        if (
            not ChannelDelivery.objects.due(now)
            .filter(pk__in=picked)
            .update(claim_token=token, claimed_until=now + CLAIM_LEASE)
        ):
            return sent
        rows = list(
            ChannelDelivery.objects.filter(claim_token=token).select_related(
                "notification__title", "notification__chapter"
            )
        )
        notifications = [row.notification for row in rows]
        problem = send(channel.url, *message_for(notifications))
        if problem is None:
            ChannelDelivery.objects.filter(claim_token=token).update(sent_at=timezone.now(), claim_token="", error="")
            Channel.objects.filter(pk=channel.pk).update(failures_in_a_row=0, last_error="")
            sent += len(rows)
            continue
        _failed(channel, token, rows, problem, now)
        return sent


def _failed(channel, token, rows, problem, now):
    logger.warning("channel %s (%s) failed: %s", channel.pk, channel.service, problem)
    attempts = max(row.attempts for row in rows) + 1
    ChannelDelivery.objects.filter(claim_token=token).update(
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
    now = now or timezone.now()
    channel_ids = ChannelDelivery.objects.due(now).values_list("channel_id", flat=True).distinct()
    return sum(deliver(channel_id, now) for channel_id in list(channel_ids))
