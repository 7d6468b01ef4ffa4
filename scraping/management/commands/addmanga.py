from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from scraping.bato.errors import BatoError, InvalidTitleReference
from scraping.bato.refs import parse_title_reference
from scraping.checks import import_title
from scraping.models import SitePaused
from scraping.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Start tracking Bato titles: fetch each now with one request, store it and its chapters, "
        "schedule its checks, and make --user follow it."
    )

    def add_arguments(self, parser):
        parser.add_argument("reference", nargs="?", help="a title URL on a Bato mirror, or a bare id")
        parser.add_argument("--file", help="a file with one title URL or id per line (# starts a comment)")
        parser.add_argument("--user", help="the user name that follows the titles")

    def handle(self, *args, reference=None, file=None, user=None, **options):
        if bool(reference) == bool(file):
            raise CommandError("give either one title URL or id, or --file PATH")
        follower = self._user(user)
        if reference:
            try:
                self.stdout.write(self._add(reference, follower)[1])
            except (InvalidTitleReference, BatoError, SitePaused) as exc:
                raise CommandError(str(exc)) from None
            return
        self._add_from_file(file, follower)

    def _user(self, name):
        if not name:
            return None
        User = get_user_model()
        try:
            return User.objects.get(**{User.USERNAME_FIELD: name})
        except User.DoesNotExist:
            raise CommandError(f"there is no user {name!r}; create one with `manage.py createsuperuser`") from None

    def _add(self, reference, follower):
        """Import one title; return the ImportResult and a line that says what happened."""
        comic_id = parse_title_reference(reference, settings.BATO_MIRRORS)
        result = import_title(comic_id, user=follower)
        manga = result.manga
        followed = f"; {follower} follows it" if result.followed else ""
        if not result.created:
            return result, f"{manga.bato_id} {manga.name}: already tracked ({result.chapters} chapters){followed}"
        latest = manga.chapters.order_by("-published_at", "-pk").first()
        return result, (
            f"{manga.bato_id} {manga.name}: stored {result.chapters} chapters"
            f"{f' (latest: {latest})' if latest else ''}, next check {manga.schedule.next_check_at:%Y-%m-%d %H:%M} UTC"
            f"{followed}"
        )

    def _add_from_file(self, path, follower):
        try:
            with open(path, encoding="utf-8") as handle:
                lines = [(n, line.strip()) for n, line in enumerate(handle, 1)]
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        wanted = [(n, line) for n, line in lines if line and not line.startswith("#")]
        added = already = 0
        failures = []
        progress = ProgressBar(len(wanted), self.stderr)
        for n, line in wanted:
            try:
                result, message = self._add(line, follower)
            except (InvalidTitleReference, BatoError, SitePaused) as exc:
                failures.append((n, line, str(exc)))
                progress.step(f"line {n}: failed: {str(exc)[:80]}")
                continue
            if result.created:
                added += 1
            else:
                already += 1
            progress.step(message)
        progress.finish()
        self.stdout.write(f"{len(wanted)} title(s): {added} added, {already} already tracked, {len(failures)} failed")
        for n, line, reason in failures:
            self.stdout.write(f"  line {n} ({line}): {reason}")
        if failures:
            raise CommandError(f"{len(failures)} line(s) of {path} could not be added")
