from django.urls import path

from scraping import api

urlpatterns = [
    path("api/titles/<id:title_id>/chapters", api.chapters, name="api_title_chapters"),
    path("api/titles/<id:title_id>/schedule", api.schedule, name="api_title_schedule"),
    path("api/titles/<id:title_id>/check", api.check, name="api_title_check"),
]
