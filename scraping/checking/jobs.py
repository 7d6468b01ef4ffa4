"""The jobs the cluster runs on a schedule, each defined once here, and the one way to run them.

A job type has a name, a display name, a default configuration, a check of its
options and a run function returning what it did. Staff change the
configuration (JobConfig) in the admin or the API; the django-q2 schedule row
of each job follows it. `run_job` records every run (JobRun), never lets two
runs of one type overlap, honours the active window, and queues a retry a
minute after a failure.
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django_q.models import Schedule

from batoshelf.logs import PERFORMANCE_LOGGER
from batoshelf.words import counted
from notifications import channels, digest
from notifications.delivery import publish_on_commit
from notifications.models import Notification
from scraping.checking.tasks import dispatch_due_checks
from scraping.models import (
    Chapter,
    CheckLog,
    CheckSchedule,
    DailyStats,
    Heartbeat,
    JobConfig,
    JobRun,
    TitleDailyStats,
)

logger = logging.getLogger(__name__)
performance = logging.getLogger(PERFORMANCE_LOGGER)

SCHEDULE_PREFIX = "batoshelf job: "
RETRY_PREFIX = "batoshelf job retry: "
RUN_FUNC = "scraping.checking.jobs.run_scheduled_job"
RETRY_AFTER = timedelta(minutes=1)
# A run holds its job type this long at most; a worker killed mid-run frees it then.
RUN_LEASE = timedelta(minutes=30)


@dataclass
class JobOutcome:
    checked: int = 0
    updated: int = 0
    lines: list = field(default_factory=list)

    def say(self, message, level="info", **metadata):
        self.lines.append(log_line(message, level, **metadata))


def log_line(message, level="info", **metadata):
    return {"time": timezone.now().isoformat(), "level": level, "message": message, "metadata": metadata}


def _at_least(name, minimum):
    def check(options):
        value = options.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            return [f"{name} must be a whole number of at least {minimum}, not {value!r}"]
        return []

    return check


@dataclass(frozen=True)
class JobType:
    name: str
    display_name: str
    run: Callable
    default_interval: int
    default_options: dict = field(default_factory=dict)
    checks: tuple = ()

    def validate_options(self, options):
        if not isinstance(options, dict):
            return ["options must be a JSON object"]
        unknown = sorted(set(options) - set(self.default_options))
        errors = [f"unknown option {name!r} (known: {', '.join(self.default_options) or 'none'})" for name in unknown]
        return errors + [error for check in self.checks for error in check(options)]


def dispatch(options, now):
    outcome = JobOutcome()
    queued = dispatch_due_checks()
    outcome.checked = outcome.updated = queued
    outcome.say(f"queued {counted(queued, 'due check')}")
    return outcome


def roll_up(options, now):
    """Recount the last few days from the check logs and chapters into DailyStats and TitleDailyStats:
    the days' rows replaced by grouped counts, a few statements whatever the number of titles."""
    outcome = JobOutcome()
    since = (now - timedelta(days=options["days"] - 1)).date()
    # A range on the indexed column, not DATE(column), which no index serves.
    start = datetime.combine(since, datetime.min.time(), UTC)
    with transaction.atomic():
        days = [
            DailyStats(
                day=row["day"],
                checks=row["checks"],
                failures=row["failures"],
                new_chapters=row["new_chapters"] or 0,
                mean_duration_ms=round(row["mean_duration_ms"] or 0),
            )
            for row in CheckLog.objects.filter(started_at__gte=start).per_day()
        ]
        DailyStats.objects.filter(day__gte=since).delete()
        DailyStats.objects.bulk_create(days)
        outcome.updated = len(days)
        outcome.checked = recount_title_days(since, start)
    title_days_counted = counted(outcome.checked, "title-day")
    outcome.say(f"rolled up {counted(outcome.updated, 'day')} and {title_days_counted} since {since}")
    return outcome


