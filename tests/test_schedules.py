"""The learned schedule in the pipeline: stored after each check, shown and steered by staff."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scraping.checking.pipeline import check_title, import_title
from scraping.models import CheckSchedule, Title
from tests.conftest import bato

pytestmark = pytest.mark.django_db


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


@pytest.fixture
def weekly_title(standin):
    standin.add_title("102497", chapters=12)
    return import_title(bato("102497")).title


def test_a_check_stores_what_was_learned_and_why_the_next_check_is_then(weekly_title, standin):
    standin.add_chapters("102497", 1)
    check_title(fresh(weekly_title))
    schedule = fresh(weekly_title).schedule
    newest = weekly_title.chapters.order_by("-published_at").first().published_at
    assert schedule.learned["regular"] is True
    assert schedule.learned["typical_gap_s"] == 7 * 86400
    assert schedule.reason.startswith("predicted weekly release")
    assert abs(schedule.next_check_at - (newest + timedelta(days=7, minutes=5))) < timedelta(seconds=1)


def test_a_staff_pin_overrides_the_learned_time(weekly_title):
    CheckSchedule.objects.filter(title=weekly_title).update(manual_interval_hours=3)
    result = check_title(fresh(weekly_title))
    schedule = fresh(weekly_title).schedule
    assert schedule.next_check_at == result.log.started_at + timedelta(hours=3)
    assert schedule.reason == "pinned by staff: every 3 h"
    assert schedule.learned["regular"] is True  # still learned, for when the pin goes


def test_bato_check_interval_hours_pins_every_title(weekly_title, settings):
    settings.CHECK_INTERVAL_HOURS = 0.05
    result = check_title(fresh(weekly_title))
    schedule = fresh(weekly_title).schedule
    assert schedule.next_check_at == result.log.started_at + timedelta(minutes=3)
    assert schedule.reason == "staff check every title every 0.05 h", "never a setting's name"


def test_a_completed_title_is_checked_monthly(weekly_title, standin):
    standin.set_upload_status("102497", "completed")
    result = check_title(fresh(weekly_title))
    schedule = fresh(weekly_title).schedule
    assert schedule.next_check_at == result.log.started_at + timedelta(days=30)
    assert schedule.reason == "completed: monthly"


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_staff_see_the_reason_and_the_predicted_release(staff_client, weekly_title):
    page = staff_client.get(reverse("admin:scraping_checkschedule_changelist")).content.decode()
    assert "predicted weekly release" in page
    page = staff_client.get(reverse("admin:scraping_title_change", args=[weekly_title.pk])).content.decode()
    assert "regular, typical gap 7 days" in page and "Predicted release" in page


def test_staff_pause_resume_and_unpin_from_the_admin(staff_client, weekly_title):
    url = reverse("admin:scraping_checkschedule_changelist")
    pk = str(fresh(weekly_title).schedule.pk)
    staff_client.post(url, {"action": "pause_checks", "_selected_action": [pk]})
    assert fresh(weekly_title).schedule.paused
    assert not CheckSchedule.objects.due(timezone.now() + timedelta(days=60)).exists()
    staff_client.post(url, {"action": "resume_checks", "_selected_action": [pk]})
    schedule = fresh(weekly_title).schedule
    assert not schedule.paused and schedule.next_check_at <= timezone.now()
    CheckSchedule.objects.filter(pk=pk).update(manual_interval_hours=6)
    staff_client.post(url, {"action": "follow_learned_rhythm", "_selected_action": [pk]})
    assert fresh(weekly_title).schedule.manual_interval_hours is None
