"""Bringing a reader's library in: read it, match every entry, show the reader, follow what they confirm.

A file is read at once (it is bounded, and a bad one is refused before anything is stored). Every step
that asks a source or a tracker runs in the cluster (read_list, match_library, import_library) through
the sources' gates, and
moves the import's state on: reading → matching → preview → importing → done (or stopped, failed).
The reader's open pages hear of its progress as it moves. Nothing is followed before they confirm;
a second run follows nothing twice, and progress never moves backwards.
"""

import logging
import time
from dataclasses import asdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_q.tasks import async_task

from library import files, matching, trackers
from library.entries import Entry, LibraryRefused
from library.models import ImportEntry, LibraryImport
from notifications.delivery import publish_live
from notifications.messages import import_progress
from readers import shelf
from readers.models import Follow
from readers.shelf import ShelfError
from scraping import covers, sources
from scraping.checking.worker import cluster_is_stopping
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.sources import TitleRef
from scraping.sources.errors import SourceError
from scraping.sources.mangadex import list_id
from scraping.sources.values import whole_number

logger = logging.getLogger(__name__)

State, Kind, Match, Outcome = LibraryImport.State, LibraryImport.Kind, ImportEntry.Match, ImportEntry.Outcome
# The sources a title is matched on, in the order they are searched.
LIVE = {name: sources.get(name).display_name for name in ("mangadex", "mangaupdates")}
SEARCH_LIMIT = 8
# Seconds between two progress events of one import.
PROGRESS_EVERY = 1.0
# Requests a title's first fetch takes, about, on each source (an import of its whole chapter list).
FETCH_REQUESTS = {"mangadex": 2, "mangaupdates": 5, "bato": 1}
SEARCH_REQUESTS = {"mangadex": 1, "mangaupdates": 1}
# A task matches or imports this long at most (and a quarter of the cluster's timeout at most), then
# queues the rest as a task of its own: thousands of titles take hours at the sources' pace, and one
# task must neither run into the timeout (which kills it) nor hold a worker from the work queued behind.
TURN_SECONDS = 60.0


def start_file(user, file_name, content, *, queue=True):
    """An import of an uploaded file, read now, then matched in the cluster (`queue` False: by whoever calls
    match_library); LibraryRefused, and nothing stored, when it is not a library."""
    one_at_a_time(user)
    described, entries = files.read_library(content)
    with transaction.atomic():
        library_import = LibraryImport.objects.create(
            user=user, kind=Kind.FILE, origin=(file_name or "a file")[:300], described=described
        )
        _store_entries(library_import, entries)
    if queue:
        _queue("library.importing.match_library", library_import)
    return library_import


def start_list(user, kind, text, *, queue=True):
    """An import of a list on AniList, MyAnimeList or MangaDex, fetched in the background; LibraryRefused
    when `text` cannot name one (a user name, a list's address)."""
    one_at_a_time(user)
    if kind == Kind.ANILIST:
        origin = trackers.checked_name(text, "AniList")
    elif kind == Kind.MAL:
        if not settings.MAL_CLIENT_ID:
            raise LibraryRefused(trackers.NO_MAL_CLIENT_ID)
        origin = trackers.checked_name(text, "MyAnimeList")
    elif kind == Kind.MANGADEX_LIST:
        if not list_id(text):
            raise LibraryRefused("That is not a MangaDex list's address: https://mangadex.org/list/<id>.")
        origin = text.strip()[:300]
    else:
        raise LibraryRefused("Choose a file, an AniList or MyAnimeList user name, or a MangaDex list.")
    library_import = LibraryImport.objects.create(user=user, kind=kind, origin=origin, described=Kind(kind).label)
    if queue:
        _queue("library.importing.read_list", library_import)
    return library_import


def one_at_a_time(user, but=None):
    """LibraryRefused while another of the reader's imports is under way: each asks the sources about
    every entry, ahead of the routine checks, so one reader's imports go one after another."""
    busy = LibraryImport.objects.filter(user=user, state__in=LibraryImport.UNDER_WAY).exclude(pk=but).first()
    if busy is not None:
        raise LibraryRefused(
            f"Your import of {busy.origin} is still under way ({busy.get_state_display()}): "
            "wait for it to finish, or stop it, then start this one."
        )


def _queue(task, library_import):
    """Run `task` (a function of this module, by name) on the import in the cluster, once this commits."""
    transaction.on_commit(
        lambda: async_task(task, library_import.pk, task_name=f"library import {library_import.pk}", group="library")
    )


def _turn_ends(in_turns):
    """When this task's turn ends, by time.monotonic(); None when it has no end (the command's run)."""
    return time.monotonic() + min(TURN_SECONDS, settings.Q_TIMEOUT / 4) if in_turns else None


