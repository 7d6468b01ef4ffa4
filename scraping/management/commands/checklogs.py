from django.core.management.base import BaseCommand, CommandError

from scraping.management.columns import fit
from scraping.management.titles import tracked_title
from scraping.models import CheckLog


class Command(BaseCommand):
    help = "Recent checks at a glance, newest first."

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true", help="only checks that failed")
        parser.add_argument("--limit", type=int, default=20, help="how many (1-1000, default 20)")
        parser.add_argument(
            "--title", dest="reference", metavar="TITLE", help="only this title (its URL, id or source:id)"
        )

    def handle(self, *args, failed, limit, reference, **options):
        if not 1 <= limit <= 1000:
            raise CommandError(f"--limit must be between 1 and 1000, not {limit}")
        title = tracked_title(reference) if reference else None
        if title is not None:
            self.stdout.write(f"title: {title.name} ({title.reference})")
        logs = CheckLog.objects.recent(
            outcome=CheckLog.Outcome.FAILED if failed else None, title_id=title.pk if title else None
        )
        rows = list(logs[:limit])
        if not rows:
            self.stdout.write("no checks match")
            return
        self.stdout.write(
            f"{'started (UTC)':<19}  {fit('title', 30)}  {fit('source:id', 45)}  {'outcome':<9}  "
            f"{'new':>4}  {'ms':>6}  detail"
        )
        for log in rows:
            detail = " ".join(
                filter(
                    None,
                    [
                        f"HTTP {log.http_status}" if log.http_status else "",
                        log.error_kind,
                        log.message.replace("\n", " "),
                    ],
                )
            )
            self.stdout.write(
                f"{log.started_at:%Y-%m-%d %H:%M:%S}  {fit(log.title.name, 30)}  {fit(log.title.reference, 45)}  "
                f"{log.outcome:<9}  {log.new_chapters:>4}  {log.duration_ms:>6}  {detail[:80]}"
            )
