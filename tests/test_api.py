"""The JSON API: each user sees and changes only their own notifications; checks are queued, not run."""

import re

import pytest
from django.test import Client
from django.utils import timezone
from django_q.brokers import get_broker

from notifications.models import Notification
from readers.models import Follow, Reader, zone_named
from scraping.checking.pipeline import check_title, import_title
from scraping.checking.tasks import run_asked_for_checks
from scraping.models import CheckRequest
from tests.conftest import bato, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def title(standin, reader):
    standin.add_title("110100", chapters=3)
    return import_title(bato("110100"), user=reader).title


def notify(user, title, count=1, **fields):
    chapters = list(title.chapters.order_by("pk"))
    return Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                title=title,
                chapter=chapters[i],
                kind="new_chapter",
                message=f"{chapters[i]} of {title.name}",
                created_at=timezone.now(),
                **fields,
            )
            for i in range(count)
        ]
    )


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/notifications"),
        ("get", "/api/notifications/count"),
        ("post", "/api/notifications/1/read"),
        ("post", "/api/notifications/read-all"),
        ("get", "/api/titles/1/chapters"),
        ("get", "/api/titles/1/schedule"),
        ("post", "/api/titles/1/check"),
    ],
)
def test_every_endpoint_asks_anonymous_callers_to_log_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 401
    assert response.json() == {"error": "log in first"}


def test_the_list_gives_my_notifications_newest_first_and_filters_unread(as_reader, reader, other_reader, title):
    older, newer = notify(reader, title, 2)
    Notification.objects.filter(pk=older.pk).update(is_read=True)
    notify(other_reader, title, 1)

    everything = as_reader.get("/api/notifications").json()["notifications"]
    assert [n["id"] for n in everything] == [newer.pk, older.pk]
    assert everything[0]["chapter_name"] == "Chapter 2" and everything[0]["title_id"] == title.pk

    unread = as_reader.get("/api/notifications?unread=1&limit=5").json()["notifications"]
    assert [n["id"] for n in unread] == [newer.pk]
    assert len(as_reader.get("/api/notifications?limit=1").json()["notifications"]) == 1


@pytest.mark.parametrize("limit, reason", [("abc", "whole number"), ("0", "between 1 and 100"), ("101", "between")])
def test_a_bad_limit_is_a_400_with_the_reason(as_reader, limit, reason):
    response = as_reader.get(f"/api/notifications?limit={limit}")
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_count_and_read_one_and_read_all(as_reader, reader, title):
    first, second, third = notify(reader, title, 3)
    assert as_reader.get("/api/notifications/count").json() == {"unread_count": 3}

    response = as_reader.post(f"/api/notifications/{first.pk}/read")
    assert response.json() == {"id": first.pk, "changed": True, "unread_count": 2}
    assert as_reader.post(f"/api/notifications/{first.pk}/read").json()["changed"] is False

    assert as_reader.post("/api/notifications/read-all").json() == {"marked_read": 2, "unread_count": 0}
    assert not Notification.objects.filter(is_read=False).exists()
    assert Notification.objects.get(pk=second.pk).read_at is not None


def test_another_users_notification_is_a_404_and_stays_unread(as_other, reader, title):
    (mine,) = notify(reader, title)
    assert as_other.post(f"/api/notifications/{mine.pk}/read").status_code == 404
    assert as_other.post("/api/notifications/read-all").json()["marked_read"] == 0
    assert Notification.objects.get(pk=mine.pk).is_read is False


