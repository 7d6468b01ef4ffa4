"""Pushing notifications to followers' open browsers, across processes, in both modes.

Every notification is a row first; `emitted_at` says whether it was pushed.
A push claims rows (a conditional UPDATE stamped with a token), sends them,
and gives the claim back if sending failed, so two processes never both send
a row and a failure loses nothing.

- With Redis, the process that commits notifications (a worker) publishes them
  just after its transaction commits.
- Without Redis the channel layer is in-memory and does not leave its process,
  so the web process relays the outbox: every second it claims what nobody has
  pushed and sends it. With Redis the same relay is a safety net for publishes
  that failed (Redis down).

New notifications travel in batches to one group, NEW_NOTIFICATIONS, which each
web process joins once; the process hands every notification to the sockets
its user has open there (WebProcess). One message per batch per process, not
one per follower: a thousand followers cost one Redis message, not a thousand
group sends and pops. Read-state changes, which concern one user, go to that
user's own group.

A browser that was not connected gets what it missed from the consumer on
connect; rows too old to be news when first relayed are only marked emitted.
"""

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications import channels, messages
from notifications.messages import NEW_NOTIFICATIONS, user_group
from notifications.models import LiveEvent, Notification
from readers.models import Reader

logger = logging.getLogger(__name__)

# Rows older than this when first relayed are history, not news: they are on
# the page and in the backlog a reconnecting browser gets, not pushed as toasts.
STALE_AFTER = timedelta(minutes=10)
RELAY_BATCH = 1000


# Notifications per channel-layer message: a few hundred KB at most.
MESSAGE_BATCH = 500
# A reader's open pages per web process: one more closes the oldest (a script opening sockets in a loop
# cannot hold a process's memory).
MAX_SOCKETS_PER_READER = 20
# How often a web process renews its membership of NEW_NOTIFICATIONS: group
# memberships expire (a day), and a restarted Redis keeps none.
MEMBERSHIP_REFRESH = 60


def claim(queryset, now, model=Notification):
    """Claim the unpushed rows of `queryset` (of `model`: notifications or live events) for one push;
    return (token, ids claimed).

    Candidate ids are read first and updated by id (MariaDB cannot UPDATE with a
    LIMIT subquery on the same table); the `emitted_at IS NULL` condition makes
    a row go to exactly one claimer.
    """
    ids = list(queryset.filter(emitted_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:RELAY_BATCH])
    if not ids:
        return None, []
    token = uuid.uuid4().hex
    model.objects.filter(pk__in=ids, emitted_at__isnull=True).update(emitted_at=now, emit_token=token)
    return token, ids


def release(token, model=Notification):
    """Give a claim back after a failed send, for the relay to try again."""
    model.objects.filter(emit_token=token).update(emitted_at=None, emit_token="")


def row_html(notification, time_zone):
    """A notification's row on the notifications page (notifications/row.html), as a live push brings it."""
    with timezone.override(time_zone):
        return render_to_string("notifications/row.html", {"notification": notification, "live": True})


def events_for(notifications, now):
    """What to push for the rows worth pushing: each with its user, that user's unread count and its row."""
    fresh = [n for n in notifications if n.created_at >= now - STALE_AFTER]
    users = {n.user_id for n in fresh}
    counts = Notification.objects.unread_counts(users)
    zones = Reader.time_zones(users)
    return [
        messages.NewNotification(
            user_id=n.user_id,
            notification=n.to_dict(),
            unread_count=counts[n.user_id],
            html=row_html(n, zones[n.user_id]),
        )
        for n in fresh
    ]


async def send_events(events):
    layer = get_channel_layer()
    for start in range(0, len(events), MESSAGE_BATCH):
        batch = events[start : start + MESSAGE_BATCH]
        await layer.group_send(NEW_NOTIFICATIONS, messages.new_notifications(batch))


def _claim_and_build(queryset):
    now = timezone.now()
    token, ids = claim(queryset, now)
    claimed = list(Notification.objects.filter(emit_token=token).for_rows()) if ids else []
    return token, len(claimed), events_for(claimed, now)


async def push_batch(queryset):
    """Claim one batch of `queryset`'s unpushed rows and send it; return (rows claimed, notifications sent).

    A failed send gives the claim back, for the relay to try again, and raises.
    """
    token, claimed, events = await database_sync_to_async(_claim_and_build)(queryset)
    if token is None:
        return 0, 0
    try:
        await send_events(events)
    except Exception:
        await database_sync_to_async(release)(token)
        raise
    return claimed, len(events)


def publish(notification_ids):
    """Push these notifications now (sync code, after the commit that made them); return how many.

    Failure to reach the channel layer is logged and the rows are left for the
    relay: the caller's work has committed and must not fail because of it.
    """
    rows = Notification.objects.filter(pk__in=notification_ids)
    pushed = 0
    while True:  # claims come RELAY_BATCH at a time; each pass takes the next
        # The claim is read here, in this thread: only the channel layer's send is async.
        token, claimed, events = _claim_and_build(rows)
        if not claimed:
            return pushed
        try:
            async_to_sync(send_events)(events)
        except Exception:
            release(token)
            logger.warning("could not publish notifications; the relay will retry", exc_info=True)
            return pushed
        pushed += len(events)


def publish_on_commit(notifications):
    """Give new notifications to their readers' channels, and push them to browsers after the current
    transaction commits when a shared channel layer makes that reach them (else the relay does)."""
    if notifications and settings.REDIS_URL:
        ids = [n.pk for n in notifications if not n.held]
        transaction.on_commit(lambda: publish(ids))
    # After the browsers' push is on its way: the channels' tasks then share the cores with it
    # (queued first, they slowed the browsers' push twofold and sent no sooner: benchmarks.md).
    channels.queue(notifications)


