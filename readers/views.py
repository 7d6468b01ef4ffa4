"""The reader's pages: the shelf (search, add, rows), a title's page, and moving a follow elsewhere.

No page asks a source anything: adding a title queues its fetch, a search queues one per source,
and the page shows what is there and fills in the rest as it comes.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from batoshelf.http import CountedPaginator
from readers import search, shelf
from readers.forms import WHERE_CHOICES, AddTitleForm, StatusForm
from readers.models import Follow, Shelf, Status
from readers.shelf import ShelfError
from readers.standing import Standings, title_chapters
from scraping.models import Title
from scraping.moving import sources_down_long
from scraping.sources import SOURCES, TitleRef, parse_reference
from scraping.sources.errors import InvalidTitleReference
from scraping.sources.values import whole_number

SORTS = {
    "unread": ("-unread_count", "title__name"),
    "released": (F("latest_chapter__published_at").desc(nulls_last=True), "title__name"),
    "expected": (F("title__schedule__expected_release_at").asc(nulls_last=True), "title__name"),
    "name": ("title__name",),
}
CHAPTERS_PER_PAGE = 50
# Shelf rows a page shows: a library of a thousand titles is paged, not drawn all at once.
SHELF_PAGE = 50


def shelf_query(user, choice):
    """The reader's follows as the shelf shows them, filtered and sorted by `choice` (ShelfChoice):
    one query for the rows and one for their shelves, however many rows."""
    follows = (
        Follow.objects.filter(user=user)
        .select_related("title", "title__schedule", "latest_chapter", "duplicate_of__title")
        .prefetch_related(Prefetch("shelves", queryset=Shelf.objects.order_by("name")))
        .order_by(*SORTS[choice.sort])
    )
    if choice.status:
        follows = follows.filter(status=choice.status)
    if choice.shelf:
        follows = follows.filter(shelves__name=choice.shelf)
    if choice.source:
        follows = follows.filter(title__source=choice.source)
    if choice.unread:
        follows = follows.filter(unread_count__gt=0)
    return follows


class ShelfChoice:
    """How the reader sorts and filters the shelf, from the URL's query (kept there, so it can be shared)."""

    def __init__(self, query):
        self.sort = query.get("sort") if query.get("sort") in SORTS else "unread"
        self.status = query.get("status") if query.get("status") in Status.values else ""
        self.shelf = (query.get("shelf") or "")[:60]
        self.source = query.get("source") if query.get("source") in SOURCES else ""
        self.unread = query.get("unread") in ("1", "true", "on")


def row_context(follows, now):
    """What each row shows beyond its follow: the sources down for a week, asked once for all rows."""
    down = sources_down_long(now)
    for follow in follows:
        title = follow.title
        follow.source_down_since = down.get(title.source)
        follow.schedule = title.schedule_or_none
        follow.state = shelf.state_of(title)
        follow.latest_link = title.chapter_link(follow.latest_chapter) if follow.latest_chapter else None
    return follows


@login_required
@require_GET
def shelf_page(request):
    choice = ShelfChoice(request.GET)
    query = (request.GET.get("q") or "").strip()[:1000]
    context = {"choice": choice, "query": query, "statuses": Status.choices, "sources": SOURCES.values()}
    if query:
        context.update(_search_context(request, query), typed_add=_typed_add(request, query))
    page = Paginator(shelf_query(request.user, choice), SHELF_PAGE).get_page(request.GET.get("page"))
    follows = row_context(list(page.object_list), timezone.now())
    context.update(
        follows=follows,
        page=page,
        shelves=list(Shelf.objects.filter(user=request.user).values_list("name", flat=True)),
        filtered=bool(choice.status or choice.shelf or choice.source or choice.unread),
    )
    return render(request, "readers/shelf.html", context)


def _search_context(request, query):
    """The search box's answer: a title to add (a URL or id), results by name, or why not."""
    try:
        ref = search.reference_in(query)
    except search.NotATitle as refused:
        return {"search_error": str(refused)}
    if ref is not None:
        title = Title.objects.filter(source=ref.source, source_id=ref.source_id).first()
        on_shelf = bool(title and Follow.objects.filter(user=request.user, title=title).exists())
        return {"direct": {"reference": str(ref), "title": title, "on_shelf": on_shelf, "source": SOURCES[ref.source]}}
    results, pending, errors = search.results(query, request.user)
    return {
        "results": results,
        "pending": pending,
        "pending_names": [SOURCES[name].display_name for name in pending],
        "search_errors": errors,
        "searched": True,
    }


@login_required
@require_GET
def search_fragment(request):
    """The search results alone, for the shelf page to fill in as sources answer."""
    query = (request.GET.get("q") or "").strip()[:1000]
    context = _search_context(request, query) if query else {}
    return render(request, "readers/search_results.html", {"query": query, **context})


