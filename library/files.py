"""Library files told apart by their content, never their name, and read into Entries: pure, no Django.

- a Mihon or Tachiyomi backup (`.tachibk`, `.proto.gz`): gzip of a protobuf `Backup` (mihon_backup.proto),
  or the same uncompressed;
- batoshelf's own export (JSON, `"format": "batoshelf-library"`);
- a CSV with a `title` column: Kenmei's export, or batoshelf's CSV export (Kenmei's column names);
- a plain text file: one title's URL or id per line, `#` starting a comment.
"""

import csv
import hashlib
import io
import json
import re
import threading
import zlib

from google.protobuf.message import DecodeError

from library import mihon_backup_pb2
from library.entries import (
    Entry,
    LibraryRefused,
    clean_names,
    clean_shelves,
    progress_of,
    status_of,
)
from scraping.sources import SITES_IN_WORDS, parse_reference, reference_lines
from scraping.sources.errors import InvalidTitleReference

# What is read at most: a backup of a few thousand titles with their chapters is a few megabytes.
MAX_FILE_BYTES = 20 * 2**20
MAX_UNPACKED_BYTES = 200 * 2**20
MAX_ENTRIES = 5000
EXPORT_FORMAT = "batoshelf-library"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Mihon's id of a source is the first 8 bytes of MD5("<name>/<language>/<version>"), big-endian, as a
# positive 64-bit number. MangaDex's extension is one source per language, version 1.
MANGADEX_LANGUAGES = (
    "af sq ar az eu be bn bg my ca zh-Hans zh-Hant cv hr cs da nl en eo et fil fi fr ka de el he hi hu ga id "
    "it ja jv kk ko la lt ms mn ne no fa pl pt-BR pt ro ru sr sk es-419 es sv ta te th tr uk ur uz vi"
).split()


