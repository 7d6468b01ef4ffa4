from django.urls import path

from notifications import views

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
]