def publish_read_state(user, ids, unread_count):
    """Tell the user's other open tabs that these notifications were read."""
    try:
        async_to_sync(get_channel_layer().group_send)(user_group(user.pk), messages.read_event(ids, unread_count))
    except Exception:
        logger.warning("could not tell user %s's browsers about read notifications", user.pk, exc_info=True)


def mark_read(user, notifications):
    """Mark `notifications` (a queryset of `user`'s) read; after the commit, tell the user's open tabs.
    Returns (ids marked, unread left)."""
    with transaction.atomic():
        ids = notifications.mark_read(timezone.now())
        unread = Notification.objects.unread_count(user)
        if ids:
            transaction.on_commit(lambda: publish_read_state(user, ids, unread))
    return ids, unread


# Live events: what else a reader's open pages show at once (a shelf row that changed).


def publish_live(user_id, payload):
    """Tell `user_id`'s open pages about `payload` (a messages.LiveChange) after the current transaction
    commits: pushed at once with Redis, else by the web process's relay within a second."""
    event = LiveEvent.objects.create(user_id=user_id, payload=payload)
    if settings.REDIS_URL:  # else this process's in-memory layer reaches no socket: the relay sends it
        transaction.on_commit(lambda: _push_live_now(event.pk))


def _push_live_now(event_id):
    token, _, events = _claim_live(LiveEvent.objects.filter(pk=event_id))
    if token is None:
        return
    try:
        async_to_sync(_send_live)(events)
    except Exception:
        release(token, LiveEvent)
        logger.warning("could not push live event %s; the relay will retry", event_id, exc_info=True)


async def _send_live(events):
    layer = get_channel_layer()
    for user_id, payload in events:
        await layer.group_send(user_group(user_id), messages.live_event(payload))


def _claim_live(queryset):
    now = timezone.now()
    token, ids = claim(queryset, now, LiveEvent)
    rows = LiveEvent.objects.filter(emit_token=token).values_list("user_id", "payload", "created_at") if ids else []
    fresh = [(user_id, payload) for user_id, payload, created_at in rows if created_at >= now - STALE_AFTER]
    return token, len(ids), fresh


async def push_live_batch(queryset):
    """Claim and send one batch of unpushed live events; return how many were claimed."""
    token, claimed, events = await database_sync_to_async(_claim_live)(queryset)
    if token is None:
        return 0
    try:
        await _send_live(events)
    except Exception:
        await database_sync_to_async(release)(token, LiveEvent)
        raise
    return claimed


async def relay_once():
    """Push one batch of whatever nobody has pushed; return how many rows were claimed."""
    claimed, _ = await push_batch(Notification.objects.all())
    return max(claimed, await push_live_batch(LiveEvent.objects.all()))


class WebProcess:
    """One web process's part in live notifications.

    It keeps the notification sockets open here by user, listens to
    NEW_NOTIFICATIONS and hands each notification to its user's sockets, and
    runs the outbox relay. Started by the first socket on the running loop.
    """

    def __init__(self):
        self.sockets = defaultdict(dict)  # user id -> {socket: None}, oldest first
        self._tasks = {}
        self._channel = None
        self._joined_at = float("-inf")

    def attach(self, user_id, socket):
        """Hold `socket` for `user_id`; return the socket to close when the reader has too many open here."""
        self._ensure_running()
        mine = self.sockets[user_id]
        mine[socket] = None
        if len(mine) > MAX_SOCKETS_PER_READER:
            oldest = next(iter(mine))
            del mine[oldest]
            return oldest
        return None

    def detach(self, user_id, socket):
        sockets = self.sockets.get(user_id)
        if sockets is not None:
            sockets.pop(socket, None)
            if not sockets:
                del self.sockets[user_id]

    def _ensure_running(self):
        loop = asyncio.get_running_loop()
        for name, loop_function in (("listen", self._listen), ("relay", self._relay)):
            task = self._tasks.get(name)
            if task is None or task.done() or task.get_loop() is not loop:
                self._tasks[name] = loop.create_task(loop_function(), name=f"notifications {name}")

    async def stop(self):
        """Stop listening and relaying (a test's event loop ends; daphne's never does)."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._channel = None

    async def deliver(self, events):
        for event in events:
            for socket in list(self.sockets.get(event["user_id"], ())):
                await socket.send_notification(event)

    async def _join(self):
        await get_channel_layer().group_add(NEW_NOTIFICATIONS, self._channel)
        self._joined_at = time.monotonic()

    async def _listen(self):
        layer = get_channel_layer()
        while True:
            try:
                self._channel = await layer.new_channel()
                await self._join()
                while True:
                    message = await layer.receive(self._channel)
                    await self.deliver(message["events"])
            except Exception:
                logger.warning("listening for new notifications failed; again in 1 s", exc_info=True)
                await asyncio.sleep(1)

    async def _relay(self):
        interval = settings.NOTIFICATIONS_RELAY_INTERVAL
        while True:
            try:
                # A full batch means more may wait: go again at once.
                while await relay_once() >= RELAY_BATCH:
                    pass
                if self._channel and time.monotonic() - self._joined_at > MEMBERSHIP_REFRESH:
                    await self._join()
            except Exception:
                logger.warning("notification relay failed; retrying in %.1f s", interval, exc_info=True)
            await asyncio.sleep(interval)


web_process = WebProcess()
