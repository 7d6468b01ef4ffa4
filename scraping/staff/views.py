"""The staff dashboard page."""

from datetime import datetime

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from batoshelf.http import BadParameter
from scraping.models import CheckLog
from scraping.staff import dashboard


@staff_member_required
@require_GET
def dashboard_page(request):
    now = timezone.now()
    figures = dashboard.stats(now)
    try:
        logs, log_error = dashboard.recent_logs(request, 50), ""
    except BadParameter as error:
        logs, log_error = [], str(error)
    periods = []
    # The day goes in every label: the two ends of the 24-hour chart share their hour.
    for key, title, bucket, label in (
        ("last_24h", "Last 24 hours", "hour", "%a %H:%M"),
        ("last_7d", "Last 7 days", "6 hours", "%a %H:%M"),
    ):
        buckets = figures[key]["buckets"]
        names = [datetime.fromisoformat(b["start"]).strftime(label) for b in buckets]
        periods.append(
            {
                "title": title,
                "bucket": bucket,
                "figures": figures[key],
                "checks_chart": dashboard.bar_chart([b["checks"] for b in buckets], names, "checks"),
                "chapters_chart": dashboard.bar_chart([b["new_chapters"] for b in buckets], names, "new chapters"),
            }
        )
    status = dashboard.system_status(now)
    counts = {row["source"]: row for row in figures["by_source_24h"]}
    return render(
        request,
        "admin/dashboard.html",
        {
            **admin.site.each_context(request),
            "title": "Dashboard",
            "figures": figures,
            "status": status,
            "periods": periods,
            "sources": [{**counts[state["source"]], **state} for state in status["sources"]],
            "logs": logs,
            "log_error": log_error,
            "filters": {k: request.GET.get(k, "") for k in dashboard.LOG_FILTERS},
            "outcomes": CheckLog.Outcome.choices,
            "error_kinds": CheckLog.objects.exclude(error_kind="")
            .values_list("error_kind", flat=True)
            .distinct()
            .order_by("error_kind"),
        },
    )
