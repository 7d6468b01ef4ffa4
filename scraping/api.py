"""JSON over titles: chapters, schedule, and asking for a check."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from batoshelf.http import api_login_required, int_parameter, json_error
from scraping.checking.tasks import request_check
from scraping.models import Title


@api_login_required
@require_GET
def chapters(request, title_id):
    title = get_object_or_404(Title.objects.seen_by(request.user), pk=title_id)
    limit = int_parameter(request, "limit", default=100, minimum=1, maximum=1000)
    rows = title.chapters.order_by("-published_at", "-pk")[:limit]
    return JsonResponse(
        {
            "title_id": title.pk,
            "title_name": title.name,
            "source": title.source,
            "source_id": title.source_id,
            "source_url": title.source_url,
            "chapter_count": title.chapters.count(),
            "chapters": [chapter_json(title, c) for c in rows],
        }
    )


def chapter_json(title, chapter):
    link = title.chapter_link(chapter)
    return {
        "id": chapter.pk,
        "source_id": chapter.source_id,
        "name": str(chapter),
        "subtitle": chapter.subtitle,
        "url": link.url,
        "external": link.external,
        "number": None if chapter.number is None else str(chapter.number),
        "volume": chapter.volume,
        "language": chapter.language,
        "groups": chapter.groups,
        "available": chapter.available,
        "published_at": chapter.published_at.isoformat() if chapter.published_at else None,
        "published_precision": chapter.published_precision,
        "first_seen_at": chapter.first_seen_at.isoformat(),
    }


@api_login_required
@require_GET
def schedule(request, title_id):
    title = get_object_or_404(Title.objects.seen_by(request.user).select_related("schedule"), pk=title_id)
    s = title.schedule
    return JsonResponse(
        {
            "title_id": title.pk,
            "next_check_at": s.next_check_at.isoformat(),
            "last_checked_at": s.last_checked_at.isoformat() if s.last_checked_at else None,
            "reason": s.reason,
            "paused": s.paused,
            "pinned_interval_hours": s.manual_interval_hours,
            "misses": s.misses,
            "failures": s.failures,
            "learned": s.learned,
        }
    )


@api_login_required
@require_POST
def check(request, title_id):
    """Queue a check of a title: for its followers and staff, within the per-user limits."""
    title = get_object_or_404(Title.objects.seen_by(request.user), pk=title_id)
    if not (request.user.is_staff or title.followers.filter(user=request.user).exists()):
        return json_error(403, "only followers of this title and staff may ask for a check")
    answer = request_check(title, request.user)
    if answer.retry_after is not None:
        return json_error(429, answer.detail, Retry_After=answer.retry_after)
    return JsonResponse(
        {"title_id": title.pk, "queued": answer.queued, "coming": answer.coming, "detail": answer.detail}, status=202
    )
