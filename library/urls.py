from django.urls import path

from library import views

app_name = "library"

urlpatterns = [
    path("shelf/import/", views.import_page, name="import"),
    path("shelf/import/<id:import_id>/", views.import_detail, name="detail"),
    path("shelf/import/<id:import_id>/choose", views.choose, name="choose"),
    path("shelf/import/<id:import_id>/confirm", views.confirm, name="confirm"),
    path("shelf/import/<id:import_id>/stop", views.stop, name="stop"),
    path("shelf/export/", views.export, name="export"),
    path("api/imports/<id:import_id>", views.api_import, name="api_import"),
]
