"""What an import and a check cost on each source, on this run's database: requests, SQL queries, seconds.

    .venv/bin/python benchmarks/check_cost.py
    DATABASE_URL=mysql://root@127.0.0.1:3306/batoshelf .venv/bin/python benchmarks/check_cost.py

It makes a throwaway test database, serves titles from the three stand-ins
and prints figures; the baseline is the same chapters saved one row at a time,
measured in the same run. Nothing is asserted: the test suite holds the
limits, this prints where we stand.
"""

import os
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from scraping.checking.pipeline import check_title, import_title  # noqa: E402
from scraping.models import Chapter, Title  # noqa: E402
from scraping.sources import TitleRef, get  # noqa: E402
from scraping.sources.base import Known  # noqa: E402
from scraping.sources.http import Direct  # noqa: E402
from tests.standins import BatoStandIn, MangaDexStandIn, MangaUpdatesStandIn  # noqa: E402

RUNS = 3


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


class Bato:
    name, what = "bato", "a 2,000-chapter title"

    def __init__(self, standin):
        self.standin = standin

    def title(self, n):
        self.standin.add_title(str(70000 + n), "月曜日のたわわ", chapters=2000, lang="ja")
        return TitleRef("bato", str(70000 + n))

    def publish(self, ref, count):
        self.standin.add_chapters(ref.source_id, count)


class MangaDex:
    name, what = "mangadex", "a 1,500-chapter title in 3 languages"
    languages = ("en", "es-la", "pt-br")

    def __init__(self, standin):
        self.standin = standin

    def title(self, n):
        title = self.standin.add_title(chapters=1500, languages=self.languages, groups=("A", "B", "C"))
        return TitleRef("mangadex", title.dex_id)

    def publish(self, ref, count):
        self.standin.add_chapters(ref.source_id, count)


class MangaUpdates:
    name, what = "mangaupdates", "a series with 3,000 releases"

    def __init__(self, standin):
        self.standin = standin

    def title(self, n):
        return TitleRef("mangaupdates", str(self.standin.add_title(releases=3000).series_id))

    def publish(self, ref, count):
        self.standin.add_chapters(ref.source_id, count)


def main():
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with BatoStandIn() as bato, MangaDexStandIn() as mangadex, MangaUpdatesStandIn() as mangaupdates:
            settings.BATO_SITE_URLS = [bato.url]
            settings.MANGADEX_API_URL = mangadex.api_url
            settings.MANGAUPDATES_API_URL = mangaupdates.api_url
            print(f"database: {connection.vendor}; stand-ins on loopback; {RUNS} runs each, best shown")
            for source, standin in (
                (Bato(bato), bato),
                (MangaDex(mangadex), mangadex),
                (MangaUpdates(mangaupdates), mangaupdates),
            ):
                report(source, standin)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(source, standin):
    languages = list(getattr(source, "languages", ())) or None
    imports, baselines = [], []
    for run in range(RUNS):
        ref = source.title(run)
        before = len(standin.api_requests())
        result, seconds = timed(partial(import_title, ref, languages=languages))
        import_requests = len(standin.api_requests()) - before
        imports.append(seconds)
        baselines.append(one_row_at_a_time(ref, standin, languages))
    stored = result.title.chapters.count()
    best, baseline = min(imports), min(baselines)
    print(f"\n{source.name}, {source.what}:")
    print(
        f"  import: {import_requests} requests, {stored} chapters stored, {best:.3f} s; baseline, the same "
        f"chapters saved row by row: {baseline:.3f} s; ratio {baseline / best:.1f}x"
    )
    title = result.title
    before = len(standin.api_requests())
    with CaptureQueriesContext(connection) as unchanged:
        _, unchanged_seconds = timed(lambda: check_title(fresh(title)))
    unchanged_requests = len(standin.api_requests()) - before
    source.publish(ref, 5)
    before = len(standin.api_requests())
    with CaptureQueriesContext(connection) as five_new:
        _, five_new_seconds = timed(lambda: check_title(fresh(title)))
    print(f"  check, unchanged: {unchanged_requests} request(s), {len(unchanged)} queries, {unchanged_seconds:.3f} s")
    print(
        f"  check, 5 new chapters: {len(standin.api_requests()) - before} request(s), {len(five_new)} queries, "
        f"{five_new_seconds:.3f} s"
    )


def one_row_at_a_time(ref, standin, languages):
    """The naive way: the same fetch, then one INSERT per chapter."""
    source = get(ref.source)
    started = time.perf_counter()
    snapshot = source.fetch_title(
        Direct(source, source.base_urls()[0], timeout=60),
        ref.source_id,
        Known(full=True, languages=tuple(languages or source.languages(None))),
    )
    title = Title.objects.create(source=ref.source, source_id=f"baseline-{ref.source_id}", name=snapshot.details.name)
    for record in snapshot.chapters:
        Chapter.objects.create(title=title, first_seen_at=title.first_seen_at, **Chapter.values_of(record))
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
