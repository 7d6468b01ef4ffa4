from django.urls import path, re_path

from notifications.consumers import NoSuchSocket, NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    re_path(r"^", NoSuchSocket.as_asgi()),  # any other path: refused, not "No route found" (a server error)
]
