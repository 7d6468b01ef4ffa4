"""Bato's answer parser: a pure function from Bato's JSON to the shared records."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scraping.sources.bato import TITLE_QUERY, parse_title_response
from scraping.sources.errors import BadResponse, TitleNotFound
from scraping.sources.values import chapter_number_in
from scraping.sources.values import epoch_ms as epoch_ms_to_datetime
from tests.standins.bato import StandInTitle, make_details


def payload(title):
    return {
        "data": {
            "get_content_comicNode": {"id": title.comic_id, "data": title.details},
            "get_content_chapterList": title.chapters,
        }
    }


def test_one_document_asks_for_details_and_chapters_with_an_id_argument():
    assert "get_content_comicNode(id: $id)" in TITLE_QUERY
    assert "get_content_chapterList(comicId: $id)" in TITLE_QUERY
    assert "$id: ID!" in TITLE_QUERY


def test_every_documented_field_is_read():
    title = StandInTitle("102497", make_details("102497", "악녀의 문구점에 오지 마세요!"))
    title.add_chapters(2, published_ms=1647940559044)
    snapshot = parse_title_response(payload(title), "102497")
    details = snapshot.details
    assert details.name == "악녀의 문구점에 오지 마세요!"
    assert details.alt_names[1] == {"name": "悪女の文房具店に来ないでください!", "language": ""}
    assert details.authors == ["여로은"]
    assert details.genres[-1] == "slice_of_life"
    assert (details.orig_lang, details.upload_status, details.read_direction) == ("ko", "ongoing", "ttb")
    assert details.original_pub_from == "2022" and details.original_pub_till == ""
    assert details.description == "문구점을 운영하는 악녀의 이야기."
    assert details.score == pytest.approx(8.7822)
    assert (details.votes, details.follows, details.reviews, details.replies) == (5590, 21034, 12, 830)
    assert details.score_distribution["10"] == 370
    assert details.views_all_time == 1234567
    assert details.emotions["upvote"] == 120
    first = snapshot.chapters[0]
    assert first.source_id == title.chapters[0]["id"]
    assert first.name == "Chapter 1" and first.number == Decimal("1")
    assert first.published_at == datetime(2022, 3, 22, 9, 15, 59, 44000, tzinfo=UTC)
    assert first.created_at < first.published_at
    assert (first.views_guest, first.views_member, first.replies) == (100, 40, 1)


def test_dates_are_epoch_milliseconds_not_seconds():
    assert epoch_ms_to_datetime(1647940559044).year == 2022
    # A seconds value where milliseconds are documented is still a 2022 date, not 1970.
    assert epoch_ms_to_datetime(1647940559).year == 2022
    for unusable in (None, "", 0, -5, "soon", True, 10**17):
        assert epoch_ms_to_datetime(unusable) is None


def test_null_and_missing_fields_become_empty_values():
    title = StandInTitle("9", make_details("9", "Old Title", nulls=True))
    title.chapters = [
        {"id": "11", "data": {"dname": "Chapter 1", "title": None, "urlPath": None}},
        {"id": "12", "data": None},
        {"id": 13, "data": {"dname": "Extra", "datePublic": "1647940559044"}},
    ]
    snapshot = parse_title_response(payload(title), "9")
    assert snapshot.details.upload_status == "" and snapshot.details.description == ""
    assert snapshot.details.alt_names == [] and snapshot.details.score is None
    assert snapshot.details.views_all_time is None
    assert [c.subtitle for c in snapshot.chapters] == ["", "", ""]
    assert snapshot.chapters[1].name == "" and snapshot.chapters[1].published_at is None
    assert snapshot.chapters[2].source_id == "13" and snapshot.chapters[2].published_at.year == 2022


def test_iso_string_dates_are_read_not_dropped():
    """Some answers carry dates as ISO strings rather than epoch milliseconds."""
    title = StandInTitle("9", make_details("9", "Title"))
    title.chapters = [
        {
            "id": "11",
            "data": {
                "dname": "Chapter 1",
                "datePublic": "2022-03-29T09:15:59.044Z",
                "dateCreate": "2022-03-29T09:14:00Z",
            },
        }
    ]
    [chapter] = parse_title_response(payload(title), "9").chapters
    assert chapter.published_at == datetime(2022, 3, 29, 9, 15, 59, 44000, tzinfo=UTC)
    assert chapter.created_at == datetime(2022, 3, 29, 9, 14, tzinfo=UTC)


def test_a_chapter_id_only_in_its_data_is_read_from_there():
    title = StandInTitle("9", make_details("9", "Title"))
    title.chapters = [{"data": {"id": "1906652", "dname": "Chapter 1"}}, {"id": "", "data": {"id": 7, "dname": "2"}}]
    assert [c.source_id for c in parse_title_response(payload(title), "9").chapters] == ["1906652", "7"]


def test_hidden_and_deleted_chapters_are_kept_but_not_available():
    title = StandInTitle("9", make_details("9", "Title"))
    title.add_chapters(3)
    title.chapters[0]["data"]["isHidden"] = True
    title.chapters[1]["data"]["isDeleted"] = True
    assert [c.available for c in parse_title_response(payload(title), "9").chapters] == [False, False, True]


def test_a_title_with_1500_chapters_keeps_them_all_in_order():
    title = StandInTitle("72315", make_details("72315", "月曜日のたわわ", lang="ja"))
    title.add_chapters(1500, published_ms=1_500_000_000_000, gap_ms=3_600_000)
    chapters = parse_title_response(payload(title), "72315").chapters
    assert len(chapters) == 1500
    assert chapters[-1].number == Decimal("1500")
    assert chapters == sorted(chapters, key=lambda c: c.published_at)


@pytest.mark.parametrize(
    "name, number",
    [
        ("Chapter 1", "1"),
        ("Vol.2 Ch.10.5", "10.5"),
        ("Ch.007", "7"),
        ("Episode 12 - The Return", "12"),
        ("Ep. 3", "3"),
        ("chapter 44: Finale", "44"),
        ("12", "12"),
        ("#120.5", "120.5"),
        ("第12話", "12"),
        ("第3话 重逢", "3"),
        ("15화", "15"),
        ("Side Story 3", None),
        ("Extra", None),
        ("Volume 3 Extras", None),
        ("", None),
        ("Notice: hiatus until May", None),
    ],
)
def test_chapter_numbers_from_free_text_names(name, number):
    expected = Decimal(number) if number else None
    assert chapter_number_in(name) == expected


def test_an_unknown_id_is_not_found_in_either_form():
    with pytest.raises(TitleNotFound):
        parse_title_response({"data": {"get_content_comicNode": None}}, "5")
    with pytest.raises(TitleNotFound):
        parse_title_response({"errors": [{"message": "Comic 5 not found"}], "data": None}, "5")


@pytest.mark.parametrize(
    "body, why",
    [
        ([], "expected a JSON object"),
        ({}, "neither 'data' nor 'errors'"),
        ({"data": "x"}, "not an object"),
        ({"errors": [{"message": 'Cannot query field "x"'}], "data": None}, "GraphQL errors: Cannot query"),
        ({"data": {"get_content_comicNode": {"id": "5"}}}, "no 'data' object"),
        ({"data": {"get_content_comicNode": {"id": "5", "data": {"id": "6"}}}}, "about title 6"),
        (
            {"data": {"get_content_comicNode": {"id": "5", "data": {"id": "5"}}, "get_content_chapterList": {"id": 1}}},
            "not a list",
        ),
        (
            {
                "data": {
                    "get_content_comicNode": {"id": "5", "data": {"id": "5"}},
                    "get_content_chapterList": [{"id": None, "data": {}}],
                }
            },
            "no usable id",
        ),
    ],
)
def test_unusable_answers_are_bad_responses_with_a_reason(body, why):
    with pytest.raises(BadResponse, match=why):
        parse_title_response(body, "5")
