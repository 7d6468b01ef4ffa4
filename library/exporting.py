"""A reader's shelf, taken out: batoshelf's JSON (brought back in without loss) and a CSV for spreadsheets
with Kenmei's column names where Kenmei has one. Two queries, whatever the shelf's size."""

import csv
import io
import json
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from library.files import EXPORT_FORMAT, spreadsheet_cell
from readers.models import Follow, Shelf

# Our reading statuses in Kenmei's words.
KENMEI_STATUS = {"planned": "plan_to_read"}
CSV_COLUMNS = (
    "title",
    "status",
    "last_chapter_read",
    "series_url",
    "alternative_titles",
    "source",
    "source_id",
    "shelves",
    "unread_count",
    "muted",
    "languages",
    "groups_only",
    "groups_ignored",
    "notify_after_unread",
)


def _number(value):
    return None if value is None else f"{Decimal(value).normalize():f}"


def follows_of(user):
    """The reader's shelf as exported: each follow with its title, source, progress and settings."""
    follows = (
        Follow.objects.filter(user=user)
        .select_related("title")
        .prefetch_related(Prefetch("shelves", queryset=Shelf.objects.order_by("name")))
        .order_by("title__name", "pk")
    )
    return [
        {
            "source": f.title.source,
            "source_id": f.title.source_id,
            "url": f.title.source_url,
            "name": f.title.name,
            "names": [alt["name"] for alt in f.title.alt_names if isinstance(alt, dict) and alt.get("name")],
            "status": f.status,
            "shelves": [s.name for s in f.shelves.all()],
            "last_read": _number(f.last_read_number),
            "unread_count": f.unread_count,
            "muted": f.muted,
            "languages": f.languages,
            "groups_only": f.groups_only,
            "groups_ignored": f.groups_ignored,
            "notify_after_unread": f.notify_after_unread,
        }
        for f in follows
    ]


def as_json(user):
    return json.dumps(
        {
            "format": EXPORT_FORMAT,
            "version": 1,
            "exported_at": timezone.now().isoformat(),
            "user": user.get_username(),
            "follows": follows_of(user),
        },
        ensure_ascii=False,
        indent=1,
    )


def as_csv(user):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for f in follows_of(user):
        cells = [
            f["name"],
            KENMEI_STATUS.get(f["status"], f["status"]),
            f["last_read"] or "",
            f["url"],
            ";".join(f["names"]),
            f["source"],
            f["source_id"],
            ";".join(f["shelves"]),
            f["unread_count"],
            "true" if f["muted"] else "false",
            ";".join(f["languages"]),
            ";".join(f["groups_only"]),
            ";".join(f["groups_ignored"]),
            f["notify_after_unread"],
        ]
        writer.writerow([spreadsheet_cell(cell) for cell in cells])
    return out.getvalue()
