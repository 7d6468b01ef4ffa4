"""The reader's pages for bringing a library in (/shelf/import/) and taking it out (/shelf/export/).

No page waits for a source or a tracker: starting an import reads a file (bounded) or queues the fetch
of a list; the import's page shows its progress, live, then the preview to confirm, then the summary.
"""

from functools import reduce
from operator import or_

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batoshelf.http import api_login_required
from library import exporting, importing
from library.entries import LibraryRefused
from library.files import MAX_FILE_BYTES
from library.models import ImportEntry, LibraryImport
from scraping import sources
from scraping.models import Cover, Title
from scraping.sources.values import whole_number

Kind, State, Match = LibraryImport.Kind, LibraryImport.State, ImportEntry.Match
ENTRIES_PER_PAGE = 50
RECENT_IMPORTS = 10
# The preview's sections, in the order the page shows them.
SECTIONS = (
    (Match.UNCERTAIN, "to confirm"),
    (Match.MATCHED, "found"),
    (Match.NOT_FOUND, "not found"),
    (Match.ALREADY, "already on your shelf"),
)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    if request.method == "POST":
        try:
            library_import = _start(request)
        except LibraryRefused as refused:
            messages.error(request, str(refused))
            return redirect("library:import")
        return redirect("library:detail", library_import.pk)
    recent = LibraryImport.objects.filter(user=request.user)[:RECENT_IMPORTS]
    return render(
        request,
        "library/import.html",
        {"recent": recent, "max_megabytes": MAX_FILE_BYTES // 2**20, "kinds": Kind},
    )


def _start(request):
    kind = request.POST.get("kind", "")
    if kind == Kind.FILE:
        upload = request.FILES.get("file")
        if upload is None:
            raise LibraryRefused("Choose a file to bring in.")
        if upload.size > MAX_FILE_BYTES:
            raise LibraryRefused(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB; a library file is smaller.")
        return importing.start_file(request.user, upload.name, upload.read())
    return importing.start_list(request.user, kind, request.POST.get("name", ""))


def _own_import(request, import_id):
    return get_object_or_404(LibraryImport, pk=import_id, user=request.user)


@login_required
@require_GET
def import_detail(request, import_id):
    library_import = _own_import(request, import_id)
    context = {"imp": library_import}
    if library_import.state == State.PREVIEW:
        show = request.GET.get("show")
        counts = importing.counts(library_import)
        if show not in counts:
            show = next((match for match, _ in SECTIONS if counts[match]), Match.MATCHED)
        page = Paginator(library_import.entries.filter(match=show), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
        context.update(
            counts=counts,
            tabs=[(match, label, counts[match]) for match, label in SECTIONS],
            show=show,
            page=page,
            rows=_rows(page.object_list, request.user),
            estimate=importing.estimate(library_import),
            undecided=importing.undecided(library_import).count(),
        )
    elif library_import.finished:
        context["outcomes"] = dict((outcome, n) for outcome, n in importing.outcome_counts(library_import).items() if n)
        context["failed"] = library_import.entries.filter(outcome=ImportEntry.Outcome.FAILED)[:50]
        # What was left out, and why: not found (what was searched), or not chosen.
        skipped = library_import.entries.filter(outcome=ImportEntry.Outcome.SKIPPED).order_by("position")
        context["skipped"] = skipped[:200]
    return render(request, "library/import_detail.html", context)


def _rows(entries, user):
    """The page's entries with their candidates as the page shows them: covers batoshelf keeps, and the
    names of the titles found by id that batoshelf has, a query each."""
    entries = list(entries)
    found = {(e.source, e.source_id) for e in entries if e.source}
    named = {}
    if found:
        which = reduce(or_, (Q(source=source, source_id=source_id) for source, source_id in found))
        titles = Title.objects.seen_by(user).filter(which).exclude(name="")
        named = {(s, i): name for s, i, name in titles.values_list("source", "source_id", "name")}
    wanted = {Cover.key_of(c["cover_url"]) for e in entries for c in e.candidates if c.get("cover_url")}
    kept = set(Cover.objects.filter(key__in=wanted, fetched_at__isnull=False).values_list("key", flat=True))
    for entry in entries:
        entry.shown = []
        for index, candidate in enumerate(entry.candidates):
            key = Cover.key_of(candidate["cover_url"]) if candidate.get("cover_url") else ""
            entry.shown.append(
                {
                    **candidate,
                    "index": index,
                    "source_name": sources.get(candidate["source"]).display_name,
                    "cover": reverse("cover", args=[key]) if key in kept else "",
                }
            )
        chosen = (entry.source, entry.source_id)
        entry.chosen_name = next(
            (c["name"] for c in entry.candidates if (c["source"], c["source_id"]) == chosen),
            named.get(chosen) or (f"found on {sources.get(entry.source).display_name}" if entry.source else ""),
        )
    return entries


@login_required
@require_POST
def choose(request, import_id):
    """The reader's choice for one uncertain entry: one of its candidates, or skip it."""
    library_import = _own_import(request, import_id)
    entry_id = whole_number(request.POST.get("entry"))
    if entry_id is None:
        raise Http404("no such entry")
    entry = get_object_or_404(ImportEntry, pk=entry_id, library_import=library_import)
    if library_import.state != State.PREVIEW or entry.match != Match.UNCERTAIN:
        messages.error(request, "That entry cannot be changed now.")
    else:
        importing.choose(entry, request.POST.get("pick", ""))
    page = request.POST.get("page", "")
    back = reverse("library:detail", args=[import_id])
    return redirect(f"{back}?show=uncertain&page={page if page.isdecimal() else 1}")


@login_required
@require_POST
def confirm(request, import_id):
    library_import = _own_import(request, import_id)
    try:
        started = importing.confirm(
            library_import,
            accept_uncertain=request.POST.get("accept_uncertain") == "1",
            keep_my_settings=request.POST.get("keep_my_settings") == "1",
        )
    except LibraryRefused as refused:
        messages.error(request, str(refused))
        return redirect("library:detail", import_id)
    if not started:
        messages.error(request, "This import is not waiting for you to confirm it.")
    return redirect("library:detail", import_id)


@login_required
@require_POST
def stop(request, import_id):
    if not importing.stop(_own_import(request, import_id)):
        messages.error(request, "This import is not running.")
    return redirect("library:detail", import_id)


@api_login_required
@require_GET
def api_import(request, import_id):
    library_import = LibraryImport.objects.filter(pk=import_id, user=request.user).first()
    if library_import is None:
        return JsonResponse({"error": "no such import of yours"}, status=404)
    return JsonResponse(
        {
            "id": library_import.pk,
            "state": library_import.state,
            "done": library_import.done,
            "total": library_import.total,
            "error": library_import.error,
            "matches": importing.counts(library_import),
            "outcomes": importing.outcome_counts(library_import),
        }
    )


@login_required
@require_GET
def export(request):
    kind = request.GET.get("format", "json")
    if kind not in ("json", "csv"):
        messages.error(request, "An export is JSON or CSV.")
        return redirect("library:import")
    body = exporting.as_json(request.user) if kind == "json" else exporting.as_csv(request.user)
    response = HttpResponse(body, content_type="application/json" if kind == "json" else "text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batoshelf-{request.user.get_username()}.{kind}"'
    return response
