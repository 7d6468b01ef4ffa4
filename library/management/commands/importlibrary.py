import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from batoshelf.words import counted
from library import importing
from library.entries import LibraryRefused
from library.files import MAX_FILE_BYTES
from library.models import ImportEntry, LibraryImport
from readers.times import lasting
from scraping.sources.mangadex import list_id

Kind, Match, Outcome = LibraryImport.Kind, ImportEntry.Match, ImportEntry.Outcome


class Command(BaseCommand):
    help = (
        "Bring a reader's library in: a Mihon or Tachiyomi backup, a Kenmei CSV, a batoshelf export or a text "
        "file of titles' addresses (told apart by their content), anilist:USERNAME, mal:USERNAME, or a MangaDex "
        "list's address. Without --yes it prints what it found and follows nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="FROM", help="a file, anilist:NAME, mal:NAME or a MangaDex list URL")
        parser.add_argument("--user", required=True, help="the reader whose shelf it goes on")
        parser.add_argument("--yes", action="store_true", help="follow what was found (else only show it)")
        parser.add_argument(
            "--accept-uncertain",
            action="store_true",
            help="with --yes, also follow the best guess for titles found by name only",
        )

    def handle(self, *args, source, user, yes=False, accept_uncertain=False, **options):
        reader = self._reader(user)
        try:
            library_import = self._start(reader, source)
            if library_import.kind == Kind.FILE:
                importing.match_library(library_import.pk, say=self._progress("finding the titles"), in_turns=False)
            else:
                importing.read_list(library_import.pk, say=self._progress("finding the titles"), in_turns=False)
        except LibraryRefused as refused:
            raise CommandError(str(refused)) from None
        library_import.refresh_from_db()
        if library_import.state == LibraryImport.State.FAILED:
            library_import.delete()
            raise CommandError(library_import.error)
        self._preview(library_import)
        if not yes:
            library_import.delete()
            self.stdout.write("Nothing was followed: run again with --yes to follow what was found.")
            return
        importing.confirm(library_import, accept_uncertain=accept_uncertain, queue=False)
        importing.import_library(library_import.pk, say=self._progress("adding to the shelf"), in_turns=False)
        library_import.refresh_from_db()
        outcomes = importing.outcome_counts(library_import)
        fetching = lasting(importing.estimate(library_import)["importing"])
        self.stdout.write(
            "Done: " + ", ".join(f"{n} {Outcome(o).label}" for o, n in outcomes.items() if n) + "."
            f" The titles batoshelf did not have yet are fetched by the cluster ({fetching})."
        )
        for entry in library_import.entries.filter(outcome=Outcome.FAILED):
            self.stdout.write(f"  failed: {entry.name}: {entry.error}")
        if outcomes[Outcome.FAILED] or outcomes[Outcome.SKIPPED]:
            raise SystemExit(1)

    def _reader(self, name):
        User = get_user_model()
        try:
            return User.objects.get(**{User.USERNAME_FIELD: name})
        except User.DoesNotExist:
            raise CommandError(f"there is no user {name!r}") from None

    def _start(self, reader, source):
        kind, _, name = source.partition(":")
        if kind in ("anilist", "mal") and name and not name.startswith("//"):
            return importing.start_list(reader, Kind.ANILIST if kind == "anilist" else Kind.MAL, name, queue=False)
        if list_id(source):
            return importing.start_list(reader, Kind.MANGADEX_LIST, source, queue=False)
        try:
            if os.path.getsize(source) > MAX_FILE_BYTES:
                raise CommandError(f"{source} is larger than {MAX_FILE_BYTES // 2**20} MB; a library file is smaller")
            with open(source, "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise CommandError(f"cannot read {source}: {error.strerror}") from None
        return importing.start_file(reader, os.path.basename(source), content, queue=False)

    def _progress(self, doing):
        def say(library_import):
            self.stderr.write(f"{doing}: {library_import.done}/{library_import.total}")

        return say

    def _preview(self, library_import):
        counts = importing.counts(library_import)
        self.stdout.write(
            f"{library_import.described}: {counted(library_import.total, 'title')}; "
            + ", ".join(f"{n} {Match(m).label}" for m, n in counts.items() if n and m != Match.WAITING)
        )
        for entry in library_import.entries.all():
            if entry.match == Match.UNCERTAIN:
                guesses = "; ".join(f"{c['name']} ({c['source']}:{c['source_id']})" for c in entry.candidates[:3])
                self.stdout.write(f"  uncertain: {entry.name} → maybe {guesses}")
            elif entry.match == Match.NOT_FOUND:
                self.stdout.write(f"  not found: {entry.name} ({entry.tried})")
            elif entry.match == Match.ALREADY:
                self.stdout.write(f"  already on the shelf: {entry.name}")
            else:
                self.stdout.write(f"  found: {entry.name} → {entry.source}:{entry.source_id}")
