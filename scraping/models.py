import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from scraping import scheduling


class UploadStatus(models.TextChoices):
    ONGOING = "ongoing"
    COMPLETED = "completed"
    DROPPED = "dropped"
    HIATUS = "hiatus"
    CANCELLED = "cancelled"


class PlainTextJSONEncoder(json.JSONEncoder):
    """Stores Korean and Japanese as themselves, not \\uXXXX escapes, so admin search finds them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "ensure_ascii": False})


class Manga(models.Model):
    """A Bato title, as its details read at the last successful check."""

    bato_id = models.CharField("Bato id", max_length=20, unique=True)
    name = models.CharField(max_length=500)
    alt_names = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    authors = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    artists = models.JSONField(default=list, blank=True, encoder=PlainTextJSONEncoder)
    genres = models.JSONField(default=list, blank=True)
    orig_lang = models.CharField("original language", max_length=16, blank=True)
    original_status = models.CharField(max_length=20, blank=True)
    upload_status = models.CharField(max_length=20, blank=True)
    original_pub_from = models.CharField("published from", max_length=20, blank=True)
    original_pub_till = models.CharField("published till", max_length=20, blank=True)
    read_direction = models.CharField(max_length=8, blank=True)
    summary = models.TextField(blank=True)
    score = models.FloatField(null=True, blank=True)
    votes = models.PositiveIntegerField(null=True, blank=True)
    score_distribution = models.JSONField(default=dict, blank=True)
    follows = models.PositiveIntegerField(null=True, blank=True)
    reviews = models.PositiveIntegerField(null=True, blank=True)
    replies = models.PositiveIntegerField(null=True, blank=True)
    views_all_time = models.PositiveBigIntegerField(null=True, blank=True)
    emotions = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "title"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.bato_id})"

    @property
    def bato_url(self):
        return f"{settings.BATO_BASE_URL}/title/{self.bato_id}"

    def apply_details(self, details, now):
        """Copy freshly fetched details onto this title; return the upload status it had."""
        old_status = self.upload_status
        for field in (
            "name", "alt_names", "authors", "artists", "genres", "orig_lang", "original_status",
            "upload_status", "original_pub_from", "original_pub_till", "read_direction", "summary",
            "score", "votes", "score_distribution", "follows", "reviews", "replies",
            "views_all_time", "emotions",
        ):
            setattr(self, field, getattr(details, field))
        self.refreshed_at = now
        return old_status


class Chapter(models.Model):
    """A chapter, identified by its Bato id: its URL may change when edited, its id never."""

    # Fields an edit on the site can change; compared on every check.
    EDITABLE_FIELDS = ("dname", "title", "url_path", "number", "published_at")

    bato_id = models.CharField("Bato id", max_length=20, unique=True)
    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="chapters", verbose_name="title")
    dname = models.CharField("name", max_length=255)
    title = models.CharField(max_length=500, blank=True)
    url_path = models.CharField(max_length=500, blank=True)
    number = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    views_guest = models.PositiveIntegerField(null=True, blank=True)
    views_member = models.PositiveIntegerField(null=True, blank=True)
    replies = models.PositiveIntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["manga", "published_at"])]

    def __str__(self):
        return self.dname or f"Chapter {self.bato_id}"

    @property
    def url(self):
        return self.site_url(self.url_path)

    @staticmethod
    def site_url(url_path):
        """The chapter's page on the site, from its stored path ("" when there is none)."""
        return f"{settings.BATO_BASE_URL}{url_path}" if url_path else ""

    @classmethod
    def from_record(cls, manga, record, now):
        return cls(
            manga=manga,
            bato_id=record.bato_id,
            dname=record.dname[:255],
            title=record.title[:500],
            url_path=record.url_path[:500],
            number=record.number,
            published_at=record.published_at,
            created_at=record.created_at,
            views_guest=record.views_guest,
            views_member=record.views_member,
            replies=record.replies,
            first_seen_at=now,
        )

    @property
    def release_time(self):
        return self.published_at or self.created_at or self.first_seen_at


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
            misses=0, failures=0, learned={}, manual_interval_hours=None, paused=False,
            next_check_at=now, reason="reset by staff: learning the rhythm again",
        )

    def release_claim(self, token):
        """Give back the claim `token` holds, for the next dispatch to take."""
        return self.filter(claim_token=token).update(claim_token=None, claimed_until=None)

    def claim_due(self, now, limit, lease):
        """Claim up to `limit` due titles, most urgent first; return [(manga_id, claim_token)].

        Each claim is a conditional UPDATE that must change exactly one row, so
        two dispatchers running at once never hand out the same title.
        """
        candidates = self.due(now).order_by("-priority", "next_check_at").values_list("pk", "manga_id")[:limit]
        claimed = []
        for pk, manga_id in candidates:
            token = uuid.uuid4().hex
            if self.due(now).filter(pk=pk).update(claim_token=token, claimed_until=now + lease):
                claimed.append((manga_id, token))
        return claimed


