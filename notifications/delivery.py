"""Pushing notifications to followers' open browsers, across processes, in both modes.

Every notification is a row first; `emitted_at` says whether it was pushed.
A push claims rows (a conditional UPDATE stamped with a token), sends them to
each user's channel-layer group, and gives the claim back if sending failed, so
two processes never both send a row and a failure loses nothing.

- With Redis, the process that commits notifications (a worker) publishes them
  just after its transaction commits.
- Without Redis the channel layer is in-memory and does not leave its process,
  so the web process relays the outbox: every second it claims what nobody has
  pushed and sends it to the consumers it holds. With Redis the same relay is a
  safety net for publishes that failed (Redis down).

A browser that was not connected gets what it missed from the consumer on
connect; rows too old to be news when first relayed are only marked emitted.
"""

import asyncio
import logging
import uuid
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification

logger = logging.getLogger(__name__)

# Rows older than this when first relayed are history, not news: they are on
# the page and in the backlog a reconnecting browser gets, not pushed as toasts.
STALE_AFTER = timedelta(minutes=10)
RELAY_BATCH = 1000


def user_group(user_id):
    """The channel-layer group of one user's open connections."""
    return f"notifications.user.{user_id}"


def claim(queryset, now):
    """Claim the unpushed rows of `queryset` for one push; return (token, claimed rows).

    Candidate ids are read first and updated by id (MariaDB cannot UPDATE with a
    LIMIT subquery on the same table); the `emitted_at IS NULL` condition makes
    a row go to exactly one claimer.
    """
    ids = list(queryset.filter(emitted_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:RELAY_BATCH])
    if not ids:
        return None, []
    token = uuid.uuid4().hex
    Notification.objects.filter(pk__in=ids, emitted_at__isnull=True).update(emitted_at=now, emit_token=token)
    return token, list(Notification.objects.filter(emit_token=token).select_related("manga", "chapter"))


def release(token):
    """Give a claim back after a failed send, for the relay to try again."""
    Notification.objects.filter(emit_token=token).update(emitted_at=None, emit_token="")


def events_for(notifications, now):
    """(group, event) pairs for the rows worth pushing, each with its user's unread count."""
    fresh = [n for n in notifications if n.created_at >= now - STALE_AFTER]
    counts = Notification.objects.unread_counts({n.user_id for n in fresh})
    return [
        (user_group(n.user_id), {
            "type": "notification.new", "notification": n.as_message(), "unread_count": counts[n.user_id],
        })
        for n in fresh
    ]


async def send_events(events):
    layer = get_channel_layer()
    for group, event in events:
        await layer.group_send(group, event)


def _claim_and_build(queryset):
    now = timezone.now()
    token, claimed = claim(queryset, now)
    return token, len(claimed), events_for(claimed, now)


def publish(notification_ids):
    """Push these notifications now (sync code, after the commit that made them).

    Failure to reach the channel layer is logged and the rows are left for the
    relay: the caller's work has committed and must not fail because of it.
    """
    token, _, events = _claim_and_build(Notification.objects.filter(pk__in=notification_ids))
    if token is None:
        return 0
    try:
        async_to_sync(send_events)(events)
    except Exception:
        logger.warning("could not publish %d notification(s); the relay will retry", len(events), exc_info=True)
        release(token)
        return 0
    return len(events)


def publish_on_commit(notifications):
    """Push after the current transaction commits, when a shared channel layer makes that reach browsers."""
    if notifications and settings.REDIS_URL:
        ids = [n.pk for n in notifications]
        transaction.on_commit(lambda: publish(ids))


def publish_read_state(user, ids, unread_count):
    """Tell the user's other open tabs that these notifications were read."""
    event = {"type": "notification.read", "ids": ids, "unread_count": unread_count}
    try:
        async_to_sync(get_channel_layer().group_send)(user_group(user.pk), event)
    except Exception:
        logger.warning("could not tell user %s's browsers about read notifications", user.pk, exc_info=True)


async def relay_once():
    """Claim and send one batch of unpushed notifications; return how many rows were claimed."""
    token, claimed, events = await database_sync_to_async(_claim_and_build)(Notification.objects.all())
    if token is None:
        return 0
    try:
        await send_events(events)
    except Exception:
        await database_sync_to_async(release)(token)
        raise
    return claimed


class OutboxRelay:
    """The web process's loop that relays the outbox, started by the first WebSocket connection."""

    def __init__(self):
        self._task = None

    def ensure_running(self):
        """Start the relay on the running event loop unless it already runs there."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._task = loop.create_task(self._run(), name="notifications outbox relay")

    async def _run(self):
        interval = settings.NOTIFICATIONS_RELAY_INTERVAL
        while True:
            try:
                # A full batch means more may wait: go again at once.
                while await relay_once() >= RELAY_BATCH:
                    pass
            except Exception:
                logger.warning("notification relay failed; retrying in %.1f s", interval, exc_info=True)
            await asyncio.sleep(interval)


relay = OutboxRelay()
