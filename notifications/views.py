"""The notifications page, and the JSON API over a reader's own notifications."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from batoshelf.http import CountedPaginator, api_login_required, int_parameter
from notifications.delivery import mark_read
from notifications.models import Notification

PAGE_SIZE = 25


@login_required
@require_GET
def notification_list(request):
    show = "all" if request.GET.get("show") == "all" else "unread"
    notifications = Notification.objects.filter(user=request.user).for_rows()
    if show == "unread":
        notifications = notifications.unread()
    # One query counts for the pages and for the badge (the context processor's is not run then).
    badge = Notification.objects.badge(request.user)
    total = badge["unread"] if show == "unread" else badge["total"]
    page = CountedPaginator(notifications, PAGE_SIZE, total).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"show": show, "page": page, "here": request.get_full_path(), "notification_badge": badge},
    )


def _back(request, fallback):
    """Where a form should return to: the page it came from, if it is ours."""
    target = request.POST.get("next", "")
    ours = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if ours else fallback


@login_required
@require_POST
def notification_read(request, notification_id):
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    mark_read(request.user, Notification.objects.filter(pk=notification.pk))
    return redirect(_back(request, reverse("notifications:list")))


@login_required
@require_POST
def notification_read_all(request):
    ids, _ = mark_read(request.user, Notification.objects.filter(user=request.user))
    count = len(ids)
    messages.success(request, f"Marked {count} notification{'' if count == 1 else 's'} read.")
    return redirect(_back(request, reverse("notifications:list")))


@api_login_required
@require_GET
def api_notifications(request):
    limit = int_parameter(request, "limit", default=20, minimum=1, maximum=100)
    notifications = Notification.objects.filter(user=request.user).for_rows()
    if request.GET.get("unread") in ("1", "true"):
        notifications = notifications.unread()
    return JsonResponse({"notifications": [n.to_dict() for n in notifications[:limit]]})


@api_login_required
@require_GET
def api_count(request):
    return JsonResponse({"unread_count": Notification.objects.unread_count(request.user)})


@api_login_required
@require_POST
def api_read(request, notification_id):
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    ids, unread = mark_read(request.user, Notification.objects.filter(pk=notification.pk))
    return JsonResponse({"id": notification.pk, "changed": bool(ids), "unread_count": unread})


@api_login_required
@require_POST
def api_read_all(request):
    ids, unread = mark_read(request.user, Notification.objects.filter(user=request.user))
    return JsonResponse({"marked_read": len(ids), "unread_count": unread})
