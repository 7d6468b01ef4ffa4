"""Every source end to end through the check pipeline: what is stored, who is told, what it costs.

MangaDex and MangaUpdates list several uploads of one chapter (each group's);
a follower hears of each new chapter number once per language. The gate is
per source: one source's trouble never stops another.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from readers.models import Follow
from scraping.checking.pipeline import check_title, import_title
from scraping.checking.tasks import dispatch_due_checks
from scraping.gate import keeper
from scraping.models import Chapter, CheckLog, CheckSchedule, SourceState, Title
from scraping.sources import TitleRef, parse_reference
from scraping.sources.mangadex import MangaDex
from scraping.sources.mangaupdates import base36
from tests.conftest import bato

pytestmark = pytest.mark.django_db


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


def told(user):
    """What `user` was told, oldest first."""
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("message", flat=True))


@pytest.fixture
def dex_title(mangadex, reader):
    entry = mangadex.add_title(name="Dex Title", chapters=10, groups=("Alpha", "Beta"))
    title = import_title(TitleRef("mangadex", entry.dex_id), user=reader).title
    return entry, title


@pytest.fixture
def mu_title(mangaupdates, reader):
    series = mangaupdates.add_title(releases=10)
    title = import_title(TitleRef("mangaupdates", str(series.series_id)), user=reader).title
    return series, title


def test_a_mangadex_chapter_is_told_once_whichever_groups_upload_it(mangadex, dex_title, reader):
    entry, title = dex_title
    mangadex.add_chapters(entry.dex_id, 1, group="Alpha")
    first = check_title(fresh(title))
    assert first.log.new_chapters == 1 and told(reader) == ["Chapter 11 of Dex Title"]
    mangadex.add_chapters(entry.dex_id, 1, group="Beta", number="11")
    second = check_title(fresh(title))
    assert second.log.new_chapters == 1 and len(told(reader)) == 1, "another group's upload of chapter 11"
    assert "1 new upload of chapters already known" in second.log.message
    assert sorted(Chapter.objects.filter(title=title, number=11).values_list("groups", flat=True)) == [
        ["Alpha"],
        ["Beta"],
    ]
    again = check_title(fresh(title))
    assert again.log.outcome == CheckLog.Outcome.NO_CHANGE and len(told(reader)) == 1


def test_a_number_is_told_per_language_and_chapters_without_one_on_their_own(mangadex, reader):
    entry = mangadex.add_title(name="Two Tongues", chapters=4, languages=("en", "es-la"))
    title = import_title(TitleRef("mangadex", entry.dex_id), user=reader, languages=["en", "es-la"]).title
    mangadex.add_chapters(entry.dex_id, 1, language="es-la", number="2")  # es-la has 1 and 2 already
    mangadex.add_chapters(entry.dex_id, 1, language="es-la", number="3")
    mangadex.add_chapters(entry.dex_id, 1, language="en", number="")
    check_title(fresh(title))
    assert told(reader) == ["2 new chapters of Two Tongues: Chapter 3 [es-la] – Oneshot [en]"]
    assert Notification.objects.get(user=reader).chapter_count == 2, "chapter 2 in es-la was told before"


def test_taken_down_chapters_tell_no_one_and_official_ones_link_out(mangadex, dex_title, reader):
    entry, title = dex_title
    mangadex.add_chapters(entry.dex_id, 1, unavailable=True)
    mangadex.add_chapters(entry.dex_id, 1, number="11", external_url="https://mangaplus.shueisha.co.jp/viewer/11")
    result = check_title(fresh(title))
    assert result.log.new_chapters == 1, "the taken-down chapter is not asked for"
    [notification] = Notification.objects.filter(user=reader)
    message = notification.to_dict()
    assert message["chapter_url"] == "https://mangaplus.shueisha.co.jp/viewer/11" and message["chapter_external"]
    assert not Chapter.objects.filter(title=title, available=False).exists()


def test_three_new_numbers_at_once_are_one_batch_on_any_source(mangaupdates, mu_title, reader):
    series, title = mu_title
    mangaupdates.add_chapters(series.series_id, 3)
    check_title(fresh(title))
    [batch] = Notification.objects.filter(user=reader)
    assert batch.kind == "batch" and batch.chapter_count == 3
    assert batch.message == "3 new chapters of Kaguya's Love & War: Chapter 11 – Chapter 13"


def test_mangaupdates_releases_of_one_chapter_by_several_groups_tell_once(mangaupdates, mu_title, reader):
    series, title = mu_title
    mangaupdates.add_chapters(series.series_id, 1, chapter="11", group="Alpha")
    mangaupdates.add_chapters(series.series_id, 1, chapter="11", group="Beta")
    mangaupdates.add_chapters(series.series_id, 1, chapter="12-13", group="Alpha")
    check_title(fresh(title))
    mangaupdates.add_chapters(series.series_id, 1, chapter="13", group="Beta")
    mangaupdates.add_chapters(series.series_id, 1, chapter="Extra", group="Beta")
    check_title(fresh(title))
    assert told(reader) == [
        "2 new chapters of Kaguya's Love & War: Chapter 11 – Chapter 12-13",
        "Chapter Extra of Kaguya's Love & War",
    ]
    assert Chapter.objects.filter(title=title).count() == 15
    link = Notification.objects.filter(user=reader).first().to_dict()["chapter_url"]
    assert link == title.source_url, "MangaUpdates has no chapter pages: the series' page lists its releases"


def test_a_hidden_bato_chapter_tells_no_one(standin, reader):
    standin.add_title("5", chapters=2)
    title = import_title(bato("5"), user=reader).title
    [hidden] = standin.add_chapters("5", 1)
    hidden["data"]["isHidden"] = True
    assert check_title(fresh(title)).log.new_chapters == 1
    assert not Notification.objects.exists()
    assert Chapter.objects.get(source_id=hidden["id"]).available is False


def test_choosing_more_languages_fetches_them_whole_and_quietly_then_tells_of_new_ones(mangadex, dex_title, reader):
    entry, title = dex_title
    mangadex.add_chapters(entry.dex_id, 30, language="pt-br")
    Title.objects.filter(pk=title.pk).update(languages=["en", "pt-br"])
    quiet = check_title(fresh(title))
    assert quiet.log.new_chapters == 30 and not Notification.objects.exists()
    assert "fetched again for new languages" in quiet.log.message
    assert fresh(title).languages_synced == ["en", "pt-br"]
    mangadex.add_chapters(entry.dex_id, 1, language="pt-br")
    check_title(fresh(title))
    assert told(reader) == ["Chapter 31 [pt-br] of Dex Title"]


def test_a_mangadex_429_pauses_mangadex_alone(mangadex, mangaupdates, dex_title, mu_title):
    (_, dex), (series, mu) = dex_title, mu_title
    mangadex.set_fault("rate_limit", retry_after=120)
    assert check_title(fresh(dex)).log.error_kind == "rate_limited"
    assert keeper.active_pause("mangadex", timezone.now()) is not None
    assert keeper.active_pause("mangaupdates", timezone.now()) is None
    mangaupdates.add_chapters(series.series_id, 1)
    assert check_title(fresh(mu)).log.new_chapters == 1
    CheckSchedule.objects.update(next_check_at=timezone.now() - timedelta(minutes=1))
    assert dispatch_due_checks() == 1
    assert CheckSchedule.objects.get(title=mu).claim_token and not CheckSchedule.objects.get(title=dex).claim_token


def test_a_refused_user_agent_is_reported_as_a_setting_to_change(mangadex, dex_title, monkeypatch, django_user_model):
    django_user_model.objects.create_user("staff", is_staff=True)
    entry, title = dex_title
    monkeypatch.setattr(MangaDex, "headers", lambda self, base_url, request: {"User-Agent": "Mozilla/5.0 (X11)"})
    log = check_title(fresh(title)).log
    assert (log.outcome, log.error_kind, log.http_status) == ("failed", "configuration", 400)
    assert "BATOSHELF_CONTACT_URL" in log.message
    assert fresh(title).schedule.failures == 0, "not the title's fault"
    [alert] = Notification.objects.filter(kind="alert")
    assert alert.message.startswith(
        "Checks to MangaDex stopped: MangaDex refused the request with a plain-text HTTP 400"
    )
    assert SourceState.current("mangadex").breaker_until is not None
    assert SourceState.current("bato").breaker_until is None


def test_a_spent_quota_holds_every_request_to_that_source_until_it_comes_back(mangadex, dex_title):
    entry, title = dex_title
    mangadex.quota_spent_for = 30
    check_title(fresh(title))
    paused = keeper.active_pause("mangadex", timezone.now())
    assert paused is not None and "quota is spent" in paused.reason
    assert timedelta(seconds=25) < paused.until - timezone.now() <= timedelta(seconds=32)


@pytest.mark.parametrize("source", ["bato", "mangadex", "mangaupdates"])
def test_requests_and_queries_per_import_and_check(source, standin, mangadex, mangaupdates, reader):
    if source == "bato":
        standin.add_title("2000", chapters=2000)
        ref, stand_in, add = bato("2000"), standin, lambda: standin.add_chapters("2000", 5)
    elif source == "mangadex":
        entry = mangadex.add_title(chapters=1500, languages=("en", "es-la", "pt-br"), groups=("A", "B"))
        ref, stand_in, add = (
            TitleRef("mangadex", entry.dex_id),
            mangadex,
            lambda: mangadex.add_chapters(entry.dex_id, 5),
        )
    else:
        series = mangaupdates.add_title(releases=3000)
        ref, stand_in, add = (
            TitleRef("mangaupdates", str(series.series_id)),
            mangaupdates,
            lambda: mangaupdates.add_chapters(series.series_id, 5),
        )
    title = import_title(ref, user=reader, languages=["en", "es-la", "pt-br"] if source == "mangadex" else None).title
    import_log = CheckLog.objects.get(title=title)
    assert import_log.http_requests == {"bato": 1, "mangadex": 4, "mangaupdates": 5}[source]
    assert import_log.http_requests == len(stand_in.api_requests())
    loaded = fresh(title)
    with CaptureQueriesContext(connection) as unchanged:
        assert check_title(loaded).log.outcome == CheckLog.Outcome.NO_CHANGE
    assert len(unchanged) <= 10, [q["sql"][:120] for q in unchanged]
    add()
    loaded = fresh(title)
    with CaptureQueriesContext(connection) as five_new:
        result = check_title(loaded)
    assert result.log.new_chapters == 5 and result.log.http_requests == 1
    assert len(five_new) <= 15, [q["sql"][:120] for q in five_new]


def test_the_shelf_and_addtitle_take_every_source(as_reader, reader, mangadex, mangaupdates, standin, run_tasks):
    entry = mangadex.add_title(name="Dex On Shelf", chapters=3)
    series = mangaupdates.add_title(name="Updates &amp; Shelf", releases=4)
    standin.add_title("110100", "Bato On Shelf", chapters=5)
    for url in (
        f"https://mangadex.org/title/{entry.dex_id}/dex-on-shelf",
        f"https://www.mangaupdates.com/series/{base36(series.series_id)}/updates",
        "https://bato.to/title/110100-bato-on-shelf",
    ):
        with run_tasks():
            response = as_reader.post("/shelf/add", {"title": url, "where": "none"}, follow=True)
        assert "batoshelf is fetching it" in response.content.decode()
    page = as_reader.get("/shelf/").content.decode()
    for name, source in (
        ("Dex On Shelf", "MangaDex"),
        ("Updates &amp; Shelf", "MangaUpdates"),
        ("Bato On Shelf", "Bato"),
    ):
        assert name in page and f'<p class="row-meta">{source} · reading' in page
    assert {(m.source, m.chapters.count()) for m in Title.objects.all()} == {
        ("mangadex", 3),
        ("mangaupdates", 4),
        ("bato", 5),
    }
    assert Follow.objects.filter(user=reader).count() == 3


def test_a_malformed_mangadex_id_is_refused_before_any_request(as_reader, mangadex):
    response = as_reader.get("/shelf/", {"q": "https://mangadex.org/title/11111111-2222-4333-8444/x"})
    assert "That address is not a title&#x27;s page on MangaDex, MangaUpdates, MANGA Plus" in response.content.decode()
    assert not mangadex.api_requests() and not Title.objects.exists()
    with pytest.raises(Exception, match="is not a MangaDex id"):
        parse_reference("mangadex:nope")


def test_a_release_known_to_its_day_is_scheduled_by_when_it_was_seen_not_as_midnight(mangaupdates, mu_title):
    series, title = mu_title
    imported_at = title.schedule.last_checked_at
    mangaupdates.add_chapters(series.series_id, 1, time_added=False)
    check_title(fresh(title))
    chapter = Chapter.objects.filter(title=title).order_by("-first_seen_at", "-pk").first()
    assert chapter.published_precision == Chapter.Precision.DAY
    assert chapter.published_at == chapter.published_at.replace(hour=0, minute=0, second=0, microsecond=0)
    # The check before the one that saw it bounds when in its day it came out.
    assert chapter.previous_check_at == imported_at
    schedule = CheckSchedule.objects.get(title=title)
    assert "00:00 UTC" not in schedule.reason
