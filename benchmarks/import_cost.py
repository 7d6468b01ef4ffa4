"""What bringing 100 titles in costs, for each kind of library: requests to find them, requests to fetch
the ones batoshelf does not have, and how long both take at the sources' default pace.

    .venv/bin/python benchmarks/import_cost.py [--entries 100]

A throwaway test database and stand-ins on loopback (MangaDex, MangaUpdates, AniList, MyAnimeList).
The baseline is pasting the same titles' addresses one by one (a plain file), measured in the same run.
Nothing is asserted: the test suite checks what an import does, this prints what it costs.
"""

import argparse
import gzip
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("CACHE_DIR", str(Path(tempfile.gettempdir()) / "batoshelf-import-cost-cache"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from library import importing  # noqa: E402
from library import mihon_backup_pb2 as mihon  # noqa: E402
from library.files import mihon_source_id  # noqa: E402
from library.models import LibraryImport  # noqa: E402
from readers.tasks import fetch_for_shelf  # noqa: E402
from readers.times import lasting  # noqa: E402
from scraping.models import SourceState, Title  # noqa: E402
from tests.standins import MangaDexStandIn, MangaUpdatesStandIn  # noqa: E402
from tests.standins.trackers import AniListStandIn, MyAnimeListStandIn, anilist_entry, mal_entry  # noqa: E402

# batoshelf's defaults (docs/configuration.md); the test settings this runs on space nothing.
DEFAULT_PACE = {
    "MANGADEX_MIN_DELAY": 1.0,
    "MANGADEX_MAX_DELAY": 2.0,
    "MANGADEX_MAX_REQUESTS_PER_HOUR": 1200,
    "MANGAUPDATES_MIN_DELAY": 2.0,
    "MANGAUPDATES_MAX_DELAY": 4.0,
    "MANGAUPDATES_MAX_REQUESTS_PER_HOUR": 600,
}


def requests_by_source(md, mu):
    return {"mangadex": len(md.api_requests()), "mangaupdates": len(mu.api_requests())}


def spent_since(before, md, mu):
    return {name: n - before[name] for name, n in requests_by_source(md, mu).items()}


def run(start, md, mu, trackers):
    """Match and import one library: (requests to find by source, requests to fetch by source, counts)."""
    before, tracked_before = requests_by_source(md, mu), sum(len(t.api_requests()) for t in trackers)
    library_import = start()
    if library_import.state == LibraryImport.State.READING:
        importing.read_list(library_import.pk)
    else:
        importing.match_library(library_import.pk)
    library_import.refresh_from_db()
    found = spent_since(before, md, mu)
    found["trackers"] = sum(len(t.api_requests()) for t in trackers) - tracked_before
    importing.confirm(library_import, accept_uncertain=True, queue=False)
    importing.import_library(library_import.pk)
    before = requests_by_source(md, mu)
    for title in Title.objects.filter(imported_at__isnull=True):
        fetch_for_shelf(title.pk)
    return found, spent_since(before, md, mu), importing.counts(library_import)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100)
    n = parser.parse_args().entries
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = str(Path(tempfile.gettempdir()) / "batoshelf-import-cost.sqlite3")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with MangaDexStandIn() as md, MangaUpdatesStandIn() as mu, AniListStandIn() as al, MyAnimeListStandIn() as mal:
            settings.MANGADEX_API_URL, settings.MANGADEX_COVERS_URL = md.api_url, f"{md.url}/covers"
            settings.MANGAUPDATES_API_URL, settings.MANGAUPDATES_COVERS_URL = mu.api_url, mu.url
            settings.ANILIST_API_URL, settings.MAL_API_URL, settings.MAL_CLIENT_ID = (
                al.api_url,
                mal.api_url,
                mal.client_id,
            )
            titles = [
                md.add_title(
                    name=f"Series Number {i:04d}", chapters=60, links={"al": str(5000 + i), "mal": str(9000 + i)}
                )
                for i in range(n)
            ]
            series = [mu.add_title(name=f"Updates Series {i:04d}", releases=40) for i in range(n)]
            al.add_list(
                "reader",
                [anilist_entry(5000 + i, f"Series Number {i:04d}", idMal=9000 + i, progress=5) for i in range(n)],
            )
            mal.add_list(
                "reader", [mal_entry(9000 + i, f"Series Number {i:04d}", num_chapters_read=5) for i in range(n)]
            )
            listed = md.add_list("Mine", [t.dex_id for t in titles])
            en = mihon_source_id("MangaDex", "en")
            backup = gzip.compress(
                mihon.Backup(
                    backupManga=[
                        mihon.BackupManga(source=en, url=f"/manga/{t.dex_id}", title=f"x{i}")
                        for i, t in enumerate(titles)
                    ]
                ).SerializeToString()
            )
            tracked = gzip.compress(
                mihon.Backup(
                    backupManga=[
                        mihon.BackupManga(
                            source=1,
                            url=f"/s/{i}",
                            title=f"Updates Series {i:04d}",
                            tracking=[mihon.BackupTracking(syncId=7, libraryId=0, mediaId=s.series_id)],
                        )
                        for i, s in enumerate(series)
                    ]
                ).SerializeToString()
            )
            names = (
                "title,status,last_chapter_read\n" + "".join(f"Series Number {i:04d},reading,3\n" for i in range(n))
            ).encode()
            plain = "".join(f"https://mangadex.org/title/{t.dex_id}\n" for t in titles).encode()
            kinds = [
                (
                    "plain file of MangaDex addresses (baseline)",
                    lambda u: importing.start_file(u, "t.txt", plain, queue=False),
                ),
                ("Mihon backup, MangaDex entries", lambda u: importing.start_file(u, "b.tachibk", backup, queue=False)),
                (
                    "Mihon backup, tracked on MangaUpdates",
                    lambda u: importing.start_file(u, "m.tachibk", tracked, queue=False),
                ),
                (
                    "MangaDex list",
                    lambda u: importing.start_list(
                        u, "mangadex_list", f"https://mangadex.org/list/{listed}", queue=False
                    ),
                ),
                (
                    "AniList list (by name, confirmed by AniList id)",
                    lambda u: importing.start_list(u, "anilist", "reader", queue=False),
                ),
                (
                    "MyAnimeList list (by name, confirmed by MAL id)",
                    lambda u: importing.start_list(u, "mal", "reader", queue=False),
                ),
                ("Kenmei CSV, names only", lambda u: importing.start_file(u, "k.csv", names, queue=False)),
            ]
            results = []
            for number, (label, start) in enumerate(kinds):
                Title.objects.all().delete()  # every kind fetches its titles anew, as a new instance would
                SourceState.objects.all().delete()  # and starts with a whole hour's budget at each source
                reader = get_user_model().objects.create_user(f"reader{number}")
                results.append((label, *run(partial(start, reader), md, mu, (al, mal))))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    # The stand-ins answered without spacing; the times are at batoshelf's default pace.
    for name, value in DEFAULT_PACE.items():
        setattr(settings, name, value)
    print(f"{n} entries each; times at the default pace (MangaDex 1-2 s apart, 1,200 an hour; MangaUpdates 2-4 s, 600)")
    print("| library | requests to find | requests to fetch | found / uncertain / not found | finding | fetching |")
    print("|---|---|---|---|---|---|")
    for label, found, fetched, counts in results:
        finding = {k: v for k, v in found.items() if k != "trackers"}
        print(
            f"| {label} | {sum(found.values())} ({', '.join(f'{k} {v}' for k, v in found.items() if v)}) "
            f"| {sum(fetched.values())} | {counts['matched']} / {counts['uncertain']} / {counts['not_found']} "
            f"| {lasting(importing.seconds_at_pace(finding))} | {lasting(importing.seconds_at_pace(fetched))} |"
        )


if __name__ == "__main__":
    main()
