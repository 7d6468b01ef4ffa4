"""The notifications page and the shelf, as a logged-in user sees them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from notifications.views import PAGE_SIZE
from readers.models import Follow
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Title
from tests.conftest import bato, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def title(standin, reader):
    standin.add_title("110100", "Solo Stationer", chapters=3)
    return import_title(bato("110100"), user=reader).title


def test_pages_send_anonymous_visitors_to_log_in(client):
    for path in ("/notifications/", "/shelf/", "/"):
        response = client.get(path, follow=True)
        assert response.redirect_chain[-1][0].startswith("/accounts/login/")


def test_a_reader_logs_in_with_the_form_and_lands_on_the_shelf(client, reader):
    response = client.post("/accounts/login/", {"username": "reader", "password": "reader-pass-123"}, follow=True)
    assert response.redirect_chain[-1][0] == "/shelf/"
    assert b"My shelf" in response.content


def test_new_chapters_show_one_row_per_check_with_cover_title_and_the_unread_badge(as_reader, reader, title, standin):
    standin.add_chapters("110100", 2)
    check_title(title)
    standin.add_chapters("110100", 1)
    check_title(Title.objects.select_related("schedule").get(pk=title.pk))
    page = as_reader.get("/notifications/").content.decode()
    assert 'id="unread-badge" class="badge" data-count="2"' in page
    assert "2 new chapters of Solo Stationer: Chapter 4 – Chapter 5" in page and "Chapter 6 of Solo Stationer" in page
    assert page.index("Chapter 6 of") < page.index("2 new chapters"), "newest first, as live rows arrive"
    assert f'<a href="/titles/{title.pk}/">Solo Stationer</a>' in page, "the title's name leads to its page"
    assert 'class="cover small placeholder"' in page


def test_what_a_source_names_things_is_shown_as_text_never_as_markup(as_reader, reader, title):
    Title.objects.filter(pk=title.pk).update(name="<b>Bold</b> & Co")
    chapter, now = title.chapters.first(), timezone.now()
    for message in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'):
        Notification.objects.create(
            user=reader,
            title=title,
            chapter=chapter if "img" in message else None,
            kind="new_chapter",
            message=message,
            created_at=now,
        )
    page = as_reader.get("/notifications/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co</a>" in page
    # One mark-read form for the page (and mark all, and log out in each menu), not one per row.
    assert page.count('form="mark-read-form"') == 2 and page.count("csrfmiddlewaretoken") == 4  # and log out, twice


def test_the_badge_is_on_every_page(as_reader, reader, title):
    Notification.objects.create(user=reader, title=title, kind="new_chapter", message="Chapter 9")
    assert 'data-count="1"' in as_reader.get("/shelf/").content.decode()


def test_unread_shows_only_unread_and_all_shows_everything(as_reader, reader, title):
    read = Notification.objects.create(user=reader, title=title, kind="new_chapter", message="Old news", is_read=True)
    Notification.objects.create(
        user=reader,
        title=title,
        kind="new_chapter",
        message="Fresh news",
        created_at=read.created_at + timedelta(minutes=1),
    )
    unread_page = as_reader.get("/notifications/").content.decode()
    assert "Fresh news" in unread_page and "Old news" not in unread_page
    all_page = as_reader.get("/notifications/?show=all").content.decode()
    assert all_page.index("Fresh news") < all_page.index("Old news")


def test_a_user_never_sees_another_users_notifications(as_reader, other_reader, title):
    Notification.objects.create(user=other_reader, title=title, kind="new_chapter", message="Not yours")
    assert "Not yours" not in as_reader.get("/notifications/?show=all").content.decode()


def test_mark_one_read_and_mark_all_read_from_the_page(as_reader, reader, title):
    first, second, third = (
        Notification.objects.create(user=reader, title=title, kind="new_chapter", message=f"News {i}") for i in range(3)
    )
    response = as_reader.post(f"/notifications/{first.pk}/read", {"next": "/notifications/?show=all"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?show=all"
    assert Notification.objects.filter(is_read=False).count() == 2

    assert (
        as_reader.post(f"/notifications/{second.pk}/read", {"next": "/\\evil.example/"})["Location"]
        == "/notifications/"
    )
    response = as_reader.post("/notifications/read-all", {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/"
    assert "Marked 1 notification read." in response.content.decode()
    assert not Notification.objects.filter(is_read=False).exists()


def test_another_users_notification_cannot_be_marked_from_the_page(reader, other_reader, title):
    (mine,) = [Notification.objects.create(user=reader, title=title, kind="new_chapter", message="Mine")]
    assert logged_in(other_reader).post(f"/notifications/{mine.pk}/read").status_code == 404


def test_the_list_is_paginated(as_reader, reader, title):
    start = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                user=reader,
                title=title,
                kind="new_chapter",
                message=f"Item {i:02}",
                created_at=start + timedelta(minutes=i),
            )
            for i in range(PAGE_SIZE + 2)
        ]
    )
    first = as_reader.get("/notifications/").content.decode()
    second = as_reader.get("/notifications/?page=2").content.decode()
    assert f"Item {PAGE_SIZE + 1:02}" in first and "Item 00" not in first
    assert "Item 00" in second and "page 2 of 2" in second
    assert "page 2 of 2" in as_reader.get("/notifications/?page=999").content.decode()


def test_the_shelf_shows_latest_chapter_checks_and_the_expected_release(as_reader, title):
    schedule = title.schedule
    schedule.expected_release_at = timezone.now() + timedelta(days=2)
    schedule.save()
    page = as_reader.get("/shelf/").content.decode()
    assert "Solo Stationer" in page and "Latest: " in page and "Chapter 3" in page
    assert "Next expected <time" in page and ">late<" not in page
    assert "checked <time" in page


def test_an_expected_release_that_did_not_come_by_the_last_check_is_marked_late(as_reader, title):
    schedule = title.schedule
    schedule.expected_release_at = timezone.now() - timedelta(hours=3)
    schedule.last_checked_at = timezone.now() - timedelta(hours=1)
    schedule.learned = {**schedule.learned, "tolerance_s": 3600}
    schedule.save()
    assert '<span class="late">late</span>' in as_reader.get("/shelf/").content.decode()
    # Within the rhythm's give or take it is not late yet.
    schedule.learned["tolerance_s"] = 3 * 3600
    schedule.save()
    page = as_reader.get("/shelf/").content.decode()
    assert ">late<" not in page and "(late:" not in as_reader.get(f"/titles/{title.pk}/").content.decode()


def test_mute_and_unfollow(as_reader, reader, other_reader, standin):
    standin.add_title("110100", "Solo Stationer", chapters=1)
    title = import_title(bato("110100"), user=other_reader).title
    import_title(bato("110100"), user=reader)
    as_reader.post(f"/shelf/{title.pk}/mute", {"muted": "1"})
    assert Follow.objects.get(user=reader, title=title).muted
    as_reader.post(f"/shelf/{title.pk}/mute", {"muted": "0"})
    assert not Follow.objects.get(user=reader, title=title).muted
    as_reader.post(f"/shelf/{title.pk}/unfollow")
    assert not Follow.objects.filter(user=reader).exists()
    assert Follow.objects.filter(user=other_reader).exists()
    assert as_reader.post(f"/shelf/{title.pk}/unfollow").status_code == 404


def test_times_read_as_a_reader_reads_them_in_their_time_zone(as_reader, reader, title):
    from readers.models import Reader

    Reader.objects.create(user=reader, time_zone="Asia/Tokyo")
    client = logged_in(reader)
    now = timezone.now()
    Notification.objects.create(user=reader, title=title, kind="new_chapter", message="Just now", created_at=now)
    Notification.objects.create(
        user=reader, title=title, kind="new_chapter", message="Earlier", created_at=now - timedelta(minutes=7)
    )
    page = client.get("/notifications/").content.decode()
    assert ">just now</time>" in page and ">7 min ago</time>" in page
    assert "0 minutes ago" not in page and "(s)" not in page
    assert "JST" in page, "the full time, on hover, is in the reader's own zone"


def test_pages_load_nothing_from_other_sites(as_reader, title):
    page = as_reader.get("/notifications/").content.decode()
    assert "/static/batoshelf/notifications.js" in page
    assert '<script src="http' not in page and '<link rel="stylesheet" href="http' not in page