def mihon_source_id(name: str, language: str, version: int = 1) -> int:
    digest = hashlib.md5(f"{name.lower()}/{language}/{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


MANGADEX_SOURCE_IDS = frozenset(mihon_source_id("MangaDex", language) for language in MANGADEX_LANGUAGES)
# Trackers by Mihon's `syncId`, with each one's status codes (Mihon's track/<tracker>/ classes).
TRACKER_STATUSES = {
    1: {1: "reading", 2: "completed", 3: "on_hold", 4: "dropped", 6: "planned", 7: "reading"},  # MyAnimeList
    2: {1: "reading", 2: "completed", 3: "on_hold", 4: "dropped", 5: "planned", 6: "reading"},  # AniList
    7: {0: "reading", 1: "planned", 2: "completed", 3: "dropped", 4: "on_hold"},  # MangaUpdates
}
TRACKER_LINKS = {1: "mal", 2: "al"}
MANGAUPDATES_TRACKER = 7


# Files read at once in one process: unpacked, each may take MAX_UNPACKED_BYTES. Another waits this long
# for its turn, then is refused (a handful of uploads at once must not take gigabytes).
READING_AT_ONCE = threading.BoundedSemaphore(2)
READING_WAIT_SECONDS = 20.0


def read_library(content: bytes) -> tuple[str, list[Entry]]:
    """(what the file is, its entries); LibraryRefused with the reason for anything else."""
    if not READING_AT_ONCE.acquire(timeout=READING_WAIT_SECONDS):
        raise LibraryRefused("Other libraries are being read right now: try again in a minute.")
    try:
        return _read_library(content)
    finally:
        READING_AT_ONCE.release()


def _read_library(content: bytes) -> tuple[str, list[Entry]]:
    if len(content) > MAX_FILE_BYTES:
        raise LibraryRefused(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB; a library file is smaller.")
    if not content.strip():
        raise LibraryRefused("The file is empty.")
    if content[:2] == b"\x1f\x8b":
        unpacked = gunzip(content)
        if unpacked.lstrip()[:1] == b"{":
            raise LibraryRefused("This is an old Tachiyomi JSON backup: make a new backup in Mihon and bring that.")
        return "Mihon or Tachiyomi backup", read_mihon(unpacked)
    text = as_text(content)
    if text is None:
        return "Mihon or Tachiyomi backup", read_mihon(content)
    if text.lstrip().startswith(("{", "[")):
        return "batoshelf export", read_export(text)
    first_line = text.lstrip().partition("\n")[0]
    if "," in first_line and "title" in {cell.strip().lower() for cell in first_line.split(",")}:
        return "CSV (Kenmei's columns)", read_csv(text)
    if "," in first_line and "://" not in first_line:
        raise LibraryRefused(
            "This CSV has no title column. A Kenmei export (or batoshelf's) starts with a header such as "
            "title,status,last_chapter_read,series_url."
        )
    return "list of titles' addresses or ids", read_plain(text)


def gunzip(content: bytes) -> bytes:
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        unpacked = unpacker.decompress(content, MAX_UNPACKED_BYTES)
    except zlib.error:
        raise LibraryRefused("The file starts as gzip but is not: it is damaged or cut short.") from None
    if unpacker.unconsumed_tail:
        raise LibraryRefused(f"Unpacked, the file is larger than {MAX_UNPACKED_BYTES // 2**20} MB.")
    if not unpacker.eof:
        raise LibraryRefused("The gzip file is cut short: make the backup again.")
    return unpacked


def as_text(content: bytes) -> str | None:
    """The content as text (UTF-8, with or without a BOM), or None when it is binary."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\r\n\t") > 8:
        return None
    return text


def read_mihon(content: bytes) -> list[Entry]:
    """A backup's entries, read a title at a time: parsed whole, millions of tiny made-up records
    would take 30 bytes of memory for each byte of the file."""
    try:
        records = list(backup_records(content))
        found = (mihon_backup_pb2.BackupCategory.FromString(r) for field, r in records if field == BACKUP_CATEGORY)
        categories = {category.order: category.name for category in found}
        entries, any_title = [], False
        for manga in (mihon_backup_pb2.BackupManga.FromString(r) for field, r in records if field == BACKUP_MANGA):
            if manga.url or manga.title:
                any_title = True
                if manga.favorite:
                    entries.append(mihon_entry(manga, categories))
            if len(entries) == MAX_ENTRIES:
                break
    except LibraryRefused:
        raise
    except (DecodeError, RecursionError, ValueError):
        raise not_a_library() from None
    if not any_title:
        raise LibraryRefused("This backup holds no library: no title in it has an address or a name.")
    if not entries:
        raise LibraryRefused("This backup holds no title in its library (only titles read, not added).")
    return entries


def not_a_library():
    return LibraryRefused("This is neither a Mihon or Tachiyomi backup nor another library file batoshelf reads.")


# Backup's fields: its titles and its categories (the rest, sources and preferences, is not read).
BACKUP_MANGA, BACKUP_CATEGORY = 1, 2
# A title's record in a real backup is its chapters, a few hundred kilobytes at most; a backup of a
# few thousand titles has a few thousand records. Past these it is not a library anyone keeps.
MAX_BACKUP_RECORD_BYTES = 8 * 2**20
MAX_BACKUP_RECORDS = 100_000


def backup_records(content: bytes):
    """(field number, bytes) of each record at a backup's top level: protobuf frames a message's
    repeated fields as tag, length, bytes. Only this framing is read here; each record is then
    parsed by the protobuf library on its own, so no more than one title is in memory at a time."""
    view, at, count = memoryview(content), 0, 0
    while at < len(view):
        tag, at = _varint(view, at)
        field, wire_type = tag >> 3, tag & 7
        count += 1
        if field == 0:
            raise not_a_library()
        if count > MAX_BACKUP_RECORDS:
            raise LibraryRefused(
                f"This backup has more than {MAX_BACKUP_RECORDS:,} parts (titles, categories, settings): "
                "it is not a library batoshelf reads."
            )
        if wire_type == 0:  # a number: no field of Backup is one, so a newer version's, skipped
            _, at = _varint(view, at)
        elif wire_type in (1, 5):
            at += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, at = _varint(view, at)
            if length > MAX_BACKUP_RECORD_BYTES:
                raise LibraryRefused(
                    f"One title in this backup takes more than {MAX_BACKUP_RECORD_BYTES // 2**20} MB: "
                    "it is not a library batoshelf reads."
                )
            if at + length > len(view):
                raise not_a_library()
            yield field, view[at : at + length]
            at += length
        else:
            raise not_a_library()
    if at > len(view):
        raise not_a_library()


def _varint(view, at):
    """The base-128 number that starts at `at`, and where it ends."""
    value = shift = 0
    while at < len(view) and shift < 64:
        byte = view[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7
    raise not_a_library()


def mihon_entry(manga, categories) -> Entry:
    refs, links, statuses, names = [], [], [], [manga.title]
    if manga.source in MANGADEX_SOURCE_IDS and (found := UUID.search(manga.url.lower())):
        refs.append(("mangadex", found.group()))
    progress = [progress_of(c.chapterNumber) for c in manga.chapters if c.read]
    for track in manga.tracking:
        remote = track.mediaIdInt or track.mediaId
        if remote > 0 and track.syncId == MANGAUPDATES_TRACKER:
            refs.append(("mangaupdates", str(remote)))
        elif remote > 0 and track.syncId in TRACKER_LINKS:
            links.append((TRACKER_LINKS[track.syncId], str(remote)))
        progress.append(progress_of(track.lastChapterRead))
        statuses.append(TRACKER_STATUSES.get(track.syncId, {}).get(track.status, ""))
        names.append(track.title)
    return Entry(
        names=clean_names(*names),
        refs=tuple(refs),
        links=tuple(links),
        status=next((s for s in statuses if s), ""),
        progress=max(filter(None, progress), default=None),
        shelves=clean_shelves(categories[order] for order in manga.categories if order in categories),
    )


def ref_of(text) -> tuple[str, str] | None:
    """(source, id) of the title a URL, id or `source:id` names, or None when it names none."""
    try:
        ref = parse_reference(str(text)) if text else None
    except InvalidTitleReference:
        return None
    return (ref.source, ref.source_id) if ref else None


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) sends the
# sheet's cells away): the export writes such a cell behind a quote, which reading it takes off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def from_spreadsheet_cell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def read_csv(text: str) -> list[Entry]:
    rows = csv.DictReader(io.StringIO(text))
    rows.fieldnames = [name.strip().lower() for name in rows.fieldnames or []]
    entries = []
    try:
        for row in rows:
            entry = csv_entry(
                {k: from_spreadsheet_cell((v or "").strip()) for k, v in row.items() if isinstance(k, str)}
            )
            if entry:
                entries.append(entry)
            if len(entries) > MAX_ENTRIES:
                break
    except csv.Error as error:
        raise LibraryRefused(f"The CSV cannot be read ({error}).") from None
    if not entries:
        raise LibraryRefused("The CSV has a title column but no title in it.")
    return entries[:MAX_ENTRIES]


def csv_entry(row: dict) -> Entry | None:
    names = clean_names(row.get("title"), *(row.get("alternative_titles") or "").split(";"))
    given = [f"{row['source']}:{row['source_id']}" if row.get("source") and row.get("source_id") else ""]
    refs = [ref for text in (*given, row.get("series_url"), row.get("url")) if (ref := ref_of(text))]
    if not names and not refs:
        return None
    return Entry(
        names=names,
        refs=tuple(dict.fromkeys(refs)),
        status=status_of(row.get("status")),
        progress=progress_of(row.get("last_chapter_read")),
        shelves=clean_shelves((row.get("shelves") or "").split(";")),
        muted=row.get("muted", "").lower() in ("1", "true", "yes"),
    )


def read_plain(text: str) -> list[Entry]:
    entries, refused = [], []
    for number, line in reference_lines(text):
        if len(entries) == MAX_ENTRIES:
            break  # the lines past the limit are never looked at (millions of them would take gigabytes)
        ref = ref_of(line)
        if ref:
            entries.append(Entry(names=(line[:500],), refs=(ref,)))
        else:
            refused.append(number)
            unreadable = f"line {number} is not a title's address or id on {SITES_IN_WORDS}"
            entries.append(Entry(names=(line[:500],), unreadable=unreadable))
    if not any(entry.refs for entry in entries):
        raise LibraryRefused(
            f"No line of this file is a title's address or id on {SITES_IN_WORDS}"
            + (f" (lines {', '.join(map(str, refused[:5]))}{'…' if len(refused) > 5 else ''})." if refused else ".")
        )
    return entries


def read_export(text: str) -> list[Entry]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise LibraryRefused("This JSON file cannot be read: it is damaged or cut short.") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise LibraryRefused('This JSON file is not a batoshelf export (its "format" is not "batoshelf-library").')
    follows = data.get("follows")
    if not isinstance(follows, list):
        raise LibraryRefused('This batoshelf export has no "follows" list.')
    entries = [entry for item in follows[:MAX_ENTRIES] if (entry := export_entry(item))]
    if not entries and follows:
        raise LibraryRefused("No title in this batoshelf export has a source and an id.")
    return entries


def export_entry(item) -> Entry | None:
    if not isinstance(item, dict):
        return None
    source, source_id = item.get("source"), item.get("source_id")
    ref = ref_of(f"{source}:{source_id}") if isinstance(source, str) and isinstance(source_id, str) else None
    if ref is None:
        return None
    settings = {}
    for name, kind in (("languages", list), ("groups_only", list), ("groups_ignored", list)):
        value = item.get(name)
        if isinstance(value, kind) and all(isinstance(v, str) for v in value):
            settings[name] = value[:50]
    after = item.get("notify_after_unread")
    if isinstance(after, int) and not isinstance(after, bool) and 1 <= after <= 999:
        settings["notify_after_unread"] = after
    names = item.get("names") if isinstance(item.get("names"), list) else []
    shelves = item.get("shelves") if isinstance(item.get("shelves"), list) else []
    return Entry(
        names=clean_names(item.get("name"), *(n for n in names if isinstance(n, str))),
        refs=(ref,),
        status=status_of(item.get("status")),
        progress=progress_of(item.get("last_read")),
        shelves=clean_shelves(s for s in shelves if isinstance(s, str)),
        muted=item.get("muted") is True,
        settings=settings,
    )
