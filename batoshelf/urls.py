from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from batoshelf.http import IdConverter
from scraping import api as scraping_api
from scraping import jobs_api
from scraping import views as scraping_views

register_converter(IdConverter, "id")

urlpatterns = [
    path("admin/dashboard/", scraping_views.dashboard_page, name="dashboard"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/manga/<id:manga_id>/chapters", scraping_api.chapters, name="api_manga_chapters"),
    path("api/manga/<id:manga_id>/schedule", scraping_api.schedule, name="api_manga_schedule"),
    path("api/manga/<id:manga_id>/scrape", scraping_api.scrape, name="api_manga_scrape"),
    path("api/admin/stats", scraping_views.api_stats, name="api_admin_stats"),
    path("api/admin/system-status", scraping_views.api_system_status, name="api_admin_system_status"),
    path("api/admin/logs", scraping_views.api_logs, name="api_admin_logs"),
    path("api/jobs/config", jobs_api.config, name="api_jobs_config"),
    path("api/jobs/status", jobs_api.status, name="api_jobs_status"),
    path("api/jobs/trigger", jobs_api.trigger, name="api_jobs_trigger"),
    path("api/jobs/runs", jobs_api.runs, name="api_jobs_runs"),
    path("api/jobs/runs/latest", jobs_api.latest_run, name="api_jobs_latest_run"),
    path("api/jobs/runs/<id:run_id>", jobs_api.run_detail, name="api_jobs_run"),
    path("", include("notifications.urls")),
    path("", RedirectView.as_view(pattern_name="notifications:shelf", permanent=False)),
]
