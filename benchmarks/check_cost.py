"""What one check costs on this run's database: HTTP requests, SQL queries, seconds.

    .venv/bin/python benchmarks/check_cost.py
    DATABASE_URL=mysql://root@127.0.0.1:3306/batoshelf .venv/bin/python benchmarks/check_cost.py

It makes a throwaway test database, serves titles from the Bato stand-in and
prints figures; the baseline is the same 1,500 chapters saved one row at a
time, measured in the same run. Nothing is asserted: the test suite holds the
limits, this prints where we stand.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from scraping.bato.client import BatoClient  # noqa: E402
from scraping.checks import check_manga, import_title  # noqa: E402
from scraping.models import Chapter, Manga  # noqa: E402
from tests.standins import BatoStandIn  # noqa: E402
from scraping.sources import TitleRef  # noqa: E402

RUNS = 3


def fresh(manga):
    return Manga.objects.select_related("schedule").get(pk=manga.pk)


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main():
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with BatoStandIn() as site:
            settings.BATO_SITE_URLS = [site.url]
            report(site)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(site):
    print(f"database: {connection.vendor}; stand-in on loopback; {RUNS} runs each, best shown")
    import_seconds, baseline_seconds = [], []
    for run in range(RUNS):
        comic_id = str(72315 + run)
        site.add_title(comic_id, "月曜日のたわわ", chapters=1500, lang="ja")
        _, seconds = timed(lambda: import_title(TitleRef("bato", str(comic_id))))
        import_seconds.append(seconds)
        baseline_seconds.append(one_row_at_a_time(site, comic_id))
    best, baseline = min(import_seconds), min(baseline_seconds)
    print(f"import of a 1,500-chapter title: {best:.3f} s (one request); "
          f"baseline, the same chapters saved row by row: {baseline:.3f} s; ratio {baseline / best:.1f}x")

    site.add_title("2000", chapters=2000)
    manga = import_title(TitleRef("bato", str("2000"))).manga
    requests_before = len(site.api_requests())
    with CaptureQueriesContext(connection) as unchanged:
        _, unchanged_seconds = timed(lambda: check_manga(fresh(manga)))
    site.add_chapters("2000", 5)
    with CaptureQueriesContext(connection) as five_new:
        _, five_new_seconds = timed(lambda: check_manga(fresh(manga)))
    requests = len(site.api_requests()) - requests_before
    print(f"check of an unchanged 2,000-chapter title: {len(unchanged)} queries, {unchanged_seconds:.3f} s")
    print(f"check of the same title with 5 new chapters: {len(five_new)} queries, {five_new_seconds:.3f} s")
    print(f"HTTP requests per check: {requests / 2:g}")


def one_row_at_a_time(site, comic_id):
    """The naive way: the same fetch, then one INSERT per chapter."""
    started = time.perf_counter()
    snapshot = BatoClient(site.url, timeout=30).fetch_title(comic_id).snapshot
    manga = Manga.objects.create(source_id=f"9{comic_id}", name=snapshot.details.name)
    for record in snapshot.chapters:
        chapter = Chapter.from_record(manga, record, manga.first_seen_at)
        chapter.source_id = f"9{chapter.source_id}"
        chapter.save()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
