"""What a reader does with their shelf: add a title (fetched in the background), say where they are,
choose what they read and hear, keep one of two follows of the same series. Pages and the JSON API
both come here, so both follow one set of rules; `ShelfError` says in one sentence what was wrong.
"""

import re
import unicodedata
from decimal import Decimal

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from notifications.delivery import mark_read, publish_live
from notifications.messages import shelf_change
from notifications.models import Notification
from readers import progress
from readers.models import MAX_NUMBER, ChapterMark, Follow, Shelf, Status
from readers.standing import Standings, title_chapters
from scraping.models import CheckSchedule, Title
from scraping.sources.mangaupdates import id_from_base36
from scraping.sources.values import UNSHOWABLE

# A title queued for fetching is not queued again for this long (the task answers everyone waiting).
FETCH_QUEUED_FOR = 600
MAX_SHELVES = 30
MAX_GROUPS = 50
PROGRESS_WORDS = {"none", "caught_up"}


class ShelfError(ValueError):
    """What a reader asked cannot be done; the message says why in one sentence."""


def state_of(title):
    """ "ready", "fetching" or "failed": where the title a shelf row shows stands."""
    if title.imported_at is not None:
        return "ready"
    return "failed" if title.import_error else "fetching"


def parse_number(value):
    """A chapter number a reader typed ("58", "10.5"); ShelfError when it is none."""
    text = str(value).strip() if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{1,6}(\.\d{1,2})?", text):
        raise ShelfError(f"{str(value)[:20]!r} is not a chapter number such as 58 or 10.5.")
    number = Decimal(text)
    if number > MAX_NUMBER:
        raise ShelfError("That chapter number is larger than any chapter's.")
    return number


def parse_progress(value):
    """Where a reader says they are when they add a title: "none", "caught_up" or a chapter number."""
    if value in PROGRESS_WORDS:
        return value
    if value in (None, ""):
        raise ShelfError("Say where you are: new to it, caught up, or at chapter N.")
    return str(parse_number(value))


# Adding


def add(user, ref, where):
    """Put the title `ref` names on `user`'s shelf, saying where they are in it (parse_progress's forms).

    Returns (follow, state). A title batoshelf does not have yet is stored as a placeholder and
    fetched in the background (state "fetching"); its row fills in when that is done.
    """
    where = parse_progress(where)
    with transaction.atomic():
        title, _ = Title.objects.get_or_create(
            source=ref.source, source_id=ref.source_id, defaults={"name": f"{ref.source}:{ref.source_id}"[:500]}
        )
        try:
            with transaction.atomic():
                follow, new = Follow.objects.get_or_create(
                    user=user, title=title, defaults={"progress_on_import": "" if title.fetched else where}
                )
        except IntegrityError:  # the same reader's second tab, a moment before
            follow, new = Follow.objects.get(user=user, title=title), False
        if new and title.fetched:
            apply_where(follow, where)
            find_duplicate(follow)
        if not title.fetched:
            if title.import_error:
                Title.objects.filter(pk=title.pk).update(import_error="")  # asked again: try again
                title.import_error = ""
            queue_fetch(title)
        publish_live(user.pk, shelf_change(title.pk, state_of(title)))
    return follow, state_of(title)


def queue_fetch(title):
    if cache.add(f"batoshelf:fetching:{title.pk}", 1, FETCH_QUEUED_FOR):
        # By name: the task module imports this one.
        transaction.on_commit(
            lambda: async_task(
                "readers.tasks.fetch_for_shelf", title.pk, task_name=f"fetch title {title.pk}", group="shelf"
            )
        )


def fetched(title, error=None):
    """After the background fetch of a title some shelves wait for: apply what each reader said and
    tell their pages; or, when it failed (`error`), keep the reason and tell them that."""
    cache.delete(f"batoshelf:fetching:{title.pk}")
    with transaction.atomic():
        if error:
            Title.objects.filter(pk=title.pk, imported_at__isnull=True).update(import_error=error[:300])
        follows = list(Follow.objects.filter(title=title).select_related("title"))
        for follow in follows:
            if not error and follow.progress_on_import:
                apply_where(follow, follow.progress_on_import)
                Follow.objects.filter(pk=follow.pk).update(progress_on_import="")
                find_duplicate(follow)
            publish_live(follow.user_id, shelf_change(title.pk, "failed" if error else "ready"))


def apply_where(follow, where):
    """Set a new follow's progress from what the reader said when adding it."""
    if where == "none":
        # Nothing read: its unread count and latest chapter are the title's, counted now, not at the next check.
        _standings(follow, timezone.now()).save()
        return
    if where == "caught_up":
        move(follow, caught_up=True)
        return
    number = Decimal(where)
    highest = _index(follow).highest
    move(follow, number=min(number, highest) if highest is not None else number, check=False)


# Progress


def _standings(follow, now):
    return Standings(follow.title_id, title_chapters(follow.title_id), now, follows=Follow.objects.filter(pk=follow.pk))


def _index(follow, now=None):
    standings = _standings(follow, now or timezone.now())
    return standings.index(standings.follows[0])


