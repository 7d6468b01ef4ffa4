import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from batoshelf.words import counted
from scraping.checking.pipeline import check_title
from scraping.gate import keeper
from scraping.management.titles import tracked_title
from scraping.models import CheckLog, CheckSchedule

CYCLE_SECONDS = 60


class Command(BaseCommand):
    help = (
        "Check due titles for new chapters, here and now, without the task queue: one cycle with "
        "--once, else a cycle every minute until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one cycle and exit")
        parser.add_argument(
            "--title", dest="reference", metavar="TITLE", help="check only this title (its URL, id or source:id)"
        )
        parser.add_argument("--force", action="store_true", help="check even titles that are not due")
        parser.add_argument("--limit", type=int, help="check at most this many titles per cycle")

    def handle(self, *args, once=False, reference=None, force=False, limit=None, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more")
        only = tracked_title(reference) if reference else None
        if only is not None:
            self.stdout.write(f"title: {only.name} ({only.reference})")
        while True:
            self.cycle(only=only, force=force, limit=limit)
            if once:
                return
            try:
                time.sleep(CYCLE_SECONDS)
            except KeyboardInterrupt:
                return

    def cycle(self, *, only=None, force=False, limit=None):
        now = timezone.now()
        for state in keeper.status(keeper.clock.now()):
            self.stdout.write(keeper.describe_status(state))
        titles = self._titles(now, only=only, force=force, limit=limit)
        if not titles:
            if only is None:
                self.stdout.write("no title is due")
            else:
                self.stdout.write(
                    f"{only}: not due until {only.schedule.next_check_at:%Y-%m-%d %H:%M} UTC"
                    f"{' (paused)' if only.schedule.paused else ''}; --force checks it anyway"
                )
            return
        counts = {outcome: 0 for outcome in CheckLog.Outcome.values}
        new_chapters = 0
        stopped = set()
        for title in titles:
            if title.source in stopped:
                continue
            paused = keeper.active_pause(title.source, keeper.clock.now())
            if paused:
                stopped.add(title.source)
                self.stdout.write(f"{paused}; its titles wait for a later cycle")
                continue
            result = check_title(title)
            counts[result.log.outcome] += 1
            new_chapters += result.log.new_chapters
            self.stdout.write(result.describe())
        self.stdout.write(
            f"checked {sum(counts.values())}: {counts['success']} with {counted(new_chapters, 'new chapter')}, "
            f"{counts['no_change']} unchanged, {counts['failed']} failed, {counts['skipped']} skipped"
        )

    def _titles(self, now, *, only, force, limit):
        if only is not None:
            return [only] if force or (only.schedule.next_check_at <= now and not only.schedule.paused) else []
        schedules = CheckSchedule.objects.all() if force else CheckSchedule.objects.due(now)
        schedules = schedules.select_related("title").order_by("-priority", "next_check_at")
        return [s.title for s in schedules[:limit]] if limit else [s.title for s in schedules]