def recount_title_days(since, start):
    """Every title's checks and releases per day since `since` (from `start`, its first moment), counted
    and written by the database in two statements whatever the number of titles: the range deleted, then
    one INSERT … SELECT (DATE() is the same function on SQLite and MariaDB). Returns the title-days."""
    TitleDailyStats.objects.filter(day__gte=since).delete()
    stats, logs, chapters = (connection.ops.quote_name(m._meta.db_table) for m in (TitleDailyStats, CheckLog, Chapter))
    first = connection.ops.adapt_datetimefield_value(start)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {stats} (title_id, day, checks, releases)
            SELECT title_id, day, SUM(checks), SUM(releases) FROM (
                SELECT title_id, DATE(started_at) AS day, COUNT(*) AS checks, 0 AS releases
                FROM {logs} WHERE started_at >= %s AND outcome <> %s GROUP BY title_id, DATE(started_at)
                UNION ALL
                SELECT title_id, DATE(published_at) AS day, 0 AS checks, COUNT(*) AS releases
                FROM {chapters} WHERE published_at >= %s GROUP BY title_id, DATE(published_at)
            ) AS counted GROUP BY title_id, day""",
            [first, CheckLog.Outcome.SKIPPED, first],
        )
        return cursor.rowcount


def title_days(logs, chapters):
    """{(title id, day): {"checks", "releases"}}: checks from `logs`, releases (chapters by the day they
    were published) from `chapters`."""
    titles = {}
    for row in (
        logs.exclude(outcome=CheckLog.Outcome.SKIPPED)
        .annotate(day=TruncDate("started_at"))
        .values("title_id", "day")
        .annotate(n=Count("pk"))
    ):
        titles.setdefault((row["title_id"], row["day"]), {"checks": 0, "releases": 0})["checks"] = row["n"]
    for row in chapters.annotate(day=TruncDate("published_at")).values("title_id", "day").annotate(n=Count("pk")):
        titles.setdefault((row["title_id"], row["day"]), {"checks": 0, "releases": 0})["releases"] = row["n"]
    return titles


# Rows one prune statement deletes at most: a day of history goes in bounded steps, never one huge lock.
PRUNE_BATCH = 5000


def prune(options, now):
    """Delete check logs, read notifications and job runs older than their retention, in batches."""
    outcome = JobOutcome()
    for label, queryset, days in (
        ("check logs", CheckLog.objects, options["check_log_days"]),
        ("read notifications", Notification.objects.filter(is_read=True), options["read_notification_days"]),
        ("job runs", JobRun.objects.exclude(status=JobRun.Status.RUNNING), options["job_run_days"]),
    ):
        field_name = "started_at" if label != "read notifications" else "created_at"
        old = queryset.filter(**{f"{field_name}__lt": now - timedelta(days=days)})
        deleted = 0
        while batch := list(old.values_list("pk", flat=True)[:PRUNE_BATCH]):
            deleted += queryset.model.objects.filter(pk__in=batch).delete()[1].get(queryset.model._meta.label, 0)
        outcome.updated += deleted
        outcome.say(f"deleted {deleted} {label} older than {days} days", deleted=deleted)
    return outcome


def alert_failing(options, now):
    """Tell every staff member once when a title has failed `failures` checks in a row."""
    outcome = JobOutcome()
    failing = list(
        CheckSchedule.objects.filter(failures__gte=options["failures"], failure_alerted=False).select_related("title")
    )
    outcome.checked = len(failing)
    with transaction.atomic():
        for schedule in failing:
            told = Notification.objects.create_for_staff(
                f"{schedule.title.name} failed {schedule.failures} checks in a row ({schedule.reason})",
                now,
                title=schedule.title,
            )
            publish_on_commit(told)
            CheckSchedule.objects.filter(pk=schedule.pk).update(failure_alerted=True)
            outcome.updated += 1
            outcome.say(
                f"told {len(told)} staff that {schedule.title} keeps failing",
                "warning",
                title_id=schedule.title_id,
                failures=schedule.failures,
            )
    return outcome


def heartbeat(options, now):
    """Say the cluster is alive (every minute), and what it has done (every five)."""
    Heartbeat.beat(Heartbeat.CLUSTER, now)
    outcome = JobOutcome(updated=1)
    if now.minute % 5 == 0:
        checks = CheckLog.objects.filter(started_at__gte=now - timedelta(minutes=5)).count()
        logger.info("task cluster alive: %d check(s) in the last 5 minutes", checks)
        outcome.say(f"alive: {counted(checks, 'check')} in the last 5 minutes", checks=checks)
    return outcome


def deliver_to_channels(options, now):
    """Send what readers' channels have due: the retries of deliveries that failed (new ones go at once)."""
    outcome = JobOutcome()
    outcome.updated = channels.deliver_due(now)
    if outcome.updated:
        outcome.say(f"sent {counted(outcome.updated, 'notification')} to channels", sent=outcome.updated)
    return outcome


