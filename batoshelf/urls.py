from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from scraping import api as scraping_api

admin.site.site_header = "batoshelf"
admin.site.site_title = "batoshelf"
admin.site.index_title = "Titles, checks and notifications"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/manga/<int:manga_id>/chapters", scraping_api.chapters, name="api_manga_chapters"),
    path("api/manga/<int:manga_id>/schedule", scraping_api.schedule, name="api_manga_schedule"),
    path("api/manga/<int:manga_id>/scrape", scraping_api.scrape, name="api_manga_scrape"),
    path("", include("notifications.urls")),
    path("", RedirectView.as_view(pattern_name="notifications:shelf", permanent=False)),
]
