import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from batoshelf.words import counted
from scraping import sources
from scraping.gate import rules
from scraping.schedule import policy
from scraping.sources.base import DAY, EXACT
from scraping.sources.errors import TitleNotFound
from scraping.sources.values import CHAPTER_LANGUAGE


class PlainTextJSONEncoder(json.JSONEncoder):
    """Stores Korean and Japanese as themselves, not \\uXXXX escapes, so admin search finds them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "ensure_ascii": False})


class TitleQuerySet(models.QuerySet):
    def seen_by(self, user):
        """The titles `user` may look at: all for staff; for a reader every title but those of a private
        source (a feed, whose address may hold a key) that they do not follow."""
        if user.is_staff:
            return self
        private = [name for name, source in sources.SOURCES.items() if source.private]
        follows = self.model.followers.rel.related_model.objects.filter(user=user, title=OuterRef("pk"))
        return self.filter(~Q(source__in=private) | Exists(follows))


class Title(models.Model):
    """A title on one source, as its details read at the last successful check."""

    source = models.CharField(max_length=16, choices=sources.choices(), default="bato", db_index=True)
    # A feed's id is its address (scraping.sources.feed.MAX_ADDRESS); the unique key still fits MariaDB's bound.
    source_id = models.CharField("id on the source", max_length=600)
    name = models.CharField(max_length=500)
    alt_names = models.JSONField(
        default=list,
        blank=True,
        encoder=PlainTextJSONEncoder,
        help_text='Other names with their language: [{"name": "…", "language": "ja"}] ("" when not known).',
    )
    authors = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    artists = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    genres = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    tags = models.JSONField(
        default=dict,
        blank=True,
        encoder=PlainTextJSONEncoder,
        help_text='Other tags by group, kept apart from the genres: {"theme": […], "format": […], "content": […]}.',
    )
    content_rating = models.CharField(max_length=16, blank=True)
    links = models.JSONField(default=dict, blank=True, help_text="The title's ids elsewhere, as its source lists them.")
    available_languages = models.JSONField(
        default=list, blank=True, help_text="The chapter languages its source has (MangaDex)."
    )
    orig_lang = models.CharField("original language", max_length=16, blank=True)
    original_status = models.CharField(max_length=200, blank=True, help_text="The status in the source's words.")
    upload_status = models.CharField("status", max_length=20, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    original_pub_from = models.CharField("published from", max_length=20, blank=True)
    original_pub_till = models.CharField("published till", max_length=20, blank=True)
    read_direction = models.CharField(max_length=8, blank=True)
    description = models.TextField(blank=True)
    description_format = models.CharField(
        max_length=8,
        choices=[("text", "plain text"), ("markdown", "Markdown")],
        default="text",
        help_text="How the source wrote it; pages show Markdown rendered safely, never raw.",
    )
    cover_url = models.CharField("cover image URL", max_length=1000, blank=True)
    languages = models.JSONField(
        default=list,
        blank=True,
        help_text='Chapter languages to follow where the source has several (MangaDex), e.g. ["en", "pt-br"]; '
        "empty for MANGADEX_LANGUAGES.",
    )
    languages_synced = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The languages whose whole chapter list is stored; another choice is fetched in full, quietly.",
    )
    score = models.FloatField(null=True, blank=True)
    votes = models.PositiveIntegerField(null=True, blank=True)
    score_distribution = models.JSONField(default=dict, blank=True)
    follows = models.PositiveIntegerField(null=True, blank=True)
    reviews = models.PositiveIntegerField(null=True, blank=True)
    replies = models.PositiveIntegerField(null=True, blank=True)
    views_all_time = models.PositiveBigIntegerField(null=True, blank=True)
    emotions = models.JSONField(default=dict, blank=True)
    moved_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moved_here_from",
        help_text="The title on another source its followers moved to.",
    )
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    source_memo = models.JSONField(
        default=dict, blank=True, help_text="What the source keeps between checks (a feed's ETag and Last-Modified)."
    )
    announced_release_at = models.DateTimeField(
        null=True, blank=True, help_text="The publisher's own date of the next chapter, where the source gives one."
    )
    imported_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its chapters were first fetched; empty while a reader's shelf waits for that.",
    )
    import_error = models.CharField(max_length=300, blank=True, help_text="Why the last try to fetch it failed.")
    # What lists show, kept current by each check's own transaction (scraping.checking.pipeline).
    chapter_count = models.PositiveIntegerField(default=0, editable=False)
    latest_chapter = models.ForeignKey(
        "Chapter", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    cover_key = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Its cover as batoshelf keeps it (scraping.Cover)."
    )

    objects = TitleQuerySet.as_manager()

    class Meta:
        verbose_name = "title"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="one_title_per_source_id")]

    def __str__(self):
        return f"{self.name} ({self.reference})"

    @property
    def source_object(self):
        return sources.get(self.source)

    @property
    def reference(self):
        """The title as commands accept it: `source:id`."""
        return f"{self.source}:{self.source_id}"

    @property
    def fetched(self):
        return self.imported_at is not None

    @property
    def schedule_or_none(self):
        """Its check schedule; None before its first import (a title a shelf waits for has none yet)."""
        try:
            return self.schedule
        except CheckSchedule.DoesNotExist:
            return None

    @property
    def cover_path(self):
        """Its cover on this site, or "" until batoshelf has it."""
        return reverse("cover", args=[self.cover_key]) if self.cover_key else ""

    def other_names(self):
        """The other names as text, in the source's order."""
        return [alt["name"] for alt in self.alt_names if isinstance(alt, dict) and alt.get("name")]

    @property
    def source_url(self):
        """The title's page on its source."""
        return self.source_object.title_url(self.source_id)

    def chapter_languages(self):
        return self.source_object.languages(self.languages)

    def chapter_link(self, chapter):
        """Where one of this title's chapters is read (a Link: on the source, or an official page elsewhere)."""
        return self.source_object.chapter_link(self.source_id, chapter.url_path, chapter.external_url)

    def clean(self):
        if not isinstance(self.languages, list) or not all(
            isinstance(code, str) and CHAPTER_LANGUAGE.match(code) for code in self.languages
        ):
            raise ValidationError({"languages": 'A list of language codes such as ["en", "pt-br"], or [].'})

    def apply_details(self, details, now):
        """Copy freshly fetched details onto this title; return the status it had."""
        old_status = self.upload_status
        for field in (
            "name",
            "alt_names",
            "authors",
            "artists",
            "genres",
            "tags",
            "content_rating",
            "links",
            "available_languages",
            "orig_lang",
            "original_status",
            "upload_status",
            "year",
            "original_pub_from",
            "original_pub_till",
            "read_direction",
            "description",
            "description_format",
            "cover_url",
            "score",
            "votes",
            "score_distribution",
            "follows",
            "reviews",
            "replies",
            "views_all_time",
            "emotions",
        ):
            setattr(self, field, getattr(details, field))
        self.announced_release_at = details.next_release_at
        self.name = self.name[:500]
        self.original_status = self.original_status[:200]
        self.cover_url = self.cover_url[:1000]
        self.refreshed_at = now
        return old_status


