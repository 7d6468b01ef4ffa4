"""A title's page: its cover, names by language, people, genres apart from content warnings, the
description rendered safely, its schedule in words, and its chapters with the reader's read state."""

from datetime import timedelta

import pytest
from django.utils import timezone

from readers import shelf
from readers.models import Follow
from scraping.checking.pipeline import import_title
from scraping.models import CheckSchedule, Title
from scraping.sources import TitleRef

pytestmark = pytest.mark.django_db


@pytest.fixture
def title(mangadex, reader):
    entry = mangadex.add_title(
        name="Kimetsu no Yaiba",
        name_language="ja-ro",
        chapters=120,
        alt_names=("鬼滅の刃",),
        description="**Demons** & [the official site](https://example.org/ky) <script>alert(1)</script> "
        "[bad](javascript:alert(1)) [inside](http://169.254.169.254/x)",
    )
    return import_title(TitleRef("mangadex", entry.dex_id), user=reader).title


def test_the_page_shows_what_a_reader_wants_to_know_of_a_title(as_reader, title):
    page = as_reader.get(f"/titles/{title.pk}/").content.decode()
    assert "<h1>Kimetsu no Yaiba</h1>" in page
    assert '<li lang="ja">鬼滅の刃 <small>ja</small></li>' in page
    assert "Story: Someone A" in page and "Art: Someone B" in page and "2020" in page
    assert '<span class="tag-group">Genres</span> <span class="tag">Action</span>' in page
    assert '<span class="tag-group">Content warnings</span> <span class="tag warning">Gore</span>' in page
    assert "<strong>Demons</strong>" in page and "&lt;script&gt;" in page and "<script>alert" not in page
    assert 'href="https://example.org/ky" rel="nofollow noopener noreferrer"' in page
    assert 'href="javascript' not in page and 'href="http://169.254' not in page, "only public http(s) links"
    assert "Next check" in page and "CHECK_" not in page and "BATO_" not in page


def test_chapters_are_listed_newest_first_paged_with_what_the_reader_read(as_reader, reader, title):
    shelf.move(Follow.objects.get(user=reader), number=shelf.parse_number("100"))
    first = as_reader.get(f"/titles/{title.pk}/").content.decode()
    assert first.index(">Chapter 120<") < first.index(">Chapter 119<")
    assert "page 1 of 3" in first and first.count('class="chapter unread"') == 20
    older = as_reader.get(f"/titles/{title.pk}/", {"page": "3"}).content.decode()
    assert "Chapter 1<" in older and 'class="chapter unread"' not in older
    chapter = title.chapters.get(number=110)
    as_reader.post(f"/shelf/{title.pk}/progress", {"action": "up_to", "chapter_id": chapter.pk})
    assert Follow.objects.get(user=reader).unread_count == 10


def test_a_reader_who_does_not_follow_it_sees_the_page_and_can_add_it(as_other, title):
    page = as_other.get(f"/titles/{title.pk}/").content.decode()
    assert "Not on your shelf" in page and "Where are you in it?" in page
    assert as_other.get("/titles/999999/").status_code == 404


def test_a_refused_add_never_sends_the_reader_to_another_site(as_other, title):
    for back in ("http://testserver//evil.example/x", "http://testserver/\\evil.example", "//evil.example"):
        refused = as_other.post("/shelf/add", {"title": title.reference, "where": "at", "number": "x", "next": back})
        assert refused["Location"].startswith("/") and not refused["Location"].startswith(("//", "/\\")), back


def test_a_shelf_name_too_long_is_refused_not_cut_short(as_reader, reader, title):
    refused = as_reader.post(f"/shelf/{title.pk}/reading", {"shelves": "s" * 61})
    assert refused.status_code == 400 and "longer than 60 characters" in refused.content.decode()
    assert not Follow.objects.get(user=reader).shelves.exists()


