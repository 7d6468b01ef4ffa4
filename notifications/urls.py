from django.urls import path

from notifications import account, views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/<id:notification_id>/read", views.notification_read, name="read"),
    path("notifications/read-all", views.notification_read_all, name="read_all"),
    path("shelf/", views.shelf, name="shelf"),
    path("shelf/<id:title_id>/follow", views.follow_title, name="follow"),
    path("shelf/<id:title_id>/unfollow", views.unfollow_title, name="unfollow"),
    path("shelf/<id:title_id>/mute", views.mute_title, name="mute"),
    path("shelf/<id:title_id>/move", views.move, name="move"),
    path("api/notifications", views.api_notifications, name="api_list"),
    path("api/notifications/count", views.api_count, name="api_count"),
    path("api/notifications/<id:notification_id>/read", views.api_read, name="api_read"),
    path("api/notifications/read-all", views.api_read_all, name="api_read_all"),
    path("settings/", account.settings_page, name="settings"),
    path("settings/channels/<id:channel_id>/test", account.channel_test, name="channel_test"),
    path("settings/channels/<id:channel_id>/toggle", account.channel_toggle, name="channel_toggle"),
    path("settings/channels/<id:channel_id>/delete", account.channel_delete, name="channel_delete"),
    path("settings/feed/regenerate", account.feed_regenerate, name="feed_regenerate"),
    path("settings/delete-account", account.account_delete, name="account_delete"),
    path("invites/", account.invites, name="invites"),
    path("signup/<str:token>/", account.signup, name="signup"),
    path("invites/<id:invite_id>/revoke", account.invite_revoke, name="invite_revoke"),
    path("feeds/<str:token>/", account.NotificationFeed(), name="feed"),
    path("api/me/channels", account.api_channels, name="api_channels"),
    path("api/me/channels/<id:channel_id>", account.api_channel, name="api_channel"),
    path("api/me/channels/<id:channel_id>/test", account.api_channel_test, name="api_channel_test"),
    path("api/me/feed", account.api_feed, name="api_feed"),
]