class Chapter(models.Model):
    """A chapter (or one group's release of it), identified by the source's id within its title.

    Its URL may change when edited on the source, its id never.
    """

    class Precision(models.TextChoices):
        EXACT = EXACT, "exact time"
        DAY = DAY, "day only"

    # Fields an edit on the source can change; compared on every check.
    EDITABLE_FIELDS = (
        "name",
        "subtitle",
        "volume",
        "language",
        "groups",
        "url_path",
        "external_url",
        "number",
        "number_from",
        "published_at",
        "published_precision",
        "available",
    )

    source_id = models.CharField("id on the source", max_length=64)
    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="chapters", verbose_name="title")
    name = models.CharField(max_length=255)
    subtitle = models.CharField(
        max_length=500, blank=True, help_text="The chapter's own title, if the source gives one."
    )
    volume = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=16, blank=True)
    groups = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    url_path = models.CharField(max_length=500, blank=True, help_text="Its page on the source, as a path.")
    external_url = models.CharField(
        max_length=1000,
        blank=True,
        help_text="An official page outside the source, where the source links one.",
    )
    number = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    number_from = models.DecimalField(
        "range from",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The first number of a release of several chapters at once (25 of 25-26).",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_precision = models.CharField(max_length=8, choices=Precision.choices, default=EXACT)
    created_at = models.DateTimeField(null=True, blank=True)
    available = models.BooleanField(
        default=True,
        help_text="Hidden, deleted or taken down on the source: kept, but announced to no one.",
    )
    views_guest = models.PositiveIntegerField(null=True, blank=True)
    views_member = models.PositiveIntegerField(null=True, blank=True)
    replies = models.PositiveIntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    previous_check_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The check before the one that first saw it: a chapter known only to its day came out after.",
    )

    class Meta:
        # Ascending: read backwards they give newest first with the id as tie-break, as lists order them.
        indexes = [models.Index(fields=["title", "published_at"]), models.Index(fields=["published_at"])]
        constraints = [models.UniqueConstraint(fields=["title", "source_id"], name="one_chapter_per_title_and_id")]

    def __str__(self):
        return self.name or f"Chapter {self.source_id}"

    @property
    def link(self):
        return self.title.chapter_link(self)

    @property
    def url(self):
        return self.link.url

    @staticmethod
    def values_of(record):
        """The model's values for a source's ChapterRecord, cut to the columns' sizes."""
        return {
            "source_id": record.source_id,
            "name": record.name[:255],
            "subtitle": record.subtitle[:500],
            "volume": record.volume[:20],
            "language": record.language[:16],
            "groups": [group[:200] for group in record.groups][:20],
            "url_path": record.url_path[:500],
            "external_url": record.external_url[:1000],
            "number": record.number,
            "number_from": record.number_from,
            "published_at": record.published_at,
            "published_precision": record.published_precision,
            "created_at": record.created_at,
            "available": record.available,
            "views_guest": record.views_guest,
            "views_member": record.views_member,
            "replies": record.replies,
        }


