"""The reader's JSON API: what the pages use. Logged in; a reader sees and changes only their own; every
error is JSON with a reason. No answer waits for a source: adding queues a fetch, searching a search."""

from decimal import Decimal

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batoshelf.http import BadParameter, api_login_required, int_parameter, json_body, json_error
from readers import search, shelf
from readers.models import Follow
from readers.shelf import ShelfError
from readers.views import ShelfChoice, row_context, shelf_query, title_context
from scraping.api import chapter_json
from scraping.models import Title
from scraping.sources import parse_reference
from scraping.sources.errors import InvalidTitleReference


def _when(value):
    return value.isoformat() if value else None


def _number(value):
    return None if value is None else f"{Decimal(value).normalize():f}"


def row_json(follow):
    """One shelf row as GET /api/shelf gives it."""
    title, latest, schedule = follow.title, follow.latest_chapter, follow.schedule
    return {
        "title_id": title.pk,
        "name": title.name,
        "source": title.source,
        "url": title.source_url,
        "cover_url": title.cover_path or None,
        "status": follow.status,
        "shelves": [s.name for s in follow.shelves.all()],
        "latest_chapter": (
            {"number": _number(latest.number), "name": str(latest), "published_at": _when(latest.published_at)}
            if latest
            else None
        ),
        "last_read": {"number": _number(follow.last_read_number)} if follow.last_read_number is not None else None,
        "unread_count": follow.unread_count,
        "next_check_at": _when(schedule.next_check_at) if schedule and not schedule.paused else None,
        "expected_release_at": _when(schedule.expected_release_at) if schedule else None,
        "muted": follow.muted,
        "state": follow.state,
        "languages": follow.languages,
        "groups_only": follow.groups_only,
        "groups_ignored": follow.groups_ignored,
        "notify_after_unread": follow.notify_after_unread,
    }


def _row(user, title_id):
    follows = row_context(list(shelf_query(user, ShelfChoice({})).filter(title_id=title_id)), timezone.now())
    return row_json(follows[0]) if follows else None


@api_login_required
@require_http_methods(["GET", "POST"])
def api_shelf(request):
    if request.method == "GET":
        for name, allowed in (("sort", ("unread", "released", "expected", "name")), ("status", None)):
            value = request.GET.get(name)
            if value and allowed and value not in allowed:
                raise BadParameter(f"{name} must be one of {', '.join(allowed)}")
        choice = ShelfChoice(request.GET)
        if request.GET.get("status") and not choice.status:
            raise BadParameter("status must be one of reading, planned, on_hold, completed, dropped")
        follows = row_context(list(shelf_query(request.user, choice)), timezone.now())
        return JsonResponse({"titles": [row_json(f) for f in follows]})
    data = json_body(request)
    reference = data.get("title")
    if not isinstance(reference, str):
        return json_error(400, "title must be a title's URL or id, as text")
    try:
        ref = parse_reference(reference)
        follow, state = shelf.add(request.user, ref, data.get("progress"))
    except InvalidTitleReference:
        return json_error(400, "title is not a URL or id of a title batoshelf can follow")
    except ShelfError as error:
        return json_error(400, str(error))
    return JsonResponse({"title_id": follow.title_id, "state": state}, status=202)


def _follow(request, title_id):
    return Follow.objects.select_related("title").filter(user=request.user, title_id=title_id).first()


@api_login_required
@require_http_methods(["GET", "PATCH", "DELETE"])
def api_shelf_title(request, title_id):
    follow = _follow(request, title_id)
    if follow is None:
        return json_error(404, "that title is not on your shelf")
    if request.method == "DELETE":
        follow.delete()
        return JsonResponse({"deleted": title_id})
    if request.method == "PATCH":
        data = json_body(request)
        unknown = set(data) - {"status", "shelves", "languages", "groups_only", "groups_ignored", "notify_after_unread"}
        if unknown:
            return json_error(400, f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
        try:
            shelf.update(follow, data)
        except ShelfError as error:
            return json_error(400, str(error))
    return JsonResponse(_row(request.user, title_id))


@api_login_required
@require_POST
def api_progress(request, title_id):
    follow = _follow(request, title_id)
    if follow is None:
        return json_error(404, "that title is not on your shelf")
    data = json_body(request)
    try:
        if data.get("caught_up") is True:
            standing, last_read = shelf.move(follow, caught_up=True)
        elif data.get("none") is True:
            standing, last_read = shelf.move(follow, none=True)
        elif "chapter_id" in data:
            chapter_id = data["chapter_id"]
            if not isinstance(chapter_id, int) or isinstance(chapter_id, bool):
                return json_error(400, "chapter_id must be a chapter's id, a whole number")
            read = data.get("read")
            if read is not None and not isinstance(read, bool):
                return json_error(400, "read must be true or false")
            standing, last_read = shelf.move(follow, chapter_id=chapter_id, read=read)
        elif "number" in data:
            standing, last_read = shelf.move(follow, number=shelf.parse_number(data["number"]))
        else:
            return json_error(400, 'give "number", "chapter_id", "caught_up": true or "none": true')
    except ShelfError as error:
        return json_error(400, str(error))
    return JsonResponse({"last_read": last_read, "unread_count": standing.unread_count})


@api_login_required
@require_GET
def api_search(request):
    query = (request.GET.get("q") or "").strip()
    if not query:
        raise BadParameter("q must be a name to search for")
    if len(query) > 200:
        raise BadParameter("q must be at most 200 characters")
    results, pending, errors = search.results(query, request.user)
    return JsonResponse({"results": results, "pending": pending, "errors": errors})


@api_login_required
@require_GET
def api_title(request, title_id):
    title = Title.objects.seen_by(request.user).select_related("schedule").filter(pk=title_id).first()
    if title is None:
        return json_error(404, "no such title here")
    page_number = int_parameter(request, "page", default=1, minimum=1, maximum=100_000)
    follow = Follow.objects.filter(user=request.user, title=title).first()
    context = title_context(title, follow, page_number, timezone.now())
    page = context["page"]
    return JsonResponse(
        {
            "title_id": title.pk,
            "name": title.name,
            "names": title.alt_names,
            "source": title.source,
            "url": title.source_url,
            "cover_url": title.cover_path or None,
            "state": context["state"],
            "status": title.upload_status,
            "year": title.year,
            "authors": title.authors,
            "artists": title.artists,
            "genres": title.genres,
            "tags": title.tags,
            "content_rating": title.content_rating,
            "description": title.description,
            "description_format": title.description_format,
            "on_shelf": follow is not None,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "chapter_count": page.paginator.count,
            "chapters": [{**chapter_json(title, c), "read": c.is_read} for c in context["chapters"]],
        }
    )