def test_posts_need_the_csrf_token(reader, title):
    (notification,) = notify(reader, title)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    refused = client.post(f"/api/notifications/{notification.pk}/read")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]

    client.get("/notifications/")  # the page sets the csrftoken cookie
    accepted = client.post(
        f"/api/notifications/{notification.pk}/read", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    assert accepted.status_code == 200


def test_wrong_methods_are_405(as_reader):
    assert as_reader.post("/api/notifications").status_code == 405
    assert as_reader.get("/api/notifications/read-all").status_code == 405


def test_chapters_and_schedule_of_a_title(as_reader, title, standin):
    chapters = as_reader.get(f"/api/titles/{title.pk}/chapters?limit=2").json()
    assert chapters["chapter_count"] == 3
    assert [c["name"] for c in chapters["chapters"]] == ["Chapter 3", "Chapter 2"]
    assert chapters["chapters"][0]["url"].startswith(standin.url)

    schedule = as_reader.get(f"/api/titles/{title.pk}/schedule").json()
    assert schedule["title_id"] == title.pk and schedule["reason"]
    assert schedule["next_check_at"] > schedule["last_checked_at"]
    assert as_reader.get("/api/titles/999999/schedule").status_code == 404


def test_a_follower_asks_for_a_check_and_it_is_queued_not_run(
    as_reader, reader, title, django_capture_on_commit_callbacks
):
    broker = get_broker()
    broker.purge_queue()
    checks_before = title.check_logs.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = as_reader.post(f"/api/titles/{title.pk}/check")
    assert response.status_code == 202
    assert response.json()["queued"] is True and response.json()["detail"] == f"A check of {title.name} is queued."
    assert response.json()["coming"] is True
    assert broker.queue_size() == 1
    assert CheckRequest.objects.get().requested_by == reader
    assert title.check_logs.count() == checks_before, "the check ran in the request"

    again = as_reader.post(f"/api/titles/{title.pk}/check")
    assert again.status_code == 202 and again.json()["queued"] is False
    assert f"A check of {title.name} was asked for at" in again.json()["detail"]
    assert again.json()["detail"].endswith("waits for a worker.")
    assert again.json()["coming"] is True, "the shelf follows the check that is still to run"
    broker.purge_queue()


def test_asking_again_says_whether_the_check_ran_and_what_it_found(as_reader, title, standin):
    as_reader.post(f"/api/titles/{title.pk}/check")
    get_broker().purge_queue()
    standin.add_chapters(title.source_id, 2)
    run_asked_for_checks()
    again = as_reader.post(f"/api/titles/{title.pk}/check").json()
    said = r"the last check ran at \d\d:\d\d:\d\d UTC and found 2 new chapters\. Ask again after \d\d:\d\d:\d\d UTC\.$"
    assert again["detail"].startswith(f"A check of {title.name} was asked for at ") and re.search(said, again["detail"])
    assert again["coming"] is False, "nothing left to follow: the shelf shows the answer and stops"
    standin.add_chapters(title.source_id, 1)
    check_title(title)  # the schedule's own check, since
    newest = as_reader.post(f"/api/titles/{title.pk}/check").json()["detail"]
    assert "and found 1 new chapter." in newest, "the newest check is told, not the one asked for"


def test_the_times_of_a_check_asked_for_are_in_the_readers_time_zone(reader, title):
    Reader.objects.update_or_create(user=reader, defaults={"time_zone": "Asia/Tokyo"})
    as_tokyo = logged_in(reader)
    as_tokyo.post(f"/api/titles/{title.pk}/check")
    get_broker().purge_queue()
    asked_at = timezone.localtime(CheckRequest.objects.get().requested_at, zone_named("Asia/Tokyo"))
    detail = as_tokyo.post(f"/api/titles/{title.pk}/check").json()["detail"]
    assert f"asked for at {asked_at:%H:%M:%S} JST;" in detail, detail


def test_only_followers_and_staff_may_ask_for_a_check(as_other, other_reader, title):
    assert as_other.post(f"/api/titles/{title.pk}/check").status_code == 403
    other_reader.is_staff = True
    other_reader.save()
    assert as_other.post(f"/api/titles/{title.pk}/check").status_code == 202
    get_broker().purge_queue()


def test_asking_too_often_is_a_429_with_retry_after(settings, as_reader, reader, title, standin):
    settings.CHECK_NOW_PER_USER_PER_HOUR = 2
    settings.CHECK_NOW_COOLDOWN = 0
    standin.add_title("110101", chapters=1)
    second_title = import_title(bato("110101"), user=reader).title
    assert as_reader.post(f"/api/titles/{title.pk}/check").status_code == 202
    assert as_reader.post(f"/api/titles/{second_title.pk}/check").status_code == 202

    refused = as_reader.post(f"/api/titles/{title.pk}/check")
    assert refused.status_code == 429
    assert 3500 <= int(refused["Retry-After"]) <= 3601
    assert "2 checks an hour" in refused.json()["error"]
    assert CheckRequest.objects.count() == 2
    get_broker().purge_queue()


def test_muted_followers_are_not_notified(reader, other_reader, title, standin):
    Follow.objects.create(user=other_reader, title=title, muted=True)
    standin.add_chapters("110100", 1)
    check_title(title)
    assert Notification.objects.filter(user=reader).count() == 1
    assert not Notification.objects.filter(user=other_reader).exists()