# The interval staff may pin a title's checks to, in hours.
PIN_HOURS = (0.1, 24 * 30)


class CheckScheduleQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(next_check_at__lte=now, paused=False).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        )

    def reset(self, now):
        """Forget what was learned and pinned, and make these titles due now; return how many."""
        return self.update(
            misses=0,
            failures=0,
            not_found_checks=0,
            learned={},
            manual_interval_hours=None,
            paused=False,
            next_check_at=now,
            reason="reset by staff: learning the rhythm again",
        )

    def resume(self, now):
        """Check these paused titles again from now on; return how many."""
        return self.update(paused=False, not_found_checks=0, next_check_at=now, reason="resumed by staff")

    def release_claim(self, token):
        """Give back the claim `token` holds, for the next dispatch to take."""
        return self.filter(claim_token=token).update(claim_token=None, claimed_until=None)

    def claim_due(self, now, limit, lease, source):
        """Claim up to `limit` due titles of `source`, most urgent first; return [(title_id, claim_token)].

        Three statements whatever the number: the candidates' ids, one conditional UPDATE of those still
        due (so two dispatchers at once never hand out a title twice: a row the other took is no longer
        due), and the ids it changed. The claims share a token; each is only ever released by its title.
        """
        due = self.due(now).filter(title__source=source).order_by("-priority", "next_check_at")
        candidates = list(due.values_list("pk", "title_id")[:limit])
        if not candidates:
            return []
        token = uuid.uuid4().hex
        self.due(now).filter(pk__in=[pk for pk, _ in candidates]).update(claim_token=token, claimed_until=now + lease)
        taken = set(self.filter(claim_token=token).values_list("pk", flat=True))
        return [(title_id, token) for pk, title_id in candidates if pk in taken]


