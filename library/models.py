"""A reader's library being brought in: the import, and each of its entries with what it was matched to."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class LibraryImport(models.Model):
    """One library brought in by one reader: read, matched, shown to them, then followed on confirmation."""

    class Kind(models.TextChoices):
        FILE = "file", "a file"
        ANILIST = "anilist", "an AniList list"
        MAL = "mal", "a MyAnimeList list"
        MANGADEX_LIST = "mangadex_list", "a MangaDex list"

    class State(models.TextChoices):
        READING = "reading", "reading the list"
        MATCHING = "matching", "finding the titles"
        PREVIEW = "preview", "waiting for you to confirm"
        IMPORTING = "importing", "adding to your shelf"
        STOPPING = "stopping", "stopping"
        DONE = "done", "done"
        STOPPED = "stopped", "stopped"
        FAILED = "failed", "could not be read"

    FINISHED = (State.DONE, State.STOPPED, State.FAILED)
    UNDER_WAY = (State.READING, State.MATCHING, State.IMPORTING, State.STOPPING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_imports")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    origin = models.CharField(max_length=300, help_text="The file's name, the user name or the list's address.")
    described = models.CharField(max_length=60, blank=True, help_text="What the file turned out to be.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.READING)
    error = models.CharField(max_length=300, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0, help_text="Entries matched, or imported, so far.")
    keep_my_settings = models.BooleanField(
        default=True, help_text="A title already on the shelf keeps its status, shelves and progress."
    )
    requests = models.PositiveIntegerField(default=0, help_text="Requests to the sources and trackers so far.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} from {self.origin}"

    @property
    def finished(self):
        return self.state in self.FINISHED


class ImportEntry(models.Model):
    """One title of an imported library: what the library said of it, and what batoshelf found."""

    class Match(models.TextChoices):
        WAITING = "waiting", "not looked for yet"
        MATCHED = "matched", "found"
        UNCERTAIN = "uncertain", "found by name only"
        NOT_FOUND = "not_found", "not found"
        ALREADY = "already", "already on your shelf"

    class Outcome(models.TextChoices):
        PENDING = "", "not imported yet"
        IMPORTED = "imported", "imported"
        KEPT = "kept", "already on the shelf: kept"
        UPDATED = "updated", "already on the shelf: updated"
        SKIPPED = "skipped", "skipped"
        FAILED = "failed", "failed"

    library_import = models.ForeignKey(LibraryImport, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=500, blank=True)
    # What the library said: Entry's fields as JSON (names, refs, links, year, status, progress, ...).
    given = models.JSONField(default=dict)
    match = models.CharField(max_length=10, choices=Match.choices, default=Match.WAITING)
    # The title chosen to follow (a confident match, or the candidate the reader confirmed).
    source = models.CharField(max_length=16, blank=True)
    source_id = models.CharField(max_length=600, blank=True)
    candidates = models.JSONField(default=list, blank=True, help_text="For a match by name: the titles found.")
    tried = models.CharField(max_length=300, blank=True, help_text="What was looked for, for one not found.")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default=Outcome.PENDING)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "import entries"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["library_import", "position"], name="one_entry_per_import_position")
        ]
        indexes = [models.Index(fields=["library_import", "match"])]

    def __str__(self):
        return self.name or f"entry {self.position}"

    @property
    def chosen(self):
        return bool(self.source and self.source_id)
