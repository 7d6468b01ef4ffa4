import re
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from batoshelf.http import MAX_ID
from notifications import messages
from notifications.delivery import web_process
from notifications.messages import user_group
from notifications.models import Notification

# A browser asleep for longer than this many notifications reloads the page.
BACKLOG_LIMIT = 100


class BadSince(ValueError):
    pass


def parse_since(query_string):
    """The last notification id the browser saw, from `?since=`; 0 when it saw none."""
    values = parse_qs(query_string.decode("latin-1")).get("since", ["0"])
    if not re.fullmatch(r"[0-9]{1,19}", values[-1]) or int(values[-1]) > MAX_ID:
        raise BadSince(f"since must be a notification id (a whole number), not {values[-1][:40]!r}")
    return int(values[-1])


def sync_message(user, since):
    """What a browser gets on (re)connecting: its unread count and what it missed since `since`."""
    missed = list(Notification.objects.missed_by(user, since, BACKLOG_LIMIT + 1))
    return messages.sync(
        Notification.objects.unread_count(user),
        [n.to_dict() for n in missed[:BACKLOG_LIMIT]],
        more_missed=len(missed) > BACKLOG_LIMIT,
    )


class NoSuchSocket(AsyncWebsocketConsumer):
    """A socket to any other path: the handshake is refused, as a page that is not there is a 404."""

    async def connect(self):
        await self.close()


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab of a logged-in user, in that user's group."""

    group_name = None
    user_id = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused
            return
        try:
            since = parse_since(self.scope.get("query_string", b""))
        except BadSince as error:
            await self.accept()
            await self.send_json(messages.error(str(error)))
            await self.close(code=4400)
            return
        # Listen before reading the backlog, so nothing falls between the two;
        # the browser drops an id it already has.
        self.user_id = user.pk
        self.group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        oldest = web_process.attach(self.user_id, self)
        if oldest is not None:
            await oldest.send_json(messages.error("too many open pages: this, the oldest, is closed"))
            await oldest.close(code=4002)
        await self.send_json(await database_sync_to_async(sync_message)(user, since))

    async def disconnect(self, code):
        if self.group_name:
            web_process.detach(self.user_id, self)
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Nothing is decoded: whatever a client sends, JSON or not, gets the same answer.
        await self.send_json(messages.error("this socket only sends; use the API to change things"))

    async def send_notification(self, event):
        """A new notification for this user (a messages.NewNotification), handed over by this
        process's WebProcess; not a Channels handler."""
        await self.send_json(messages.notification(event))

    async def notification_read(self, event):
        """Channels' handler of a messages.ReadEvent to the user's group: another tab read notifications."""
        await self.send_json(messages.read(event))

    async def live_event(self, event):
        """Channels' handler of a messages.LiveEventMessage to the user's group: a shelf row changed."""
        await self.send_json(event["payload"])