class CheckSchedule(models.Model):
    """When a title is checked next, and what past checks taught about it."""

    title = models.OneToOneField(Title, on_delete=models.CASCADE, related_name="schedule", verbose_name="title")
    next_check_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    misses = models.PositiveIntegerField(default=0, help_text="Consecutive checks that found nothing new.")
    failures = models.PositiveIntegerField(default=0, help_text="Consecutive checks that failed.")
    not_found_checks = models.PositiveIntegerField(
        default=0,
        help_text="Consecutive checks the source said it has no such title; enough of them pause it.",
    )
    paused = models.BooleanField(default=False)
    priority = models.SmallIntegerField(default=0, help_text="Higher is checked first when several are due.")
    manual_interval_hours = models.FloatField(
        "pinned interval (hours)",
        null=True,
        blank=True,
        validators=[MinValueValidator(PIN_HOURS[0]), MaxValueValidator(PIN_HOURS[1])],
        help_text="Check every this many hours instead of the learned schedule; empty to follow the title's rhythm.",
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Why the next check is when it is.")
    expected_release_at = models.DateTimeField(
        null=True, blank=True, help_text="The next release the learned rhythm predicts (what the shelf sorts by)."
    )
    failure_alerted = models.BooleanField(default=False, editable=False, help_text="Staff were told it keeps failing.")
    learned = models.JSONField(default=dict, blank=True, help_text="What the scheduler learned of the title's rhythm.")
    claim_token = models.CharField(max_length=32, null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CheckScheduleQuerySet.as_manager()

    class Meta:
        verbose_name = "check schedule"

    def __str__(self):
        return f"checks of title {self.title_id}"

    @staticmethod
    def claim_lease():
        """How long a claim holds (CHECK_CLAIM_LEASE): a worker killed mid-check lets its title go after it."""
        return timedelta(seconds=settings.CHECK_CLAIM_LEASE)

    def claim(self, now, token=None):
        """Take this title for one check; return the claim token, or None if another check holds it.

        A dispatcher's token is honoured by the task it queued; a claim held by
        someone else blocks until it is released or its lease runs out.
        """
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        if token:
            free |= Q(claim_token=token)
        new_token = token or uuid.uuid4().hex
        taken = CheckSchedule.objects.filter(free, pk=self.pk).update(
            claim_token=new_token, claimed_until=now + self.claim_lease()
        )
        return new_token if taken else None

    def _release(self):
        self.claim_token = None
        self.claimed_until = None

    @property
    def late(self):
        """The release the rhythm predicted is past by more than its give or take, and a check since
        found nothing: "late" a moment after the predicted hour would cry wolf."""
        if not (self.expected_release_at and self.last_checked_at):
            return False
        give = (self.learned or {}).get("tolerance_s")
        give = timedelta(seconds=give) if isinstance(give, int | float) and 0 <= give < 10**8 else timedelta()
        return self.last_checked_at > self.expected_release_at + give

    def record_success(self, now, release_times, status, found_new, announced=None):
        """After a check that worked: learn the rhythm again and set the next check from it.

        Returns True when staff had been told this title keeps failing.
        """
        recovered = self.failure_alerted
        self.misses = 0 if found_new else self.misses + 1
        self.failures = self.not_found_checks = 0
        self.failure_alerted = False
        self.last_checked_at = now
        plan = policy.plan_next_check(release_times, now, status, self.misses, announced)
        self.learned = plan.rhythm.as_json()
        self.expected_release_at = plan.rhythm.predicted
        pinned = self.manual_interval_hours or settings.CHECK_INTERVAL_HOURS
        if pinned:
            self.next_check_at = now + timedelta(hours=pinned)
            if self.manual_interval_hours:
                self.reason = f"pinned by staff: every {pinned:g} h"
            else:  # CHECK_INTERVAL_HOURS, in words a reader may see
                self.reason = f"staff check every title every {pinned:g} h"
        else:
            self.next_check_at, self.reason = plan.at, plan.reason[:200]
        self._release()
        self.save()
        return recovered

    def record_failure(self, now, error):
        """After a check that failed for this title's own reasons: back off this title alone.

        A title the source says it does not have CHECK_NOT_FOUND_PAUSE_AFTER checks
        in a row is paused instead. Returns True when this failure paused it.
        """
        self.failures += 1
        self.not_found_checks = self.not_found_checks + 1 if error.kind == TitleNotFound.kind else 0
        self.last_checked_at = now
        newly_paused = not self.paused and self.not_found_checks >= settings.CHECK_NOT_FOUND_PAUSE_AFTER
        if newly_paused:
            self.paused = True
            self.reason = (
                f"paused: its source did not have it {self.not_found_checks} checks in a row; resume it when it is back"
            )
        else:
            self.next_check_at = policy.retry_after_failure(now, self.failures)
            self.reason = f"retrying after {counted(self.failures, 'failure')}: {error.kind}"
        self._release()
        self.save()
        return newly_paused

    def release(self):
        """Give the claim back without checking (the source was paused)."""
        CheckSchedule.objects.filter(pk=self.pk).release_claim(self.claim_token)


class CheckLogQuerySet(models.QuerySet):
    def per_day(self):
        """Per UTC day: checks (skipped ones are none), failures, new chapters and mean duration.

        Chapters an import stored are not new: nobody was told of them.
        """
        return (
            self.exclude(outcome=CheckLog.Outcome.SKIPPED)
            .annotate(day=TruncDate("started_at"))
            .values("day")
            .annotate(
                checks=Count("pk"),
                failures=Count("pk", filter=Q(outcome=CheckLog.Outcome.FAILED)),
                new_chapters=Sum("new_chapters", filter=~Q(outcome=CheckLog.Outcome.IMPORTED)),
                mean_duration_ms=Avg("duration_ms"),
            )
            .order_by("day")
        )

    def recent(self, *, outcome=None, error_kind=None, title_id=None):
        """Newest first, with the title, narrowed by whichever filters are given. The titles are read by a
        second query: joined, MariaDB would sort every log with its title before taking the newest."""
        filters = {"outcome": outcome, "error_kind": error_kind, "title_id": title_id}
        return (
            self.prefetch_related("title")
            .filter(**{name: value for name, value in filters.items() if value not in (None, "")})
            .order_by("-started_at", "-pk")
        )


class CheckLog(models.Model):
    """One row per attempt to check a title, whatever came of it."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "new chapters"
        NO_CHANGE = "no_change", "no change"
        IMPORTED = "imported", "imported"  # the whole list, stored quietly: new to batoshelf, not new chapters
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped"

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="check_logs", verbose_name="title")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    chapters_seen = models.PositiveIntegerField(default=0)
    new_chapters = models.PositiveIntegerField(default=0)
    http_requests = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)

    objects = CheckLogQuerySet.as_manager()

    class Meta:
        # Ascending on purpose: read backwards, an index on started_at (whose rows carry the id) gives
        # "newest first, then the highest id" without a sort; a descending one would not (the id ascends).
        indexes = [
            models.Index(fields=["title", "started_at"]),
            models.Index(fields=["outcome", "started_at"]),
            models.Index(fields=["started_at"]),
        ]

    def __str__(self):
        return f"check of title {self.title_id} at {self.started_at:%Y-%m-%d %H:%M:%S} UTC"

    def to_dict(self):
        return {
            "id": self.pk,
            "title_id": self.title_id,
            "title_name": self.title.name,
            "started_at": self.started_at.isoformat(),
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
            "chapters_seen": self.chapters_seen,
            "new_chapters": self.new_chapters,
            "http_status": self.http_status,
            "error_kind": self.error_kind,
            "message": self.message,
        }


def clock(moment):
    """A time of day in the current time zone, named: '21:04:09 JST'."""
    return f"{timezone.localtime(moment):%H:%M:%S %Z}"


@dataclass(frozen=True)
class CheckRequestAnswer:
    queued: bool
    detail: str
    coming: bool = False  # a check is on its way: queued now, or asked for earlier and not yet run
    retry_after: int | None = None  # seconds, when the asker is over their limit


class CheckRequestQuerySet(models.QuerySet):
    def admit(self, title, user, now):
        """Record `user`'s ask for a check of `title` now, unless a limit says no.

        Each user may ask CHECK_NOW_PER_USER_PER_HOUR times an hour. A title asked
        for in the last CHECK_NOW_COOLDOWN seconds is not queued again:
        the check already asked for answers everyone.
        """
        named = title.name or "this title"  # a title still being fetched has no name yet
        paused = CheckSchedule.objects.filter(title=title, paused=True).values_list("reason", flat=True).first()
        if paused is not None:
            return CheckRequestAnswer(queued=False, detail=f"Checks of {named} are paused ({paused}).")
        hour_ago = now - timedelta(hours=1)
        mine = self.filter(requested_by=user, requested_at__gt=hour_ago)
        if mine.count() >= settings.CHECK_NOW_PER_USER_PER_HOUR:
            oldest = mine.order_by("requested_at").values_list("requested_at", flat=True).first()
            return CheckRequestAnswer(
                queued=False,
                detail=f"You may ask for {settings.CHECK_NOW_PER_USER_PER_HOUR} checks an hour; try again later.",
                retry_after=max(1, int((oldest + timedelta(hours=1) - now).total_seconds()) + 1),
            )
        cooldown = timedelta(seconds=settings.CHECK_NOW_COOLDOWN)
        recent = self.filter(title=title, requested_at__gt=now - cooldown).order_by("-requested_at").first()
        if recent:
            detail, ran = recent.progress(named)
            if ran:
                detail += f" Ask again after {clock(recent.requested_at + cooldown)}."
            return CheckRequestAnswer(queued=False, detail=detail, coming=not ran)
        self.create(title=title, requested_by=user, requested_at=now)
        return CheckRequestAnswer(queued=True, detail=f"A check of {named} is queued.", coming=True)

    def take_next(self, now):
        """Take the oldest ask nobody has served yet (a conditional UPDATE: one taker each); None if none."""
        while True:
            pending = (
                self.filter(taken_at__isnull=True)
                .order_by("requested_at", "pk")
                .select_related("title__schedule")
                .first()
            )
            if pending is None:
                return None
            if self.filter(pk=pending.pk, taken_at__isnull=True).update(taken_at=now):
                return pending


class CheckRequest(models.Model):
    """A check someone asked for outside the schedule: which title, who, when."""

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="check_requests", verbose_name="title")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="check_requests"
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    taken_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When a worker took it; asks not yet taken go before any scheduled check.",
    )

    objects = CheckRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        return f"check of {self.title_id} asked by {self.requested_by_id} at {self.requested_at:%Y-%m-%d %H:%M}"

    def progress(self, named):
        """Where this ask for a check of the title `named` stands, for whoever asks again (waiting, under
        way, or what the newest check since found), and whether it has run. Times are in the current
        time zone: the reader's, on their pages."""
        asked = f"A check of {named} was asked for at {clock(self.requested_at)}"
        if self.taken_at is None:
            return f"{asked}; it waits for a worker.", False
        log = (
            CheckLog.objects.filter(title_id=self.title_id, started_at__gte=self.taken_at)
            .order_by("-started_at")
            .first()
        )
        if log is None:
            return f"{asked}; a worker took it at {clock(self.taken_at)} and is checking it.", False
        found = {
            CheckLog.Outcome.SUCCESS: f"found {counted(log.new_chapters, 'new chapter')}",
            CheckLog.Outcome.NO_CHANGE: "found nothing new",
            CheckLog.Outcome.IMPORTED: f"stored {counted(log.new_chapters, 'chapter')}",
        }.get(log.outcome, f"{log.get_outcome_display()}: {log.message[:200]}")
        return f"{asked}; the last check ran at {clock(log.started_at)} and {found}.", True


class SourceStateQuerySet(models.QuerySet):
    def of(self, source):
        return self.filter(source=source)


class SourceState(models.Model):
    """The row every worker consults about one source: its database limiter, pause, breaker, base URL.

    One row per source, so a 429 from one never pauses another. The gate
    (scraping.gate) reads and changes it; this model only holds it.
    """

    # A source's name, or "<source>:<host>" for a source with a gate per host (feeds).
    source = models.CharField("source or gate", max_length=200, unique=True)
    limiter = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The database limiter's state (unused when REDIS_URL is set).",
    )
    limiter_version = models.PositiveBigIntegerField(default=0, editable=False)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    rate_limited_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The last 429: requests go at half the pace for an hour after it.",
    )
    breaker_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set while the circuit breaker is open: one probe check may go after it.",
    )
    breaker_opened_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the breaker opened after the source last worked.",
    )
    breaker_openings = models.PositiveIntegerField(default=0, help_text="Times it opened in a row; the wait doubles.")
    breaker_reason = models.CharField(max_length=300, blank=True)
    probe_until = models.DateTimeField(null=True, blank=True, editable=False)
    failures_in_a_row = models.PositiveIntegerField(default=0, help_text="Requests in a row the source did not answer.")
    mirror = models.CharField(
        "address in use",
        max_length=200,
        blank=True,
        help_text="The base URL requests go to; on failure the next configured one takes over.",
    )

    objects = SourceStateQuerySet.as_manager()

    class Meta:
        verbose_name = "source state"
        ordering = ["source"]

    def __str__(self):
        return sources.gate_label(self.source)

    @classmethod
    def current(cls, source):
        state, _ = cls.objects.get_or_create(source=source)
        return state

    @classmethod
    def all_sources(cls):
        """{source name: its row} for every source, in one query; a source never asked yet has a fresh,
        unsaved row (its first request makes it)."""
        stored = {state.source: state for state in cls.objects.filter(source__in=list(sources.SOURCES))}
        return {name: stored.get(name) or cls(source=name) for name in sources.SOURCES}

    @property
    def mirror_in_use(self):
        return rules.mirror_in_use(sources.get(self.source).base_urls(), self.mirror)

    def down_for(self, now):
        """How long the breaker has stayed open since the source last worked (a timedelta), or None."""
        if self.breaker_until is None or self.breaker_opened_at is None:
            return None
        return now - self.breaker_opened_at


