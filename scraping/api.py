"""JSON over titles: chapters, schedule, and asking for a check."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from batoshelf.http import api_login_required, int_parameter, json_error
from scraping.checking.tasks import request_check
from scraping.models import Manga


@api_login_required
@require_GET
def chapters(request, manga_id):
    manga = get_object_or_404(Manga, pk=manga_id)
    limit = int_parameter(request, "limit", default=100, minimum=1, maximum=1000)
    rows = manga.chapters.order_by("-published_at", "-pk")[:limit]
    return JsonResponse({
        "manga_id": manga.pk,
        "manga_name": manga.name,
        "source": manga.source,
        "source_id": manga.source_id,
        "source_url": manga.source_url,
        "chapter_count": manga.chapters.count(),
        "chapters": [chapter_json(manga, c) for c in rows],
    })


def chapter_json(manga, chapter):
    link = manga.chapter_link(chapter)
    return {
        "id": chapter.pk, "source_id": chapter.source_id, "name": str(chapter), "title": chapter.title,
        "url": link.url, "external": link.external,
        "number": None if chapter.number is None else str(chapter.number),
        "volume": chapter.volume, "language": chapter.language, "groups": chapter.groups,
        "available": chapter.available,
        "published_at": chapter.published_at.isoformat() if chapter.published_at else None,
        "published_precision": chapter.published_precision,
        "first_seen_at": chapter.first_seen_at.isoformat(),
    }


@api_login_required
@require_GET
def schedule(request, manga_id):
    manga = get_object_or_404(Manga.objects.select_related("schedule"), pk=manga_id)
    s = manga.schedule
    return JsonResponse({
        "manga_id": manga.pk,
        "next_check_at": s.next_check_at.isoformat(),
        "last_checked_at": s.last_checked_at.isoformat() if s.last_checked_at else None,
        "reason": s.reason,
        "paused": s.paused,
        "pinned_interval_hours": s.manual_interval_hours,
        "misses": s.misses,
        "failures": s.failures,
        "learned": s.learned,
    })


@api_login_required
@require_POST
def scrape(request, manga_id):
    """Queue a check of a title: for its followers and staff, within the per-user limits."""
    manga = get_object_or_404(Manga, pk=manga_id)
    if not (request.user.is_staff or manga.followers.filter(user=request.user).exists()):
        return json_error(403, "only followers of this title and staff may ask for a check")
    answer = request_check(manga, request.user)
    if answer.retry_after is not None:
        return json_error(429, answer.detail, Retry_After=answer.retry_after)
    return JsonResponse({"manga_id": manga.pk, "queued": answer.queued, "detail": answer.detail}, status=202)
