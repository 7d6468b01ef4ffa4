"""Staff see titles, chapters, schedules, logs, follows and notifications in the admin, cheaply."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Follow
from scraping.checks import check_manga, import_title
from scraping.models import Manga, SiteState

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:scraping_manga_changelist",
    "admin:scraping_chapter_changelist",
    "admin:scraping_checkschedule_changelist",
    "admin:scraping_scrapelog_changelist",
    "admin:notifications_follow_changelist",
    "admin:notifications_notification_changelist",
]


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def track(standin, users, count, first_id=1):
    for n in range(first_id, first_id + count):
        standin.add_title(str(n), f"타이틀 {n}", chapters=2)
        manga = import_title(str(n)).manga
        for user in users:
            Follow.objects.create(user=user, manga=manga)
        standin.add_chapters(str(n), 1)
        check_manga(Manga.objects.select_related("schedule").get(pk=manga.pk))


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
    manga = Manga.objects.get()
    page = staff_client.get(reverse("admin:scraping_manga_change", args=[manga.pk])).content.decode()
    assert "타이틀 1" in page
    assert "Next check at" in page
    assert f"chapter/?manga__id__exact={manga.pk}" in page and "3 chapters" in page


def test_titles_are_searchable_by_name_and_id(staff_client, standin):
    track(standin, [], 2)
    page = staff_client.get(reverse("admin:scraping_manga_changelist"), {"q": "타이틀 2"}).content.decode()
    assert "1 result" in page


def test_scrape_logs_filter_by_outcome(staff_client, standin):
    track(standin, [], 1)
    page = staff_client.get(reverse("admin:scraping_scrapelog_changelist"), {"outcome__exact": "success"})
    assert page.status_code == 200 and "2 scrape logs" in page.content.decode()


def test_the_admin_is_for_staff_only(client, reader):
    client.force_login(reader)
    response = client.get(reverse("admin:scraping_manga_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_every_admin_page_says_when_checks_to_the_site_are_paused(staff_client):
    assert "are paused" not in staff_client.get(reverse("admin:index")).content.decode()
    SiteState.pause(timezone.now(), 600, "Bato is rate limiting us (HTTP 429)")
    page = staff_client.get(reverse("admin:scraping_manga_changelist")).content.decode()
    assert "Checks to the site are paused until" in page and "rate limiting us" in page