@login_required
@require_GET
def shelf_row(request, title_id):
    """One shelf row, as the page shows it: what a live update swaps in."""
    follows = row_context(
        list(shelf_query(request.user, ShelfChoice({"sort": "name"})).filter(title_id=title_id)), timezone.now()
    )
    if not follows:
        raise Http404("That title is not on your shelf.")
    return render(request, "readers/shelf_row.html", {"follow": follows[0]})


def _back(request, fallback):
    """Where a form should return to: the page it came from, if it is ours."""
    target = request.POST.get("next", "")
    ours = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if ours else fallback


def _typed_add(request, reference):
    """What the reader typed in the add form of `reference` before it was refused (the refusal's redirect
    carries it), so the form shows it again; None when nothing was."""
    where = request.GET.get("where")
    if where not in {value for value, _ in WHERE_CHOICES}:
        return None
    return {"reference": reference, "where": where, "number": request.GET.get("number", "")[:40]}


def _add_again(request, back):
    """`back`, with what the add form held: on the shelf its search shows the title to add again."""
    parts = urlsplit(back)
    path = "/" + parts.path.lstrip("/\\")  # a path only: "//evil.example" would be another site
    query = dict(parse_qsl(parts.query))
    if path == reverse("readers:shelf"):
        query["q"] = request.POST.get("title", "")[:1000]
    query.update(where=request.POST.get("where", "")[:20], number=request.POST.get("number", "")[:40])
    return urlunsplit(("", "", path, urlencode(query), ""))


@login_required
@require_POST
def add_title(request):
    form = AddTitleForm(request.POST)
    back = _back(request, reverse("readers:shelf"))
    if not form.is_valid():
        messages.error(request, "Say where you are in it: new to it, caught up, or at chapter N.")
        return redirect(_add_again(request, back))
    try:
        ref = parse_reference(form.cleaned_data["title"])
        follow, state = shelf.add(request.user, ref, form.progress())
    except (InvalidTitleReference, ShelfError) as error:
        messages.error(
            request, str(error) if isinstance(error, ShelfError) else "That is not a title batoshelf can follow."
        )
        return redirect(_add_again(request, back))
    if state == "ready":
        messages.success(request, f"{follow.title.name} is on your shelf.")
    else:
        messages.success(
            request, "It is on your shelf; batoshelf is fetching it, and its row fills in when that is done."
        )
    return redirect(reverse("readers:shelf") + f"#title-{follow.title_id}")


def _own_follow(request, title_id):
    """The reader's follow of a title; another reader's, or none, is a 404."""
    return get_object_or_404(
        Follow.objects.select_related("title", "duplicate_of"), user=request.user, title_id=title_id
    )


@login_required
@require_POST
def progress(request, title_id):
    """The shelf's and the title page's progress buttons: at chapter N, read up to here, mark one, caught up,
    start over."""
    follow = _own_follow(request, title_id)
    post = request.POST
    try:
        if post.get("action") == "caught_up":
            shelf.move(follow, caught_up=True)
        elif post.get("action") == "start_over":
            shelf.move(follow, none=True)
        elif post.get("action") in ("read", "unread", "up_to"):
            chapter_id = whole_number(post.get("chapter_id")) or -1  # -1: no such chapter, said so
            read = None if post["action"] == "up_to" else post["action"] == "read"
            shelf.move(follow, chapter_id=chapter_id, read=read)
        else:
            shelf.move(follow, number=shelf.parse_number(post.get("number", "")))
    except ShelfError as error:
        messages.error(request, str(error))
    return redirect(_back(request, reverse("readers:shelf") + f"#title-{title_id}"))


@login_required
@require_POST
def set_status(request, title_id):
    follow = _own_follow(request, title_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        shelf.update(follow, {"status": form.cleaned_data["status"]})
        messages.success(request, f"{follow.title.name}: {follow.get_status_display()}.")
    return redirect(_back(request, reverse("readers:shelf") + f"#title-{title_id}"))


@login_required
@require_POST
def reading_settings(request, title_id):
    """The title page's form for what a follow reads and hears: languages, groups, shelves, after N unread."""
    follow = _own_follow(request, title_id)

    def names(field):
        return [part.strip() for part in request.POST.get(field, "").split(",") if part.strip()]

    data = {
        "languages": request.POST.getlist("languages"),
        "groups_only": names("groups_only"),
        "groups_ignored": names("groups_ignored"),
        "shelves": names("shelves"),
    }
    after = request.POST.get("notify_after_unread", "1")
    count = whole_number(after, digits=3)
    data["notify_after_unread"] = -1 if count is None else count  # -1 is refused with the reason
    try:
        shelf.update(follow, data)
    except ShelfError as error:
        # The page again, with the form as the reader left it and why it was refused: nothing typed is lost.
        typed = {field: request.POST.get(field, "")[:20000] for field in ("groups_only", "groups_ignored", "shelves")}
        typed.update(languages=data["languages"], notify_after_unread=after[:12])
        return _title_response(request, title_id, status=400, reading_error=str(error), typed=typed)
    coming = " The chapters in the languages you added come with its next check, within a minute or two."
    messages.success(request, "Saved." + (coming if follow.languages_coming else ""))
    return redirect(reverse("readers:title", args=[title_id]))


@login_required
@require_POST
def unfollow(request, title_id):
    follow = _own_follow(request, title_id)
    follow.delete()
    messages.success(request, f"{follow.title.name} is off your shelf.")
    return redirect(_back(request, reverse("readers:shelf")))


@login_required
@require_POST
def mute(request, title_id):
    follow = _own_follow(request, title_id)
    follow.muted = request.POST.get("muted") == "1"
    follow.save(update_fields=["muted"])
    messages.success(
        request, f"{follow.title.name} is {'muted: new chapters will not notify you' if follow.muted else 'unmuted'}."
    )
    return redirect(_back(request, reverse("readers:shelf") + f"#title-{title_id}"))


@login_required
@require_POST
def keep_one(request, title_id):
    follow = _own_follow(request, title_id)
    try:
        kept = shelf.keep_one(follow, keep_this=request.POST.get("keep") == "this")
    except ShelfError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"You follow {kept.title.name} on {kept.title.source_object.display_name}.")
    return redirect(reverse("readers:shelf"))


