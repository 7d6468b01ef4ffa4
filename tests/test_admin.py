"""Staff see titles, chapters, schedules, logs, follows and notifications in the admin, cheaply."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from batoshelf.words import counted
from notifications.models import Notification
from readers.models import Follow
from scraping.admin import RECENT_LOGS
from scraping.checking.pipeline import check_title, import_title
from scraping.gate import keeper
from scraping.models import Chapter, CheckLog, CheckRequest, CheckSchedule, Title
from tests.conftest import bato

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:scraping_title_changelist",
    "admin:scraping_chapter_changelist",
    "admin:scraping_checkschedule_changelist",
    "admin:scraping_checklog_changelist",
    "admin:readers_follow_changelist",
    "admin:notifications_notification_changelist",
]


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    client.get(reverse("admin:index"))  # the session's first page keeps the time zone: not counted below
    return client


def track(standin, users, count, first_id=1):
    for n in range(first_id, first_id + count):
        standin.add_title(str(n), f"타이틀 {n}", chapters=2)
        title = import_title(bato(n)).title
        for user in users:
            Follow.objects.create(user=user, title=title)
        standin.add_chapters(str(n), 1)
        check_title(Title.objects.select_related("schedule").get(pk=title.pk))


def changelist_queries(staff_client, name):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse(name))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", CHANGELISTS)
def test_change_lists_cost_the_same_queries_for_2_or_12_titles(staff_client, standin, reader, other_reader, name):
    track(standin, [reader, other_reader], 2)
    few = changelist_queries(staff_client, name)
    track(standin, [reader, other_reader], 10, first_id=3)
    assert changelist_queries(staff_client, name) == few


def test_a_title_page_shows_its_schedule_and_links_its_chapters(staff_client, standin, reader):
    track(standin, [reader], 1)
    title = Title.objects.get()
    page = staff_client.get(reverse("admin:scraping_title_change", args=[title.pk])).content.decode()
    assert "타이틀 1" in page
    assert "Next check at" in page
    assert f"chapter/?title__id__exact={title.pk}" in page and "3 chapters" in page


def test_titles_are_searchable_by_name_and_id(staff_client, standin):
    track(standin, [], 2)
    page = staff_client.get(reverse("admin:scraping_title_changelist"), {"q": "타이틀 2"}).content.decode()
    assert "1 result" in page


@pytest.mark.parametrize("model", [Chapter, CheckLog, CheckSchedule])
def test_chapters_logs_and_schedules_are_found_by_their_titles_name_in_any_language_or_its_id(
    staff_client, standin, model
):
    track(standin, [], 12)
    wanted = Title.objects.get(source_id="12")
    Title.objects.filter(pk=wanted.pk).update(alt_names=[{"name": "Quiet Garden", "language": "en"}])
    rows = model.objects.filter(title=wanted).count()
    url = reverse(f"admin:scraping_{model._meta.model_name}_changelist")
    for term in ("타이틀 12", "garden", "12"):
        page = staff_client.get(url, {"q": term}).content.decode()
        assert counted(rows, "result") in page and "타이틀 11" not in page, term
    assert "0 results" in staff_client.get(url, {"q": "no such title"}).content.decode()


def test_notifications_are_found_by_a_readers_exact_name_or_their_title(staff_client, standin, reader, other_reader):
    track(standin, [reader, other_reader], 2)
    url = reverse("admin:notifications_notification_changelist")
    mine = Notification.objects.filter(user=reader).count()
    assert mine and counted(mine, "result") in staff_client.get(url, {"q": "reader"}).content.decode()
    of_title = Notification.objects.filter(title__source_id="2").count()
    assert counted(of_title, "result") in staff_client.get(url, {"q": "타이틀 2"}).content.decode()


def test_check_logs_filter_by_outcome(staff_client, standin):
    track(standin, [], 1)
    page = staff_client.get(reverse("admin:scraping_checklog_changelist"), {"outcome__exact": "success"})
    assert page.status_code == 200 and "1 check log" in page.content.decode(), "the import is not a success"
    page = staff_client.get(reverse("admin:scraping_checklog_changelist"), {"outcome__exact": "imported"})
    assert "1 check log" in page.content.decode()


def test_the_admin_is_for_staff_only(client, reader):
    client.force_login(reader)
    response = client.get(reverse("admin:scraping_title_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_every_admin_page_says_when_checks_to_a_source_are_paused(staff_client):
    assert "are paused" not in staff_client.get(reverse("admin:index")).content.decode()
    keeper.pause("bato", timezone.now(), 600, "Bato is rate limiting us (HTTP 429)")
    page = staff_client.get(reverse("admin:scraping_title_changelist")).content.decode()
    assert "Checks to Bato are paused until" in page and "rate limiting us" in page


def change_titles(staff_client, action, titles, **extra):
    return staff_client.post(
        reverse("admin:scraping_title_changelist"),
        {
            "action": action,
            "_selected_action": [t.pk for t in titles],
            **extra,
        },
        follow=True,
    )


@pytest.fixture
def titles(standin):
    made = []
    for n in ("1", "2"):
        standin.add_title(n, f"Title {n}", chapters=3)
        made.append(import_title(bato(n)).title)
    return made


def test_staff_queue_checks_of_titles_from_the_admin(
    staff_client, admin_user, titles, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = change_titles(staff_client, "check_now", titles)
    assert "Queued 2 checks; 0 already asked for." in response.content.decode()
    assert len(queued) == 2
    assert CheckRequest.objects.filter(requested_by=admin_user).count() == 2
    again = change_titles(staff_client, "check_now", titles[:1])
    assert "Queued 0 checks; 1 already asked for." in again.content.decode()


def test_staff_pause_resume_and_reset_titles(staff_client, titles):
    schedule = CheckSchedule.objects.get(title=titles[0])
    assert schedule.learned and schedule.next_check_at > timezone.now()
    change_titles(staff_client, "pause_checks", titles)
    assert CheckSchedule.objects.filter(paused=True).count() == 2
    change_titles(staff_client, "resume_checks", titles[1:])
    assert list(CheckSchedule.objects.filter(paused=True).values_list("title", flat=True)) == [titles[0].pk]

    CheckSchedule.objects.filter(title=titles[0]).update(manual_interval_hours=3, misses=4)
    change_titles(staff_client, "reset_schedule", titles[:1])
    schedule.refresh_from_db()
    assert (schedule.learned, schedule.manual_interval_hours, schedule.misses, schedule.paused) == ({}, None, 0, False)
    assert schedule.next_check_at <= timezone.now()
    assert schedule.reason.startswith("reset by staff")


def test_staff_pin_an_interval_through_a_form_that_checks_it(staff_client, titles):
    form = change_titles(staff_client, "set_manual_interval", titles)
    assert "Check every (hours)" in form.content.decode() and "Title 1" in form.content.decode()

    refused = change_titles(staff_client, "set_manual_interval", titles, apply="1", hours="0")
    assert "Ensure this value is greater than or equal to 0.1" in refused.content.decode()
    assert not CheckSchedule.objects.filter(manual_interval_hours__isnull=False).exists()

    done = change_titles(staff_client, "set_manual_interval", titles, apply="1", hours="6")
    assert "2 titles are checked every 6 h" in done.content.decode()
    assert set(CheckSchedule.objects.values_list("manual_interval_hours", flat=True)) == {6}


def test_a_titles_page_shows_its_last_twenty_checks(staff_client, standin, titles):
    title = Title.objects.select_related("schedule").get(pk=titles[0].pk)
    for _ in range(RECENT_LOGS + 2):
        check_title(title)
        title.refresh_from_db()
    page = staff_client.get(reverse("admin:scraping_title_change", args=[title.pk])).content.decode()
    logs = page.split(f"Last {RECENT_LOGS} checks")[1]
    assert logs.count("no change") == RECENT_LOGS


def test_a_titles_page_shows_names_and_figures_as_text_and_takes_languages_as_codes(staff_client, standin):
    track(standin, [], 1)
    title = Title.objects.get()
    url = reverse("admin:scraping_title_change", args=[title.pk])
    page = staff_client.get(url).content.decode()
    assert "악녀의 문구점에 오지 마세요! · 悪女の文房具店に来ないでください!" in page  # Bato gives no languages
    assert "1: 37, 2: 74" in page and "[&quot;" not in page
    form = {
        "name": title.name,
        "description": "",
        "upload_status": "ongoing",
        "original_status": "",
        "year": "",
        "original_pub_from": "",
        "original_pub_till": "",
        "orig_lang": "ko",
        "read_direction": "",
        "score": "",
        "votes": "",
        "follows": "",
        "reviews": "",
        "replies": "",
        "views_all_time": "",
        "schedule-TOTAL_FORMS": "0",
        "schedule-INITIAL_FORMS": "0",
        "check_logs-TOTAL_FORMS": "0",
        "check_logs-INITIAL_FORMS": "0",
    }
    refused = staff_client.post(url, {**form, "languages": "en, English"})
    assert "Not language codes: english" in refused.content.decode()
    staff_client.post(url, {**form, "languages": "en, PT-BR"})
    assert Title.objects.get().languages == ["en", "pt-br"]


def test_a_titles_page_shows_its_cover_as_the_image_batoshelf_keeps(staff_client, mangadex, run_tasks):
    from scraping.sources import TitleRef

    entry = mangadex.add_title(name="Covered", chapters=1)
    with run_tasks():
        title = import_title(TitleRef("mangadex", entry.dex_id)).title
    title = Title.objects.get(pk=title.pk)
    page = staff_client.get(reverse("admin:scraping_title_change", args=[title.pk])).content.decode()
    assert f'<img src="{title.cover_path}" alt="" width="128">' in page
