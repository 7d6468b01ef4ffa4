"""The notifications page, the shelf, and the JSON API over a user's own notifications."""

from datetime import UTC
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batoshelf.http import api_login_required, int_parameter
from notifications.delivery import publish_read_state
from notifications.forms import AddTitleForm, MoveTitleForm
from notifications.models import Follow, Notification
from scraping import sources
from scraping.checking.pipeline import import_title
from scraping.gate.keeper import SourcePaused
from scraping.models import Chapter, Title
from scraping.moving import find_elsewhere, sources_down_long
from scraping.sources.errors import SourceError

PAGE_SIZE = 25


# What a row of the notifications page shows, read as plain tuples: building 25 notifications,
# titles and chapters as models costs a millisecond the page does not have.
PAGE_FIELDS = (
    "id",
    "title_id",
    "kind",
    "importance",
    "message",
    "is_read",
    "created_at",
    "title__name",
    "title__source",
    "title__source_id",
    "chapter_id",
    "chapter__url_path",
    "chapter__external_url",
)
KIND_NAMES = dict(Notification.Kind.choices)


def utc_minute(when):
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def group_by_check(notifications):
    """Group consecutive notifications one check made for one title, for the page.

    Returns dicts with the title's id, its notifications, when, and how many are unread.
    """
    groups = []
    for notification in notifications:
        last = groups[-1] if groups else None
        if last and last["title_id"] == notification.title_id and last["created_at"] == notification.created_at:
            last["items"].append(notification)
        else:
            groups.append(
                {"title_id": notification.title_id, "created_at": notification.created_at, "items": [notification]}
            )
    for group in groups:
        group["unread"] = sum(not n.is_read for n in group["items"])
    return groups


def row_link(row):
    """Where a page row's chapter is read (a Link), or None for a notification about no chapter."""
    if row.chapter_id is None or row.title__source is None:
        return None
    return sources.get(row.title__source).chapter_link(
        row.title__source_id, row.chapter__url_path or "", row.chapter__external_url or ""
    )


# The rows of the notifications page are built here, not in its template: 25 rows through the
# template engine cost 2 ms of a page that should take 5. Every text is escaped with html.escape
# (what Django's own escape uses). static/batoshelf/notifications.js builds the same markup for rows
# that arrive live.
def group_html(group, read_url):
    """One check's group of rows (PAGE_FIELDS tuples), as the page shows it; `read_url` has a {} for an id."""
    rows = []
    for n in group["items"]:
        link = row_link(n)
        if link and link.url:
            text = f'<a href="{escape(link.url)}" rel="noopener noreferrer" target="_blank">{escape(n.message)}</a>'
            if link.external:
                text += ' <span class="status">external</span>'
        else:
            text = f"<span>{escape(n.message)}</span>"
        button = (
            ""
            if n.is_read
            else (
                f' <button type="submit" form="mark-read-form" formaction="{escape(read_url.format(n.id))}" '
                f'class="mark-read" data-notification-id="{n.id}">Mark read</button>'
            )
        )
        rows.append(
            f'<li class="notification{"" if n.is_read else " unread"} importance-{int(n.importance)}" '
            f'data-notification-id="{n.id}"><span class="kind">{escape(KIND_NAMES.get(n.kind, n.kind))}</span> '
            f'{text} <time datetime="{n.created_at.isoformat()}">{utc_minute(n.created_at)}</time>{button}</li>'
        )
    iso = group["created_at"].isoformat()
    head = ""
    if len(rows) > 1:
        head = (
            f'<div class="group-head"><strong>{escape(group["items"][0].title__name or "")}</strong>: '
            f"{len(rows)} notifications from one check "
            f'<time datetime="{iso}">{utc_minute(group["created_at"])}</time></div>'
        )
    return mark_safe(
        f'<li class="group{" unread" if group["unread"] else ""}" data-title-id="{group["title_id"] or ""}" '
        f'data-created-at="{iso}">{head}<ul>{"".join(rows)}</ul></li>'
    )


def mark_read(user, notifications):
    """Mark `notifications` read; after the commit, tell the user's open tabs."""
    with transaction.atomic():
        ids = notifications.mark_read(timezone.now())
        unread = Notification.objects.unread_count(user)
        if ids:
            transaction.on_commit(lambda: publish_read_state(user, ids, unread))
    return ids, unread


