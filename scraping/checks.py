"""Checking a title: fetch once, store what is new in one transaction, log the attempt.

Used by the queue's tasks, `manage.py scrape` and `manage.py addmanga` alike.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from batoshelf.logs import PERFORMANCE_LOGGER
from notifications.delivery import publish_on_commit
from notifications.models import Follow, Notification
from scraping import site
from scraping.bato.client import BatoClient
from scraping.bato.errors import BatoError
from scraping.models import Chapter, CheckSchedule, Manga, ScrapeLog, SitePaused


performance = logging.getLogger(PERFORMANCE_LOGGER)


@dataclass
class CheckResult:
    manga: Manga
    log: ScrapeLog
    new_chapters: list = field(default_factory=list)
    notifications: list = field(default_factory=list)
    error: BatoError | None = None

    def describe(self):
        """One line for a person watching `scrape --once` or a task's result."""
        log = self.log
        head = f"{self.manga.bato_id} {self.manga.name}: "
        if log.outcome == ScrapeLog.Outcome.SUCCESS:
            names = ", ".join(str(c) for c in self.new_chapters[:5])
            more = f" and {len(self.new_chapters) - 5} more" if len(self.new_chapters) > 5 else ""
            return head + f"{log.new_chapters} new chapter(s) ({names}{more}), {len(self.notifications)} notification(s)"
        if log.outcome == ScrapeLog.Outcome.NO_CHANGE:
            return head + f"no change ({log.chapters_seen} chapters)"
        return head + f"{log.outcome}: {log.message}"


class _Timer:
    def __init__(self):
        self.started_at = timezone.now()
        self._start = time.monotonic()

    def elapsed_ms(self):
        return int((time.monotonic() - self._start) * 1000)


def fetch_politely(comic_id, *, priority=False):
    """Fetch a title through the mirror in use once the cluster-wide gate gives this process a turn.

    Raises SitePaused when the gate says no; whatever the site answers is
    reported back to the gate. `priority` (a check someone asked for) takes
    the next turn before any scheduled check.
    """
    turn = site.take_turn(priority=priority)
    try:
        fetched = BatoClient(turn.mirror, timeout=settings.BATO_TIMEOUT).fetch_title(comic_id)
    except BatoError as error:
        site.record_answer(turn, error)
        raise
    site.record_answer(turn, None)
    return fetched


def check_manga(manga, *, claim_token=None, priority=False):
    """Check one title now and record the attempt; never two checks of a title at once."""
    result = _check(manga, claim_token, priority)
    log = result.log
    performance.info("check", extra={
        "manga_id": manga.pk, "outcome": log.outcome, "duration_ms": log.duration_ms,
        "new_chapters": log.new_chapters, "http_status": log.http_status, "error_kind": log.error_kind,
    })
    return result


def _check(manga, claim_token, priority):
    timer = _Timer()
    schedule = manga.schedule
    token = schedule.claim(timer.started_at, claim_token)
    if token is None:
        return _skip(manga, timer, "another check of this title is running")
    schedule.claim_token = token
    try:
        fetched = fetch_politely(manga.bato_id, priority=priority)
    except SitePaused as paused:
        schedule.release()
        return _skip(manga, timer, str(paused))
    except BatoError as error:
        return _record_failure(manga, schedule, timer, error)
    return _store(manga, schedule, fetched, timer, notify=True)


@dataclass
class ImportResult:
    manga: Manga
    created: bool
    followed: bool
    chapters: int


def import_title(comic_id, *, user=None):
    """Start tracking a title: fetch it with one request, store it and its chapters, schedule it.

    The first import notifies no one. `user`, when given, follows the title.
    Raises BatoError or SitePaused when the site cannot give us the title;
    then nothing is stored.
    """
    manga = Manga.objects.filter(bato_id=comic_id).first()
    if manga is None:
        timer = _Timer()
        fetched = fetch_politely(comic_id)
        try:
            manga = Manga(bato_id=comic_id)
            _store(manga, CheckSchedule(manga=manga), fetched, timer, notify=False)
        except IntegrityError:
            # Another process imported the same title a moment before us.
            manga = Manga.objects.get(bato_id=comic_id)
        else:
            return ImportResult(
                manga=manga, created=True, followed=follow(user, manga), chapters=len(fetched.snapshot.chapters)
            )
    return ImportResult(manga=manga, created=False, followed=follow(user, manga), chapters=manga.chapters.count())


