"""Moving a title off a source: find it on the live ones, import it quietly, bring its followers.

Followers do it from the shelf, staff from the admin, operators with
`manage.py movetitle`. The old title is paused with a note saying where it
went; its chapters and history stay.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from notifications.delivery import publish_on_commit
from notifications.models import Follow, Notification
from scraping import sources
from scraping.checking.pipeline import import_title
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.models import CheckSchedule, SourceState
from scraping.sources.errors import SourceError

CANDIDATES_PER_SOURCE = 5
# A search is kept this long, so reloading the page asks the sources nothing.
SEARCH_KEPT = 600
# A source whose breaker has stayed open this long is offered as one to move away from.
DOWN_LONG = timedelta(days=7)


@dataclass
class Search:
    """What one source found for a title."""

    source: object
    candidates: list = field(default_factory=list)
    error: str = ""


def find_elsewhere(title):
    """Search every live source but the title's own for it: by its name, then by up to two other names
    while nothing is found. Each search takes its turn at the source's gate, ahead of routine checks."""
    key = f"batoshelf:candidates:{title.pk}"
    found = cache.get(key)
    if found is None:
        found = [
            _search(source, [title.name, *title.other_names()[:2]])
            for source in sources.searchable()
            if source.name != title.source
        ]
        cache.set(key, found, SEARCH_KEPT)
    return found


def _search(source, names):
    for name in names:
        try:
            candidates = source.search(keeper.Requests(source.name, priority=True), name, CANDIDATES_PER_SOURCE)
        except (SourceError, SourcePaused) as problem:
            return Search(source, error=getattr(problem, "message", str(problem)))
        if candidates:
            return Search(source, candidates)
    return Search(source)


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
    cache.delete(f"batoshelf:candidates:{old.pk}")
    return MoveResult(old=old, new=new, moved=len(users) - len(already), merged=len(already))


def sources_down_long(now):
    """{source name: since when} for each source whose breaker has stayed open for DOWN_LONG or more."""
    return {
        name: state.breaker_opened_at
        for name, state in SourceState.all_sources().items()
        if (state.down_for(now) or timedelta(0)) >= DOWN_LONG
    }
