"""The staff JSON API: the dashboard's figures, the system's state, the check logs, and the jobs
(configuration, status, triggers and run history)."""

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_q.models import Schedule
from django_q.tasks import async_task

from batoshelf.http import api_staff_required, int_parameter, json_body, json_error
from scraping.checking.jobs import (
    REGISTRY,
    SCHEDULE_PREFIX,
    all_configs,
    config_for,
    run_manual,
    update_config,
)
from scraping.models import JobRun
from scraping.staff import dashboard


@api_staff_required
@require_GET
def stats(request):
    return JsonResponse(dashboard.stats(timezone.now()))


@api_staff_required
@require_GET
def system_status(request):
    return JsonResponse(dashboard.system_status(timezone.now()))


@api_staff_required
@require_GET
def logs(request):
    return JsonResponse({"logs": [log.to_dict() for log in dashboard.recent_logs(request, 50)]})


# Jobs


def _job_type(body):
    name = body.get("job_type")
    if name not in REGISTRY:
        raise ValidationError(f"job_type must be one of {', '.join(REGISTRY)}, not {name!r}")
    return name


def job_dict(name, config):
    """A job's configuration as the API gives it, with its type's display name."""
    return {**config.to_dict(), "display_name": REGISTRY[name].display_name}


def _reason(error):
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


@api_staff_required
@require_http_methods(["GET", "POST"])
def job_config(request):
    if request.method == "POST":
        body = json_body(request)
        try:
            name = _job_type(body)
            update_config(config_for(name), {k: v for k, v in body.items() if k != "job_type"})
        except ValidationError as error:
            return json_error(400, _reason(error))
    configs = all_configs()
    return JsonResponse({"jobs": [job_dict(name, stored) for name, stored in configs.items()]})


@api_staff_required
@require_GET
def job_status(request):
    now = timezone.now()
    next_runs = dict(Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX).values_list("name", "next_run"))
    runs = JobRun.objects.select_related("triggered_by").exclude(status=JobRun.Status.SKIPPED)
    jobs = []
    for name, stored in all_configs().items():
        last = runs.filter(job_type=name).first()
        next_run = next_runs.get(SCHEDULE_PREFIX + name)
        jobs.append(
            {
                **job_dict(name, stored),
                "running": stored.is_running(now),
                "last_run": last.to_dict() if last else None,
                "next_run": next_run.isoformat() if next_run else None,
            }
        )
    return JsonResponse({"jobs": jobs})


@api_staff_required
@require_POST
def job_trigger(request):
    body = json_body(request)
    try:
        name = _job_type(body)
    except ValidationError as error:
        return json_error(400, _reason(error))
    async_task(run_manual, name, request.user.pk, task_name=f"job {name} (asked by {request.user})", group="jobs")
    return JsonResponse({"job_type": name, "queued": True}, status=202)


@api_staff_required
@require_GET
def job_runs(request):
    limit = int_parameter(request, "limit", default=20, minimum=1, maximum=200)
    found = JobRun.objects.select_related("triggered_by")
    if request.GET.get("job_type"):
        found = found.filter(job_type=request.GET["job_type"])
    return JsonResponse({"runs": [run.to_dict() for run in found[:limit]]})


@api_staff_required
@require_GET
def latest_job_run(request):
    found = JobRun.objects.select_related("triggered_by")
    if request.GET.get("by_type") in ("1", "true"):
        return JsonResponse(
            {
                "runs": {
                    name: (run.to_dict() if (run := found.filter(job_type=name).first()) else None) for name in REGISTRY
                }
            }
        )
    run = found.first()
    return JsonResponse({"run": run.to_dict() if run else None})


@api_staff_required
@require_GET
def job_run(request, run_id):
    return JsonResponse({"run": get_object_or_404(JobRun.objects.select_related("triggered_by"), pk=run_id).to_dict()})
