"""Checking a title on its source: fetch what is new, store it in one transaction, log the attempt.

Used by the queue's tasks, `manage.py checktitles` and `manage.py addtitle` alike.
"""

import logging
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from batoshelf.logs import PERFORMANCE_LOGGER
from batoshelf.words import counted
from notifications.delivery import publish_on_commit
from notifications.models import Notification
from readers.models import Follow
from readers.progress import ChapterIndex, Reads
from readers.standing import Standings, facts, recount, title_chapters, to_tell
from scraping import covers
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.models import Chapter, CheckLog, CheckSchedule, Cover, Title
from scraping.schedule.policy import Release
from scraping.sources.base import Known
from scraping.sources.errors import BadResponse, SourceError
from scraping.sources.values import numbers_covered

performance = logging.getLogger(PERFORMANCE_LOGGER)
logger = logging.getLogger(__name__)
# One check stores no more chapters than this (a MangaDex import's 40 pages of 500).
MAX_CHAPTERS_PER_CHECK = 20_000


class CheckCrashed(SourceError):
    """The check failed inside batoshelf, not at the source."""

    kind = "internal"


@dataclass
class CheckResult:
    title: Title
    log: CheckLog
    new_chapters: list = field(default_factory=list)
    notifications: list = field(default_factory=list)
    error: SourceError | None = None

    def describe(self):
        """One line for a person watching `checktitles --once` or a task's result."""
        log = self.log
        head = f"{self.title.reference} {self.title.name}: "
        if log.outcome == CheckLog.Outcome.SUCCESS:
            names = ", ".join(str(c) for c in self.new_chapters[:5])
            more = f" and {len(self.new_chapters) - 5} more" if len(self.new_chapters) > 5 else ""
            return (
                head
                + f"{counted(log.new_chapters, 'new chapter')} ({names}{more}), "
                + counted(len(self.notifications), "notification")
            )
        if log.outcome == CheckLog.Outcome.NO_CHANGE:
            return head + f"no change ({log.chapters_seen} chapters)"
        if log.outcome == CheckLog.Outcome.IMPORTED:
            return (
                head + f"imported {counted(log.new_chapters, 'chapter')}, telling nobody ({log.chapters_seen} listed)"
            )
        return head + f"{log.outcome}: {log.message}"


class _Timer:
    def __init__(self):
        self.started_at = timezone.now()
        self._start = time.monotonic()

    def elapsed_ms(self):
        return int((time.monotonic() - self._start) * 1000)


def check_title(title, *, claim_token=None, priority=False):
    """Check one title now and record the attempt; never two checks of a title at once."""
    result = _check(title, claim_token, priority)
    log = result.log
    performance.info(
        "check",
        extra={
            "title_id": title.pk,
            "source": title.source,
            "outcome": log.outcome,
            "duration_ms": log.duration_ms,
            "new_chapters": log.new_chapters,
            "http_requests": log.http_requests,
            "http_status": log.http_status,
            "error_kind": log.error_kind,
        },
    )
    return result


def _stored_chapters(title):
    """{source id: the stored fields a check compares} of `title`'s chapters."""
    if title.pk is None:
        return {}
    rows = Chapter.objects.filter(title=title).values_list(
        "source_id", "pk", "first_seen_at", "previous_check_at", *Chapter.EDITABLE_FIELDS, named=True
    )
    return {row.source_id: row for row in rows}


def _known(title, stored, now):
    """What a check tells the source it has: a title whose languages changed is fetched whole, quietly."""
    languages = title.chapter_languages()
    full = title.imported_at is None or list(languages) != title.languages_synced
    return Known(
        chapter_ids=frozenset() if full else frozenset(stored),
        details_refreshed_at=title.refreshed_at,
        languages=languages,
        full=full,
        now=now,
        memo=title.source_memo,
    )


def _check(title, claim_token, priority):
    timer = _Timer()
    schedule = title.schedule
    token = schedule.claim(timer.started_at, claim_token)
    if token is None:
        return _skip(title, timer, "another check of this title is running")
    schedule.claim_token = token
    requests = keeper.Requests(title.source, priority=priority)
    try:
        stored = _stored_chapters(title)
        known = _known(title, stored, timer.started_at)
        snapshot = _fetch(title, requests, known)
        return _store(title, schedule, snapshot, timer, requests, stored, known, announce=not known.full)
    except SourcePaused as paused:
        schedule.release()
        return _skip(title, timer, str(paused), requests)
    except SourceError as error:
        return _record_failure(title, schedule, timer, error, requests)
    except Exception as crash:
        # A bug, a database error, anything: the check still ends in a failed log and gives its title back.
        logger.exception("the check of title %s failed inside batoshelf", title.pk)
        try:
            return _record_failure(
                title, schedule, timer, CheckCrashed(f"{type(crash).__name__}: {crash}"[:300]), requests
            )
        except Exception:
            CheckSchedule.objects.filter(pk=schedule.pk).release_claim(token)
            raise crash from None


