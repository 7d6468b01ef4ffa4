"""A whole batoshelf of a given size, built with bulk inserts through the models.

The scale tests build two small ones (a size and ten times it) to hold every page's query count; the
benchmark (benchmarks/scale.py) builds S, M and L to time them. Times are laid out back from `now`:
check logs over the last LOG_DAYS days and read notifications over the last NOTIFICATION_DAYS, so a
daily prune has exactly one day to delete, and the roll-up's last days hold their share of both.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import islice

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db.models import Max

from notifications.models import Notification
from readers.models import Follow, Reader
from scraping.models import Chapter, CheckLog, CheckSchedule, Title

# One day past each retention of prune_history's defaults (90 and 180 days).
LOG_DAYS = 91
NOTIFICATION_DAYS = 181
BATCH = 2000
WORDS = ("Moon", "Sword", "Dragon", "Garden", "Tower", "Winter", "Ocean", "Empire", "Spirit", "Crown")
OUTCOMES = (CheckLog.Outcome.NO_CHANGE,) * 8 + (CheckLog.Outcome.SUCCESS, CheckLog.Outcome.FAILED)
PASSWORD = "bulk-reader-pass"


@dataclass(frozen=True)
class Size:
    titles: int
    chapters_per_title: int
    readers: int
    follows_per_reader: int
    notifications_per_reader: int
    logs_per_title: int

    def times(self, factor):
        """This size with `factor` times the rows in every table and on every reader's pages."""
        return Size(
            self.titles * factor,
            self.chapters_per_title * factor,
            self.readers * factor,
            self.follows_per_reader * factor,
            self.notifications_per_reader * factor,
            self.logs_per_title * factor,
        )


SIZES = {
    "S": Size(titles=100, chapters_per_title=200, readers=10, follows_per_reader=100, notifications_per_reader=1000,
              logs_per_title=50),
    "M": Size(titles=10_000, chapters_per_title=100, readers=1000, follows_per_reader=100,
              notifications_per_reader=1000, logs_per_title=50),
    "L": Size(titles=50_000, chapters_per_title=100, readers=5000, follows_per_reader=100,
              notifications_per_reader=2000, logs_per_title=50),
}  # fmt: skip


def title_name(n):
    return f"{WORDS[n % len(WORDS)]} {WORDS[n // len(WORDS) % len(WORDS)]} {n}"


def in_batches(rows, size=BATCH):
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def insert(model, rows):
    for batch in in_batches(rows):
        model.objects.bulk_create(batch)


def build(size, now, progress=lambda what: None):
    """Fill the (empty) database to `size`; return the user names of the readers, first the busiest."""
    progress(f"{size.titles:,} titles")
    insert(
        Title,
        (
            Title(
                source="mangadex",
                source_id=f"{n:08x}-0000-4000-8000-000000000000",
                name=title_name(n),
                alt_names=[{"name": f"タイトル {n}", "language": "ja"}],
                orig_lang="ja",
                upload_status="ongoing",
                imported_at=now - timedelta(days=400),
                first_seen_at=now - timedelta(days=400),
            )
            for n in range(size.titles)
        ),
    )
    title_ids = list(Title.objects.order_by("pk").values_list("pk", flat=True))
    insert(
        CheckSchedule,
        (CheckSchedule(title_id=pk, next_check_at=now + timedelta(hours=1 + n % 24)) for n, pk in enumerate(title_ids)),
    )

    progress(f"{size.titles * size.chapters_per_title:,} chapters")
    # A title's chapters come out weekly up to today, the newest in the last days for one title in seven.
    insert(
        Chapter,
        (
            Chapter(
                title_id=pk,
                source_id=f"{n:08x}-{c:04x}-4000-8000-000000000000",
                name=f"Chapter {c + 1}",
                number=Decimal(c + 1),
                language="en",
                published_at=now - timedelta(days=7 * (size.chapters_per_title - 1 - c) + n % 7, hours=1),
                first_seen_at=now - timedelta(days=7 * (size.chapters_per_title - 1 - c) + n % 7),
            )
            for n, pk in enumerate(title_ids)
            for c in range(size.chapters_per_title)
        ),
    )
    latest = dict(Chapter.objects.values("title_id").annotate(newest=Max("pk")).values_list("title_id", "newest"))
    for batch in in_batches(title_ids):
        Title.objects.bulk_update(
            [Title(pk=pk, chapter_count=size.chapters_per_title, latest_chapter_id=latest[pk]) for pk in batch],
            ["chapter_count", "latest_chapter"],
        )

    progress(f"{size.readers:,} readers following {size.follows_per_reader} titles each")
    password = make_password(PASSWORD)
    names = [f"reader{r}" for r in range(size.readers)]
    insert(get_user_model(), (get_user_model()(username=name, password=password) for name in names))
    user_ids = list(get_user_model().objects.filter(username__in=names).order_by("pk").values_list("pk", flat=True))
    insert(Reader, (Reader(user_id=pk) for pk in user_ids))
    followed = {
        r: [title_ids[(r * 37 + k) % len(title_ids)] for k in range(size.follows_per_reader)]
        for r in range(size.readers)
    }
    insert(
        Follow,
        (
            Follow(
                user_id=user_ids[r],
                title_id=title_id,
                last_read_number=Decimal(size.chapters_per_title - 2),
                unread_count=2,
                latest_chapter_id=latest[title_id],
            )
            for r in range(size.readers)
            for title_id in followed[r]
        ),
    )

    progress(f"{size.readers * size.notifications_per_reader:,} notifications")
    chapters_of = {}
    for title_id, chapter_id in (
        Chapter.objects.filter(title_id__in={t for ts in followed.values() for t in ts})
        .values_list("title_id", "pk")
        .iterator(chunk_size=10_000)
    ):
        chapters_of.setdefault(title_id, []).append(chapter_id)
    step = timedelta(days=NOTIFICATION_DAYS) / size.notifications_per_reader

    def notifications_of(r):
        for k in range(size.notifications_per_reader):
            title_id = followed[r][k % len(followed[r])]
            chapters = chapters_of[title_id]
            yield Notification(
                user_id=user_ids[r],
                title_id=title_id,
                chapter_id=chapters[-1 - (k // len(followed[r])) % len(chapters)],
                kind=Notification.Kind.NEW_CHAPTER,
                message=f"{title_name(r)}: new chapter",
                # All but the newest ten are read, as a reader keeps up.
                is_read=k >= 10,
                read_at=now - step * k if k >= 10 else None,
                emitted_at=now - step * k,
                created_at=now - step * k,
            )

    insert(Notification, (notification for r in range(size.readers) for notification in notifications_of(r)))

    progress(f"{size.titles * size.logs_per_title:,} check logs")
    log_step = timedelta(days=LOG_DAYS) / size.logs_per_title
    insert(
        CheckLog,
        (
            CheckLog(
                title_id=pk,
                started_at=now - log_step * k - timedelta(seconds=n % 3600),
                duration_ms=40 + (n + k) % 200,
                outcome=(outcome := OUTCOMES[(n + k) % len(OUTCOMES)]),
                chapters_seen=size.chapters_per_title,
                new_chapters=1 if outcome == CheckLog.Outcome.SUCCESS else 0,
                http_requests=2,
                http_status=503 if outcome == CheckLog.Outcome.FAILED else 200,
                error_kind="unavailable" if outcome == CheckLog.Outcome.FAILED else "",
            )
            for n, pk in enumerate(title_ids)
            for k in range(size.logs_per_title)
        ),
    )
    return names