@login_required
@require_POST
def retry_fetch(request, title_id):
    follow = _own_follow(request, title_id)
    if not follow.title.fetched:
        shelf.add(
            request.user, TitleRef(follow.title.source, follow.title.source_id), follow.progress_on_import or "none"
        )
    return redirect(reverse("readers:shelf") + f"#title-{title_id}")


# A title's page


@login_required
@require_GET
def title_page(request, title_id):
    return _title_response(request, title_id)


def _title_response(request, title_id, status=200, **extra):
    title = get_object_or_404(Title.objects.seen_by(request.user).select_related("schedule", "moved_to"), pk=title_id)
    follow = Follow.objects.filter(user=request.user, title=title).prefetch_related("shelves").first()
    context = title_context(title, follow, request.GET.get("page"), timezone.now())
    context["source_down"] = sources_down_long(timezone.now()).get(title.source)
    context["typed_add"] = _typed_add(request, title.reference)
    # Where the page's forms come back to: the page, also when it answers a refused POST of its own.
    context["here"] = request.get_full_path() if request.method == "GET" else reverse("readers:title", args=[title.pk])
    context.update(extra)
    return render(request, "readers/title.html", context, status=status)


def title_context(title, follow, page_number, now):
    """A title's page: its details, a page of chapters newest first with the reader's read state, and the
    follow. Chapters cost one query for the page and one for the reader's standing in the title."""
    chapters = title.chapters.order_by(F("published_at").desc(nulls_last=True), "-pk")
    page = CountedPaginator(chapters, CHAPTERS_PER_PAGE, title.chapter_count).get_page(page_number)
    rows = list(page.object_list)
    read, counted = set(), set()
    if follow is not None:
        standings = Standings(title.pk, title_chapters(title.pk), now, Follow.objects.filter(pk=follow.pk))
        row = standings.follows[0]
        index = standings.index(row)
        marks = standings.marks[row.pk]
        counted = set(index.by_pk)
        read = {
            c.pk for c in rows if c.pk in index.by_pk and index.is_read(index.by_pk[c.pk], row.last_read_number, marks)
        }
    for chapter in rows:
        chapter.is_read = chapter.pk in read
        chapter.counted = chapter.pk in counted
    return {
        "title": title,
        "follow": follow,
        "page": page,
        "chapters": rows,
        "schedule": title.schedule_or_none,
        "state": shelf.state_of(title),
        "languages": sorted(set(title.available_languages) or set(title.chapter_languages())),
        "statuses": Status.choices,
    }


# Moving a follow to another source


@login_required
@require_GET
def move(request, title_id):
    """Find the title on the other live sources; choosing one moves the reader's own follow there."""
    follow = _own_follow(request, title_id)
    title = follow.title
    results, pending, errors = search.results(title.name, request.user, exclude_source=title.source)
    return render(
        request,
        "readers/move.html",
        {"title": title, "follow": follow, "results": results, "pending": pending, "search_errors": errors},
    )


@login_required
@require_POST
def move_follow(request, title_id):
    follow = _own_follow(request, title_id)
    try:
        ref = parse_reference(request.POST.get("to", ""))
        moved = shelf.move_elsewhere(follow, ref)
    except InvalidTitleReference:
        messages.error(request, "That is not a title batoshelf can follow.")
        return redirect(reverse("readers:move", args=[title_id]))
    except ShelfError as error:
        messages.error(request, str(error))
        return redirect(reverse("readers:move", args=[title_id]))
    messages.success(
        request, f"You follow it on {moved.title.source_object.display_name} now; your progress went with it."
    )
    return redirect(reverse("readers:shelf") + f"#title-{moved.title_id}")