class JobConfig(models.Model):
    """How one job type runs: staff edit it in the admin or the API, and the queue's schedule follows."""

    job_type = models.CharField(max_length=40, unique=True, editable=False)
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(1440)])
    active_from_hour = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text="Scheduled runs only from this hour (UTC); empty to run at any hour.",
    )
    active_until_hour = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text="…until this hour (UTC); may wrap past midnight.",
    )
    window_buffer_minutes = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(180)],
        help_text="Minutes allowed before and after the window.",
    )
    options = models.JSONField(default=dict, blank=True, help_text="Settings of this job type (see its help).")
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    running_until = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "job"
        ordering = ["job_type"]

    def __str__(self):
        return self.job_type

    def clean(self):
        # Its options are checked by its job type, where staff change them (scraping.checking.jobs).
        if (self.active_from_hour is None) != (self.active_until_hour is None):
            raise ValidationError("Give both hours of the active window, or neither.")

    def to_dict(self):
        return {
            "job_type": self.job_type,
            "enabled": self.enabled,
            "interval_minutes": self.interval_minutes,
            "active_from_hour": self.active_from_hour,
            "active_until_hour": self.active_until_hour,
            "window_buffer_minutes": self.window_buffer_minutes,
            "options": self.options,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
        }

    def is_running(self, now):
        return bool(self.running_until and self.running_until > now)

    def in_window(self, now):
        return policy.in_active_window(now, self.active_from_hour, self.active_until_hour, self.window_buffer_minutes)


