"""A reader's own things: their account's extras, the titles on their shelf and where they are in each.

Moved here from `notifications` with their tables kept (notifications_follow, notifications_reader,
notifications_invite): no row moved.
"""

import secrets
from datetime import UTC
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def new_secret_token():
    """A URL-safe secret for a link only its owner should know (a feed, an invite)."""
    return secrets.token_urlsafe(24)


class Reader(models.Model):
    """What a reader keeps beside their account: their feed's secret, time zone and daily digest."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reader")
    feed_token = models.CharField(max_length=64, unique=True, default=new_secret_token)
    time_zone = models.CharField(max_length=64, default="UTC")
    time_zone_asked = models.BooleanField(
        default=False, help_text="The page offered the browser's time zone once; it does not ask again."
    )
    digest = models.BooleanField("daily digest by mail", default=False)
    digest_hour = models.PositiveSmallIntegerField(
        default=8, validators=[MaxValueValidator(23)], help_text="The hour of the day it comes, in your time zone."
    )
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications_reader"

    def __str__(self):
        return f"reader {self.user_id}"

    @classmethod
    def of(cls, user):
        return cls.objects.get_or_create(user=user)[0]

    @property
    def zone(self):
        return zone_named(self.time_zone)

    @classmethod
    def time_zones(cls, user_ids):
        """{user id: their time zone} for these users, in one query; UTC for those who chose none."""
        zones = dict.fromkeys(user_ids, UTC)
        for user_id, name in cls.objects.filter(user_id__in=user_ids).values_list("user_id", "time_zone"):
            zones[user_id] = zone_named(name)
        return zones


def zone_named(name):
    """The IANA time zone `name`, or UTC when there is none such."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


class InviteQuerySet(models.QuerySet):
    def usable(self, now):
        return self.filter(used_at__isnull=True, expires_at__gt=now)


class Invite(models.Model):
    """A link staff give someone to sign up with: used once, until it expires."""

    token = models.CharField(max_length=64, unique=True, default=new_secret_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="invites_made"
    )
    staff = models.BooleanField(default=False, help_text="The new account is staff.")
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for, for your own memory.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="invited_by"
    )

    objects = InviteQuerySet.as_manager()

    class Meta:
        db_table = "notifications_invite"
        ordering = ["-created_at"]

    def __str__(self):
        return f"invite {self.pk} ({self.note or 'no note'})"


class Shelf(models.Model):
    """A shelf a reader made and named ("weekly", "webtoons"); a title may be on several."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shelves")
    name = models.CharField(max_length=60)

    class Meta:
        verbose_name_plural = "shelves"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_shelf_name_per_user")]

    def __str__(self):
        return self.name


class Status(models.TextChoices):
    READING = "reading", "reading"
    PLANNED = "planned", "plan to read"
    ON_HOLD = "on_hold", "on hold"
    COMPLETED = "completed", "completed"
    DROPPED = "dropped", "dropped"


# A follow with one of these statuses tells nobody, like a mute.
QUIET_STATUSES = {Status.COMPLETED, Status.DROPPED}
# The largest chapter number stored (Chapter.number: 8 digits, 2 after the point).
MAX_NUMBER = Decimal("999999.99")


class Follow(models.Model):
    """A title on a reader's shelf: what they read of it, where they are, and what they want to hear."""

    Status = Status

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    title = models.ForeignKey(
        "scraping.Title", on_delete=models.CASCADE, related_name="followers", verbose_name="title"
    )
    muted = models.BooleanField(default=False, help_text="Stays on the shelf; new chapters notify no one.")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READING)
    shelves = models.ManyToManyField(Shelf, blank=True, related_name="follows")
    languages = models.JSONField(
        default=list, blank=True, help_text="The chapter languages read, among the title's; empty for all of them."
    )
    groups_only = models.JSONField(default=list, blank=True, help_text="Read only these groups' chapters.")
    groups_ignored = models.JSONField(default=list, blank=True, help_text="Never these groups' chapters.")
    notify_after_unread = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(999)],
        help_text="Tell only once this many chapters are unread (they are recorded meanwhile).",
    )
    last_read_number = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="The last chapter number read."
    )
    # Kept current by every change to the title's chapters or to this follow (readers.progress), so the
    # shelf reads and sorts them without counting chapters.
    unread_count = models.PositiveIntegerField(default=0, editable=False)
    latest_chapter = models.ForeignKey(
        "scraping.Chapter",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="The newest chapter this follow reads.",
    )
    progress_on_import = models.CharField(
        max_length=12,
        blank=True,
        editable=False,
        help_text='Where the reader said they are, kept until the title is fetched: "none", "caught_up" or a number.',
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="The reader's follow of the same series on another source, until they keep one.",
    )

    class Meta:
        db_table = "notifications_follow"
        constraints = [models.UniqueConstraint(fields=["user", "title"], name="one_follow_per_user_and_title")]
        indexes = [models.Index(fields=["user", "unread_count"], name="follow_user_unread")]

    def __str__(self):
        return f"{self.user} follows {self.title_id}"

    @property
    def tells(self):
        """Whether new chapters notify this reader at all."""
        return not self.muted and self.status not in QUIET_STATUSES


class ChapterMark(models.Model):
    """One chapter a reader marked read or unread against where their progress says they are.

    A numbered chapter's mark stands for its number (every group's upload of it); one
    without a number is marked on its own.
    """

    follow = models.ForeignKey(Follow, on_delete=models.CASCADE, related_name="marks")
    chapter = models.ForeignKey("scraping.Chapter", on_delete=models.CASCADE, related_name="+")
    read = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["follow", "chapter"], name="one_mark_per_follow_and_chapter")]

    def __str__(self):
        return f"{self.follow_id}: chapter {self.chapter_id} {'read' if self.read else 'unread'}"
