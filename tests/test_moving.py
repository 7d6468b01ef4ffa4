"""Moving a title off a source: candidates from the live sources, one click, followers kept with their mutes."""

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from notifications.models import Notification
from readers.models import Follow
from scraping.checking.pipeline import import_title
from scraping.models import SourceState, Title
from scraping.sources import TitleRef
from tests.conftest import bato, logged_in, run_command
from tests.standins.__main__ import VILLAINESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def bato_title(standin, mangadex, mangaupdates, reader, other_reader, django_user_model):
    """A Bato title followed by two readers (one muted it), and the same title on MangaDex and MangaUpdates."""
    standin.add_title("102497", VILLAINESS, chapters=5)
    title = import_title(bato("102497"), user=reader).title
    Follow.objects.create(user=other_reader, title=title, muted=True)
    mangadex.add_title(name=VILLAINESS, chapters=58, alt_names=("악녀의 문구점에 오지 마세요!",))
    mangadex.add_title(name="Unrelated", chapters=1)
    mangaupdates.add_title(name=VILLAINESS.replace("'", "&#039;"), releases=60)
    return title


def test_the_move_page_searches_every_other_live_source_in_the_background(
    as_reader, bato_title, mangadex, mangaupdates, run_tasks
):
    first = as_reader.get(f"/shelf/{bato_title.pk}/move").content.decode()
    assert "Searching the other sources" in first and not mangadex.api_requests(), "no source asked in the request"
    with run_tasks():
        pass  # the worker's turn: the searches the page queued
    page = as_reader.get(f"/shelf/{bato_title.pk}/move").content.decode()
    assert page.count("Follow it here") == 2 and "Unrelated" not in page and "Searching" not in page
    assert "MangaDex" in page and "MangaUpdates" in page and "latest Chapter 58 (en)" in page
    as_reader.get(f"/shelf/{bato_title.pk}/move")
    asked = [r.path for r in mangadex.api_requests() + mangaupdates.api_requests() if "cover" not in r.path]
    asked = [path for path in asked if not path.startswith("/image/")]  # the covers each source named
    assert sorted(asked) == ["/chapter", "/manga", "/v1/series/search"], "searched once, then kept"


def test_a_reader_moves_their_own_follow_with_its_progress_and_nobody_elses(
    as_reader, reader, other_reader, bato_title, mangadex, run_tasks
):
    from readers import shelf

    shelf.move(Follow.objects.get(user=reader), number=shelf.parse_number("4"))
    Follow.objects.filter(user=reader).update(status="on_hold")
    target = next(t for t in mangadex.titles.values() if t.attributes["title"]["en"] == VILLAINESS)
    with run_tasks():
        response = as_reader.post(f"/shelf/{bato_title.pk}/move/to", {"to": f"mangadex:{target.dex_id}"}, follow=True)
    assert "You follow it on MangaDex now" in response.content.decode()
    new = Title.objects.get(source="mangadex")
    assert new.chapters.count() == 58
    mine = Follow.objects.get(user=reader)
    assert (mine.title, mine.status, mine.last_read_number, mine.unread_count) == (new, "on_hold", 4, 54)
    # The other reader still follows the Bato title, muted, and heard nothing.
    assert Follow.objects.get(user=other_reader).title == bato_title and Follow.objects.get(user=other_reader).muted
    assert not Title.objects.get(pk=bato_title.pk).moved_to
    assert not Notification.objects.exists(), "nobody is told: a reader moves only their own follow"


def test_a_follower_of_both_keeps_one_follow(as_reader, reader, bato_title, mangaupdates, run_tasks):
    series = next(iter(mangaupdates.titles.values()))
    new = import_title(TitleRef("mangaupdates", str(series.series_id)), user=reader).title
    with run_tasks():
        as_reader.post(f"/shelf/{bato_title.pk}/move/to", {"to": "https://www.mangaupdates.com/series/ttaew4a"})
    assert Follow.objects.filter(user=reader).count() == 1 and Follow.objects.get(user=reader).title == new


