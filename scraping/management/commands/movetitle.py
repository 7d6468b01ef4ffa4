from django.core.management.base import BaseCommand, CommandError

from batoshelf.words import counted
from scraping.gate.keeper import SourcePaused
from scraping.management.titles import reference, tracked_title
from scraping.moving import CannotMove, move_title
from scraping.sources import ACCEPTED
from scraping.sources.errors import SourceError


class Command(BaseCommand):
    help = (
        "Move a title to another source: fetch the new title (telling nobody of its chapters), move every "
        "follower there keeping their mutes, and pause the old one with a note saying where it went."
    )

    def add_arguments(self, parser):
        parser.add_argument("old", help="the tracked title to move away from (its URL, id or source:id)")
        parser.add_argument("new", help=f"where it continues: {ACCEPTED}")

    def handle(self, *args, old, new, **options):
        title = tracked_title(old)
        self.stdout.write(f"moving {title.name} ({title.reference})")
        try:
            result = move_title(title, reference(new))
        except CannotMove as error:
            raise CommandError(str(error)) from None
        except (SourceError, SourcePaused) as error:
            raise CommandError(f"could not fetch {new}: {getattr(error, 'message', str(error))}") from None
        self.stdout.write(
            f"moved to {result.new.name} ({result.new.reference}): {counted(result.moved, 'follower')} moved, "
            f"{result.merged} already followed it; {title.reference} is paused"
        )
