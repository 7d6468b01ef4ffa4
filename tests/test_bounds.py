"""Checks bounded in time and memory: a source that drips, floods or sends numbers no count has, and a
check that crashes inside batoshelf, all end in a failed check log with the title given back."""

import json

import pytest
from django.utils import timezone

from scraping.checking import pipeline
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Chapter, CheckLog, CheckSchedule, Title
from scraping.sources import TitleRef
from scraping.sources.bato import parse_title_response
from tests.conftest import bato

pytestmark = pytest.mark.django_db


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


def test_a_source_that_sends_a_byte_a_second_is_cut_off_at_the_deadline(standin, settings, reader):
    standin.add_title("5", chapters=2)
    title = import_title(bato("5"), user=reader).title
    settings.SOURCE_DEADLINE = 2
    standin.drip_seconds = 0.5
    standin.set_fault("drip")
    result = check_title(fresh(title))
    assert (result.log.outcome, result.log.error_kind) == ("failed", "timeout")
    assert "no whole answer from" in result.log.message and "within 2 s" in result.log.message
    schedule = CheckSchedule.objects.get(title=title)
    assert schedule.claim_token is None and schedule.claimed_until is None, "the title is given back"


def test_a_whole_check_has_a_deadline_too(mangadex, settings, reader):
    entry = mangadex.add_title(chapters=3)
    settings.CHECK_DEADLINE = 0.5  # spent before the first request: it never goes
    with pytest.raises(Exception, match="took longer than 0.5 s"):
        import_title(TitleRef("mangadex", entry.dex_id), user=reader)
    assert not Title.objects.filter(imported_at__isnull=False).exists()


def feed_of(count):
    chapter = {
        "type": "chapter",
        "attributes": {"chapter": "1", "translatedLanguage": "en", "readableAt": "2026-01-01T00:00:00+00:00"},
        "relationships": [],
    }
    data = [{**chapter, "id": f"00000000-0000-4000-8000-{n:012d}"} for n in range(count)]
    return {"result": "ok", "response": "collection", "data": data, "limit": 500, "offset": 0, "total": count}


def test_an_answer_with_more_chapters_than_asked_for_is_a_bad_answer_and_stores_nothing(mangadex, reader):
    entry = mangadex.add_title(chapters=1)
    title = import_title(TitleRef("mangadex", entry.dex_id), user=reader).title
    mangadex.raw_answer = (200, {"Content-Type": "application/json"}, json.dumps(feed_of(600)).encode())
    mangadex.set_fault("raw")
    result = check_title(fresh(title))
    assert result.log.outcome == "failed" and "600 chapters to a request for at most 100" in result.log.message
    assert Chapter.objects.filter(title=title).count() == 1


def test_a_bato_title_with_more_chapters_than_any_title_has_is_refused():
    from scraping.sources.errors import BadResponse

    answer = {
        "data": {
            "get_content_comicNode": {"id": "1", "data": {"id": "1", "name": "x"}},
            "get_content_chapterList": [{"id": str(n), "data": {"dname": "c"}} for n in range(20_001)],
        }
    }
    with pytest.raises(BadResponse, match="20001 chapters for one title"):
        parse_title_response(answer, "1")


@pytest.mark.parametrize(
    "field, value",
    [
        ("stat_count_votes", -1),
        ("stat_count_follows", 10**30),
        ("stat_count_reviews", -5),
        ("stat_count_post_reply", 10**12),
    ],
)
def test_numbers_no_count_has_are_dropped_at_the_parser_not_stored(field, value):
    answer = {
        "data": {
            "get_content_comicNode": {"id": "1", "data": {"id": "1", "name": "x", field: value}},
            "get_content_chapterList": [
                {"id": "9", "data": {"dname": "c", "stat_count_views_guest": value, "stat_count_views_login": value}}
            ],
        }
    }
    snapshot = parse_title_response(answer, "1")
    stored_as = {
        "stat_count_votes": "votes",
        "stat_count_follows": "follows",
        "stat_count_reviews": "reviews",
        "stat_count_post_reply": "replies",
    }
    assert getattr(snapshot.details, stored_as[field]) is None
    assert (snapshot.chapters[0].views_guest, snapshot.chapters[0].views_member) == (None, None)


def test_hostile_numbers_never_break_a_check_or_the_shelf(standin, reader, as_reader):
    standin.add_title("7", chapters=1)
    title = import_title(bato("7"), user=reader).title
    standin.titles["7"].details["stat_count_votes"] = -1
    standin.titles["7"].details["stat_count_views"] = [{"field": "d000", "count": 10**30}]
    assert check_title(fresh(title)).log.outcome in ("no_change", "success")
    assert as_reader.get("/shelf/").status_code == 200 and as_reader.get(f"/titles/{title.pk}/").status_code == 200


def test_a_check_that_crashes_inside_batoshelf_ends_in_a_failed_log_and_gives_its_title_back(
    standin, reader, monkeypatch
):
    standin.add_title("8", chapters=1)
    title = import_title(bato("8"), user=reader).title
    standin.add_chapters("8", 1)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "chapters_to_announce", broken)
    result = check_title(fresh(title))
    assert (result.log.outcome, result.log.error_kind) == ("failed", "internal")
    assert "ZeroDivisionError: a bug" in result.log.message
    schedule = CheckSchedule.objects.get(title=title)
    assert schedule.claim_token is None and schedule.next_check_at > timezone.now()
    assert Chapter.objects.filter(title=title).count() == 1, "the transaction stored nothing of it"
    assert CheckLog.objects.filter(title=title, outcome="failed").count() == 1
