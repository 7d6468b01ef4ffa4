"""Every message about notifications that crosses a process: what a browser's socket receives,
and what travels on the channel layer to get it there. One place, typed, so the consumer, the
delivery and the page's script (static/batoshelf/notifications.js) agree on one shape each.

A notification itself is `Notification.to_dict()` (`NotificationDict`): the socket sends the
same fields the JSON API gives.
"""

from typing import Literal, TypedDict

# The channel-layer group every web process joins to hear of new notifications.
NEW_NOTIFICATIONS = "notifications.new"


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's open connections."""
    return f"notifications.user.{user_id}"


class NotificationDict(TypedDict):
    id: int
    title_id: int | None
    title_name: str
    title_url: str
    kind: str
    kind_display: str
    importance: int
    message: str
    chapter_name: str
    chapter_url: str
    chapter_external: bool
    chapter_count: int | None
    old_status: str
    new_status: str
    is_read: bool
    created_at: str


# What a browser's socket receives


class SyncMessage(TypedDict):
    """On (re)connecting: the unread count and what the browser missed."""

    type: Literal["sync"]
    unread_count: int
    notifications: list[NotificationDict]
    more_missed: bool  # more than the backlog limit: the page reloads


class NotificationMessage(TypedDict):
    """One new notification, with its row as the notifications page shows it (notifications/row.html)."""

    type: Literal["notification"]
    notification: NotificationDict
    unread_count: int
    html: str


class ShelfChange(TypedDict):
    """A title on the reader's shelf changed (fetched, failed, progress moved): pages that show its row
    fetch the row again (GET /shelf/rows/<title_id>/)."""

    type: Literal["shelf"]
    title_id: int
    state: str  # "fetching", "ready" or "failed"


class ImportProgress(TypedDict):
    """A library import moved on (library.importing): its page shows how far it is."""

    type: Literal["import"]
    import_id: int
    state: str  # a LibraryImport.State
    done: int
    total: int


# What a reader's open pages hear of beyond notifications.
LiveChange = ShelfChange | ImportProgress


class ReadMessage(TypedDict):
    """Another tab of the same user read these notifications."""

    type: Literal["read"]
    ids: list[int]
    unread_count: int


class ErrorMessage(TypedDict):
    type: Literal["error"]
    error: str


def sync(unread_count: int, notifications: list[NotificationDict], more_missed: bool) -> SyncMessage:
    return {"type": "sync", "unread_count": unread_count, "notifications": notifications, "more_missed": more_missed}


def notification(event: "NewNotification") -> NotificationMessage:
    return {
        "type": "notification",
        "notification": event["notification"],
        "unread_count": event["unread_count"],
        "html": event["html"],
    }


def shelf_change(title_id: int, state: str) -> ShelfChange:
    return {"type": "shelf", "title_id": title_id, "state": state}


def import_progress(import_id: int, state: str, done: int, total: int) -> ImportProgress:
    return {"type": "import", "import_id": import_id, "state": state, "done": done, "total": total}


def read(event: "ReadEvent") -> ReadMessage:
    return {"type": "read", "ids": event["ids"], "unread_count": event["unread_count"]}


def error(text: str) -> ErrorMessage:
    return {"type": "error", "error": text}


# What travels on the channel layer


class NewNotification(TypedDict):
    """One notification for one user, with that user's unread count and its row's markup."""

    user_id: int
    notification: NotificationDict
    unread_count: int
    html: str


class NewNotifications(TypedDict):
    """A batch of new notifications, sent once to NEW_NOTIFICATIONS for every web process."""

    type: Literal["notifications.new"]
    events: list[NewNotification]


class ReadEvent(TypedDict):
    """Sent to one user's group; Channels calls the consumer's `notification_read` with it."""

    type: Literal["notification.read"]
    ids: list[int]
    unread_count: int


class LiveEventMessage(TypedDict):
    """Sent to one user's group; Channels calls the consumer's `live_event`, which sends `payload` on."""

    type: Literal["live.event"]
    payload: LiveChange


def live_event(payload: LiveChange) -> LiveEventMessage:
    return {"type": "live.event", "payload": payload}


def new_notifications(events: list[NewNotification]) -> NewNotifications:
    return {"type": "notifications.new", "events": events}


def read_event(ids: list[int], unread_count: int) -> ReadEvent:
    return {"type": "notification.read", "ids": ids, "unread_count": unread_count}
