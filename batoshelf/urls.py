from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from batoshelf.http import IdConverter
from scraping import api as scraping_api

register_converter(IdConverter, "id")

urlpatterns = [
    path("", include("scraping.staff.urls")),  # before admin/: the dashboard lives under it
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/manga/<id:manga_id>/chapters", scraping_api.chapters, name="api_manga_chapters"),
    path("api/manga/<id:manga_id>/schedule", scraping_api.schedule, name="api_manga_schedule"),
    path("api/manga/<id:manga_id>/scrape", scraping_api.scrape, name="api_manga_scrape"),
    path("", include("notifications.urls")),
    path("", RedirectView.as_view(pattern_name="notifications:shelf", permanent=False)),
]
