"""MangaUpdates as a source: its parser, and its requests to the stand-in over real HTTP on loopback."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from scraping.sources import get
from scraping.sources.base import DAY, EXACT, Known
from scraping.sources.errors import BadResponse, TitleNotFound
from scraping.sources.http import Direct
from scraping.sources.mangaupdates import base36, parse_releases, parse_series
from tests.standins import MangaUpdatesStandIn

MANGAUPDATES = get("mangaupdates")
NOW = datetime.now(UTC)


@pytest.fixture
def site():
    with MangaUpdatesStandIn() as server:
        yield server


def fetch(site, series_id, **known):
    ask = Direct(MANGAUPDATES, site.api_url)
    return MANGAUPDATES.fetch_title(ask, str(series_id), Known(now=NOW, **known)), ask.count


def test_details_come_unescaped_with_a_plain_text_description(site):
    series = site.add_title(releases=2)
    snapshot, _ = fetch(site, series.series_id)
    details = snapshot.details
    assert details.name == "Kaguya's Love & War"
    assert [alt["name"] for alt in details.alt_names] == ["Kaguya-sama wa Kokurasetai", "かぐや様は告らせたい"]
    assert details.description == "Two geniuses & their war of love.\nWho confesses first?"
    assert (details.upload_status, details.original_status, details.year) == ("ongoing", "12 Volumes (Ongoing)", 2015)
    assert details.authors == ["AKASAKA Aka"] and details.artists == ["AKASAKA Aka"]
    assert details.cover_url == "https://cdn.mangaupdates.com/image/i697818.jpg"
    assert MANGAUPDATES.title_url(str(series.series_id)) == "https://www.mangaupdates.com/series/ttaew4a"


def test_an_import_of_3000_releases_stores_the_newest_400_in_five_requests(site):
    series = site.add_title(releases=3000, range_every=40)
    snapshot, requests_made = fetch(site, series.series_id)
    assert requests_made == 5
    assert len(snapshot.chapters) == 400
    newest = max(snapshot.chapters, key=lambda r: r.published_at)
    assert newest.source_id == str(series.releases[-1]["id"])
    search = site.api_requests()[1].body
    assert search == {
        "search": str(series.series_id),
        "search_type": "series",
        "orderby": "date",
        "asc": "desc",
        "page": 1,
        "perpage": 100,
    }


def test_a_check_is_one_request_and_details_come_at_most_once_a_day(site):
    series = site.add_title(releases=3000)
    snapshot, _ = fetch(site, series.series_id)
    known = {"chapter_ids": frozenset(r.source_id for r in snapshot.chapters), "full": False}
    site.add_chapters(series.series_id, 2)
    found, requests_made = fetch(site, series.series_id, details_refreshed_at=NOW - timedelta(hours=23), **known)
    assert requests_made == 1 and found.details is None
    assert len({r.source_id for r in found.chapters} - known["chapter_ids"]) == 2
    _, requests_made = fetch(site, series.series_id, details_refreshed_at=NOW - timedelta(hours=25), **known)
    assert requests_made == 2


def test_an_unknown_series_is_not_found(site):
    with pytest.raises(TitleNotFound, match="MangaUpdates has no series 123"):
        fetch(site, 123)


def test_search_finds_series_by_any_of_their_names_in_one_request(site):
    site.add_title(name="Kaguya&#039;s Love &amp; War", releases=5)
    ask = Direct(MANGAUPDATES, site.api_url)
    [found] = MANGAUPDATES.search(ask, "kokurasetai", 5)
    assert ask.count == 1
    assert (found.name, found.alt_names, found.latest_chapter) == (
        "Kaguya's Love & War",
        ({"name": "Kaguya-sama wa Kokurasetai", "language": ""},),
        "Chapter 5",
    )
    assert found.url == "https://www.mangaupdates.com/series/ttaew4a"
    assert found.cover_url == "https://cdn.mangaupdates.com/image/i697818.jpg"
    # Spelled as the API's schema spells the types to leave out.
    assert site.api_requests()[-1].body["filter_types"] == ["Drama CD", "Novel"]


def release(chapter, release_date="2026-08-20", time_added=None, **fields):
    record = {
        "id": 987654,
        "title": "T",
        "volume": "",
        "chapter": chapter,
        "groups": [{"name": "A &amp; B"}],
        "release_date": release_date,
        **fields,
    }
    if time_added:
        record["time_added"] = {"timestamp": 0, "as_rfc3339": time_added}
    return {"total_hits": 1, "page": 1, "per_page": 25, "results": [{"record": record, "metadata": {}}]}


@pytest.mark.parametrize(
    "chapter, name, first, last",
    [
        ("25", "Chapter 25", None, Decimal(25)),
        ("25-26", "Chapter 25-26", Decimal(25), Decimal(26)),
        ("10.5", "Chapter 10.5", None, Decimal("10.5")),
        ("Extra", "Chapter Extra", None, None),
        ("", "Release", None, None),
    ],
)
def test_a_release_is_a_chapter_a_range_or_text(chapter, name, first, last):
    [record], total, per_page = parse_releases(release(chapter))
    assert (record.name, record.number_from, record.number) == (name, first, last)
    assert record.groups == ("A & B",) and (total, per_page) == (1, 25)


def test_a_release_day_is_a_day_unless_time_added_falls_on_it():
    [day_only], _, _ = parse_releases(release("1"))
    assert (day_only.published_at, day_only.published_precision) == (datetime(2026, 8, 20, tzinfo=UTC), DAY)
    [refined], _, _ = parse_releases(release("1", time_added="2026-08-20T14:26:40+00:00"))
    assert (refined.published_at, refined.published_precision) == (
        datetime(2026, 8, 20, 14, 26, 40, tzinfo=UTC),
        EXACT,
    )
    [late], _, _ = parse_releases(release("1", time_added="2026-09-02T10:00:00+00:00"))
    assert (late.published_at, late.published_precision) == (datetime(2026, 8, 20, tzinfo=UTC), DAY)


def test_time_added_in_another_offset_is_compared_on_its_own_day():
    # 18:28 at -07:00 on the 20th is 01:28 UTC on the 21st: still the release day where it was written.
    [west], _, _ = parse_releases(release("1", time_added="2026-08-20T18:28:00-07:00"))
    assert (west.published_at, west.published_precision) == (datetime(2026, 8, 21, 1, 28, tzinfo=UTC), EXACT)
    assert west.created_at == datetime(2026, 8, 21, 1, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    "status, normal",
    [
        ("652 Chapters (Ongoing)\n18 Volumes (Ongoing)\n\nS1: 120 Chapters (Complete)", "ongoing"),
        ("12 Volumes (Complete)\n\nSide story: (Ongoing)", "completed"),
        ("\n3 Volumes (Hiatus)", "hiatus"),
        ("Volumes: see notes", ""),
    ],
)
def test_a_status_over_several_lines_is_read_from_the_main_work_first(status, normal):
    assert parse_series({"series_id": 5, "title": "x", "status": status}, "5").upload_status == normal


def test_releases_as_real_answers_have_them(site):
    """Without time_added, with no group or two (one without a url), and with null genres: all read."""
    series = site.add_title(releases=2)
    series.record["genres"] = None
    series.record["description"] = ""
    site.add_chapters(series.series_id, 1, group=(), time_added=False)
    site.add_chapters(series.series_id, 1, group=("Alpha", "Beta"))
    snapshot, _ = fetch(site, series.series_id)
    assert snapshot.details.genres == [] and snapshot.details.description == ""
    by_number = {c.number: c for c in snapshot.chapters}
    assert by_number[Decimal(3)].groups == () and by_number[Decimal(3)].published_precision == DAY
    assert by_number[Decimal(4)].groups == ("Alpha", "Beta") and by_number[Decimal(4)].published_precision == EXACT


@pytest.mark.parametrize("votes", [-1, 10**30, "many", None])
def test_a_vote_count_that_is_no_count_is_dropped(votes):
    details = parse_series({"series_id": 5, "title": "x", "rating_votes": votes, "bayesian_rating": "nan"}, "5")
    assert (details.votes, details.score) == (None, None)


def test_ids_are_64_bit_and_written_in_base_36_on_the_site():
    assert base36("64897697818") == "ttaew4a"
    details = parse_series({"series_id": 9223372036854775807, "title": "Big"}, "9223372036854775807")
    assert details.source_id == "9223372036854775807"


@pytest.mark.parametrize(
    "payload, why",
    [
        ([], "expected a JSON object"),
        ({"series_id": 5, "title": "x"}, "the answer is about 5"),
    ],
)
def test_unusable_series_answers_are_bad_responses(payload, why):
    with pytest.raises(BadResponse, match=why):
        parse_series(payload, "64897697818")


def test_a_release_without_an_id_is_a_bad_response():
    with pytest.raises(BadResponse, match="no usable id"):
        parse_releases({"results": [{"record": {"chapter": "1"}}]})
