from django.urls import path, re_path

from scraping import api, covers

urlpatterns = [
    path("api/titles/<id:title_id>/chapters", api.chapters, name="api_title_chapters"),
    path("api/titles/<id:title_id>/schedule", api.schedule, name="api_title_schedule"),
    path("api/titles/<id:title_id>/check", api.check, name="api_title_check"),
    re_path(r"^covers/(?P<key>[0-9a-f]{32})\.jpg$", covers.cover, name="cover"),
]
