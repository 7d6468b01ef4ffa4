"""Moving a title off a source: candidates from the live sources, one click, followers kept with their mutes."""

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from notifications.models import Follow, Notification
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


def test_the_move_page_lists_candidates_on_every_live_source(as_reader, bato_title, mangadex, mangaupdates):
    page = as_reader.get(f"/shelf/{bato_title.pk}/move").content.decode()
    assert "On MangaDex" in page and "On MangaUpdates" in page and "On Bato" not in page
    assert page.count("Move here") == 2 and "Unrelated" not in page
    assert "Chapter 58 (en)" in page and "Chapter 60" in page
    as_reader.get(f"/shelf/{bato_title.pk}/move")
    assert len(mangadex.api_requests()) == 2 and len(mangaupdates.api_requests()) == 1, "searched once, then kept"


def test_moving_takes_two_clicks_and_keeps_every_follower_and_their_mute(
    as_reader, reader, other_reader, bato_title, mangadex
):
    shelf = as_reader.get("/shelf/").content.decode()
    assert f'href="/shelf/{bato_title.pk}/move"' in shelf  # click one: "Find on another source"
    target = next(t for t in mangadex.titles.values() if t.attributes["title"]["en"] == VILLAINESS)
    response = as_reader.post(
        f"/shelf/{bato_title.pk}/move", {"to": f"mangadex:{target.dex_id}"}, follow=True
    )  # click two: "Move here"
    assert "moved to MangaDex" in response.content.decode()
    new = Title.objects.get(source="mangadex")
    assert new.chapters.count() == 58
    assert {(f.user_id, f.muted) for f in Follow.objects.filter(title=new)} == {
        (reader.pk, False),
        (other_reader.pk, True),
    }
    assert not Follow.objects.filter(title=bato_title).exists()
    old = Title.objects.select_related("schedule").get(pk=bato_title.pk)
    assert old.moved_to == new and old.schedule.paused
    assert old.schedule.reason.startswith(f"moved to MangaDex (mangadex:{target.dex_id})")
    [notice] = Notification.objects.filter(kind="title_moved")
    assert notice.user == other_reader, "the mover needs no notice, the other follower does"
    assert "moved by reader from Bato to MangaDex" in notice.message
    assert not Notification.objects.exclude(kind="title_moved").exists(), "the import told nobody of its chapters"
    assert "Stationery Store" in as_reader.get("/shelf/").content.decode()


def test_a_follower_of_both_keeps_one_follow(as_reader, reader, bato_title, mangaupdates):
    series = next(iter(mangaupdates.titles.values()))
    other = import_title(bato("102497")).title  # already tracked: the same row
    assert other == bato_title
    new = import_title(TitleRef("mangaupdates", str(series.series_id)), user=reader).title
    as_reader.post(f"/shelf/{bato_title.pk}/move", {"to": "https://www.mangaupdates.com/series/ttaew4a"})
    assert Follow.objects.filter(user=reader).count() == 1 and Follow.objects.get(user=reader).title == new


def test_a_bad_or_same_target_is_refused_and_nothing_moves(as_reader, bato_title):
    for target, why in (
        ("https://bato.to/title/102497", "That is the same title."),
        ("https://evil.example/x", "is not a site batoshelf follows"),
        ("mangadex:11111111-2222-4333-8444-555555555555", "MangaDex has no title"),
    ):
        page = as_reader.post(f"/shelf/{bato_title.pk}/move", {"to": target}).content.decode()
        assert why in page
    assert Follow.objects.filter(title=bato_title).count() == 2 and Title.objects.count() == 1


def test_only_followers_and_staff_may_move_a_title(bato_title, django_user_model):
    stranger = logged_in(django_user_model.objects.create_user("stranger"))
    assert stranger.get(f"/shelf/{bato_title.pk}/move").status_code == 404
    assert stranger.post(f"/shelf/{bato_title.pk}/move", {"to": "mu:64897697818"}).status_code == 404
    assert not Title.objects.filter(source="mangaupdates").exists()


def test_staff_move_a_title_from_the_admin(bato_title, admin_client, mangaupdates):
    form = {"action": "find_elsewhere", "_selected_action": [bato_title.pk]}
    page = admin_client.post("/admin/scraping/title/", form).content.decode()
    assert "Find " in page and "On MangaUpdates" in page and "Move here" in page
    response = admin_client.post("/admin/scraping/title/", {**form, "apply": "1", "to": "mu:64897697818"}, follow=True)
    assert "moved to" in response.content.decode()
    assert Title.objects.get(pk=bato_title.pk).moved_to.source == "mangaupdates"


def test_movetitle_moves_by_url_or_id_and_says_what_it_did(bato_title, mangaupdates):
    out, _ = run_command("movetitle", "https://bato.to/title/102497-x", "64897697818")
    assert "moving Please Don't Come To The Villainess' Stationery Store! (bato:102497)" in out
    assert "2 follower(s) moved, 0 already followed it; bato:102497 is paused" in out
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
    assert 'class="notice source-down">Bato has not answered since' in page and "Find it on another source" in page
