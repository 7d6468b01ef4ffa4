from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from batoshelf.words import counted
from scraping.checking.jobs import title_days
from scraping.management.titles import tracked_title
from scraping.models import Chapter, CheckLog, DailyStats, JobConfig, TitleDailyStats


class Command(BaseCommand):
    help = (
        "A summary of the last days: past days from the statistics rollups (kept after the raw logs are "
        "pruned), today counted live."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="how many days back, today included (1-3650)")
        parser.add_argument(
            "--title",
            dest="reference",
            metavar="TITLE",
            help="releases and checks of one title by day (its URL, id or source:id)",
        )

    def handle(self, *args, days, reference, **options):
        if not 1 <= days <= 3650:
            raise CommandError(f"--days must be between 1 and 3650, not {days}")
        today = timezone.now().date()
        since = today - timedelta(days=days - 1)
        rolled = JobConfig.objects.filter(job_type="roll_up_statistics").values_list("last_success_at", flat=True)
        last = rolled.first()
        self.stdout.write(
            (f"last rollup: {last:%Y-%m-%d %H:%M} UTC" if last else "last rollup: never") + "; today is counted live"
        )
        if reference is not None:
            return self._title(tracked_title(reference), since, today)
        rows = [
            {
                "day": row.day,
                "checks": row.checks,
                "failures": row.failures,
                "new_chapters": row.new_chapters,
                "mean_duration_ms": row.mean_duration_ms,
            }
            for row in DailyStats.objects.filter(day__gte=since, day__lt=today).order_by("day")
        ]
        rows += [
            {**row, "new_chapters": row["new_chapters"] or 0, "mean_duration_ms": round(row["mean_duration_ms"])}
            for row in CheckLog.objects.filter(started_at__date=today).per_day()
        ]
        if not rows:
            self.stdout.write(f"no checks since {since}")
            return
        self.stdout.write(f"{'day':<10}  {'checks':>7}  {'failed':>7}  {'error %':>7}  {'new ch.':>7}  {'mean ms':>7}")
        for row in rows:
            rate = 100 * row["failures"] / row["checks"] if row["checks"] else 0
            self.stdout.write(
                f"{row['day']}  {row['checks']:>7}  {row['failures']:>7}  {rate:>6.1f}%  "
                f"{row['new_chapters']:>7}  {row['mean_duration_ms']:>7}"
            )
        checks = sum(r["checks"] for r in rows)
        failures = sum(r["failures"] for r in rows)
        mean = sum(r["mean_duration_ms"] * r["checks"] for r in rows) / checks if checks else 0
        self.stdout.write(
            f"{'total':<10}  {checks:>7}  {failures:>7}  {100 * failures / checks if checks else 0:>6.1f}%  "
            f"{sum(r['new_chapters'] for r in rows):>7}  {mean:>7.0f}"
        )
        self.stdout.write("new ch. counts chapters found by checks; chapters an import stored are not new")

    def _title(self, title, since, today):
        # Releases come from the chapters themselves (never pruned); checks from the rollups, and today's live.
        tallies = title_days(
            CheckLog.objects.filter(title=title, started_at__date=today),
            Chapter.objects.filter(title=title, published_at__date__gte=since),
        )
        rows = {day: [counts["releases"], counts["checks"]] for (_, day), counts in tallies.items()}
        for row in TitleDailyStats.objects.filter(title=title, day__gte=since, day__lt=today):
            rows.setdefault(row.day, [0, 0])[1] = row.checks
        self.stdout.write(f"{title}")
        for day, (releases, checks) in sorted(rows.items()):
            self.stdout.write(f"{day}  {counted(releases, 'release'):>12}  {counted(checks, 'check'):>10}")
        self.stdout.write(
            f"total: {counted(sum(r for r, _ in rows.values()), 'release')} in "
            f"{counted(sum(c for _, c in rows.values()), 'check')} since {since}"
        )
