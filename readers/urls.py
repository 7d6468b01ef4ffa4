from django.urls import path

from readers import account, api, views

app_name = "readers"

urlpatterns = [
    path("shelf/", views.shelf_page, name="shelf"),
    path("shelf/add", views.add_title, name="add"),
    path("shelf/search", views.search_fragment, name="search"),
    path("shelf/rows/<id:title_id>/", views.shelf_row, name="row"),
    path("shelf/<id:title_id>/progress", views.progress, name="progress"),
    path("shelf/<id:title_id>/status", views.set_status, name="status"),
    path("shelf/<id:title_id>/reading", views.reading_settings, name="reading"),
    path("shelf/<id:title_id>/unfollow", views.unfollow, name="unfollow"),
    path("shelf/<id:title_id>/mute", views.mute, name="mute"),
    path("shelf/<id:title_id>/keep", views.keep_one, name="keep"),
    path("shelf/<id:title_id>/retry", views.retry_fetch, name="retry"),
    path("shelf/<id:title_id>/move", views.move, name="move"),
    path("shelf/<id:title_id>/move/to", views.move_follow, name="move_to"),
    path("titles/<id:title_id>/", views.title_page, name="title"),
    path("settings/", account.settings_page, name="settings"),
    path("settings/delete-account", account.account_delete, name="account_delete"),
    path("invites/", account.invites, name="invites"),
    path("invites/<id:invite_id>/revoke", account.invite_revoke, name="invite_revoke"),
    path("signup/<str:token>/", account.signup, name="signup"),
    path("api/shelf", api.api_shelf, name="api_shelf"),
    path("api/shelf/<id:title_id>", api.api_shelf_title, name="api_shelf_title"),
    path("api/shelf/<id:title_id>/progress", api.api_progress, name="api_progress"),
    path("api/search", api.api_search, name="api_search"),
    path("api/titles/<id:title_id>", api.api_title, name="api_title"),
    path("api/me/time-zone", account.api_time_zone, name="api_time_zone"),
]