def _fetch(title, requests, known):
    """What the source has of the title now; BadResponse when it lists more chapters than one check may store."""
    snapshot = title.source_object.fetch_title(requests, title.source_id, known)
    if len(snapshot.chapters) > MAX_CHAPTERS_PER_CHECK:
        raise BadResponse(
            f"{title.source_object.display_name} listed {len(snapshot.chapters)} chapters in one check; "
            f"more than {MAX_CHAPTERS_PER_CHECK} is no answer a title gives"
        )
    return snapshot


@dataclass
class ImportResult:
    title: Title
    created: bool
    followed: bool
    chapters: int


def import_title(ref, *, user=None, languages=None):
    """Start tracking the title `ref` names: fetch it, store it and its chapters, schedule it.

    The first import notifies no one. `user`, when given, follows the title;
    `languages` choose its chapter languages where the source has several.
    Raises SourceError or SourcePaused when the source cannot give us the title;
    then nothing is stored.
    """
    title = Title.objects.filter(source=ref.source, source_id=ref.source_id).first()
    if title is None or title.imported_at is None:
        # New to batoshelf, or a placeholder a reader's shelf made while it waits for this import.
        timer = _Timer()
        if title is None:
            title = Title(source=ref.source, source_id=ref.source_id, languages=list(languages or []))
        elif languages:
            title.languages = list(languages)
        known = _known(title, {}, timer.started_at)
        requests = keeper.Requests(ref.source)
        snapshot = _fetch(title, requests, known)
        try:
            _store(title, CheckSchedule(title=title), snapshot, timer, requests, {}, known, announce=False)
        except IntegrityError:
            # Another process imported the same title a moment before us.
            title = Title.objects.get(source=ref.source, source_id=ref.source_id)
        else:
            return ImportResult(
                title=title, created=True, followed=follow(user, title), chapters=len(snapshot.chapters)
            )
    return ImportResult(title=title, created=False, followed=follow(user, title), chapters=title.chapters.count())


def follow(user, title):
    """Make `user` follow `title`, with nothing read yet; True when the follow is new."""
    if user is None:
        return False
    made, new = Follow.objects.get_or_create(user=user, title=title)
    if new:
        Standings(title.pk, title_chapters(title.pk), timezone.now(), Follow.objects.filter(pk=made.pk)).save()
    return new


def _skip(title, timer, reason, requests=None):
    log = CheckLog.objects.create(
        title=title,
        started_at=timer.started_at,
        duration_ms=timer.elapsed_ms(),
        outcome=CheckLog.Outcome.SKIPPED,
        message=reason,
        http_requests=requests.count if requests else 0,
    )
    return CheckResult(title=title, log=log)


def _record_failure(title, schedule, timer, error, requests):
    """A failed check changes no stored data: it logs the error, and a title's own error backs it off.

    A fault of the source (429, block, no answer) leaves the title due: the gate
    pauses, fails over or opens the breaker, and the title goes when it lets us.
    """
    with transaction.atomic():
        if error.source_wide:
            schedule.release()
        elif schedule.record_failure(timer.started_at, error):
            followers = Follow.objects.filter(title=title).values_list("user_id", flat=True)
            publish_on_commit(Notification.objects.create_for_paused_title(title, followers, timer.started_at))
        log = CheckLog.objects.create(
            title=title,
            started_at=timer.started_at,
            duration_ms=timer.elapsed_ms(),
            outcome=CheckLog.Outcome.FAILED,
            http_requests=requests.count,
            http_status=error.status,
            error_kind=error.kind,
            message=error.message,
        )
    return CheckResult(title=title, log=log, error=error)


def chapters_to_announce(new_chapters, stored):
    """The new chapters followers are told of: one per new chapter number and language, and every
    chapter without a number. A later upload of a number already stored (another group's, say)
    tells no one; nor does a chapter hidden or taken down on the source."""
    told = {key for row in stored if row.available for key in _numbers(row)}
    announced = []
    for chapter in new_chapters:
        if not chapter.available:
            continue
        keys = _numbers(chapter)
        if keys and keys <= told:
            continue
        told |= keys
        announced.append(chapter)
    return announced


def _numbers(chapter):
    """{(language, number)} a chapter covers: each number of a short range ("25-26"), or its one number."""
    return {(chapter.language, number) for number in numbers_covered(chapter.number_from, chapter.number)}


