from django.utils.functional import SimpleLazyObject

from notifications.models import Notification


def notification_badge(request):
    """The unread badge and the newest id the page knows, read only when a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def badge():
        mine = Notification.objects.filter(user=user)
        return {
            "unread": mine.unread().count(),
            "last_id": mine.order_by("-pk").values_list("pk", flat=True).first() or 0,
        }

    return {"notification_badge": SimpleLazyObject(badge)}
