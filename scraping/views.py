"""The staff dashboard and the same figures as JSON."""

from datetime import datetime

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from batoshelf.http import BadParameter, api_staff_required, int_parameter
from scraping import dashboard
from scraping.models import ScrapeLog

LOG_FILTERS = ("outcome", "error_kind", "manga")


def recent_logs(request, default_limit):
    """The newest scrape logs, filtered by the request's outcome, error_kind and manga (id)."""
    limit = int_parameter(request, "limit", default=default_limit, minimum=1, maximum=500)
    outcome = request.GET.get("outcome")
    if outcome and outcome not in ScrapeLog.Outcome.values:
        raise BadParameter(f"outcome must be one of {', '.join(ScrapeLog.Outcome.values)}, not {outcome!r}")
    logs = ScrapeLog.objects.recent(
        outcome=outcome, error_kind=request.GET.get("error_kind"),
        manga_id=int_parameter(request, "manga", default=None, minimum=1, maximum=2**63 - 1),
    )
    return list(logs[:limit])


def log_json(log):
    return {
        "id": log.pk, "manga_id": log.manga_id, "manga_name": log.manga.name,
        "started_at": log.started_at.isoformat(), "outcome": log.outcome, "duration_ms": log.duration_ms,
        "chapters_seen": log.chapters_seen, "new_chapters": log.new_chapters, "http_status": log.http_status,
        "error_kind": log.error_kind, "message": log.message,
    }


@staff_member_required
@require_GET
def dashboard_page(request):
    now = timezone.now()
    figures = dashboard.stats(now)
    try:
        logs, log_error = recent_logs(request, 50), ""
    except BadParameter as error:
        logs, log_error = [], str(error)
    periods = []
    # The day goes in every label: the two ends of the 24-hour chart share their hour.
    for key, title, bucket, label in (("last_24h", "Last 24 hours", "hour", "%a %H:%M"),
                                      ("last_7d", "Last 7 days", "6 hours", "%a %H:%M")):
        buckets = figures[key]["buckets"]
        names = [datetime.fromisoformat(b["start"]).strftime(label) for b in buckets]
        periods.append({
            "title": title, "bucket": bucket, "figures": figures[key],
            "checks_chart": dashboard.bar_chart([b["checks"] for b in buckets], names, "checks"),
            "chapters_chart": dashboard.bar_chart([b["new_chapters"] for b in buckets], names, "new chapters"),
        })
    status = dashboard.system_status(now)
    counts = {row["source"]: row for row in figures["by_source_24h"]}
    return render(request, "admin/dashboard.html", {
        **admin.site.each_context(request),
        "title": "Dashboard", "figures": figures, "status": status, "periods": periods,
        "sources": [{**counts[state["source"]], **state} for state in status["sources"]],
        "logs": logs, "log_error": log_error, "filters": {k: request.GET.get(k, "") for k in LOG_FILTERS},
        "outcomes": ScrapeLog.Outcome.choices,
        "error_kinds": ScrapeLog.objects.exclude(error_kind="").values_list("error_kind", flat=True)
        .distinct().order_by("error_kind"),
    })


@api_staff_required
@require_GET
def api_stats(request):
    return JsonResponse(dashboard.stats(timezone.now()))


@api_staff_required
@require_GET
def api_system_status(request):
    return JsonResponse(dashboard.system_status(timezone.now()))


@api_staff_required
@require_GET
def api_logs(request):
    return JsonResponse({"logs": [log_json(log) for log in recent_logs(request, 50)]})