def follow(user, manga):
    """Make `user` follow `manga`; True when the follow is new."""
    if user is None:
        return False
    return Follow.objects.get_or_create(user=user, manga=manga)[1]


def _skip(manga, timer, reason):
    log = ScrapeLog.objects.create(
        manga=manga, started_at=timer.started_at, duration_ms=timer.elapsed_ms(),
        outcome=ScrapeLog.Outcome.SKIPPED, message=reason,
    )
    return CheckResult(manga=manga, log=log)


def _record_failure(manga, schedule, timer, error):
    """A failed check changes no stored data: it logs the error, and a title's own error backs it off.

    A fault of the site (429, block, no answer) leaves the title due: the gate
    pauses, fails over or opens the breaker, and the title goes when it lets us.
    """
    with transaction.atomic():
        if error.site_wide:
            schedule.release()
        elif schedule.record_failure(timer.started_at, error):
            publish_on_commit(Notification.objects.create_for_paused_title(manga, timer.started_at))
        log = ScrapeLog.objects.create(
            manga=manga, started_at=timer.started_at, duration_ms=timer.elapsed_ms(),
            outcome=ScrapeLog.Outcome.FAILED, http_requests=1, http_status=error.status,
            error_kind=error.kind, message=error.message,
        )
    return CheckResult(manga=manga, log=log, error=error)


def _store(manga, schedule, fetched, timer, *, notify):
    """Write everything one successful fetch taught us, all or nothing.

    Chapters are matched by Bato id, never by URL: an edited chapter (new URL,
    same id) is updated in place, not announced as new.
    """
    now = timer.started_at
    snapshot = fetched.snapshot
    # The site may list a chapter twice; the last listing wins.
    records = list({r.bato_id: r for r in snapshot.chapters}.values())
    stored = {
        row.bato_id: row
        for row in Chapter.objects.filter(manga=manga).values_list(
            "bato_id", "pk", *Chapter.EDITABLE_FIELDS, named=True
        )
    } if manga.pk else {}
    new_records = [r for r in records if r.bato_id not in stored]
    edited = [
        Chapter(pk=stored[r.bato_id].pk, **{f: getattr(r, f) for f in Chapter.EDITABLE_FIELDS})
        for r in records
        if r.bato_id in stored
        and any(getattr(r, f) != getattr(stored[r.bato_id], f) for f in Chapter.EDITABLE_FIELDS)
    ]
    with transaction.atomic():
        old_status = manga.apply_details(snapshot.details, now)
        manga.save()
        new_chapters = Chapter.objects.bulk_create([Chapter.from_record(manga, r, now) for r in new_records])
        if edited:
            Chapter.objects.bulk_update(edited, Chapter.EDITABLE_FIELDS)
        notifications = (
            Notification.objects.create_for_check(manga, new_chapters, old_status, now) if notify else []
        )
        publish_on_commit(notifications)
        release_times = sorted(
            [row.published_at for row in stored.values() if row.published_at]
            + [c.published_at for c in new_chapters if c.published_at]
        )
        if schedule.record_success(now, release_times, manga.upload_status, found_new=bool(new_chapters)):
            publish_on_commit(Notification.objects.create_for_staff(
                f"{manga.name} is checked fine again after failing.", now, manga=manga,
            ))
        log = ScrapeLog.objects.create(
            manga=manga, started_at=now, duration_ms=timer.elapsed_ms(),
            outcome=ScrapeLog.Outcome.SUCCESS if new_chapters else ScrapeLog.Outcome.NO_CHANGE,
            chapters_seen=len(records), new_chapters=len(new_chapters), http_requests=1,
            http_status=fetched.http_status,
            message=f"{len(edited)} chapter(s) edited on the site" if edited else "",
        )
    return CheckResult(manga=manga, log=log, new_chapters=new_chapters, notifications=notifications)
