from django.urls import path

from scraping.staff import api, views

urlpatterns = [
    path("admin/dashboard/", views.dashboard_page, name="dashboard"),
    path("api/admin/stats", api.stats, name="api_admin_stats"),
    path("api/admin/system-status", api.system_status, name="api_admin_system_status"),
    path("api/admin/logs", api.logs, name="api_admin_logs"),
    path("api/jobs/config", api.job_config, name="api_jobs_config"),
    path("api/jobs/status", api.job_status, name="api_jobs_status"),
    path("api/jobs/trigger", api.job_trigger, name="api_jobs_trigger"),
    path("api/jobs/runs", api.job_runs, name="api_jobs_runs"),
    path("api/jobs/runs/latest", api.latest_job_run, name="api_jobs_latest_run"),
    path("api/jobs/runs/<id:run_id>", api.job_run, name="api_jobs_run"),
]