def _store(title, schedule, snapshot, timer, requests, stored, known, *, announce):
    """Write everything one successful fetch taught us, all or nothing.

    Chapters are matched by the source's id, never by URL: an edited chapter
    (new URL, same id) is updated in place, not announced as new.
    """
    now = timer.started_at
    # The source may list a chapter twice; the last listing wins.
    records = list({r.source_id: r for r in snapshot.chapters}.values())
    new_records = sorted(
        (r for r in records if r.source_id not in stored),
        key=lambda r: (r.published_at or now, r.number is None, r.number or 0),
    )
    edited = []
    for record in records:
        row = stored.get(record.source_id)
        if row is None:
            continue
        fresh = Chapter.values_of(record)
        if any(fresh[f] != getattr(row, f) for f in Chapter.EDITABLE_FIELDS):
            edited.append(Chapter(pk=row.pk, **{f: fresh[f] for f in Chapter.EDITABLE_FIELDS}))
    with transaction.atomic():
        old_status = title.upload_status
        importing = title.imported_at is None
        # Saved once, after the chapters (with their count), unless it needs its id first.
        unsaved = bool(snapshot.details or importing or title.languages_synced != list(known.languages))
        if snapshot.memo is not None and snapshot.memo != title.source_memo:
            title.source_memo, unsaved = dict(snapshot.memo), True
        if unsaved:
            if snapshot.details:
                old_status = title.apply_details(snapshot.details, now)
            title.languages_synced = list(known.languages)
            if importing:
                title.imported_at, title.import_error = now, ""
            if title.cover_url and Cover.key_of(title.cover_url) != title.cover_key:
                title.cover_key = covers.kept_or_queue(title.source, title.cover_url) or title.cover_key
        if title.pk is None:
            title.save()
            unsaved = False
        new_chapters = Chapter.objects.bulk_create(
            [
                Chapter(
                    title=title, first_seen_at=now, previous_check_at=schedule.last_checked_at, **Chapter.values_of(r)
                )
                for r in new_records
            ]
        )
        if edited:
            Chapter.objects.bulk_update(edited, Chapter.EDITABLE_FIELDS)
        announced = chapters_to_announce(new_chapters, stored.values()) if announce else []
        status_changed = bool(old_status) and old_status != title.upload_status
        if new_chapters or edited or not stored or status_changed:
            edited_by_pk = {chapter.pk: chapter for chapter in edited}
            chapters = [facts(edited_by_pk.get(row.pk, row)) for row in stored.values()]
            chapters += [facts(chapter) for chapter in new_chapters]
            unsaved |= _count_chapters(title, chapters, now)
            standings = recount(title.pk, chapters, now)
            told, waiting = to_tell(standings, announced)
            notifications = Notification.objects.create_for_check(title, told, old_status, now, waiting)
            publish_on_commit(notifications)
        else:
            notifications = []
        if unsaved:
            title.save()
        release_times = [_release(c) for c in [*stored.values(), *new_chapters] if c.published_at]
        if schedule.record_success(
            now, release_times, title.upload_status, found_new=bool(new_chapters), announced=title.announced_release_at
        ):
            publish_on_commit(
                Notification.objects.create_for_staff(
                    f"{title.name} is checked fine again after failing.",
                    now,
                    title=title,
                )
            )
        quiet = len(new_chapters) - len(announced) if announce else 0
        log = CheckLog.objects.create(
            title=title,
            started_at=now,
            duration_ms=timer.elapsed_ms(),
            outcome=(
                CheckLog.Outcome.IMPORTED
                if not announce
                else CheckLog.Outcome.SUCCESS
                if new_chapters
                else CheckLog.Outcome.NO_CHANGE
            ),
            chapters_seen=len(records),
            new_chapters=len(new_chapters),
            http_requests=requests.count,
            http_status=requests.last_status,
            message="; ".join(
                filter(
                    None,
                    [
                        f"{counted(len(edited), 'chapter')} edited on the source" if edited else "",
                        f"{counted(quiet, 'new upload')} of chapters already known or not readable: nobody told"
                        if quiet
                        else "",
                        "the whole chapter list was fetched again for new languages"
                        if known.full and title.pk and stored
                        else "",
                    ],
                )
            ),
        )
    return CheckResult(title=title, log=log, new_chapters=new_chapters, notifications=notifications)


def _count_chapters(title, chapters, now):
    """Set the title's chapter count and newest chapter (what lists show) from `chapters`; True when they
    changed, and the check's transaction saves the title."""
    latest = ChapterIndex.build(chapters, Reads(), now).latest
    count, latest_id = len(chapters), latest.pk if latest else None
    changed = (title.chapter_count, title.latest_chapter_id) != (count, latest_id)
    title.chapter_count, title.latest_chapter_id = count, latest_id
    return changed


def _release(chapter):
    """A stored chapter (or its row) as the schedule policy reads it: a day-only date comes with when it was seen."""
    return Release(
        chapter.published_at,
        day_only=chapter.published_precision == Chapter.Precision.DAY,
        seen_at=chapter.first_seen_at,
        previous_check_at=chapter.previous_check_at,
    )
