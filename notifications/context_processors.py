from django.utils.functional import SimpleLazyObject

from notifications.models import Notification


def notification_badge(request):
    """The unread badge and the newest id the page knows, read only when a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    return {"notification_badge": SimpleLazyObject(lambda: Notification.objects.badge(user))}