def send_digests(options, now):
    """Mail each reader who asked for a daily digest theirs, at their hour in their time zone."""
    outcome = JobOutcome()
    outcome.updated, quiet = digest.send_due(now)
    outcome.checked = outcome.updated + quiet
    if outcome.checked:
        outcome.say(
            f"mailed {counted(outcome.updated, 'digest')}; {counted(quiet, 'reader')} had nothing new",
            mailed=outcome.updated,
        )
    return outcome


REGISTRY = {
    job.name: job
    for job in (
        JobType("heartbeat", "Cluster heartbeat", heartbeat, default_interval=1),
        JobType(
            "deliver_to_channels", "Retry deliveries to readers' channels", deliver_to_channels, default_interval=1
        ),
        JobType("dispatch_due_checks", "Dispatch due checks", dispatch, default_interval=1),
        JobType("send_digests", "Mail readers their daily digest", send_digests, default_interval=15),
        JobType(
            "roll_up_statistics",
            "Roll up statistics",
            roll_up,
            default_interval=360,
            default_options={"days": 3},
            checks=(_at_least("days", 1),),
        ),
        JobType(
            "prune_history",
            "Prune old logs and read notifications",
            prune,
            default_interval=1440,
            default_options={"check_log_days": 90, "read_notification_days": 180, "job_run_days": 30},
            checks=(
                _at_least("check_log_days", 7),
                _at_least("read_notification_days", 1),
                _at_least("job_run_days", 1),
            ),
        ),
        JobType(
            "alert_failing_titles",
            "Alert staff about failing titles",
            alert_failing,
            default_interval=60,
            default_options={"failures": 5},
            checks=(_at_least("failures", 1),),
        ),
    )
}


def option_errors(config):
    """What is wrong with a job's stored options, as its type checks them ([] when all is well)."""
    job = REGISTRY.get(config.job_type)
    if job is None:
        return [f"unknown job type {config.job_type!r}"]
    return job.validate_options(config.options)


# What the job API may change, and the types it accepts.
EDITABLE = {
    "enabled": bool,
    "interval_minutes": int,
    "active_from_hour": (int, type(None)),
    "active_until_hour": (int, type(None)),
    "window_buffer_minutes": int,
    "options": dict,
}


