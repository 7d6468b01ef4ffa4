import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from scraping.bato.errors import InvalidTitleReference
from scraping.bato.refs import parse_title_reference
from scraping import site
from scraping.checks import check_manga
from scraping.models import CheckSchedule, Manga, ScrapeLog, SiteState

CYCLE_SECONDS = 60


class Command(BaseCommand):
    help = (
        "Check due titles for new chapters, here and now, without the task queue: one cycle with "
        "--once, else a cycle every minute until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one cycle and exit")
        parser.add_argument("--manga", help="check only this title (Bato id or URL)")
        parser.add_argument("--force", action="store_true", help="check even titles that are not due")
        parser.add_argument("--limit", type=int, help="check at most this many titles per cycle")

    def handle(self, *args, once=False, manga=None, force=False, limit=None, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more")
        only = self._title(manga) if manga else None
        while True:
            self.cycle(only=only, force=force, limit=limit)
            if once:
                return
            try:
                time.sleep(CYCLE_SECONDS)
            except KeyboardInterrupt:
                return

    def _title(self, reference):
        try:
            bato_id = parse_title_reference(reference, settings.BATO_MIRRORS)
        except InvalidTitleReference as exc:
            raise CommandError(str(exc)) from None
        title = Manga.objects.select_related("schedule").filter(bato_id=bato_id).first()
        if title is None:
            raise CommandError(f"title {bato_id} is not tracked; add it with `manage.py addmanga {bato_id}`")
        return title

    def cycle(self, *, only=None, force=False, limit=None):
        now = timezone.now()
        self.stdout.write(site.describe_status(site.status(site.clock.now())))
        paused = SiteState.active_pause(site.clock.now())
        if paused:
            self.stdout.write(f"{paused}; nothing checked")
            return
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
        counts = {outcome: 0 for outcome in ScrapeLog.Outcome.values}
        new_chapters = 0
        for title in titles:
            result = check_manga(title)
            counts[result.log.outcome] += 1
            new_chapters += result.log.new_chapters
            self.stdout.write(result.describe())
            stopped = SiteState.active_pause(site.clock.now())
            if stopped:
                self.stdout.write(f"{stopped}; the rest waits for a later cycle")
                break
        self.stdout.write(
            f"checked {sum(counts.values())}: {counts['success']} with {new_chapters} new chapter(s), "
            f"{counts['no_change']} unchanged, {counts['failed']} failed, {counts['skipped']} skipped"
        )

    def _titles(self, now, *, only, force, limit):
        if only is not None:
            return [only] if force or (only.schedule.next_check_at <= now and not only.schedule.paused) else []
        schedules = CheckSchedule.objects.all() if force else CheckSchedule.objects.due(now)
        schedules = schedules.select_related("manga").order_by("-priority", "next_check_at")
        return [s.manga for s in schedules[:limit]] if limit else [s.manga for s in schedules]
