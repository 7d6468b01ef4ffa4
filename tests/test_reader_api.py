"""The reader's JSON API: the shelf, adding, what a follow reads, progress, search. A reader sees and
changes only their own; every error is JSON with a reason; no answer waits for a source."""

import json

import pytest

from readers import shelf
from readers.models import Follow
from scraping.checking.pipeline import import_title
from scraping.models import Title
from scraping.sources import TitleRef

pytestmark = pytest.mark.django_db


def call(client, method, path, payload=None):
    body = json.dumps(payload) if payload is not None and not isinstance(payload, str | bytes) else payload
    return getattr(client, method)(path, body, content_type="application/json")


@pytest.fixture
def followed(mangadex, reader):
    entry = mangadex.add_title(name="Frieren", chapters=30)
    return entry, import_title(TitleRef("mangadex", entry.dex_id), user=reader).title


def test_the_shelf_answers_every_row_with_what_the_page_shows(as_reader, reader, followed):
    _, title = followed
    shelf.move(Follow.objects.get(user=reader), number=shelf.parse_number("28"))
    [row] = as_reader.get("/api/shelf").json()["titles"]
    assert (row["title_id"], row["name"], row["source"], row["status"], row["state"]) == (
        title.pk,
        "Frieren",
        "mangadex",
        "reading",
        "ready",
    )
    assert row["last_read"] == {"number": "28"} and row["unread_count"] == 2
    assert row["latest_chapter"]["number"] == "30" and row["latest_chapter"]["name"] == "Chapter 30"
    assert row["next_check_at"] and row["muted"] is False and row["shelves"] == []


def test_adding_answers_at_once_whether_or_not_the_title_is_new(as_reader, mangadex, followed):
    _, known = followed
    fresh = mangadex.add_title(name="New Here", chapters=3)
    answer = call(as_reader, "post", "/api/shelf", {"title": f"mangadex:{fresh.dex_id}", "progress": "caught_up"})
    assert answer.status_code == 202 and answer.json()["state"] == "fetching"
    again = call(as_reader, "post", "/api/shelf", {"title": known.source_url, "progress": "none"})
    assert again.status_code == 202 and again.json() == {"title_id": known.pk, "state": "ready"}


@pytest.mark.parametrize(
    "payload, why",
    [
        ({"title": "https://example.org/x", "progress": "none"}, "title is not a URL or id"),
        ({"title": 5, "progress": "none"}, "title must be a title's URL or id"),
        ({"title": "mangadex:11111111-2222-4333-8444-555555555555"}, "Say where you are"),
        ({"title": "mangadex:11111111-2222-4333-8444-555555555555", "progress": "12a"}, "is not a chapter number"),
        ([1, 2], "the body must be a JSON object"),
        ("{" * 100_000, "the body is not JSON"),
    ],
)
def test_a_bad_add_is_a_400_with_the_reason_and_stores_nothing(as_reader, payload, why):
    answer = call(as_reader, "post", "/api/shelf", payload)
    assert answer.status_code == 400 and why in answer.json()["error"]
    assert not Follow.objects.exists()


def test_form_data_sent_to_the_api_is_a_400_that_says_to_send_json(as_reader):
    # The test client sends a dict as multipart form data, as a browser's form would.
    answer = as_reader.post("/api/shelf", {"title": "mangadex:11111111-2222-4333-8444-555555555555"})
    assert answer.status_code == 400 and "send a JSON object as application/json" in answer.json()["error"]
    assert not Follow.objects.exists()


def test_patch_changes_what_a_follow_reads_and_hears(as_reader, reader, followed):
    _, title = followed
    answer = call(
        as_reader,
        "patch",
        f"/api/shelf/{title.pk}",
        {"status": "on_hold", "shelves": ["weekly", "fantasy"], "notify_after_unread": 3, "groups_ignored": ["X"]},
    )
    assert answer.status_code == 200
    row = answer.json()
    assert (row["status"], sorted(row["shelves"]), row["notify_after_unread"]) == ("on_hold", ["fantasy", "weekly"], 3)
    for payload, why in (
        ({"status": "maybe"}, "status must be one of"),
        ({"languages": ["xx"]}, "This title has no chapters in xx"),
        ({"shelves": "weekly"}, "shelves (your shelves) must be a list"),
        ({"notify_after_unread": 10**30}, "from 1 to 999"),
        ({"notify_after_unread": True}, "from 1 to 999"),
        ({"owner": "me"}, "unknown field(s): owner"),
    ):
        refused = call(as_reader, "patch", f"/api/shelf/{title.pk}", payload)
        assert refused.status_code == 400 and why in refused.json()["error"], payload