def move(follow, *, number=None, chapter_id=None, read=None, caught_up=False, none=False, check=True):
    """Move a reader's progress in one of the ways the pages offer; returns (standing, last read).

    `number`: "I'm at chapter N" (ShelfError past the newest chapter the follow reads, unless `check`
    is off); `chapter_id`: "read up to here", or with `read` True/False mark that one chapter;
    `caught_up`; `none`: start over. Chapters that become read mark the reader's notifications
    about them read, and their open pages hear of it.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = Follow.objects.select_for_update().get(pk=follow.pk)
        standings = _standings(locked, now)
        row = standings.follows[0]
        index, marks = standings.index(row), dict(standings.marks[row.pk])
        last_read = row.last_read_number
        chapter = None
        if chapter_id is not None:
            chapter = index.by_pk.get(chapter_id)
            if chapter is None:
                raise ShelfError("That chapter is not one of this title's that you read.")
        if number is not None:
            # Past the newest chapter is a slip; below it, a chapter batoshelf has not stored is fine
            # (a source often lists only its recent chapters: a reader at chapter 20 of 1,100 is).
            if check and index.highest is not None and number > index.highest:
                raise ShelfError(
                    f"This title has no chapter {number.normalize():f} in the languages you read: its chapters "
                    f"go up to {index.highest.normalize():f}."
                )
            change = progress.at_number(number)
        elif chapter is not None and read is not None:
            change = progress.mark(index, chapter, bool(read), last_read, marks)
        elif chapter is not None:
            change = progress.read_up_to(index, chapter, last_read)
        elif caught_up:
            change = progress.caught_up(index)
        elif none:
            change = progress.start_over()
        else:
            raise ShelfError("Say where you are: a chapter number, a chapter, caught up, or start over.")
        before = {c.pk for c in index.chapters if index.is_read(c, last_read, marks)}
        marks = _store_move(locked, change, marks, index)
        standing = index.standing(change.last_read, marks)
        latest = standing.latest.pk if standing.latest else None
        Follow.objects.filter(pk=locked.pk).update(
            last_read_number=change.last_read, unread_count=standing.unread_count, latest_chapter_id=latest
        )
        newly_read = {c.pk for c in index.chapters if index.is_read(c, change.last_read, marks)} - before
        if newly_read:
            mark_read(
                locked.user,
                Notification.objects.filter(
                    user_id=locked.user_id, title_id=locked.title_id, chapter_id__in=newly_read
                ),
            )
        publish_live(locked.user_id, shelf_change(locked.title_id, "ready"))
    return standing, _last_read(index, change.last_read)


def _store_move(follow, change, marks, index):
    """Write a progress.Move's marks; return the follow's marks after it."""
    if change.drop_all_marks:
        ChapterMark.objects.filter(follow=follow).delete()
        marks = {}
    elif change.drop_numbered_marks:
        numbered = [pk for pk in marks if pk in index.by_pk and index.by_pk[pk].number is not None]
        ChapterMark.objects.filter(follow=follow, chapter__number__isnull=False).delete()
        marks = {pk: read for pk, read in marks.items() if pk not in numbered}
    if change.set_marks:
        ChapterMark.objects.filter(follow=follow, chapter_id__in=list(change.set_marks)).delete()
        ChapterMark.objects.bulk_create(
            [ChapterMark(follow=follow, chapter_id=pk, read=read) for pk, read in change.set_marks.items()]
        )
        marks = {**marks, **change.set_marks}
    return marks


def _last_read(index, number):
    """{"number", "chapter_id"} of where the reader is, or None."""
    if number is None:
        return None
    chapter = next((c for c in index.chapters if number in c.numbers), None)
    return {"number": f"{number.normalize():f}", "chapter_id": chapter.pk if chapter else None}


def last_read_of(follow):
    return _last_read(_index(follow), follow.last_read_number)


# What the follow reads and hears


# What each list a follow keeps is called where a reader reads why it was refused (its key, for the API).
LIST_WORDS = {
    "languages": "languages (the languages)",
    "groups_only": "groups_only (only these groups)",
    "groups_ignored": "groups_ignored (never these groups)",
    "shelves": "shelves (your shelves)",
}


def _strings(value, what, limit, length=200):
    what = LIST_WORDS.get(what, what)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ShelfError(f"{what} must be a list of names.")
    if any(len(v.strip()) > length for v in value):
        raise ShelfError(f"A name in {what} is longer than {length} characters.")
    if any(UNSHOWABLE.search(v.strip()) for v in value):
        raise ShelfError(f"A name in {what} holds a character no name shows (a control or a direction mark).")
    names = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(names) > limit:
        raise ShelfError(f"{what} can hold at most {limit} names.")
    return names


def update(follow, data):
    """Change a follow's status, shelves, languages, groups and "tell me after N unread" from `data`
    (only the keys given); ShelfError for a value that cannot be. Returns the follow, whose
    `languages_coming` says a language was chosen whose chapters the title's next check fetches."""
    fields = []
    if "status" in data:
        if data["status"] not in Status.values:
            raise ShelfError(f"status must be one of {', '.join(Status.values)}.")
        follow.status = data["status"]
        fields.append("status")
    if "languages" in data:
        languages = _strings(data["languages"], "languages", 20, 16)
        offered = set(follow.title.available_languages) or set(follow.title.chapter_languages())
        unknown = [code for code in languages if code not in offered]
        if unknown:
            raise ShelfError(f"This title has no chapters in {', '.join(unknown)}.")
        follow.languages = languages
        fields.append("languages")
    for key in ("groups_only", "groups_ignored"):
        if key in data:
            setattr(follow, key, _strings(data[key], key, MAX_GROUPS))
            fields.append(key)
    if "notify_after_unread" in data:
        value = data["notify_after_unread"]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 999:
            raise ShelfError(
                "notify_after_unread (tell me once N chapters are unread) must be a whole number from 1 to 999."
            )
        follow.notify_after_unread = value
        fields.append("notify_after_unread")
    shelves = _strings(data["shelves"], "shelves", MAX_SHELVES, 60) if "shelves" in data else None
    with transaction.atomic():
        if fields:
            follow.save(update_fields=fields)
        if shelves is not None:
            existing = {s.name: s for s in Shelf.objects.filter(user=follow.user, name__in=shelves)}
            made = [Shelf(user=follow.user, name=name) for name in shelves if name not in existing]
            Shelf.objects.bulk_create(made, ignore_conflicts=True)
            follow.shelves.set(Shelf.objects.filter(user=follow.user, name__in=shelves))
        if {"languages", "groups_only", "groups_ignored"} & set(fields):
            Standings(
                follow.title_id, title_chapters(follow.title_id), timezone.now(), Follow.objects.filter(pk=follow.pk)
            ).save()
        follow.languages_coming = "languages" in fields and sync_title_languages(follow.title)
        publish_live(follow.user_id, shelf_change(follow.title_id, state_of(follow.title)))
    return follow


