"""Follows made before progress existed start caught up: their readers were told of every chapter
as it came, so the shelf does not greet them with hundreds of "unread" after the upgrade."""

from django.db import migrations
from django.db.models import Max


def caught_up(apps, schema_editor):
    Follow = apps.get_model("readers", "Follow")
    Chapter = apps.get_model("scraping", "Chapter")
    ChapterMark = apps.get_model("readers", "ChapterMark")
    Title = apps.get_model("scraping", "Title")
    titles = Follow.objects.filter(last_read_number__isnull=True).values_list("title_id", flat=True).distinct()
    for title_id in list(titles):
        highest = Chapter.objects.filter(title_id=title_id, available=True).aggregate(n=Max("number"))["n"]
        latest = Title.objects.filter(pk=title_id).values_list("latest_chapter_id", flat=True).first()
        follows = list(
            Follow.objects.filter(title_id=title_id, last_read_number__isnull=True).values_list("pk", flat=True)
        )
        Follow.objects.filter(pk__in=follows).update(last_read_number=highest, unread_count=0, latest_chapter_id=latest)
        unnumbered = list(
            Chapter.objects.filter(title_id=title_id, available=True, number__isnull=True).values_list("pk", flat=True)
        )
        ChapterMark.objects.bulk_create(
            [ChapterMark(follow_id=f, chapter_id=c, read=True) for f in follows for c in unnumbered],
            batch_size=1000,
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("readers", "0002_progress_and_shelves")]

    operations = [migrations.RunPython(caught_up, migrations.RunPython.noop, elidable=True)]