class JobRun(models.Model):
    """One run of a job: who or what started it, how it went, what it did and said."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        RETRY = "retry"

    job_type = models.CharField(max_length=40, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="job_runs"
    )
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    items_checked = models.PositiveIntegerField(default=0)
    items_updated = models.PositiveIntegerField(default=0)
    log = models.JSONField(default=list, blank=True, help_text="Lines: time, level, message, metadata.")

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["job_type", "started_at"])]

    def __str__(self):
        return f"{self.job_type} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    def to_dict(self):
        return {
            "id": self.pk,
            "job_type": self.job_type,
            "trigger": self.trigger,
            "triggered_by": self.triggered_by.get_username() if self.triggered_by else None,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "items_checked": self.items_checked,
            "items_updated": self.items_updated,
            "log": self.log,
        }


class DailyStats(models.Model):
    """One day of checks, rolled up from the check logs; kept after those are pruned."""

    day = models.DateField(unique=True)
    checks = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    new_chapters = models.PositiveIntegerField(default=0)
    mean_duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily stats"
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day}: {self.checks} checks"


class TitleDailyStats(models.Model):
    """One title's releases and checks on one day, rolled up like DailyStats."""

    title = models.ForeignKey(Title, on_delete=models.CASCADE, related_name="daily_stats", verbose_name="title")
    day = models.DateField()
    checks = models.PositiveIntegerField(default=0)
    releases = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "title daily stats"
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["title", "day"], name="one_rollup_per_title_and_day")]

    def __str__(self):
        return f"{self.title_id} {self.day}: {self.releases} releases"


class Heartbeat(models.Model):
    """The last sign of life of a long-running part, so staff can see from any process that it runs."""

    CLUSTER = "task cluster"

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, name, now):
        cls.objects.update_or_create(name=name, defaults={"beat_at": now})


class Cover(models.Model):
    """A cover as batoshelf keeps it: fetched once from its source through the gate, stored as a small
    JPEG, served from here (sources refuse hotlinked images). Keyed by its source URL, so a new cover
    is a new row and the old one's long browser caching stays right."""

    key = models.CharField(max_length=32, primary_key=True)
    source = models.CharField(max_length=16, choices=sources.choices())
    url = models.CharField("source URL", max_length=1000)
    image = models.BinaryField(null=True, blank=True, editable=False)
    width = models.PositiveSmallIntegerField(null=True, blank=True)
    height = models.PositiveSmallIntegerField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="The last try that failed; tried again a day on.")
    error = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return self.url

    @staticmethod
    def key_of(url):
        return hashlib.sha256(url.encode()).hexdigest()[:32]