def update_config(config, data):
    """Apply the changes in `data` (from the API) to `config`, validated, and save it;
    ValidationError says what is wrong and nothing is saved."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(EDITABLE)}")
    for name, value in data.items():
        wanted = EDITABLE[name]
        if isinstance(value, bool) and wanted is not bool or not isinstance(value, wanted):
            raise ValidationError(f"{name} has the wrong type: {value!r}")
        setattr(config, name, value)
    config.full_clean()
    errors = option_errors(config)
    if errors:
        raise ValidationError({"options": errors})
    config.save()


def config_saved(sender, instance, **kwargs):
    """The queue runs a job at its new interval from the moment its configuration is saved, no restart
    (connected to JobConfig's post_save in ScrapingConfig.ready)."""
    sync_schedule(instance)


def config_for(name, config_model=None):
    """The stored configuration of a job type, made from its defaults the first time."""
    config_model = config_model or JobConfig
    job = REGISTRY[name]
    return config_model.objects.get_or_create(
        job_type=name,
        defaults={"interval_minutes": job.default_interval, "options": dict(job.default_options)},
    )[0]


def all_configs():
    """{job type: its configuration} for every registered job, in one query (plus any first creations)."""
    stored = {config.job_type: config for config in JobConfig.objects.filter(job_type__in=REGISTRY)}
    return {name: stored.get(name) or config_for(name) for name in REGISTRY}


def sync_schedule(config, schedule_model=None):
    """Make the queue's schedule row of a job match its configuration (found by name)."""
    schedule_model = schedule_model or Schedule
    name = SCHEDULE_PREFIX + config.job_type
    if not config.enabled:
        schedule_model.objects.filter(name=name).delete()
        return
    schedule_model.objects.update_or_create(
        name=name,
        defaults={
            "func": RUN_FUNC,
            "args": repr(config.job_type),
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": config.interval_minutes,
            "repeats": -1,
        },
    )


def ensure_all(config_model=None, schedule_model=None):
    """Every registered job has its configuration and its schedule row (idempotent)."""
    for name in REGISTRY:
        sync_schedule(config_for(name, config_model), schedule_model)


def run_scheduled_job(name):
    """What the queue's schedule calls."""
    return str(run_job(name, trigger="schedule"))


def run_retry(name):
    return str(run_job(name, trigger=JobRun.Trigger.RETRY))


def run_manual(name, user_id):
    """What a staff member's trigger queues: runs whatever the window says."""
    return str(run_job(name, trigger="manual", user=get_user_model().objects.filter(pk=user_id).first()))


def run_job(name, *, trigger="schedule", user=None, force=False):
    """Run one job now and record it; return the JobRun.

    A scheduled run is skipped (and recorded so) when the job is disabled or
    outside its active window; a manual run or `force` runs anyway. A run of a
    type already running is skipped. A failed run is retried after a minute.
    """
    job = REGISTRY[name]
    config = config_for(name)
    now = timezone.now()
    skip = None
    if trigger != JobRun.Trigger.MANUAL and not force:
        if not config.enabled:
            skip = "the job is disabled"
        elif not config.in_window(now):
            skip = (
                f"outside its active window {config.active_from_hour:02}:00–{config.active_until_hour:02}:00 UTC"
                f" (± {config.window_buffer_minutes} min)"
            )
    if skip is None:
        free = Q(running_until__isnull=True) | Q(running_until__lt=now)
        if not JobConfig.objects.filter(free, pk=config.pk).update(running_until=now + RUN_LEASE):
            skip = "another run of this job is in progress"
    if skip:
        return JobRun.objects.create(
            job_type=name,
            trigger=trigger,
            triggered_by=user,
            started_at=now,
            finished_at=now,
            status=JobRun.Status.SKIPPED,
            log=[log_line(f"skipped: {skip}")],
        )
    run = JobRun.objects.create(job_type=name, trigger=trigger, triggered_by=user, started_at=now)
    try:
        outcome = job.run(config.options, now)
    except Exception as error:
        logger.exception("job %s failed", name)
        run.status = JobRun.Status.FAILED
        run.log = [log_line(f"failed: {error}", "error", traceback=traceback.format_exc(limit=5))]
        _queue_retry(name, now)
    else:
        run.status = JobRun.Status.SUCCEEDED
        run.items_checked, run.items_updated, run.log = outcome.checked, outcome.updated, outcome.lines
        JobConfig.objects.filter(pk=config.pk).update(last_success_at=now)
    finally:
        JobConfig.objects.filter(pk=config.pk).update(running_until=None)
    run.finished_at = timezone.now()
    run.save()
    performance.info(
        "job",
        extra={
            "job_type": name,
            "status": run.status,
            "trigger": trigger,
            "duration_ms": int((run.finished_at - run.started_at).total_seconds() * 1000),
            "items_checked": run.items_checked,
            "items_updated": run.items_updated,
        },
    )
    return run


def _queue_retry(name, now):
    Schedule.objects.update_or_create(
        name=RETRY_PREFIX + name,
        defaults={
            "func": "scraping.checking.jobs.run_retry",
            "args": repr(name),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": now + RETRY_AFTER,
        },
    )