def test_progress_in_each_form_and_its_errors(as_reader, reader, followed):
    _, title = followed
    chapter = title.chapters.get(number=10)
    for payload, unread in (
        ({"number": "25"}, 5),
        ({"chapter_id": chapter.pk}, 5),  # read up to an earlier chapter: no step back
        ({"caught_up": True}, 0),
        ({"none": True}, 30),
        ({"chapter_id": chapter.pk, "read": True}, 29),
    ):
        answer = call(as_reader, "post", f"/api/shelf/{title.pk}/progress", payload)
        assert answer.status_code == 200 and answer.json()["unread_count"] == unread, payload
    at = call(as_reader, "post", f"/api/shelf/{title.pk}/progress", {"number": "30"}).json()
    assert at["last_read"]["number"] == "30" and at["last_read"]["chapter_id"]
    for payload, why in (
        ({"number": "31"}, "This title has no chapter 31"),
        ({"number": 10**30}, "is not a chapter number"),
        ({"chapter_id": "1"}, "chapter_id must be a chapter's id"),
        ({"chapter_id": 10**6}, "not one of this title's"),
        ({"chapter_id": chapter.pk, "read": "yes"}, "read must be true or false"),
        ({}, 'give "number"'),
    ):
        refused = call(as_reader, "post", f"/api/shelf/{title.pk}/progress", payload)
        assert refused.status_code == 400 and why in refused.json()["error"], payload


def test_another_readers_shelf_is_out_of_reach(as_other, followed):
    _, title = followed
    assert call(as_other, "post", f"/api/shelf/{title.pk}/progress", {"caught_up": True}).status_code == 404
    assert call(as_other, "patch", f"/api/shelf/{title.pk}", {"status": "dropped"}).status_code == 404
    assert as_other.delete(f"/api/shelf/{title.pk}").status_code == 404
    assert as_other.get("/api/shelf").json() == {"titles": []}
    assert Follow.objects.get(title=title).unread_count == 30


def test_filters_and_sorting_of_the_api_and_their_errors(as_reader, reader, followed, mangadex):
    entry = mangadex.add_title(name="Another", chapters=2)
    import_title(TitleRef("mangadex", entry.dex_id), user=reader)
    assert [t["name"] for t in as_reader.get("/api/shelf", {"sort": "name"}).json()["titles"]] == ["Another", "Frieren"]
    assert [t["name"] for t in as_reader.get("/api/shelf", {"sort": "unread"}).json()["titles"]] == [
        "Frieren",
        "Another",
    ]
    assert as_reader.get("/api/shelf", {"sort": "mood"}).status_code == 400
    assert as_reader.get("/api/shelf", {"status": "nope"}).status_code == 400
    assert as_reader.get("/api/shelf", {"status": "dropped"}).json() == {"titles": []}


def test_search_answers_from_what_is_kept_and_queues_the_rest(as_reader, mangadex, mangaupdates, run_tasks):
    mangadex.add_title(name="Frieren: Beyond Journey's End", chapters=3)
    first = as_reader.get("/api/search", {"q": "Frieren"}).json()
    assert first == {"results": [], "pending": ["mangadex", "mangaupdates"], "errors": {}}
    with run_tasks():
        pass
    answer = as_reader.get("/api/search", {"q": "frieren"}).json()
    assert answer["pending"] == [] and [r["name"] for r in answer["results"]] == ["Frieren: Beyond Journey's End"]
    assert answer["results"][0]["on_shelf"] is False and answer["results"][0]["cover_url"].startswith("/covers/")
    assert as_reader.get("/api/search").status_code == 400
    assert as_reader.get("/api/search", {"q": "x" * 300}).status_code == 400


def test_a_source_whose_breaker_is_open_says_so_and_the_others_still_answer(
    as_reader, mangadex, mangaupdates, run_tasks
):
    from datetime import timedelta

    from django.utils import timezone

    from scraping.models import SourceState

    SourceState.objects.update_or_create(
        source="mangadex", defaults={"breaker_until": timezone.now() + timedelta(hours=1), "breaker_reason": "x"}
    )
    mangaupdates.add_title(name="Frieren", releases=2)
    with run_tasks():
        as_reader.get("/api/search", {"q": "Frieren"})
    answer = as_reader.get("/api/search", {"q": "Frieren"}).json()
    assert answer["errors"] == {"mangadex": "MangaDex is not answering now; the other sources still are."}
    assert [r["source"] for r in answer["results"]] == ["mangaupdates"] and not mangadex.api_requests()


def test_the_api_asks_for_a_login(client):
    for path in ("/api/shelf", "/api/search?q=x", "/api/titles/1"):
        answer = client.get(path)
        assert answer.status_code == 401 and answer.json()["error"] == "log in first"
    assert not Title.objects.exists()
