"""The reader's shelf: adding by name, URL or id (fetched in the background), saying where one is,
unread counts that follow every check and every move, status, filters, shelves, and what it costs."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Channel, ChannelDelivery, Notification
from readers import shelf
from readers.models import Follow
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Cover, Title
from scraping.sources import TitleRef
from tests import bulk
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def fresh(title):
    return Title.objects.select_related("schedule").get(pk=title.pk)


def follow_of(user, title):
    return Follow.objects.get(user=user, title=title)


@pytest.fixture
def kaguya(mangadex, mangaupdates):
    """The same series on both live sources: 500 chapters on MangaDex (naming its MangaUpdates id), 3 on MU."""
    dex = mangadex.add_title(name="Kaguya-sama: Love Is War", chapters=500, year=2015)
    series = mangaupdates.add_title(name="Kaguya-sama: Love Is War", releases=3)
    return dex, series


def add(client, reference, where, number=""):
    return client.post("/shelf/add", {"title": reference, "where": where, "number": number}, follow=True)


def test_a_newcomer_finds_a_title_by_name_adds_it_at_a_chapter_and_sees_what_is_unread(
    as_reader, reader, kaguya, mangadex, mangaupdates, run_tasks
):
    dex, _ = kaguya
    page = as_reader.get("/shelf/", {"q": "Kaguya"}).content.decode()
    assert "Searching MangaDex and MangaUpdates…" in page
    assert not mangadex.api_requests() and not mangaupdates.api_requests(), "no source is asked inside a request"
    with run_tasks():
        pass  # the worker runs the searches the page queued, and the covers they found
    results = as_reader.get("/shelf/search", {"q": "Kaguya"}).content.decode()
    assert "Searching" not in results and results.count('class="result card"') == 2
    assert "2015" in results and "MangaDex" in results and "MangaUpdates" in results
    assert '<img class="cover small" src="/covers/' in results, "covers come from here, never from the source"
    # A cover still being fetched is a placeholder the page asks about again; one that failed is not.
    Cover.objects.update(fetched_at=None)
    assert as_reader.get("/shelf/search", {"q": "Kaguya"}).content.decode().count('data-pending="cover"') == 2
    Cover.objects.update(failed_at=timezone.now())
    assert 'data-pending="cover"' not in as_reader.get("/shelf/search", {"q": "Kaguya"}).content.decode()
    Cover.objects.update(fetched_at=timezone.now(), failed_at=None)
    assert "Where are you in it?" in results

    with run_tasks():
        added = add(as_reader, f"mangadex:{dex.dex_id}", "at", "498").content.decode()
    assert "batoshelf is fetching it" in added
    row = as_reader.get("/shelf/").content.decode()
    assert "Kaguya-sama: Love Is War" in row and "2 unread" in row and "ch. 498 / 500" in row
    assert follow_of(reader, Title.objects.get(source="mangadex")).unread_count == 2
    # Found again, it says it is on the shelf already.
    assert "On your shelf" in as_reader.get("/shelf/search", {"q": "Kaguya"}).content.decode()


def test_a_title_new_to_batoshelf_shows_as_fetching_until_its_fetch_is_done(as_reader, reader, kaguya, mangadex):
    dex, _ = kaguya
    add(as_reader, f"https://mangadex.org/title/{dex.dex_id}/kaguya", "none")
    assert not mangadex.api_requests()
    title = Title.objects.get(source="mangadex")
    assert title.imported_at is None
    row = as_reader.get(f"/shelf/rows/{title.pk}/").content.decode()
    assert 'data-state="fetching"' in row and "Fetching it from MangaDex" in row
    assert as_reader.get("/api/shelf").json()["titles"][0]["state"] == "fetching"


def test_a_fetch_that_fails_says_why_on_the_row_and_can_be_tried_again(as_reader, mangadex, run_tasks):
    with run_tasks():
        add(as_reader, "mangadex:11111111-2222-4333-8444-555555555555", "none")
    title = Title.objects.get()
    row = as_reader.get(f"/shelf/rows/{title.pk}/").content.decode()
    assert 'data-state="failed"' in row and "MangaDex has no title 11111111" in row and "Try again" in row


def test_where_the_reader_is_is_asked_not_assumed(as_reader, kaguya, run_tasks):
    dex, _ = kaguya
    page = as_reader.post("/shelf/add", {"title": f"mangadex:{dex.dex_id}"}, follow=True).content.decode()
    assert "Say where you are in it" in page and not Follow.objects.exists()
    page = add(as_reader, f"mangadex:{dex.dex_id}", "at").content.decode()
    assert "Say where you are in it" in page and not Follow.objects.exists()
    # A chapter typed, with no choice ticked, says where the reader is.
    with run_tasks():
        add(as_reader, f"mangadex:{dex.dex_id}", "", "58")
    assert Follow.objects.get().last_read_number == 58


@pytest.mark.parametrize(
    "typed, said",
    [
        (
            "https://example.org/title/1",
            "That is not a page on MangaDex, MangaUpdates, MANGA Plus, WEBTOON, Tapas or Bato",
        ),
        ("https://mangadex.org/chapter/11111111-2222-4333-8444-555555555555", "That is a chapter&#x27;s page"),
        ("https://www.mangaupdates.com/series.html?id=71967", "That is an old MangaUpdates link"),
    ],
)
def test_an_address_that_names_no_title_is_refused_in_one_short_sentence(as_reader, typed, said):
    page = as_reader.get("/shelf/", {"q": typed}).content.decode()
    error = page.split('id="search-error">')[1].split("</p>")[0]
    assert said in error and error.count(".") <= 2 and "expected" not in error


@pytest.fixture
def dex_title(mangadex, reader):
    entry = mangadex.add_title(name="Solo Leveling", chapters=60)
    return entry, import_title(TitleRef("mangadex", entry.dex_id), user=reader).title


def test_progress_moves_mark_the_notifications_about_those_chapters_read(as_reader, reader, dex_title, mangadex):
    entry, title = dex_title
    mangadex.add_chapters(entry.dex_id, 1)
    check_title(fresh(title))
    mangadex.add_chapters(entry.dex_id, 1)
    check_title(fresh(title))
    assert follow_of(reader, title).unread_count == 62
    assert Notification.objects.filter(user=reader, is_read=False).count() == 2
    as_reader.post(f"/shelf/{title.pk}/progress", {"number": "61"})
    assert follow_of(reader, title).unread_count == 1
    assert list(Notification.objects.filter(user=reader, is_read=False).values_list("chapter__number", flat=True)) == [
        62
    ]
    # Marking a notification read moves no progress.
    Notification.objects.filter(user=reader).update(is_read=True)
    assert follow_of(reader, title).last_read_number == 61


def test_every_way_of_saying_where_one_is_moves_the_count(as_reader, reader, dex_title, mangadex):
    entry, title = dex_title
    follow = follow_of(reader, title)
    shelf.move(follow, caught_up=True)
    assert follow_of(reader, title).unread_count == 0
    mangadex.add_chapters(entry.dex_id, 2)
    check_title(fresh(title))
    assert follow_of(reader, title).unread_count == 2, "new chapters are unread at once"
    newest = title.chapters.order_by("-number").first()
    as_reader.post(f"/shelf/{title.pk}/progress", {"action": "read", "chapter_id": newest.pk})
    assert follow_of(reader, title).unread_count == 1, "one marked read, ahead of the progress"
    as_reader.post(f"/shelf/{title.pk}/progress", {"action": "up_to", "chapter_id": newest.pk})
    assert (follow_of(reader, title).unread_count, follow_of(reader, title).last_read_number) == (0, 62)
    as_reader.post(f"/shelf/{title.pk}/progress", {"action": "unread", "chapter_id": newest.pk})
    assert follow_of(reader, title).unread_count == 1
    as_reader.post(f"/shelf/{title.pk}/progress", {"action": "start_over"})
    assert (follow_of(reader, title).unread_count, follow_of(reader, title).last_read_number) == (62, None)


def test_a_chapter_below_the_newest_is_taken_though_batoshelf_has_not_stored_it(as_reader, reader, dex_title):
    """A source often lists only recent chapters: a reader at chapter 20 of a long title must be able to say so."""
    _, title = dex_title
    title.chapters.filter(number__lte=30).delete()
    as_reader.post(f"/shelf/{title.pk}/progress", {"number": "20"})
    assert follow_of(reader, title).last_read_number == 20


def test_a_chapter_number_past_the_newest_is_refused(as_reader, reader, dex_title):
    _, title = dex_title
    page = as_reader.post(f"/shelf/{title.pk}/progress", {"number": "600"}, follow=True).content.decode()
    assert "This title has no chapter 600 in the languages you read: its chapters go up to 60." in page
    page = as_reader.post(f"/shelf/{title.pk}/progress", {"number": "ten"}, follow=True).content.decode()
    assert "is not a chapter number such as 58 or 10.5" in page
    assert follow_of(reader, title).last_read_number is None


def test_dropped_and_completed_titles_tell_nobody_like_a_mute(reader, dex_title, mangadex):
    entry, title = dex_title
    for status in ("dropped", "completed"):
        shelf.update(follow_of(reader, title), {"status": status})
        mangadex.add_chapters(entry.dex_id, 1)
        check_title(fresh(title))
    assert not Notification.objects.filter(user=reader).exists()
    assert follow_of(reader, title).unread_count == 62, "still counted: only the telling stops"


def test_tell_me_only_once_n_chapters_are_unread_records_and_holds_until_then(reader, dex_title, mangadex):
    entry, title = dex_title
    shelf.move(follow_of(reader, title), caught_up=True)
    shelf.update(follow_of(reader, title), {"notify_after_unread": 3})
    Channel.objects.create(user=reader, name="hook", url="json://example.org/hook")
    for _ in range(3):
        mangadex.add_chapters(entry.dex_id, 1)
        check_title(fresh(title))
    held, also_held, told = Notification.objects.filter(user=reader).order_by("pk")
    assert held.held and also_held.held and not told.held
    assert held.emitted_at is not None, "held ones are never pushed to a browser"
    assert list(ChannelDelivery.objects.values_list("notification_id", flat=True)) == [told.pk]


def test_a_follow_reads_only_its_languages_and_groups(reader, mangadex):
    entry = mangadex.add_title(name="Two Tongues", chapters=4, languages=("en", "pt-br"), groups=("A", "B"))
    title = import_title(TitleRef("mangadex", entry.dex_id), user=reader, languages=["en", "pt-br"]).title
    follow = follow_of(reader, title)
    assert follow.unread_count == 2, "distinct numbers: 1 and 2, in either language"
    shelf.update(follow, {"languages": ["pt-br"]})
    assert follow_of(reader, title).unread_count == 2, "pt-br has chapters 1 and 2, by group B"
    shelf.update(follow_of(reader, title), {"groups_ignored": ["B"]})
    assert follow_of(reader, title).unread_count == 0
    shelf.update(follow_of(reader, title), {"groups_ignored": [], "groups_only": ["A"], "languages": []})
    assert follow_of(reader, title).unread_count == 2, "English, by A"
    shelf.update(follow_of(reader, title), {"groups_only": [], "languages": ["pt-br"]})
    mangadex.add_chapters(entry.dex_id, 1, language="en", group="A")
    check_title(fresh(title))
    assert not Notification.objects.filter(user=reader).exists(), "an English chapter is not one this reader reads"
    with pytest.raises(shelf.ShelfError, match="no chapters in fr"):
        shelf.update(follow_of(reader, title), {"languages": ["fr"]})


def test_the_same_series_on_another_source_is_noticed_and_the_reader_keeps_one(
    as_reader, reader, kaguya, mangaupdates, run_tasks
):
    dex, series = kaguya
    with run_tasks():
        add(as_reader, f"mangadex:{dex.dex_id}", "none")
        add(as_reader, f"mangaupdates:{series.series_id}", "none")
    page = as_reader.get("/shelf/").content.decode()
    assert "You also follow this as <strong>Kaguya-sama: Love Is War</strong> on MangaDex" in page
    mu_title = Title.objects.get(source="mangaupdates")
    as_reader.post(f"/shelf/{mu_title.pk}/keep", {"keep": "that"})
    assert list(Follow.objects.filter(user=reader).values_list("title__source", flat=True)) == ["mangadex"]


def test_sorting_and_filters_are_kept_in_the_url(as_reader, reader, mangadex):
    names = ("Alpha", "Beta", "Gamma")
    for count, name in zip((3, 1, 2), names, strict=True):
        entry = mangadex.add_title(name=name, chapters=count)
        import_title(TitleRef("mangadex", entry.dex_id), user=reader)
    shelf.update(Follow.objects.get(title__name="Gamma"), {"status": "on_hold", "shelves": ["weekly"]})

    def order(**query):
        page = as_reader.get("/shelf/", query).content.decode()
        return [name for name in names if f">{name}</a></h2>" in page] and sorted(
            (page.index(f">{name}</a></h2>"), name) for name in names if f">{name}</a></h2>" in page
        )

    assert [name for _, name in order(sort="unread")] == ["Alpha", "Gamma", "Beta"]
    assert [name for _, name in order(sort="name")] == ["Alpha", "Beta", "Gamma"]
    assert [name for _, name in order(status="on_hold")] == ["Gamma"]
    assert [name for _, name in order(shelf="weekly")] == ["Gamma"]
    shelf.move(Follow.objects.get(title__name="Alpha"), caught_up=True)
    assert [name for _, name in order(unread="1", sort="name")] == ["Beta", "Gamma"]
    page = as_reader.get("/shelf/", {"sort": "name", "status": "on_hold"}).content.decode()
    assert '<option value="name" selected>' in page and '<option value="on_hold" selected>' in page


def shelf_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/shelf/").status_code == 200
    return len(queries)


def test_the_shelf_costs_the_same_queries_for_2_or_20_titles(reader, mangadex):
    client = logged_in(reader)
    client.get("/notifications/")  # the session's first page keeps the time zone

    def follow_more(count):
        for _ in range(count):
            entry = mangadex.add_title(chapters=3)
            follow = Follow.objects.get(title=import_title(TitleRef("mangadex", entry.dex_id), user=reader).title)
            shelf.update(follow, {"shelves": ["weekly", "all"]})

    follow_more(2)
    few = shelf_queries(client)
    follow_more(18)
    assert shelf_queries(client) == few


def test_another_readers_titles_are_not_found(as_other, dex_title):
    _, title = dex_title
    for path in ("progress", "status", "mute", "unfollow", "keep", "retry", "move/to", "reading"):
        assert as_other.post(f"/shelf/{title.pk}/{path}", {"number": "1"}).status_code == 404, path
    assert as_other.get(f"/shelf/rows/{title.pk}/").status_code == 404
    assert as_other.get(f"/shelf/{title.pk}/move").status_code == 404
    assert Follow.objects.get(title=title).last_read_number is None


def test_the_number_a_reader_types_has_bounds(as_reader, reader, dex_title):
    _, title = dex_title
    for number in ("9" * 30, "-1", "1e5", "58.555", "", "NaN"):
        response = as_reader.post(f"/shelf/{title.pk}/progress", {"number": number}, follow=True)
        assert response.status_code == 200
    assert follow_of(reader, title).last_read_number is None
    assert shelf.parse_number("10.5") == Decimal("10.5")


def test_digits_int_cannot_read_are_refused_not_a_server_error(as_reader, reader, dex_title):
    """ "²" and "①" pass str.isdigit(), and int() refuses them."""
    _, title = dex_title
    for digits in ("²", "①", "²³"):
        read = as_reader.post(f"/shelf/{title.pk}/progress", {"action": "read", "chapter_id": digits}, follow=True)
        settings = as_reader.post(f"/shelf/{title.pk}/reading", {"notify_after_unread": digits}, follow=True)
        assert (read.status_code, settings.status_code) == (200, 400), digits  # refused, with the reason
    assert follow_of(reader, title).last_read_number is None and follow_of(reader, title).notify_after_unread == 1


def test_a_shelf_of_sixty_titles_shows_fifty_a_page_and_keeps_the_sort_on_the_next(django_user_model):
    bulk.build(
        bulk.Size(
            titles=60,
            chapters_per_title=2,
            readers=1,
            follows_per_reader=60,
            notifications_per_reader=1,
            logs_per_title=1,
        ),
        timezone.now(),
    )
    client = logged_in(django_user_model.objects.get(username="reader0"))
    first = client.get("/shelf/", {"sort": "name"}).content.decode()
    assert first.count('class="shelf-row') == 50 and "page 1 of 2" in first
    assert 'href="?sort=name&amp;page=2"' in first
    second = client.get("/shelf/", {"sort": "name", "page": 2}).content.decode()
    assert second.count('class="shelf-row') == 10
    names = sorted(bulk.title_name(n) for n in range(60))
    assert names[0] in first and names[-1] in second and names[-1] not in first


def test_a_second_reader_new_to_a_stored_title_sees_all_of_it_unread_at_once(
    as_reader, as_other, other_reader, kaguya, mangadex, run_tasks
):
    dex, _ = kaguya
    with run_tasks():
        add(as_reader, f"mangadex:{dex.dex_id}", "caught_up")
    title = Title.objects.get(source="mangadex")
    add(as_other, f"mangadex:{dex.dex_id}", "none")  # no fetch and no check: the title is stored
    follow = follow_of(other_reader, title)
    assert follow.unread_count == title.chapter_count and follow.unread_count > 0
    row = as_other.get("/shelf/").content.decode()
    assert f"{follow.unread_count} unread" in row and "caught up" not in row
