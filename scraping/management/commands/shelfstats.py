from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone

from scraping.management.titles import tracked_title
from scraping.models import DailyStats, JobConfig, TitleDailyStats


class Command(BaseCommand):
    help = "A summary of the last days from the statistics rollups (kept after the raw logs are pruned)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="how many days back, today included (1-3650)")
        parser.add_argument("--manga", metavar="TITLE", help="releases and checks of one title by day "
                                                            "(its URL, id or source:id)")

    def handle(self, *args, days, manga, **options):
        if not 1 <= days <= 3650:
            raise CommandError(f"--days must be between 1 and 3650, not {days}")
        since = timezone.now().date() - timedelta(days=days - 1)
        rolled = JobConfig.objects.filter(job_type="roll_up_statistics").values_list("last_success_at", flat=True)
        last = rolled.first()
        self.stdout.write(f"last rollup: {last:%Y-%m-%d %H:%M} UTC" if last else
                          "last rollup: never (manage.py runjob roll_up_statistics makes one now)")
        if manga is not None:
            return self._title(tracked_title(manga), since)
        rows = list(DailyStats.objects.filter(day__gte=since).order_by("day"))
        if not rows:
            self.stdout.write(f"no statistics since {since}")
            return
        self.stdout.write(f"{'day':<10}  {'checks':>7}  {'failed':>7}  {'error %':>7}  {'new ch.':>7}  {'mean ms':>7}")
        for row in rows:
            rate = 100 * row.failures / row.checks if row.checks else 0
            self.stdout.write(f"{row.day}  {row.checks:>7}  {row.failures:>7}  {rate:>6.1f}%  {row.new_chapters:>7}  "
                              f"{row.mean_duration_ms:>7}")
        checks = sum(r.checks for r in rows)
        failures = sum(r.failures for r in rows)
        mean = sum(r.mean_duration_ms * r.checks for r in rows) / checks if checks else 0
        self.stdout.write(
            f"{'total':<10}  {checks:>7}  {failures:>7}  {100 * failures / checks if checks else 0:>6.1f}%  "
            f"{sum(r.new_chapters for r in rows):>7}  {mean:>7.0f}"
        )

    def _title(self, title, since):
        rows = TitleDailyStats.objects.filter(manga=title, day__gte=since).order_by("day")
        self.stdout.write(f"{title}")
        for row in rows:
            self.stdout.write(f"{row.day}  {row.releases:>3} release(s)  {row.checks:>3} check(s)")
        totals = rows.aggregate(releases=Sum("releases"), checks=Sum("checks"))
        self.stdout.write(f"total: {totals['releases'] or 0} release(s) in {totals['checks'] or 0} check(s) since {since}")