def _turn_over(turn_ends):
    """Whether this turn is over: its time is up, or its worker was told to stop (the rest waits in the
    queue for the next start, so a stop waits for one entry, not a turn)."""
    return turn_ends is not None and (time.monotonic() >= turn_ends or cluster_is_stopping())


def _next_turn(task, progress, verb):
    """End this turn: its progress written and told, the rest queued as another task behind the others."""
    progress.tell()
    _queue(task, progress.library_import)
    imp = progress.library_import
    return f"import {imp.pk}: {verb} {imp.done} of {imp.total} so far; the rest in another turn"


def _store_entries(library_import, entries):
    ImportEntry.objects.bulk_create(
        [
            ImportEntry(library_import=library_import, position=n, name=entry.name[:500], given=given_json(entry))
            for n, entry in enumerate(entries)
        ],
        batch_size=500,
    )
    library_import.state, library_import.total, library_import.done = State.MATCHING, len(entries), 0
    LibraryImport.objects.filter(pk=library_import.pk).update(state=State.MATCHING, total=len(entries), done=0)


def given_json(entry):
    data = asdict(entry)
    data["progress"] = str(entry.progress) if entry.progress is not None else None
    return data


def entry_of(row):
    given = dict(row.given)
    given["progress"] = Decimal(given["progress"]) if given.get("progress") else None
    return Entry(
        **{
            **given,
            **{key: tuple(tuple(p) for p in given.get(key) or ()) for key in ("refs", "links")},
            "names": tuple(given.get("names") or ()),
            "shelves": tuple(given.get("shelves") or ()),
        }
    )


class Progress:
    """An import's counts written and told to the reader's pages, at most once every PROGRESS_EVERY."""

    def __init__(self, library_import, say=None):
        self.library_import, self.say, self.told_at, self.looked_at = library_import, say, 0.0, 0.0

    def stop_asked(self):
        """Whether the reader asked the import to stop: looked up at most once every PROGRESS_EVERY."""
        if time.monotonic() - self.looked_at < PROGRESS_EVERY:
            return False
        self.looked_at = time.monotonic()
        return LibraryImport.objects.filter(pk=self.library_import.pk, state=State.STOPPING).exists()

    def stopped(self):
        self.tell()
        self.moved_to(State.STOPPED, finished_at=timezone.now())

    def step(self, requests=0, *, force=False):
        imp = self.library_import
        imp.done += 1
        imp.requests += requests
        if force or time.monotonic() - self.told_at >= PROGRESS_EVERY:
            self.tell()

    def tell(self):
        imp = self.library_import
        LibraryImport.objects.filter(pk=imp.pk).update(done=imp.done, requests=imp.requests)
        publish_live(imp.user_id, import_progress(imp.pk, imp.state, imp.done, imp.total))
        if self.say:
            self.say(imp)
        self.told_at = time.monotonic()

    def moved_to(self, state, **fields):
        imp = self.library_import
        imp.state = state
        for name, value in fields.items():
            setattr(imp, name, value)
        LibraryImport.objects.filter(pk=imp.pk).update(
            state=state, done=imp.done, total=imp.total, requests=imp.requests, **fields
        )
        publish_live(imp.user_id, import_progress(imp.pk, state, imp.done, imp.total))


def read_list(import_id, say=None, in_turns=True):
    """Fetch the list an import names (AniList, MyAnimeList, MangaDex), then match it."""
    library_import = LibraryImport.objects.filter(pk=import_id, state=State.READING).first()
    if library_import is None:
        return f"import {import_id} is not waiting to be read"
    progress = Progress(library_import)
    try:
        if library_import.kind == Kind.ANILIST:
            entries, spent = trackers.AniList().read_list(library_import.origin)
        elif library_import.kind == Kind.MAL:
            entries, spent = trackers.MyAnimeList().read_list(library_import.origin)
        else:
            entries, spent = mangadex_list(list_id(library_import.origin))
    except (LibraryRefused, SourceError, SourcePaused) as error:
        progress.moved_to(State.FAILED, error=str(getattr(error, "message", error))[:300], finished_at=timezone.now())
        return f"import {import_id}: {library_import.error}"
    if not entries:
        progress.moved_to(State.FAILED, error="The list is empty.", finished_at=timezone.now())
        return f"import {import_id}: the list is empty"
    library_import.requests = spent
    _store_entries(library_import, entries[: files.MAX_ENTRIES])
    return match_library(import_id, say, in_turns)


