from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "batoshelf"
admin.site.site_title = "batoshelf"
admin.site.index_title = "Titles, checks and notifications"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