def test_a_bad_or_same_target_is_refused_and_nothing_moves(as_reader, bato_title):
    for target, why in (
        ("https://bato.to/title/102497", "That is the same title."),
        ("https://evil.example/x", "That is not a title batoshelf can follow."),
    ):
        page = as_reader.post(f"/shelf/{bato_title.pk}/move/to", {"to": target}, follow=True).content.decode()
        assert why in page
    assert Follow.objects.filter(title=bato_title).count() == 2 and Title.objects.count() == 1


def test_only_a_follower_moves_their_follow(bato_title, django_user_model):
    stranger = logged_in(django_user_model.objects.create_user("stranger"))
    assert stranger.get(f"/shelf/{bato_title.pk}/move").status_code == 404
    assert stranger.post(f"/shelf/{bato_title.pk}/move/to", {"to": "mu:64897697818"}).status_code == 404
    assert not Title.objects.filter(source="mangaupdates").exists()


def test_staff_move_every_follower_from_the_admin_in_the_background(
    bato_title, admin_client, admin_user, reader, other_reader, mangaupdates, run_tasks
):
    form = {"action": "find_elsewhere", "_selected_action": [bato_title.pk]}
    with run_tasks():
        admin_client.post("/admin/scraping/title/", form)
    page = admin_client.post("/admin/scraping/title/", form).content.decode()
    assert "Find " in page and "Move here" in page and "mangaupdates" in page
    with run_tasks():
        response = admin_client.post(
            "/admin/scraping/title/", {**form, "apply": "1", "to": "mu:64897697818"}, follow=True
        )
    assert "is moving to mangaupdates:64897697818" in response.content.decode()
    old = Title.objects.select_related("schedule").get(pk=bato_title.pk)
    new = old.moved_to
    assert new.source == "mangaupdates" and old.schedule.paused
    assert old.schedule.reason.startswith("moved to MangaUpdates (mangaupdates:64897697818)")
    assert {(f.user_id, f.muted) for f in Follow.objects.filter(title=new)} == {
        (reader.pk, False),
        (other_reader.pk, True),
    }
    told = {n.user_id: n.message for n in Notification.objects.all()}
    assert "moved by admin from Bato to MangaUpdates" in told[reader.pk]
    assert "2 followers follow it there" in told[admin_user.pk], "staff hear how it went"


def test_movetitle_moves_by_url_or_id_and_says_what_it_did(bato_title, mangaupdates):
    out, _ = run_command("movetitle", "https://bato.to/title/102497-x", "64897697818")
    assert "moving Please Don't Come To The Villainess' Stationery Store! (bato:102497)" in out
    assert "2 followers moved, 0 already followed it; bato:102497 is paused" in out
    with pytest.raises(CommandError, match="already moved"):
        run_command("movetitle", "bato:102497", "64897697819")
    with pytest.raises(CommandError, match="bato:5 is not tracked"):
        run_command("movetitle", "5", "64897697818")


def test_a_source_silent_for_7_days_shows_on_its_titles_with_the_way_out(as_reader, bato_title):
    now = timezone.now()
    SourceState.objects.update_or_create(
        source="bato",
        defaults={
            "breaker_until": now + timedelta(hours=6),
            "breaker_opened_at": now - timedelta(days=6),
            "breaker_openings": 9,
            "breaker_reason": "could not reach bato.to",
        },
    )
    assert "source-down" not in as_reader.get("/shelf/").content.decode()
    SourceState.objects.filter(source="bato").update(breaker_opened_at=now - timedelta(days=7, minutes=1))
    page = as_reader.get("/shelf/").content.decode()
    assert 'class="notice source-down">Bato has not answered since' in page and "Follow it on another source" in page


def test_old_notifications_of_a_moved_title_lead_to_the_title_it_moved_to(as_reader, reader, bato_title, standin):
    standin.add_chapters("102497", 1)
    from scraping.checking.pipeline import check_title

    check_title(Title.objects.select_related("schedule").get(pk=bato_title.pk))
    run_command("movetitle", "bato:102497", "64897697818")
    new = Title.objects.get(pk=bato_title.pk).moved_to
    told = Notification.objects.get(user=reader, kind="new_chapter")
    assert told.to_dict()["chapter_url"] == f"/titles/{new.pk}/"
    page = as_reader.get("/notifications/?show=all").content.decode()
    assert f'<a href="/titles/{new.pk}/" rel="noopener noreferrer">Chapter 6 of' in page
