"""MangaDex as a source: its parser, and its requests to the stand-in over real HTTP on loopback."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

import tests.standins.mangadex as standin_module
from scraping.sources import get
from scraping.sources.base import Answer, Known, Request
from scraping.sources.errors import (
    BadResponse,
    Misconfigured,
    RateLimited,
    TitleNotFound,
    TitleRefused,
)
from scraping.sources.http import Direct, honest_user_agent, send
from scraping.sources.mangadex import parse_feed, parse_title, read
from tests.standins import MangaDexStandIn

MANGADEX = get("mangadex")
NOW = datetime.now(UTC)
LANGUAGES = ("en", "es-la", "pt-br")


@pytest.fixture
def site():
    with MangaDexStandIn() as server:
        yield server


def fetch(site, title_id, **known):
    ask = Direct(MANGADEX, site.api_url)
    known = {"languages": ("en",), "now": NOW, **known}
    return MANGADEX.fetch_title(ask, title_id, Known(**known)), ask.count


def check(site, title_id, snapshot, **known):
    """A check after `snapshot` was stored: what it returns and how many requests it made."""
    ids = frozenset(c.source_id for c in snapshot.chapters)
    return fetch(site, title_id, chapter_ids=ids, full=False, details_refreshed_at=NOW, **known)


def test_importing_1500_chapters_in_three_languages_takes_four_requests(site):
    title = site.add_title(chapters=1500, languages=LANGUAGES, groups=("Alpha", "Beta", "Gamma", "Delta"))
    snapshot, requests_made = fetch(site, title.dex_id, languages=LANGUAGES)
    assert requests_made == 4  # the details, then three pages of 500
    assert len(snapshot.chapters) == 1500 and len({c.source_id for c in snapshot.chapters}) == 1500
    assert {c.language for c in snapshot.chapters} == set(LANGUAGES)
    assert {g for c in snapshot.chapters for g in c.groups} == {"Alpha", "Beta", "Gamma", "Delta"}
    assert max(c.number for c in snapshot.chapters if c.language == "pt-br") == Decimal(500)
    feed = [r for r in site.api_requests() if r.path.endswith("/feed")]
    assert all(r.query["translatedLanguage[]"] == list(LANGUAGES) for r in feed)
    assert all(r.query["limit"] == ["500"] for r in feed)
    assert all(set(r.query["contentRating[]"]) == {"safe", "suggestive", "erotica", "pornographic"} for r in feed)


def test_an_unchanged_title_costs_one_request_and_two_on_the_day_its_details_are_refreshed(site):
    title = site.add_title(chapters=1500)
    snapshot, _ = fetch(site, title.dex_id)
    again, requests_made = check(site, title.dex_id, snapshot)
    assert requests_made == 1 and again.details is None
    again, requests_made = fetch(
        site,
        title.dex_id,
        chapter_ids=frozenset(c.source_id for c in snapshot.chapters),
        full=False,
        details_refreshed_at=NOW - timedelta(days=1, minutes=1),
    )
    assert requests_made == 2 and again.details.name == "Example Title"


def test_a_check_pages_on_only_while_a_whole_page_is_new(site):
    title = site.add_title(chapters=300)
    snapshot, _ = fetch(site, title.dex_id)
    site.add_chapters(title.dex_id, 150)
    found, requests_made = check(site, title.dex_id, snapshot)
    assert requests_made == 2  # 100 new, then 50 new beside known ones
    new = {c.source_id for c in found.chapters} - {c.source_id for c in snapshot.chapters}
    assert len(new) == 150


def test_past_the_10000_result_window_an_import_narrows_by_creation_time(site):
    title = site.add_title(chapters=10_600)
    snapshot, requests_made = fetch(site, title.dex_id)
    assert len({c.source_id for c in snapshot.chapters}) == 10_600
    assert requests_made <= 25
    windows = [r.query for r in site.api_requests() if r.path.endswith("/feed")]
    assert all(int(q["offset"][0]) + int(q["limit"][0]) <= 10_000 for q in windows)
    assert any("createdAtSince" in q for q in windows)


def test_a_window_smaller_than_documented_is_narrowed_too(site, monkeypatch):
    monkeypatch.setattr(standin_module, "WINDOW", 1_200)
    title = site.add_title(chapters=2_000)
    snapshot, _ = fetch(site, title.dex_id)
    assert len({c.source_id for c in snapshot.chapters}) == 2_000


def test_a_pornographic_titles_feed_is_not_empty(site):
    title = site.add_title(chapters=3, rating="pornographic")
    snapshot, _ = fetch(site, title.dex_id)
    assert len(snapshot.chapters) == 3


def test_the_feed_asks_for_readable_chapters_under_either_reading_of_include_unavailable(site):
    """The stand-in reads include* as MangaDex documents it (tri-state: 1 is *only* taken-down ones)."""
    title = site.add_title(chapters=2)
    site.add_chapters(title.dex_id, 1, unavailable=True)
    snapshot, _ = fetch(site, title.dex_id)
    assert len(snapshot.chapters) == 2 and all(c.available for c in snapshot.chapters)
    assert {q.query["includeUnavailable"][-1] for q in site.api_requests() if q.path.endswith("/feed")} == {"0"}


def test_a_chapter_that_still_comes_marked_unavailable_is_kept_as_not_readable():
    [taken_down], _ = parse_feed(
        {"result": "ok", "response": "collection", "data": [chapter("3", isUnavailable=True)], "total": 1}
    )
    assert taken_down.available is False and taken_down.url_path.startswith("/chapter/")


def test_external_chapters_link_out_only_over_http(site):
    title = site.add_title(chapters=2)
    site.add_chapters(title.dex_id, 1, external_url="https://mangaplus.shueisha.co.jp/viewer/1000")
    site.add_chapters(title.dex_id, 1, external_url="javascript:alert(1)")
    snapshot, _ = fetch(site, title.dex_id)
    official, bad = snapshot.chapters[-2:]
    assert official.external_url == "https://mangaplus.shueisha.co.jp/viewer/1000" and official.url_path == ""
    assert MANGADEX.chapter_link(title.dex_id, official.url_path, official.external_url).external
    assert bad.external_url == "" and bad.url_path.startswith("/chapter/"), "only http(s) links leave MangaDex"


def test_an_unknown_title_is_not_found(site):
    with pytest.raises(TitleNotFound, match="MangaDex has no title"):
        fetch(site, "11111111-2222-4333-8444-555555555555")


def test_a_429_gives_the_epoch_in_x_ratelimit_retry_after_as_seconds(site):
    title = site.add_title(chapters=1)
    site.set_fault("rate_limit", retry_after=90)
    with pytest.raises(RateLimited) as limited:
        fetch(site, title.dex_id)
    assert 85 <= limited.value.retry_after <= 92


def test_requests_carry_batoshelfs_own_user_agent_and_no_via(site, settings):
    settings.BATOSHELF_CONTACT_URL = "https://shelf.example.org/contact"
    title = site.add_title(chapters=1)
    fetch(site, title.dex_id)
    headers = site.api_requests()[0].headers
    assert (
        headers["User-Agent"].startswith("batoshelf/0.")
        and "(+https://shelf.example.org/contact)" in headers["User-Agent"]
    )
    assert "Via" not in headers and "mozilla" not in headers["User-Agent"].lower()


def test_a_browser_user_agent_gets_the_plain_400_and_it_reads_as_a_setting_to_change(site):
    title = site.add_title(chapters=1)
    response = requests.get(
        f"{site.api_url}/manga/{title.dex_id}", headers={"User-Agent": "Mozilla/5.0 Kotatsu"}, timeout=5
    )
    assert response.status_code == 400 and response.headers["Content-Type"] == "text/plain"
    with pytest.raises(Misconfigured) as refused:
        read(Answer(response.status_code, response.headers, response.content), parse_feed)
    assert refused.value.source_wide and not refused.value.transient
    assert "User-Agent" in refused.value.message and "BATOSHELF_CONTACT_URL" in refused.value.message
    assert honest_user_agent() in refused.value.message


def test_search_finds_titles_with_their_latest_chapter_in_two_requests(site):
    site.add_title(name="Villainess Stationery", chapters=4, languages=("en", "es-la"))
    site.add_title(name="Something Else", chapters=1)
    ask = Direct(MANGADEX, site.api_url)
    [found] = MANGADEX.search(ask, "stationery", 5)
    assert ask.count == 2
    assert found.name == "Villainess Stationery" and found.latest_chapter == "Chapter 2 (es-la)"
    assert found.url == f"https://mangadex.org/title/{found.source_id}" and found.year == 2020


def test_the_stand_in_refuses_what_the_api_refuses(site):
    title = site.add_title(chapters=1)
    feed = f"/manga/{title.dex_id}/feed"
    for params, why in (((("limit", "501"),), "limit"), ((("offset", "9600"), ("limit", "500")), "Result window")):
        answer = send(MANGADEX, site.api_url, Request("GET", feed, params), timeout=5)
        assert answer.status == 400 and why in answer.text
    answer = send(MANGADEX, site.api_url, Request("GET", "/manga/not-a-uuid"), timeout=5)
    assert answer.status == 404 and "No route found" in answer.text


MANGA = {
    "result": "ok",
    "response": "entity",
    "data": {
        "id": "11111111-2222-4333-8444-555555555555",
        "type": "manga",
        "attributes": {
            "title": {"ja-ro": "Rei no Taitoru"},
            "altTitles": [{"ja": "例"}, {"en": "The Example"}, {"ja": "例"}],
            "description": {"ja": "説明", "en": "An **example**: [Web Novel](https://example.org/wn)."},
            "status": "hiatus",
            "year": 2019,
            "originalLanguage": "ja",
            "contentRating": "suggestive",
            "links": {"mu": "ttaew4a", "al": "30013", "raw": "https://example.jp"},
            "availableTranslatedLanguages": ["en", None, "pt-br", "not a code"],
            "tags": [
                {"attributes": {"name": {"en": "Action"}, "group": "genre"}},
                {"attributes": {"name": {"en": "Gore"}, "group": "content"}},
                {"attributes": {"name": {"en": "Time Travel"}, "group": "theme"}},
                {"attributes": {"name": {"en": "Long Strip"}, "group": "format"}},
                {"attributes": {"name": {"en": "Old"}}},
                "junk",
            ],
        },
        "relationships": [
            {"id": "a", "type": "author", "attributes": {"name": "Someone"}},
            {"id": "b", "type": "artist"},
            {"id": "c", "type": "cover_art", "attributes": {"fileName": "x.jpg"}},
        ],
    },
}


def test_the_title_parser_reads_names_people_tags_and_cover():
    details = parse_title(MANGA, "11111111-2222-4333-8444-555555555555")
    assert details.name == "Rei no Taitoru"
    assert details.alt_names == [{"name": "例", "language": "ja"}, {"name": "The Example", "language": "en"}]
    assert details.description == "An **example**: [Web Novel](https://example.org/wn)."
    assert details.description_format == "markdown"
    assert details.upload_status == "hiatus" and details.year == 2019
    assert details.authors == ["Someone"] and details.artists == [] and details.genres == ["Action", "Old"]
    assert details.tags == {"content": ["Gore"], "theme": ["Time Travel"], "format": ["Long Strip"]}
    assert details.content_rating == "suggestive" and details.links["mu"] == "ttaew4a"
    assert details.available_languages == ["en", "pt-br"]
    assert details.cover_url == "https://uploads.mangadex.org/covers/11111111-2222-4333-8444-555555555555/x.jpg.512.jpg"


def test_titles_as_real_answers_have_them(site):
    """A name only in ja-ro, no description, `links: null`, a null among the languages: all read."""
    title = site.add_title(name="Kimetsu no Yaiba", name_language="ja-ro", description="", links=None)
    details = parse_title(
        json.loads(send(MANGADEX, site.api_url, Request("GET", f"/manga/{title.dex_id}"), timeout=5).content),
        title.dex_id,
    )
    assert (details.name, details.description, details.links) == ("Kimetsu no Yaiba", "", {})
    assert details.available_languages == ["en"] and details.tags["content"] == ["Gore"]


def test_chapters_as_real_answers_have_them(site):
    """Decimal numbers, no group or two groups."""
    title = site.add_title(chapters=1)
    site.add_chapters(title.dex_id, 1, number="1.5", groups=())
    site.add_chapters(title.dex_id, 1, number="2", groups=("Alpha", "Beta"))
    snapshot, _ = fetch(site, title.dex_id)
    by_number = {c.number: c for c in snapshot.chapters}
    assert by_number[Decimal("1.5")].groups == () and by_number[Decimal("1.5")].name == "Chapter 1.5"
    assert by_number[Decimal(2)].groups == ("Alpha", "Beta")


def test_the_content_ratings_followed_are_what_staff_chose(site, settings):
    settings.MANGADEX_CONTENT_RATINGS = ["safe", "suggestive"]
    title = site.add_title(chapters=1, rating="erotica")
    with pytest.raises(TitleRefused, match="does not follow MangaDex titles rated erotica"):
        fetch(site, title.dex_id)
    feed_ratings = [q.query["contentRating[]"] for q in site.api_requests() if q.path.endswith("/feed")]
    assert feed_ratings == []  # refused before the feed is asked for
    MANGADEX.search(Direct(MANGADEX, site.api_url), "Example", 5)
    assert site.api_requests()[-1].query["contentRating[]"] == ["safe", "suggestive"]


@pytest.mark.parametrize(
    "payload, why",
    [
        ({"result": "error", "errors": [{"title": "x", "detail": "y"}]}, "error"),
        ({**MANGA, "response": "collection"}, "expected a MangaDex entity"),
        ({**MANGA, "data": {**MANGA["data"], "id": "99999999-2222-4333-8444-555555555555"}}, "the answer is about"),
        ({**MANGA, "data": {"id": MANGA["data"]["id"]}}, "no attributes"),
    ],
)
def test_unusable_title_answers_are_bad_responses(payload, why):
    with pytest.raises(BadResponse, match=why):
        parse_title(payload, "11111111-2222-4333-8444-555555555555")


def chapter(number, **attributes):
    return {
        "id": "c1c1c1c1-0000-4000-8000-000000000001",
        "type": "chapter",
        "attributes": {
            "chapter": number,
            "translatedLanguage": "en",
            "readableAt": "2024-02-13T02:28:41+00:00",
            **attributes,
        },
        "relationships": [],
    }


@pytest.mark.parametrize(
    "number, name, parsed",
    [
        ("12", "Chapter 12", Decimal(12)),
        ("10.5", "Chapter 10.5", Decimal("10.5")),
        (None, "Oneshot", None),
        ("", "Oneshot", None),
        ("12a", "Chapter 12a", None),
    ],
)
def test_chapter_numbers_are_free_text(number, name, parsed):
    [record], total = parse_feed({"result": "ok", "response": "collection", "data": [chapter(number)], "total": 1})
    assert (record.name, record.number, total) == (name, parsed, 1)
    assert record.published_at == datetime(2024, 2, 13, 2, 28, 41, tzinfo=UTC)
