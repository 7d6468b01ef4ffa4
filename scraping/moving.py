"""Moving a title off a source with every follower: import the new one quietly, bring them all.

Staff do it from the admin (in the background, told when it is done), operators with
`manage.py movetitle`. The old title is paused with a note saying where it went; its chapters and
history stay. A reader moves only their own follow, from the shelf (readers.shelf.move_elsewhere).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from batoshelf.words import counted
from notifications.delivery import publish_on_commit
from notifications.models import Notification
from readers.models import ChapterMark, Follow
from readers.standing import recount, title_chapters
from scraping.checking.pipeline import import_title
from scraping.gate.keeper import SourcePaused
from scraping.models import CheckSchedule, SourceState, Title
from scraping.sources import parse_reference
from scraping.sources.errors import SourceError

# A source whose breaker has stayed open this long is offered as one to move away from.
DOWN_LONG = timedelta(days=7)


class CannotMove(ValueError):
    """Why a title cannot move where it was asked to."""


@dataclass
class MoveResult:
    old: object
    new: object
    moved: int  # follows that now point at the new title
    merged: int  # followers who already followed the new title


def move_title(old, ref, *, by=None):
    """Move every follower of `old` to the title `ref` names (imported quietly if new), keeping their mutes;
    pause `old` with a note saying where it went; tell the followers who did not do it themselves.

    Raises CannotMove, or SourceError / SourcePaused when the new title cannot be fetched (nothing changes then).
    """
    if (ref.source, ref.source_id) == (old.source, old.source_id):
        raise CannotMove("That is the same title.")
    if old.moved_to_id:
        raise CannotMove(f"{old.name} already moved to {old.moved_to}; move that one instead.")
    new = import_title(ref).title
    if new.moved_to_id:
        raise CannotMove(f"{new} itself moved to {new.moved_to}; choose that one.")
    now = timezone.now()
    where = f"{new.source_object.display_name} ({new.reference})"
    with transaction.atomic():
        follows = list(Follow.objects.select_for_update().filter(title=old))
        users = [f.user_id for f in follows]
        already = set(Follow.objects.filter(title=new, user_id__in=users).values_list("user_id", flat=True))
        ChapterMark.objects.filter(follow__title=old).delete()  # marks on the old title's chapters mean nothing there
        Follow.objects.filter(title=old).exclude(user_id__in=already).update(title=new)
        Follow.objects.filter(title=old, user_id__in=already).delete()
        old.moved_to = new
        old.save(update_fields=["moved_to"])
        CheckSchedule.objects.filter(title=old).update(
            paused=True,
            reason=f"moved to {where}; its followers follow it there"[:200],
        )
        publish_on_commit(
            Notification.objects.create_for_move(
                old,
                new,
                [user for user in users if not by or user != by.pk],
                now,
                by=by,
            )
        )
        recount(new.pk, title_chapters(new.pk), now)  # the followers' progress, counted on the new title
    return MoveResult(old=old, new=new, moved=len(users) - len(already), merged=len(already))


def move_title_task(old_id, reference, by_id):
    """Staff's move, in the background: the one who asked is told how it went, as any notification."""
    old = Title.objects.filter(pk=old_id).first()
    by = get_user_model().objects.filter(pk=by_id).first()
    if old is None or by is None:
        return f"title {old_id} or user {by_id} is gone"
    try:
        result = move_title(old, parse_reference(reference), by=by)
    except (CannotMove, SourceError, SourcePaused) as error:
        told = f"{old.name} did not move to {reference}: {getattr(error, 'message', str(error))}"
    else:
        told = (
            f"{old.name} moved to {result.new.source_object.display_name} as {result.new.name}: "
            f"{counted(result.moved + result.merged, 'follower')} follow it there; the old title is no longer checked."
        )
    publish_on_commit(Notification.objects.create_for_staff_member(by, told, timezone.now(), title=old))
    return told


def sources_down_long(now):
    """{source name: since when} for each source whose breaker has stayed open for DOWN_LONG or more."""
    return {
        name: state.breaker_opened_at
        for name, state in SourceState.all_sources().items()
        if (state.down_for(now) or timedelta(0)) >= DOWN_LONG
    }