def mangadex_list(uuid):
    ask = keeper.Requests("mangadex")
    name, candidates = sources.get("mangadex").list_titles(ask, uuid)
    entries = [
        Entry(
            names=(c.name, *(a["name"] for a in c.alt_names[:3])),
            refs=(("mangadex", c.source_id),),
            year=c.year,
        )
        for c in candidates
    ]
    return entries, ask.count


class Searcher:
    """Searches the live sources through their gates for matching, counting the requests; a source that
    cannot answer (paused, failing) finds nothing and says so once."""

    def __init__(self):
        self.requests, self.refused = 0, {}

    def __call__(self, source_name, query):
        if source_name in self.refused:
            return []
        source, ask = sources.get(source_name), keeper.Requests(source_name)
        try:
            found = source.search(ask, query, SEARCH_LIMIT, latest=False)
        except (SourceError, SourcePaused) as error:
            self.refused[source_name] = f"{source.display_name} could not search ({getattr(error, 'message', error)})"
            found = []
        self.requests += ask.count
        return [asdict(candidate) for candidate in found]


def match_library(import_id, say=None, in_turns=True):
    """Match every entry of an import still waiting, a turn at a time (TURN_SECONDS) unless `in_turns` is
    False; then it waits for the reader (the preview)."""
    library_import = LibraryImport.objects.filter(pk=import_id, state=State.MATCHING).first()
    if library_import is None:
        return f"import {import_id} is not waiting to be matched"
    followed = Follow.objects.filter(user_id=library_import.user_id)
    on_shelf = set(followed.values_list("title__source", "title__source_id"))
    search, progress, turn_ends = Searcher(), Progress(library_import, say), _turn_ends(in_turns)
    for k, row in enumerate(library_import.entries.filter(match=Match.WAITING).order_by("position")):
        if progress.stop_asked():
            progress.stopped()
            return f"import {import_id} stopped while matching"
        if k and _turn_over(turn_ends):
            return _next_turn("library.importing.match_library", progress, "matched")
        spent_before = search.requests
        found = matching.match_entry(entry_of(row), search, live=LIVE, on_shelf=on_shelf)
        row.match = found.match
        row.source, row.source_id = found.ref or ("", "")
        row.candidates = found.candidates
        row.tried = "; ".join([found.tried, *search.refused.values()]).strip("; ")[:300] if found.tried else ""
        row.save(update_fields=["match", "source", "source_id", "candidates", "tried"])
        if found.match == matching.UNCERTAIN and found.candidates:
            best = found.candidates[0]
            covers.queue(best["source"], best["cover_url"])
        progress.step(search.requests - spent_before)
    library_import.done = 0
    progress.moved_to(State.PREVIEW)
    return f"import {import_id}: matched {library_import.total} entries with {library_import.requests} requests"


def counts(library_import):
    """{match: n} of an import's entries, in one query."""
    found = dict(library_import.entries.values("match").annotate(n=Count("pk")).values_list("match", "n"))
    return {m: found.get(m, 0) for m in Match.values}


def choose(entry, pick):
    """The reader's answer for one uncertain entry: `pick` is the index of the candidate to follow, or
    "skip". Anything else changes nothing."""
    if pick == "skip":
        entry.source, entry.source_id, entry.outcome = "", "", Outcome.SKIPPED
    elif (index := whole_number(pick, digits=3)) is not None and index < len(entry.candidates):
        candidate = entry.candidates[index]
        entry.source, entry.source_id, entry.outcome = candidate["source"], candidate["source_id"], Outcome.PENDING
    else:
        return False
    entry.save(update_fields=["source", "source_id", "outcome"])
    return True


def undecided(library_import):
    """The uncertain entries the reader has neither chosen a candidate for nor skipped."""
    return library_import.entries.filter(match=Match.UNCERTAIN, source="", outcome=Outcome.PENDING)


def confirm(library_import, *, accept_uncertain=False, keep_my_settings=True, queue=True):
    """The reader confirms the preview: what was found, and the uncertain entries they chose (with
    `accept_uncertain`, the best candidate of each they did not decide on); the rest is skipped.
    Queues the import; False when the import is not waiting for this, LibraryRefused while another is
    under way."""
    with transaction.atomic():
        library_import = LibraryImport.objects.select_for_update().get(pk=library_import.pk)
        if library_import.state != State.PREVIEW:
            return False
        one_at_a_time(library_import.user_id, but=library_import.pk)
        if accept_uncertain:
            for row in undecided(library_import):
                choose(row, "0")
        library_import.entries.filter(source="").update(outcome=Outcome.SKIPPED)
        total = library_import.entries.exclude(source="").count()
        LibraryImport.objects.filter(pk=library_import.pk).update(
            state=State.IMPORTING, total=total, done=0, keep_my_settings=keep_my_settings
        )
        if queue:
            _queue("library.importing.import_library", library_import)
    return True