class CheckSchedule(models.Model):
    """When a title is checked next, and what past checks taught about it."""

    # A claim outlives a queued check's wait plus the task timeout; a worker
    # killed mid-check lets its title be dispatched again after it.
    CLAIM_LEASE = timedelta(minutes=15)

    manga = models.OneToOneField(Manga, on_delete=models.CASCADE, related_name="schedule", verbose_name="title")
    next_check_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    misses = models.PositiveIntegerField(default=0, help_text="Consecutive checks that found nothing new.")
    failures = models.PositiveIntegerField(default=0, help_text="Consecutive checks that failed.")
    paused = models.BooleanField(default=False)
    priority = models.SmallIntegerField(default=0, help_text="Higher is checked first when several are due.")
    manual_interval_hours = models.FloatField(
        "pinned interval (hours)", null=True, blank=True,
        validators=[MinValueValidator(PIN_HOURS[0]), MaxValueValidator(PIN_HOURS[1])],
        help_text="Check every this many hours instead of the learned schedule; empty to follow the title's rhythm.",
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Why the next check is when it is.")
    failure_alerted = models.BooleanField(default=False, editable=False, help_text="Staff were told it keeps failing.")
    learned = models.JSONField(default=dict, blank=True, help_text="What the scheduler learned of the title's rhythm.")
    claim_token = models.CharField(max_length=32, null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CheckScheduleQuerySet.as_manager()

    class Meta:
        verbose_name = "check schedule"

    def __str__(self):
        return f"schedule of {self.manga_id}"

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
            claim_token=new_token, claimed_until=now + self.CLAIM_LEASE
        )
        return new_token if taken else None

    def _release(self):
        self.claim_token = None
        self.claimed_until = None

    def record_success(self, now, release_times, status, found_new):
        """After a check that worked: learn the rhythm again and set the next check from it."""
        self.misses = 0 if found_new else self.misses + 1
        self.failures = 0
        self.failure_alerted = False
        self.last_checked_at = now
        plan = scheduling.plan_next_check(release_times, now, status, self.misses)
        self.learned = plan.rhythm.as_json()
        pinned = self.manual_interval_hours or settings.BATO_CHECK_INTERVAL_HOURS
        if pinned:
            self.next_check_at = now + timedelta(hours=pinned)
            source = "pinned by staff" if self.manual_interval_hours else "BATO_CHECK_INTERVAL_HOURS"
            self.reason = f"{source}: every {pinned:g} h"
        else:
            self.next_check_at, self.reason = plan.at, plan.reason[:200]
        self._release()
        self.save()

    def record_failure(self, now, error):
        self.failures += 1
        self.last_checked_at = now
        self.next_check_at = scheduling.retry_after_failure(now, self.failures)
        self.reason = f"retrying after {self.failures} failure(s): {error.kind}"
        self._release()
        self.save()

    def release(self):
        """Give the claim back without checking (the site was paused)."""
        CheckSchedule.objects.filter(pk=self.pk).release_claim(self.claim_token)

    @property
    def predicted_release(self):
        """The next release the learned rhythm predicts, or None."""
        predicted = (self.learned or {}).get("predicted")
        return datetime.fromisoformat(predicted) if predicted else None


class ScrapeLogQuerySet(models.QuerySet):
    def recent(self, *, outcome=None, error_kind=None, manga_id=None):
        """Newest first, with the title, narrowed by whichever filters are given."""
        filters = {"outcome": outcome, "error_kind": error_kind, "manga_id": manga_id}
        return self.select_related("manga").filter(
            **{name: value for name, value in filters.items() if value not in (None, "")}
        ).order_by("-started_at", "-pk")


class ScrapeLog(models.Model):
    """One row per attempt to check a title, whatever came of it."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "new chapters"
        NO_CHANGE = "no_change", "no change"
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped"

    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="scrape_logs", verbose_name="title")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    chapters_seen = models.PositiveIntegerField(default=0)
    new_chapters = models.PositiveIntegerField(default=0)
    http_requests = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)

    objects = ScrapeLogQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["manga", "-started_at"]),
            models.Index(fields=["outcome", "-started_at"]),
            models.Index(fields=["-started_at"]),
        ]

    def __str__(self):
        return f"{self.manga_id} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"


@dataclass(frozen=True)
class CheckRequestAnswer:
    queued: bool
    detail: str
    retry_after: int | None = None  # seconds, when the asker is over their limit


class CheckRequestQuerySet(models.QuerySet):
    def admit(self, manga, user, now):
        """Record `user`'s ask for a check of `manga` now, unless a limit says no.

        Each user may ask BATO_USER_CHECKS_PER_HOUR times an hour. A title asked
        for in the last BATO_REQUESTED_CHECK_COOLDOWN seconds is not queued again:
        the check already asked for answers everyone.
        """
        hour_ago = now - timedelta(hours=1)
        mine = self.filter(requested_by=user, requested_at__gt=hour_ago)
        if mine.count() >= settings.BATO_USER_CHECKS_PER_HOUR:
            oldest = mine.order_by("requested_at").values_list("requested_at", flat=True).first()
            return CheckRequestAnswer(
                queued=False,
                detail=f"You may ask for {settings.BATO_USER_CHECKS_PER_HOUR} checks an hour; try again later.",
                retry_after=max(1, int((oldest + timedelta(hours=1) - now).total_seconds()) + 1),
            )
        cooldown = timedelta(seconds=settings.BATO_REQUESTED_CHECK_COOLDOWN)
        recent = self.filter(manga=manga, requested_at__gt=now - cooldown).order_by("-requested_at").first()
        if recent:
            return CheckRequestAnswer(
                queued=False, detail=f"A check of this title was asked for at {recent.requested_at:%H:%M:%S} UTC."
            )
        self.create(manga=manga, requested_by=user, requested_at=now)
        return CheckRequestAnswer(queued=True, detail="A check of this title is queued.")


class CheckRequest(models.Model):
    """A check someone asked for outside the schedule: which title, who, when."""

    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="check_requests", verbose_name="title")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="check_requests"
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = CheckRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        return f"check of {self.manga_id} asked by {self.requested_by_id} at {self.requested_at:%Y-%m-%d %H:%M}"


class SitePaused(Exception):
    def __init__(self, until, reason):
        super().__init__(f"checks to the site are paused until {until:%Y-%m-%d %H:%M:%S} UTC: {reason}")
        self.until = until
        self.reason = reason


class SiteState(models.Model):
    """The one row every process consults before it sends a request to the site.

    It spaces requests BATO_MIN_DELAY..BATO_MAX_DELAY apart across all workers
    and holds a site-wide pause after a 429 or a block.
    """

    next_request_at = models.DateTimeField(default=timezone.now)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "site state"

    SINGLETON_PK = 1

    @classmethod
    def current(cls):
        state, _ = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return state

    @classmethod
    def take_turn(cls, *, clock=timezone.now, sleep=time.sleep, delay=None):
        """Block until this process may send the next request; raise SitePaused while paused.

        Compare-and-set on `next_request_at`: of several waiting processes
        exactly one moves it forward and goes; the others wait for the new time.
        """
        delay = delay or (lambda: random.uniform(settings.BATO_MIN_DELAY, settings.BATO_MAX_DELAY))
        while True:
            now = clock()
            not_paused = Q(paused_until__isnull=True) | Q(paused_until__lte=now)
            if cls.objects.filter(not_paused, pk=cls.SINGLETON_PK, next_request_at__lte=now).update(
                next_request_at=now + timedelta(seconds=delay())
            ):
                return
            state = cls.current()
            if state.paused_until and state.paused_until > now:
                raise SitePaused(state.paused_until, state.pause_reason)
            sleep(max(0.01, (state.next_request_at - now).total_seconds()))

    @classmethod
    def pause(cls, now, seconds, reason):
        """Stop every check to the site for `seconds`; a longer pause already set stands."""
        cls.current()
        until = now + timedelta(seconds=seconds)
        cls.objects.filter(pk=cls.SINGLETON_PK).filter(
            Q(paused_until__isnull=True) | Q(paused_until__lt=until)
        ).update(paused_until=until, pause_reason=reason[:300])
        return until

    @classmethod
    def active_pause(cls, now):
        """SitePaused for the pause in force at `now`, or None."""
        row = cls.objects.filter(pk=cls.SINGLETON_PK, paused_until__gt=now).values_list(
            "paused_until", "pause_reason"
        ).first()
        return SitePaused(*row) if row else None


class JobConfig(models.Model):
    """How one job type runs: staff edit it in the admin or the API, and the queue's schedule follows."""

    job_type = models.CharField(max_length=40, unique=True, editable=False)
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(1440)])
    active_from_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(23)],
        help_text="Scheduled runs only from this hour (UTC); empty to run at any hour.",
    )
    active_until_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(23)],
        help_text="…until this hour (UTC); may wrap past midnight.",
    )
    window_buffer_minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(180)], help_text="Minutes allowed before and after the window.",
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
        from scraping.jobs import REGISTRY

        if (self.active_from_hour is None) != (self.active_until_hour is None):
            raise ValidationError("Give both hours of the active window, or neither.")
        job = REGISTRY.get(self.job_type)
        if job is None:
            raise ValidationError(f"Unknown job type {self.job_type!r}.")
        errors = job.validate_options(self.options)
        if errors:
            raise ValidationError({"options": errors})

    def save(self, *args, **kwargs):
        from scraping.jobs import sync_schedule

        super().save(*args, **kwargs)
        sync_schedule(self)  # the queue runs it at the new interval from now on, no restart

    EDITABLE = {
        "enabled": bool, "interval_minutes": int, "active_from_hour": (int, type(None)),
        "active_until_hour": (int, type(None)), "window_buffer_minutes": int, "options": dict,
    }

    def change(self, data):
        """Apply the changes in `data` (from the API), validated; ValidationError says what is wrong."""
        unknown = sorted(set(data) - set(self.EDITABLE))
        if unknown:
            raise ValidationError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(self.EDITABLE)}")
        for name, value in data.items():
            wanted = self.EDITABLE[name]
            if isinstance(value, bool) and wanted is not bool or not isinstance(value, wanted):
                raise ValidationError(f"{name} has the wrong type: {value!r}")
            setattr(self, name, value)
        self.full_clean()
        self.save()

    def as_json(self, display_name):
        return {
            "job_type": self.job_type, "display_name": display_name, "enabled": self.enabled,
            "interval_minutes": self.interval_minutes, "active_from_hour": self.active_from_hour,
            "active_until_hour": self.active_until_hour, "window_buffer_minutes": self.window_buffer_minutes,
            "options": self.options,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
        }

    def is_running(self, now):
        return bool(self.running_until and self.running_until > now)

    def in_window(self, now):
        return scheduling.in_active_window(
            now, self.active_from_hour, self.active_until_hour, self.window_buffer_minutes
        )


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
        indexes = [models.Index(fields=["job_type", "-started_at"])]

    def __str__(self):
        return f"{self.job_type} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    def as_json(self):
        return {
            "id": self.pk, "job_type": self.job_type, "trigger": self.trigger,
            "triggered_by": self.triggered_by.get_username() if self.triggered_by else None,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status, "items_checked": self.items_checked, "items_updated": self.items_updated,
            "log": self.log,
        }


class DailyStats(models.Model):
    """One day of checks, rolled up from the scrape logs; kept after those are pruned."""

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

    manga = models.ForeignKey(Manga, on_delete=models.CASCADE, related_name="daily_stats", verbose_name="title")
    day = models.DateField()
    checks = models.PositiveIntegerField(default=0)
    releases = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "title daily stats"
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["manga", "day"], name="one_rollup_per_title_and_day")]

    def __str__(self):
        return f"{self.manga_id} {self.day}: {self.releases} releases"


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
