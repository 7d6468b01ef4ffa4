from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from batoshelf.http import IdConverter

register_converter(IdConverter, "id")

urlpatterns = [
    path("", include("scraping.staff.urls")),  # before admin/: the dashboard lives under it
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("scraping.urls")),
    path("", include("notifications.urls")),
    path("", RedirectView.as_view(pattern_name="notifications:shelf", permanent=False)),
]
