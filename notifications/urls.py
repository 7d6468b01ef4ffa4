from django.urls import path
from django.views.decorators.cache import cache_control
from django.views.generic import TemplateView

from notifications import channel_views, views
from notifications.feed import NotificationFeed

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/<id:notification_id>/read", views.notification_read, name="read"),
    path("notifications/read-all", views.notification_read_all, name="read_all"),
    path("api/notifications", views.api_notifications, name="api_list"),
    path("api/notifications/count", views.api_count, name="api_count"),
    path("api/notifications/<id:notification_id>/read", views.api_read, name="api_read"),
    path("api/notifications/read-all", views.api_read_all, name="api_read_all"),
    path("settings/channels/<id:channel_id>/test", channel_views.channel_test, name="channel_test"),
    path("settings/channels/<id:channel_id>/toggle", channel_views.channel_toggle, name="channel_toggle"),
    path("settings/channels/<id:channel_id>/delete", channel_views.channel_delete, name="channel_delete"),
    path("settings/channels/<id:channel_id>/sends", channel_views.channel_sends, name="channel_sends"),
    path("settings/feed/regenerate", channel_views.feed_regenerate, name="feed_regenerate"),
    # Private: a feed reader may keep it, no shared cache on the way.
    path("feeds/<str:token>/", cache_control(private=True, max_age=300)(NotificationFeed()), name="feed"),
    path("api/me/channels", channel_views.api_channels, name="api_channels"),
    path("api/me/channels/<id:channel_id>", channel_views.api_channel, name="api_channel"),
    path("api/me/channels/<id:channel_id>/test", channel_views.api_channel_test, name="api_channel_test"),
    path("api/me/feed", channel_views.api_feed, name="api_feed"),
    path("api/me/devices", channel_views.api_devices, name="api_devices"),
    # At the root, so its scope is every page (a service worker controls the pages under its own path).
    path(
        "sw.js",
        cache_control(no_cache=True)(
            TemplateView.as_view(template_name="notifications/sw.js", content_type="text/javascript")
        ),
        name="service_worker",
    ),
]