def outcome_counts(library_import):
    """{outcome: n} of an import's entries, in one query."""
    found = dict(library_import.entries.values("outcome").annotate(n=Count("pk")).values_list("outcome", "n"))
    return {o: found.get(o, 0) for o in Outcome.values if o}


def stop(library_import):
    """Ask a running import to stop after the entry it is at (the entries done stay done)."""
    return bool(
        LibraryImport.objects.filter(
            pk=library_import.pk, state__in=[State.READING, State.MATCHING, State.IMPORTING]
        ).update(state=State.STOPPING)
    )


def import_library(import_id, say=None, in_turns=True):
    """Follow every chosen entry of a confirmed import, in order, a turn at a time (TURN_SECONDS) unless
    `in_turns` is False, until done or asked to stop."""
    library_import = LibraryImport.objects.filter(pk=import_id, state=State.IMPORTING).select_related("user").first()
    if library_import is None:
        return f"import {import_id} is not waiting to be imported"
    progress, turn_ends = Progress(library_import, say), _turn_ends(in_turns)
    pending = library_import.entries.exclude(source="").filter(outcome=Outcome.PENDING).order_by("position")
    for k, row in enumerate(pending):
        if progress.stop_asked():
            progress.stopped()
            return f"import {import_id} stopped after {library_import.done} entries"
        if k and _turn_over(turn_ends):
            return _next_turn("library.importing.import_library", progress, "imported")
        try:
            row.outcome = bring_in(library_import.user, row, keep_my_settings=library_import.keep_my_settings)
        except ShelfError as error:
            row.outcome, row.error = Outcome.FAILED, str(error)[:300]
        row.save(update_fields=["outcome", "error"])
        progress.step()
    progress.moved_to(State.DONE, finished_at=timezone.now())
    return f"import {import_id} done: {library_import.done} entries"


def bring_in(user, row, *, keep_my_settings):
    """Put one entry's title on the reader's shelf as the library had it; the Outcome. A title already
    there keeps the reader's own settings (or, asked, takes the library's), and never goes back."""
    entry = entry_of(row)
    follow = Follow.objects.filter(user=user, title__source=row.source, title__source_id=row.source_id).first()
    if follow and keep_my_settings:
        return Outcome.KEPT
    if follow is None:
        where = "caught_up" if entry.status == "completed" and entry.progress is None else entry.progress or "none"
        follow, _ = shelf.add(user, TitleRef(row.source, row.source_id), str(where))
        outcome = Outcome.IMPORTED
    else:
        if entry.progress is not None and (follow.last_read_number is None or entry.progress > follow.last_read_number):
            if follow.title.fetched:
                shelf.move(follow, number=entry.progress, check=False)
        outcome = Outcome.UPDATED
    changes = {"status": entry.status} if entry.status else {}
    if entry.shelves:
        changes["shelves"] = list(entry.shelves)
    for name, value in entry.settings.items():
        if name != "languages" or follow.title.fetched:  # a title's languages are known once it is fetched
            changes[name] = value
    if changes:
        shelf.update(Follow.objects.select_related("title").get(pk=follow.pk), changes)
    if entry.muted:
        Follow.objects.filter(pk=follow.pk).update(muted=True)
    return outcome


def estimate(library_import):
    """{"matching": seconds, "importing": seconds}: how long each step takes at the sources' default pace,
    where no other work shares it: the requests each needs at each source, spaced and budgeted as its
    gate spaces and budgets them."""
    rows = list(library_import.entries.values_list("match", "source", "given"))
    searches = {name: 0 for name in SEARCH_REQUESTS}
    fetches = {}
    for match, source, given in rows:
        if match == Match.WAITING and not given.get("refs") and not given.get("unreadable"):
            for name, requests in SEARCH_REQUESTS.items():
                searches[name] += requests
        if source and match != Match.ALREADY:
            fetches[source] = fetches.get(source, 0) + FETCH_REQUESTS.get(source, 1)
    return {"matching": seconds_at_pace(searches), "importing": seconds_at_pace(fetches)}


def seconds_at_pace(requests_by_source):
    """The longest any one source takes (they are asked side by side): its requests at its mean spacing,
    or its hourly budget, whichever is slower."""
    longest = 0.0
    for name, requests in requests_by_source.items():
        pace = sources.get(name).politeness()
        spaced = requests * (pace.min_delay + pace.max_delay) / 2
        budgeted = requests / pace.per_hour * 3600 if requests > pace.per_hour else 0
        longest = max(longest, spaced, budgeted)
    return longest
