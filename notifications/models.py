from urllib.parse import parse_qsl, urlsplit, urlunsplit

import apprise
from django.conf import settings
from django.db import models
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from scraping.sources.base import Link

# What a notification's row shows of its title and chapter (NotificationQuerySet.for_rows).
ROW_TITLE_FIELDS = ("name", "source", "source_id", "moved_to", "cover_key")
ROW_CHAPTER_FIELDS = ("name", "source_id", "url_path", "external_url", "language", "title")

# A check that brings this many chapters or more at once tells each follower
# once, not once per chapter: one row per title and check, on the page and live alike.
BATCH_THRESHOLD = 2


class NotificationQuerySet(models.QuerySet):
    def create_for_check(self, title, told, old_status, now, waiting=()):
        """Tell each follower what one check found; return the notifications made.

        `told` is {user id: the new chapters (saved rows, oldest first) that reader reads}: a
        notification per chapter, or one batch when BATCH_THRESHOLD or more arrive at once. A change
        of upload status tells each of them too. The users in `waiting` asked to hear only once
        enough chapters are unread: theirs are recorded, held from their browsers and channels.
        Unique per (user, chapter), so a re-run of the same check cannot add a second copy.
        """
        status_changed = bool(old_status) and old_status != title.upload_status
        several_languages = len(title.chapter_languages()) > 1

        def name(chapter):
            return f"{chapter} [{chapter.language}]" if several_languages and chapter.language else str(chapter)

        def drafts(chapters):
            if len(chapters) >= BATCH_THRESHOLD:
                first, last = chapters[0], chapters[-1]
                yield dict(
                    kind=Notification.Kind.BATCH,
                    importance=Notification.Importance.NORMAL,
                    chapter=last,
                    chapter_count=len(chapters),
                    message=f"{len(chapters)} new chapters of {title.name}: {name(first)} – {name(last)}",
                )
            else:
                for chapter in chapters:
                    yield dict(
                        kind=Notification.Kind.NEW_CHAPTER,
                        importance=Notification.Importance.HIGH,
                        chapter=chapter,
                        message=f"{name(chapter)} of {title.name}"
                        + (f": {chapter.subtitle}" if chapter.subtitle else ""),
                    )
            if status_changed:
                yield dict(
                    kind=Notification.Kind.STATUS_CHANGE,
                    importance=Notification.Importance.NORMAL,
                    old_status=old_status,
                    new_status=title.upload_status,
                    message=f"{title.name} is now {title.upload_status or 'without a status'} (was {old_status})",
                )

        return self.bulk_create(
            [
                Notification(
                    user_id=user_id,
                    title=title,
                    created_at=now,
                    held=user_id in waiting,
                    emitted_at=now if user_id in waiting else None,
                    **{**draft, "message": draft["message"][:500]},
                )
                for user_id, chapters in told.items()
                for draft in drafts(chapters)
            ]
        )

    def create_for_paused_title(self, title, user_ids, now):
        """Tell these followers of `title`, once, that checks of it stopped because its source lost it."""
        message = (
            f"{title.name} could not be found on {title.source_object.display_name} "
            f"{title.schedule.not_found_checks} times in a row, so it is no longer checked; staff can resume "
            "it when it is back, or it can move to another source."
        )
        return self._tell(user_ids, title, Notification.Kind.TITLE_PAUSED, Notification.Importance.HIGH, message, now)

    def create_for_move(self, old, new, user_ids, now, *, by=None):
        """Tell these followers of `old` that they now follow `new`, on another source."""
        who = f" by {by.get_username()}" if by else ""
        message = (
            f"{old.name} moved{who} from {old.source_object.display_name} to "
            f"{new.source_object.display_name} ({new.name}): you follow it there now."
        )
        return self._tell(user_ids, new, Notification.Kind.TITLE_MOVED, Notification.Importance.NORMAL, message, now)

    def create_for_staff(self, message, now, title=None):
        """Tell every active staff member something about the checking (about `title`, or about all of it)."""
        from django.contrib.auth import get_user_model

        staff = get_user_model().objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)
        return self._tell(staff, title, Notification.Kind.ALERT, Notification.Importance.HIGH, message, now)

    def create_for_staff_member(self, user, message, now, title=None):
        """Tell one staff member how something they asked for went (a move they started)."""
        return self._tell([user.pk], title, Notification.Kind.ALERT, Notification.Importance.NORMAL, message, now)

    def create_for_disabled_channel(self, channel, failures, problem, now):
        """Tell a reader that one of their channels failed `failures` times in a row and is off now."""
        message = (
            f"Your channel {channel.name!r} failed {failures} times in a row ({problem}), so it is switched off. "
            "Fix it on your settings page and switch it on again."
        )
        return self._tell(
            [channel.user_id], None, Notification.Kind.CHANNEL_DISABLED, Notification.Importance.HIGH, message, now
        )

    def _tell(self, user_ids, title, kind, importance, message, now):
        """One notification of the same message to each of these users."""
        return self.bulk_create(
            [
                Notification(
                    user_id=user_id,
                    title=title,
                    kind=kind,
                    importance=importance,
                    created_at=now,
                    message=message[:500],
                )
                for user_id in user_ids
            ]
        )

    def unread(self):
        return self.filter(is_read=False)

    def for_rows(self):
        """With the title and chapter columns a row shows (to_dict, the page's row), not their long texts."""
        return self.select_related("title", "chapter").only(
            *(f.name for f in Notification._meta.concrete_fields),
            *(f"title__{name}" for name in ROW_TITLE_FIELDS),
            *(f"chapter__{name}" for name in ROW_CHAPTER_FIELDS),
        )

    def badge(self, user):
        """{"unread", "total", "last_id"} of `user`'s notifications, in one query: the page header's badge."""
        counted = self.filter(user=user).aggregate(
            unread=Count("pk", filter=Q(is_read=False)), total=Count("pk"), last_id=Max("pk")
        )
        return {**counted, "last_id": counted["last_id"] or 0}

    def unread_count(self, user):
        return self.filter(user=user, is_read=False).count()

    def missed_by(self, user, since_id, limit):
        """What `user` has not seen yet: notifications after id `since_id`, oldest first."""
        return self.filter(user=user, pk__gt=since_id).for_rows().order_by("pk")[:limit]

    def mark_read(self, now):
        """Mark these read; return the ids that were unread."""
        ids = list(self.unread().values_list("pk", flat=True))
        if ids:
            Notification.objects.filter(pk__in=ids, is_read=False).update(is_read=True, read_at=now)
        return ids

    def unread_counts(self, user_ids):
        """{user id: unread notifications} for these users, in one query; users with none are 0."""
        counts = dict.fromkeys(user_ids, 0)
        counts.update(
            self.filter(user_id__in=user_ids, is_read=False)
            .values("user_id")
            .annotate(unread=Count("pk"))
            .values_list("user_id", "unread")
        )
        return counts