def sync_title_languages(title):
    """Fetch the languages the title's followers read: theirs, and the source's default for those who
    chose none. A change is checked for at once (the next dispatch, within a minute), fetching the new
    languages' chapters and telling nobody; returns whether there was one."""
    chosen = set()
    for languages in Follow.objects.filter(title=title).values_list("languages", flat=True):
        chosen |= set(languages or title.source_object.languages([]))
    wanted = sorted(chosen)
    if not wanted or list(title.chapter_languages()) == wanted:
        return False
    Title.objects.filter(pk=title.pk).update(languages=wanted)
    CheckSchedule.objects.filter(title=title, next_check_at__gt=timezone.now()).update(next_check_at=timezone.now())
    return True


# Two follows of one series


def _plain(name):
    folded = unicodedata.normalize("NFKD", name).casefold()
    return re.sub(r"[\W_]+", "", folded)


def same_series(a, b):
    """Whether two titles on different sources are the same series: MangaDex names its MangaUpdates
    id (base 36); otherwise a name in common and the same year (or a year missing)."""
    if a.source == b.source:
        return False
    for one, other in ((a, b), (b, a)):
        if one.source == "mangadex" and other.source == "mangaupdates":
            named = (one.links or {}).get("mu", "")
            if named and id_from_base36(named.lower()) == other.source_id:
                return True
    names_a = {_plain(n) for n in [a.name, *a.other_names()]} - {""}
    names_b = {_plain(n) for n in [b.name, *b.other_names()]} - {""}
    return bool(names_a & names_b) and (a.year is None or b.year is None or a.year == b.year)


def find_duplicate(follow):
    """Notice the reader already follows this series on another source; the row then offers to keep one."""
    others = Follow.objects.filter(user_id=follow.user_id, duplicate_of__isnull=True).exclude(pk=follow.pk)
    for other in others.select_related("title").exclude(title__source=follow.title.source):
        if other.title.fetched and same_series(follow.title, other.title):
            Follow.objects.filter(pk=follow.pk).update(duplicate_of=other)
            follow.duplicate_of = other
            return other
    return None


def keep_one(follow, keep_this):
    """Of a follow and the one it duplicates, keep one and unfollow the other."""
    other = follow.duplicate_of
    if other is None:
        raise ShelfError("That title is on your shelf once.")
    with transaction.atomic():
        (other if keep_this else follow).delete()
        if keep_this:
            Follow.objects.filter(pk=follow.pk).update(duplicate_of=None)
    return follow if keep_this else other


# Moving a follow to another source


def move_elsewhere(follow, ref):
    """Follow the same series on another source instead: the new follow keeps the status, the mute, the
    shelves and the chapter number read (the title is fetched in the background if new); the old goes."""
    if (ref.source, ref.source_id) == (follow.title.source, follow.title.source_id):
        raise ShelfError("That is the same title.")
    where = f"{follow.last_read_number.normalize():f}" if follow.last_read_number is not None else "none"
    with transaction.atomic():
        moved, _ = add(follow.user, ref, where)
        Follow.objects.filter(pk=moved.pk).update(status=follow.status, muted=follow.muted)
        moved.shelves.add(*follow.shelves.all())
        follow.delete()
    moved.refresh_from_db()
    return moved
