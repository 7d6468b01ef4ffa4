from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from batoshelf.words import counted
from readers.models import Follow
from readers.shelf import ShelfError, apply_where, parse_progress
from scraping.checking.pipeline import import_title
from scraping.gate.keeper import SourcePaused
from scraping.management.progress import ProgressBar
from scraping.management.titles import reference
from scraping.models import CHAPTER_LANGUAGE
from scraping.sources import ACCEPTED, reference_lines
from scraping.sources.errors import SourceError


class Command(BaseCommand):
    help = (
        "Start tracking titles on MangaDex, MangaUpdates or Bato: fetch each now, store it and its chapters, "
        "schedule its checks, and make --user follow it."
    )

    def add_arguments(self, parser):
        parser.add_argument("reference", nargs="?", help=f"the title: {ACCEPTED}")
        parser.add_argument("--file", help="a file with one title per line (# starts a comment)")
        parser.add_argument("--user", help="the user name that follows the titles")
        parser.add_argument(
            "--languages", help="chapter languages to follow on MangaDex, e.g. en,pt-br (default: MANGADEX_LANGUAGES)"
        )
        parser.add_argument(
            "--at",
            default="none",
            help="where --user is in it: none (new to it, the default), caught_up, or a chapter number",
        )

    def handle(self, *args, reference=None, file=None, user=None, languages=None, at="none", **options):
        if bool(reference) == bool(file):
            raise CommandError("give either one title URL or id, or --file PATH")
        follower = self._user(user)
        chosen = self._languages(languages)
        try:
            self.where = parse_progress(at)
        except ShelfError as error:
            raise CommandError(f"--at: {error}") from None
        if reference:
            try:
                self.stdout.write(self._add(reference, follower, chosen)[1])
            except (SourceError, SourcePaused) as exc:
                raise CommandError(getattr(exc, "message", str(exc))) from None
            return
        self._add_from_file(file, follower, chosen)

    def _user(self, name):
        if not name:
            return None
        User = get_user_model()
        try:
            return User.objects.get(**{User.USERNAME_FIELD: name})
        except User.DoesNotExist:
            raise CommandError(f"there is no user {name!r}; create one with `manage.py createsuperuser`") from None

    @staticmethod
    def _languages(text):
        if not text:
            return None
        codes = [code.strip() for code in text.split(",") if code.strip()]
        wrong = [code for code in codes if not CHAPTER_LANGUAGE.match(code)]
        if wrong or not codes:
            raise CommandError(f"--languages takes codes such as en,pt-br,es-la, not {text!r}")
        return codes

    def _add(self, text, follower, languages):
        """Import one title; return the ImportResult and a line that says what happened."""
        result = import_title(reference(text), user=follower, languages=languages)
        title = result.title
        if result.followed and self.where != "none":
            apply_where(Follow.objects.get(user=follower, title=title), self.where)
        followed = f"; {follower} follows it" if result.followed else ""
        head = f"{title.reference} {title.name} ({title.source_object.display_name})"
        if not result.created:
            return result, f"{head}: already tracked ({result.chapters} chapters){followed}"
        latest = title.chapters.order_by("-published_at", "-pk").first()
        return result, (
            f"{head}: stored {result.chapters} chapters"
            f"{f' (latest: {latest})' if latest else ''}, next check {title.schedule.next_check_at:%Y-%m-%d %H:%M} UTC"
            f"{followed}"
        )

    def _add_from_file(self, path, follower, languages):
        try:
            with open(path, encoding="utf-8") as handle:
                wanted = list(reference_lines(handle.read()))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"cannot read {path}: it is not UTF-8 text") from None
        added = already = 0
        failures = []
        progress = ProgressBar(len(wanted), self.stderr)
        for n, line in wanted:
            try:
                result, message = self._add(line, follower, languages)
            except (CommandError, SourceError, SourcePaused) as exc:
                reason = getattr(exc, "message", str(exc))
                failures.append((n, line, reason))
                progress.step(f"line {n}: failed: {reason[:80]}")
                continue
            if result.created:
                added += 1
            else:
                already += 1
            progress.step(message)
        progress.finish()
        self.stdout.write(
            f"{counted(len(wanted), 'title')}: {added} added, {already} already tracked, {len(failures)} failed"
        )
        for n, line, reason in failures:
            self.stdout.write(f"  line {n} ({line}): {reason}")
        if failures:
            raise CommandError(f"{counted(len(failures), 'line')} of {path} could not be added")