class Notification(models.Model):
    class Kind(models.TextChoices):
        NEW_CHAPTER = "new_chapter", "new chapter"
        BATCH = "batch", "several new chapters"
        STATUS_CHANGE = "status_change", "status change"
        ALERT = "alert", "alert for staff"
        TITLE_PAUSED = "title_paused", "title no longer checked"
        TITLE_MOVED = "title_moved", "title moved to another source"
        CHANNEL_DISABLED = "channel_disabled", "channel disabled"

    class Importance(models.IntegerChoices):
        LOW = 1, "low"
        NORMAL = 2, "normal"
        HIGH = 3, "high"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # Empty for staff alerts about a whole source.
    title = models.ForeignKey(
        "scraping.Title",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name="title",
    )
    chapter = models.ForeignKey(
        "scraping.Chapter", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    importance = models.PositiveSmallIntegerField(choices=Importance.choices, default=Importance.NORMAL)
    message = models.CharField(max_length=500)
    chapter_count = models.PositiveIntegerField(default=1)
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20, blank=True)
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    held = models.BooleanField(
        default=False,
        help_text="Recorded only: its reader hears of a title once enough chapters are unread, so it was "
        "pushed to no browser and no channel.",
    )
    emitted_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When it was pushed to the follower's open browsers."
    )
    # Which relay or worker claimed the push; see notifications.delivery.
    emit_token = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # NULL chapters (status changes) are distinct in SQLite and MariaDB alike.
            models.UniqueConstraint(fields=["user", "chapter"], name="one_notification_per_user_and_chapter"),
        ]
        # Ascending, read backwards for newest first (see CheckLog's).
        indexes = [
            models.Index(fields=["user", "is_read", "created_at"]),
            models.Index(fields=["user", "created_at"]),
        ]

    def __str__(self):
        return self.message

    def chapter_link(self):
        """Where the chapter is read (a Link), or None for notifications about no chapter. A title that
        moved to another source is read there now: its old chapters' notifications lead to its page here."""
        if not (self.chapter_id and self.title_id):
            return None
        if self.title.moved_to_id:
            return Link(reverse("readers:title", args=[self.title.moved_to_id]))
        return self.title.chapter_link(self.chapter)

    def to_dict(self):
        """The notification as the JSON API gives it and a browser's socket receives it (notifications.messages)."""
        chapter = self.chapter
        link = self.chapter_link()
        return {
            "id": self.pk,
            "title_id": self.title_id,
            "title_name": self.title.name if self.title_id else "",
            "title_url": reverse("readers:title", args=[self.title_id]) if self.title_id else "",
            "kind": self.kind,
            "kind_display": self.get_kind_display(),
            "importance": self.importance,
            "message": self.message,
            "chapter_name": str(chapter) if chapter else "",
            "chapter_url": link.url if link else "",
            "chapter_external": bool(link and link.external),
            "chapter_count": self.chapter_count,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "is_read": self.is_read,
            "created_at": self.created_at.isoformat(),
        }


