"""The figures staff watch: check statistics, the system's state, and charts drawn as SVG here."""

import logging
from datetime import UTC, datetime, timedelta

from django.db.models import Avg, CharField, Count, Q, Sum
from django.db.models.functions import Cast, Substr
from django.template.loader import render_to_string
from django_q.brokers import get_broker

from batoshelf.http import BadParameter, int_parameter
from scraping import sources
from scraping.gate import keeper
from scraping.models import CheckLog, CheckSchedule, Heartbeat, JobConfig, Title

logger = logging.getLogger(__name__)

# An error rate above this over the last 24 h is shown as an alert.
ERROR_RATE_ALERT = 0.10
# A cluster that has not written its heartbeat for this long is taken for dead.
HEARTBEAT_STALE = timedelta(minutes=3)
# A title this late for its check is overdue, not just due.
OVERDUE_AFTER = timedelta(minutes=15)


# Chapters an import stored are new to batoshelf, not new chapters: nobody was told of them.
NEW_CHAPTERS = Sum("new_chapters", filter=~Q(outcome=CheckLog.Outcome.IMPORTED))
# A check's UTC hour as "YYYY-MM-DD HH", the start of the column as both databases store it: TruncHour
# is a Python function per row on SQLite, a tenth of a second for a week of checks at 10,000 titles.
HOUR = Substr(Cast("started_at", CharField()), 1, 13)


def check_stats(now, hours, bucket_hours):
    """Checks over the last `hours`: rates, durations, and per-bucket checks and new chapters."""
    since = now - timedelta(hours=hours)
    logs = CheckLog.objects.filter(started_at__gte=since).exclude(outcome=CheckLog.Outcome.SKIPPED)
    totals = logs.aggregate(
        checks=Count("pk"),
        failures=Count("pk", filter=Q(outcome=CheckLog.Outcome.FAILED)),
        new_chapters=NEW_CHAPTERS,
        mean_ms=Avg("duration_ms"),
    )
    checks = totals["checks"]
    p95 = None
    if checks:
        p95 = logs.order_by("duration_ms").values_list("duration_ms", flat=True)[min(checks - 1, int(checks * 0.95))]
    per_hour = {
        datetime.strptime(row["hour"], "%Y-%m-%d %H").replace(tzinfo=UTC): row
        for row in logs.annotate(hour=HOUR).values("hour").annotate(checks=Count("pk"), new_chapters=NEW_CHAPTERS)
    }
    start = since.replace(minute=0, second=0, microsecond=0)
    buckets = []
    for index in range(-(-hours // bucket_hours) + 1):
        bucket_start = start + timedelta(hours=index * bucket_hours)
        if bucket_start > now:
            break
        rows = [per_hour[h] for h in per_hour if bucket_start <= h < bucket_start + timedelta(hours=bucket_hours)]
        buckets.append(
            {
                "start": bucket_start.isoformat(),
                "checks": sum(r["checks"] for r in rows),
                "new_chapters": sum(r["new_chapters"] or 0 for r in rows),
            }
        )
    return {
        "hours": hours,
        "checks": checks,
        "failures": totals["failures"],
        "success_rate": round(1 - totals["failures"] / checks, 4) if checks else None,
        "error_rate": round(totals["failures"] / checks, 4) if checks else None,
        "mean_duration_ms": round(totals["mean_ms"]) if checks else None,
        "p95_duration_ms": p95,
        "new_chapters": totals["new_chapters"] or 0,
        "bucket_hours": bucket_hours,
        "buckets": buckets,
    }


def source_stats(now, hours=24):
    """Per source: titles tracked, and checks, failures and new chapters over the last `hours`."""
    logs = (
        CheckLog.objects.filter(started_at__gte=now - timedelta(hours=hours))
        .exclude(outcome=CheckLog.Outcome.SKIPPED)
        .values("title__source")
        .annotate(
            checks=Count("pk"),
            failures=Count("pk", filter=Q(outcome=CheckLog.Outcome.FAILED)),
            new_chapters=NEW_CHAPTERS,
        )
    )
    by_source = {row["title__source"]: row for row in logs}
    titles = dict(Title.objects.values("source").annotate(n=Count("pk")).values_list("source", "n"))
    return [
        {
            "source": name,
            "display_name": source.display_name,
            "titles": titles.get(name, 0),
            "checks": by_source.get(name, {}).get("checks", 0),
            "failures": by_source.get(name, {}).get("failures", 0),
            "new_chapters": by_source.get(name, {}).get("new_chapters") or 0,
        }
        for name, source in sources.SOURCES.items()
    ]


def stats(now):
    day, week = check_stats(now, 24, 1), check_stats(now, 24 * 7, 6)
    due = CheckSchedule.objects.filter(paused=False, next_check_at__lte=now)
    return {
        "last_24h": day,
        "last_7d": week,
        "by_source_24h": source_stats(now),
        "titles_due": due.count(),
        "titles_overdue": due.filter(next_check_at__lte=now - OVERDUE_AFTER).count(),
        "alert": (
            f"{day['error_rate']:.0%} of the checks in the last 24 h failed"
            if day["error_rate"] is not None and day["error_rate"] > ERROR_RATE_ALERT
            else None
        ),
    }


# The check log filters the dashboard and the API take from the query string.
LOG_FILTERS = ("outcome", "error_kind", "title")


def recent_logs(request, default_limit):
    """The newest check logs, filtered by the request's outcome, error_kind and title (id)."""
    limit = int_parameter(request, "limit", default=default_limit, minimum=1, maximum=500)
    outcome = request.GET.get("outcome")
    if outcome and outcome not in CheckLog.Outcome.values:
        raise BadParameter(f"outcome must be one of {', '.join(CheckLog.Outcome.values)}, not {outcome!r}")
    logs = CheckLog.objects.recent(
        outcome=outcome,
        error_kind=request.GET.get("error_kind"),
        title_id=int_parameter(request, "title", default=None, minimum=1, maximum=2**63 - 1),
    )
    return list(logs[:limit])


def system_status(now):
    beat = Heartbeat.objects.filter(name=Heartbeat.CLUSTER).first()
    try:
        queue_depth = get_broker().queue_size()
    except Exception as error:  # the broker is down: say so rather than fail the page
        logger.warning("cannot read the queue depth: %s", error)
        queue_depth = None
    return {
        "cluster_alive": bool(beat and now - beat.beat_at < HEARTBEAT_STALE),
        "cluster_last_heartbeat": beat.beat_at.isoformat() if beat else None,
        "queue_depth": queue_depth,
        "sources": keeper.status(now),
        "jobs_running": sorted(JobConfig.objects.filter(running_until__gt=now).values_list("job_type", flat=True)),
    }


def bar_chart(values, labels, title, width=720, height=160):
    """An SVG bar chart of `values` (one bar each), labelled; no script, no external file
    (templates/admin/chart.svg draws it)."""
    top = max(values, default=0) or 1
    gap = 2
    bar_width = max(1.0, (width - gap * len(values)) / max(len(values), 1))
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        bar_height = (height - 20) * value / top
        bars.append(
            {
                "x": f"{index * (bar_width + gap):.1f}",
                "y": f"{height - 20 - bar_height:.1f}",
                "height": f"{bar_height:.1f}",
                "label": label,
                "value": value,
            }
        )
    return render_to_string(
        "admin/chart.svg",
        {
            "title": title,
            "width": width,
            "height": height,
            "top": top,
            "bar_width": f"{bar_width:.1f}",
            "bars": bars,
            "text_y": height - 4,
            "first": labels[0] if labels else "",
            "last": labels[-1] if labels else "",
        },
    ).strip()
