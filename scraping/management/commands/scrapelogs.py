from django.core.management.base import BaseCommand, CommandError

from scraping.models import Manga, ScrapeLog


class Command(BaseCommand):
    help = "Recent checks at a glance, newest first."

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true", help="only checks that failed")
        parser.add_argument("--limit", type=int, default=20, help="how many (1-1000, default 20)")
        parser.add_argument("--manga", type=int, metavar="ID", help="only this title (its id in batoshelf)")

    def handle(self, *args, failed, limit, manga, **options):
        if not 1 <= limit <= 1000:
            raise CommandError(f"--limit must be between 1 and 1000, not {limit}")
        if manga is not None and not Manga.objects.filter(pk=manga).exists():
            raise CommandError(f"no title with id {manga} (the admin and /api/manga/<id>/ use these ids)")
        logs = ScrapeLog.objects.recent(outcome=ScrapeLog.Outcome.FAILED if failed else None, manga_id=manga)
        rows = list(logs[:limit])
        if not rows:
            self.stdout.write("no checks match")
            return
        self.stdout.write(f"{'started (UTC)':<19}  {'title':<32}  {'outcome':<9}  {'new':>4}  {'ms':>6}  detail")
        for log in rows:
            title = f"{log.manga.name} ({log.manga_id})"
            detail = " ".join(filter(None, [
                f"HTTP {log.http_status}" if log.http_status else "", log.error_kind, log.message.replace("\n", " "),
            ]))
            self.stdout.write(
                f"{log.started_at:%Y-%m-%d %H:%M:%S}  {title[:32]:<32}  {log.outcome:<9}  {log.new_chapters:>4}  "
                f"{log.duration_ms:>6}  {detail[:80]}"
            )
