from django.utils.functional import SimpleLazyObject

from notifications.models import Notification


def notification_badge(request):
    """The unread badge and the newest id the page knows, read only when a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def badge():
        return {
            "unread": Notification.objects.unread_count(user),
            "last_id": Notification.objects.filter(user=user).order_by("-pk").values_list("pk", flat=True).first() or 0,
        }

    return {"notification_badge": SimpleLazyObject(badge)}