@pytest.mark.parametrize("name", ["evil\u202egnp.exe", "tab\x00null", "bell\x07"])
def test_a_shelf_name_with_a_character_no_name_shows_is_refused(as_reader, reader, title, name):
    refused = as_reader.post(f"/shelf/{title.pk}/reading", {"shelves": name})
    assert refused.status_code == 400 and "a character no name shows" in refused.content.decode()
    assert not Follow.objects.get(user=reader).shelves.exists()


def test_an_add_that_is_refused_shows_the_title_and_what_was_typed_again(as_other, title):
    form = {"title": title.reference, "where": "at", "number": "12abc"}
    refused = as_other.post("/shelf/add", form)
    assert refused.status_code == 302 and "q=" in refused["Location"]
    page = as_other.get(refused["Location"]).content.decode()
    assert "is not a chapter number such as 58 or 10.5" in page
    assert f'value="{title.reference}"' in page and 'value="12abc"' in page
    assert 'value="at" required checked' in page
    too_long = as_other.post("/shelf/add", {**form, "number": "1" + "0" * 30}, follow=True).content.decode()
    assert "is not a chapter number" in too_long and 'value="1000000000000000000000000000000"' in too_long
    assert not Follow.objects.filter(user__username="other").exists()


def test_what_a_reader_reads_and_hears_is_set_on_the_page(as_reader, reader, title):
    response = as_reader.post(
        f"/shelf/{title.pk}/reading",
        {"groups_ignored": "Bad Scans, Worse", "shelves": "weekly, shounen", "notify_after_unread": "5"},
        follow=True,
    )
    assert "Saved." in response.content.decode()
    follow = Follow.objects.get(user=reader)
    assert follow.groups_ignored == ["Bad Scans", "Worse"] and follow.notify_after_unread == 5
    assert sorted(follow.shelves.values_list("name", flat=True)) == ["shounen", "weekly"]
    typed = {"groups_ignored": "Bad Scans, New Scans", "shelves": "weekly, seinen", "notify_after_unread": "99999"}
    refused = as_reader.post(f"/shelf/{title.pk}/reading", typed)
    page = refused.content.decode()
    assert refused.status_code == 400 and "must be a whole number from 1 to 999" in page
    # The form as the reader left it, not as it was saved: nothing typed is lost.
    assert 'value="Bad Scans, New Scans"' in page and 'value="weekly, seinen"' in page and 'value="99999"' in page
    assert sorted(Follow.objects.get(user=reader).shelves.values_list("name", flat=True)) == ["shounen", "weekly"]


def test_a_language_added_on_the_page_is_fetched_at_the_next_dispatch_and_the_page_says_so(as_reader, title):
    Title.objects.filter(pk=title.pk).update(available_languages=["en", "pt-br"])
    CheckSchedule.objects.filter(title=title).update(next_check_at=timezone.now() + timedelta(days=3))
    saved = as_reader.post(f"/shelf/{title.pk}/reading", {"languages": ["en", "pt-br"]}, follow=True)
    assert "come with its next check, within a minute or two" in saved.content.decode()
    assert Title.objects.get(pk=title.pk).languages == ["en", "pt-br"]
    assert CheckSchedule.objects.get(title=title).next_check_at <= timezone.now(), "due at once"
    again = as_reader.post(f"/shelf/{title.pk}/reading", {"languages": ["en", "pt-br"]}, follow=True)
    assert "Saved." in again.content.decode() and "next check" not in again.content.decode()


def test_the_json_api_gives_the_page_with_chapters_read_or_not(as_reader, reader, title):
    shelf.move(Follow.objects.get(user=reader), number=shelf.parse_number("119"))
    data = as_reader.get(f"/api/titles/{title.pk}").json()
    assert data["name"] == "Kimetsu no Yaiba" and data["tags"]["content"] == ["Gore"]
    assert (data["pages"], data["chapter_count"], data["on_shelf"]) == (3, 120, True)
    assert [c["read"] for c in data["chapters"][:3]] == [False, True, True]
    assert as_reader.get(f"/api/titles/{title.pk}", {"page": "x"}).status_code == 400
    assert as_reader.get("/api/titles/999999").status_code == 404
    assert Title.objects.count() == 1