def default_channel_kinds():
    return [
        Notification.Kind.NEW_CHAPTER,
        Notification.Kind.BATCH,
        Notification.Kind.STATUS_CHANGE,
        Notification.Kind.TITLE_PAUSED,
        Notification.Kind.TITLE_MOVED,
        Notification.Kind.CHANNEL_DISABLED,
    ]


# Apprise's web hooks, whose path is often their secret.
WEB_HOOKS = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
# A web hook's first path part shown whole when it is a plain word this long at most ("hook", "webhooks").
PLAIN_PATH_PART = 12


class Channel(models.Model):
    """A place outside batoshelf where a reader's notifications go: an Apprise URL (see notifications.channels)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(max_length=80)
    url = models.TextField(help_text="An Apprise URL. It often holds a token: it is shown masked, never in full.")
    kinds = models.JSONField(default=default_channel_kinds, help_text="Which kinds of notification go out here.")
    min_importance = models.PositiveSmallIntegerField(
        choices=Notification.Importance.choices, default=Notification.Importance.LOW
    )
    enabled = models.BooleanField(default=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_channel_name_per_user")]

    def __str__(self):
        return f"{self.name} ({self.service})"

    @property
    def service(self):
        """The URL's scheme: says which service without saying any secret."""
        return self.url.split("://", 1)[0].lower()[:20] if "://" in self.url else "?"

    @property
    def is_device(self):
        """A browser's push subscription (its PushDevice), not an Apprise URL."""
        return self.service == PushDevice.SCHEME

    @property
    def masked_url(self):
        """The URL as it may be shown: Apprise's privacy mode hides its tokens and passwords; batoshelf hides
        the value of every header, argument and field the URL adds (+Authorization=…, -key=…, :field=…) too,
        and a web hook's path but a first part that reads as a word (/hook/…; /ab5…, where the key is the path)."""
        if self.is_device:
            return f"web push through {self.url.split('://', 1)[1].strip('[]')}"
        plugin = apprise.Apprise.instantiate(self.url, suppress_exceptions=True)
        if not plugin:
            return "(not a URL Apprise knows)"
        parts = urlsplit(plugin.url(privacy=True))
        path = parts.path
        if self.service in WEB_HOOKS and path.strip("/"):
            first, *rest = path.strip("/").split("/")
            if not (len(first) <= PLAIN_PATH_PART and first.isascii() and first.isalpha()):
                first = first[:3] + "…"
            path = f"/{first}" + ("/…" if rest else "")
        options = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(f"{name}={'****' if name[:1] in '+-:' else value}" for name, value in options)
        return urlunsplit((parts.scheme, parts.netloc, path, "", "")) + (f"?{query}" if query else "")

    @property
    def shown_url(self):
        """The masked URL without Apprise's own options (?method=POST&overflow=upstream…): what a reader typed."""
        return self.masked_url.split("?", 1)[0]

    def kind_labels(self):
        labels = dict(Notification.Kind.choices)
        return [labels.get(kind, kind) for kind in self.kinds]

    def to_dict(self):
        """The channel as the JSON API gives it: never its URL in full."""
        return {
            "id": self.pk,
            "name": self.name,
            "service": self.service,
            "url": self.masked_url,
            "kinds": self.kinds,
            "min_importance": self.min_importance,
            "enabled": self.enabled,
            "failures_in_a_row": self.failures_in_a_row,
            "last_error": self.last_error,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
        }

    def wants(self, notification):
        if notification.kind == Notification.Kind.ALERT and not self.user.is_staff:
            return False
        return notification.kind in self.kinds and notification.importance >= self.min_importance


class PushDevice(models.Model):
    """A browser or phone that takes web push (notifications.webpush): its subscription, behind a channel
    whose URL is webpush://<its push service's host>, so the outbox sends to it like to any channel."""

    SCHEME = "webpush"

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="device")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    user_agent = models.CharField(max_length=300, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.channel.name


class VapidKey(models.Model):
    """The instance's VAPID private key, made once (notifications.webpush.vapid) unless
    WEBPUSH_VAPID_PRIVATE_KEY is set."""

    private_key = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "VAPID key"


class ChannelDeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Not yet sent, not waiting for a retry, and not claimed by a live task."""
        return self.filter(sent_at__isnull=True, next_attempt_at__lte=now).filter(
            Q(claim_token="") | Q(claimed_until__lt=now)
        )


class ChannelDelivery(models.Model):
    """One notification for one channel: the outbox row that makes it go there once."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="channel_deliveries")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    objects = ChannelDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "channel deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "notification"], name="one_delivery_per_channel_and_notification"
            )
        ]
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]


class LiveEvent(models.Model):
    """A change a reader's open pages show at once (a shelf row filled in after its title was fetched).

    An outbox like the notifications': pushed by the process that made it when Redis is there, and
    relayed by the web process otherwise (notifications.delivery). Kept a day.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_events")
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    emitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    emit_token = models.CharField(max_length=32, blank=True, db_index=True, editable=False)

    def __str__(self):
        return f"{self.payload.get('type', 'event')} for {self.user_id}"
