"""Every follow's standing in its title (unread count, newest chapter), kept current in the same
transaction as what changes it, and who a check tells of what. The database side of readers.progress.

The check pipeline calls `recount` and `to_tell` with the chapters it already read, so a check costs
the same few queries however many readers follow the title.
"""

from collections import defaultdict

from django.db import connection

from readers.models import ChapterMark, Follow
from readers.progress import ChapterFacts, ChapterIndex, Reads

# What a follow's standing needs of it, read as plain rows.
FOLLOW_FIELDS = (
    "pk",
    "user_id",
    "muted",
    "status",
    "languages",
    "groups_only",
    "groups_ignored",
    "notify_after_unread",
    "last_read_number",
    "unread_count",
    "latest_chapter_id",
)
CHAPTER_FIELDS = ("pk", "number", "number_from", "language", "groups", "available", "published_at")


def facts(row):
    """ChapterFacts of a Chapter, or of a row with its CHAPTER_FIELDS."""
    return ChapterFacts(
        pk=row.pk,
        number=row.number,
        number_from=row.number_from,
        language=row.language,
        groups=tuple(row.groups or ()),
        available=row.available,
        published_at=row.published_at,
    )


def reads_of(follow):
    return Reads.of(follow.languages or (), follow.groups_only or (), follow.groups_ignored or ())


def title_chapters(title_id):
    """Every chapter of a title as ChapterFacts, in one query."""
    from scraping.models import Chapter

    return [facts(row) for row in Chapter.objects.filter(title_id=title_id).values_list(*CHAPTER_FIELDS, named=True)]


class Standings:
    """The follows of one title with their marks and the chapters each reads, read in two queries."""

    def __init__(self, title_id, chapters, now, follows=None):
        query = Follow.objects.filter(title_id=title_id) if follows is None else follows
        self.follows = list(query.values_list(*FOLLOW_FIELDS, named=True))
        self.marks = defaultdict(dict)
        if self.follows:
            for follow_id, chapter_id, read in ChapterMark.objects.filter(
                follow_id__in=[f.pk for f in self.follows]
            ).values_list("follow_id", "chapter_id", "read"):
                self.marks[follow_id][chapter_id] = read
        self.chapters = list(chapters)
        self.now = now
        self._indexes = {}

    def index(self, follow):
        """The ChapterIndex of this follow's filters, built once for all follows that share them."""
        reads = reads_of(follow)
        if reads not in self._indexes:
            self._indexes[reads] = ChapterIndex.build(self.chapters, reads, self.now)
        return self._indexes[reads]

    def standing(self, follow):
        return self.index(follow).standing(follow.last_read_number, self.marks[follow.pk])

    def save(self):
        """Store each follow's unread count and newest chapter where they changed; {follow pk: Standing}."""
        changed, standings = [], {}
        for follow in self.follows:
            standing = standings[follow.pk] = self.standing(follow)
            latest_id = standing.latest.pk if standing.latest else None
            if (standing.unread_count, latest_id) != (follow.unread_count, follow.latest_chapter_id):
                changed.append((follow.pk, standing.unread_count, latest_id))
        store_standings(changed)
        return standings


# Follows one UPDATE writes at most: 5 parameters each, well inside both databases' limits.
UPDATE_BATCH = 1000


def store_standings(changed):
    """Write [(follow pk, unread count, latest chapter pk)] in one UPDATE per UPDATE_BATCH follows. Django's
    bulk_update builds an expression per row: 0.6 s of Python for the thousand followers of one check."""
    table = connection.ops.quote_name(Follow._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(changed), UPDATE_BATCH):
            batch = changed[start : start + UPDATE_BATCH]
            cases = " ".join("WHEN %s THEN %s" for _ in batch)
            cursor.execute(
                f"UPDATE {table} SET unread_count = CASE id {cases} END, latest_chapter_id = CASE id {cases} END "
                f"WHERE id IN ({', '.join('%s' for _ in batch)})",
                [value for pk, unread, _ in batch for value in (pk, unread)]
                + [value for pk, _, latest in batch for value in (pk, latest)]
                + [pk for pk, _, _ in batch],
            )


def recount(title_id, chapters, now):
    """Recount every follow of a title from its chapters (ChapterFacts); the Standings, saved."""
    standings = Standings(title_id, chapters, now)
    standings.saved = standings.save()
    return standings


def to_tell(standings, announced):
    """Who a check tells of which of the `announced` chapters (saved Chapter rows): ({user id: [chapters]},
    {user ids whose notifications wait}). Muted, dropped and completed follows hear nothing; a follow
    hears only of the chapters it reads; one that waits for N unread is recorded but not pushed."""
    told, waiting = {}, set()
    for follow in standings.follows:
        if follow.muted or follow.status in ("completed", "dropped"):
            continue
        reads = reads_of(follow)
        chapters = [c for c in announced if reads.includes(facts(c))]
        told[follow.user_id] = chapters
        if standings.saved[follow.pk].unread_count < follow.notify_after_unread:
            waiting.add(follow.user_id)
    return told, waiting