@login_required
@require_GET
def notification_list(request):
    show = "all" if request.GET.get("show") == "all" else "unread"
    notifications = Notification.objects.filter(user=request.user)
    if show == "unread":
        notifications = notifications.unread()
    notifications = notifications.values_list(*PAGE_FIELDS, named=True)
    # One query counts for the pages and for the badge (the context processor's is not run then).
    badge = Notification.objects.badge(request.user)
    total = badge["unread"] if show == "unread" else badge["total"]
    page = CountedPaginator(notifications, PAGE_SIZE, total).get_page(request.GET.get("page"))
    read_url = reverse("notifications:read", args=[1]).replace("/1/", "/{}/")
    return render(
        request,
        "notifications/list.html",
        {
            "show": show,
            "page": page,
            "here": request.get_full_path(),
            "notification_badge": badge,
            "groups": [group_html(group, read_url) for group in group_by_check(page.object_list)],
        },
    )


class CountedPaginator(Paginator):
    """A paginator told how many there are, so it does not count them again."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


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
    messages.success(request, f"Marked {len(ids)} notification(s) read.")
    return redirect(_back(request, reverse("notifications:list")))


def _shelf_follows(user):
    latest = Chapter.objects.filter(title=OuterRef("title")).order_by("-published_at", "-pk")
    return (
        Follow.objects.filter(user=user)
        .select_related("title", "title__schedule")
        .annotate(
            latest_chapter_name=Subquery(latest.values("name")[:1]),
            latest_chapter_path=Subquery(latest.values("url_path")[:1]),
            latest_chapter_external=Subquery(latest.values("external_url")[:1]),
            latest_chapter_at=Subquery(latest.values("published_at")[:1]),
        )
        .order_by("title__name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def shelf(request):
    form = AddTitleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ref = form.cleaned_data["url"]
        try:
            imported = import_title(ref, user=request.user)
        except (SourceError, SourcePaused) as error:
            form.add_error("url", getattr(error, "message", str(error)))
        else:
            verb = "Now following" if imported.followed else "You already follow"
            messages.success(
                request,
                f"{verb} {imported.title.name} on {imported.title.source_object.display_name} "
                f"({imported.chapters} chapters).",
            )
            return redirect("notifications:shelf")
    down = sources_down_long(timezone.now())
    follows = list(_shelf_follows(request.user))
    for follow in follows:
        title = follow.title
        follow.latest_chapter_link = title.source_object.chapter_link(
            title.source_id, follow.latest_chapter_path or "", follow.latest_chapter_external or ""
        )
        follow.source_down_since = down.get(title.source)
    others = Title.objects.exclude(followers__user=request.user).filter(moved_to__isnull=True).order_by("name")[:50]
    return render(request, "notifications/shelf.html", {"form": form, "follows": follows, "others": others})


def _movable(request, title_id):
    """The title `title_id`, if this user may move it (a follower, or staff); else 404."""
    title = get_object_or_404(Title.objects.select_related("schedule"), pk=title_id)
    if not (request.user.is_staff or title.followers.filter(user=request.user).exists()):
        raise Http404("You do not follow that title.")
    return title


@login_required
@require_http_methods(["GET", "POST"])
def move(request, title_id):
    """Find a title on another source and move its followers there: the candidates, then one click."""
    title = _movable(request, title_id)
    form = MoveTitleForm(request.POST or None)
    if request.method == "POST":
        result = form.move(title, by=request.user)
        if result:
            messages.success(
                request,
                (
                    f"{title.name} moved to {result.new.source_object.display_name} as {result.new.name}: "
                    f"{result.moved + result.merged} follower(s) follow it there now; "
                    "the old title is no longer checked."
                ),
            )
            return redirect("notifications:shelf")
    return render(
        request,
        "notifications/move.html",
        {
            "title": title,
            "form": form,
            "searches": find_elsewhere(title),
        },
    )


@login_required
@require_POST
def follow_title(request, title_id):
    title = get_object_or_404(Title, pk=title_id)
    Follow.objects.get_or_create(user=request.user, title=title)
    messages.success(request, f"Now following {title.name}.")
    return redirect("notifications:shelf")


@login_required
@require_POST
def unfollow_title(request, title_id):
    follow = get_object_or_404(Follow, user=request.user, title_id=title_id)
    follow.delete()
    messages.success(request, f"No longer following {follow.title.name}.")
    return redirect("notifications:shelf")


@login_required
@require_POST
def mute_title(request, title_id):
    follow = get_object_or_404(Follow.objects.select_related("title"), user=request.user, title_id=title_id)
    follow.muted = request.POST.get("muted") == "1"
    follow.save(update_fields=["muted"])
    state = "muted: new chapters will not notify you" if follow.muted else "unmuted"
    messages.success(request, f"{follow.title.name} is {state}.")
    return redirect("notifications:shelf")


@api_login_required
@require_GET
def api_notifications(request):
    limit = int_parameter(request, "limit", default=20, minimum=1, maximum=100)
    notifications = Notification.objects.filter(user=request.user).select_related("title", "chapter")
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
