"""WEBTOON and Tapas: a series' RSS feed read by feedparser, against stand-ins that serve one."""

import pytest

from notifications.models import Notification
from scraping import sources
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Chapter, Title
from scraping.sources import TitleRef, parse_reference
from scraping.sources.errors import BadResponse, InvalidTitleReference, TitleNotFound
from scraping.sources.feeds import parse_feed
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

TOWER = TitleRef("webtoon", "en/fantasy/tower-of-god/95")


@pytest.mark.parametrize(
    "text,ref",
    [
        ("https://www.webtoons.com/en/fantasy/tower-of-god/list?title_no=95", TOWER),
        ("webtoons.com/en/fantasy/tower-of-god/list?title_no=95&page=3", TOWER),
        ("https://m.webtoons.com/en/fantasy/tower-of-god/list?title_no=95", TOWER),
        ("webtoon:en/fantasy/tower-of-god/95", TOWER),
        (
            "https://www.webtoons.com/es/canvas/mi-historia/list?title_no=123456",
            TitleRef("webtoon", "es/canvas/mi-historia/123456"),
        ),
        (
            "https://www.webtoons.com/en/challenge/old-canvas/list?title_no=7",
            TitleRef("webtoon", "en/canvas/old-canvas/7"),
        ),
        ("https://tapas.io/series/some-story", TitleRef("tapas", "some-story")),
        ("https://tapas.io/series/some-story/info", TitleRef("tapas", "some-story")),
        ("https://tapas.io/rss/series/12345", TitleRef("tapas", "12345")),
        ("tapas:12345", TitleRef("tapas", "12345")),
    ],
)
def test_series_pages_and_feeds_name_a_series(text, ref):
    assert parse_reference(text) == ref


@pytest.mark.parametrize(
    "text,why",
    [
        ("https://www.webtoons.com/en/fantasy/tower-of-god/list", "not a WEBTOON series page"),
        ("https://www.webtoons.com/en/fantasy/tower-of-god/season-3/viewer?title_no=95", "not a WEBTOON series"),
        ("https://www.webtoons.com/en/fantasy/" + "a" * 55 + "/list?title_no=95", "too long"),
        ("https://tapas.io/episode/2000001", "not a Tapas series page or feed"),
    ],
)
def test_other_addresses_on_their_sites_are_refused_with_the_reason(text, why):
    with pytest.raises(InvalidTitleReference, match=why):
        parse_reference(text)


def test_a_webtoon_series_imports_from_its_feed_and_tells_a_new_episode_once(webtoon, reader):
    webtoon.add_title(95, "Tower of God", episodes=30)
    title = import_title(TOWER, user=reader).title
    assert title.name == "Tower of God" and title.available_languages == ["en"]
    # The feed lists the latest 20: those are stored, in one request.
    numbers = sorted(int(n) for n in Chapter.objects.filter(title=title).values_list("number", flat=True))
    assert numbers == list(range(11, 31)) and len(webtoon.api_requests()) == 1
    webtoon.add_chapters(95, 1)
    result = check_title(Title.objects.get(pk=title.pk))
    assert [c.number for c in result.new_chapters] == [31] and len(webtoon.api_requests()) == 2
    check_title(Title.objects.get(pk=title.pk))
    [told] = Notification.objects.filter(user=reader, kind=Notification.Kind.NEW_CHAPTER)
    assert "Ep. 31" in told.message
    # Episode 11 has left the feed: it is not gone.
    assert Chapter.objects.get(title=title, number=11).available
    link = title.source_object.chapter_link(title.source_id, Chapter.objects.get(title=title, number=31).url_path, "")
    assert link.url == ("https://www.webtoons.com/en/fantasy/tower-of-god/episode-31/viewer?title_no=95&episode_no=31")


def test_a_canvas_series_is_read_from_its_challenge_feed(webtoon, reader):
    webtoon.add_title(123456, "Mi Historia", lang="es", genre="canvas", slug="mi-historia", episodes=3)
    title = import_title(TitleRef("webtoon", "es/canvas/mi-historia/123456"), user=reader).title
    assert Chapter.objects.filter(title=title, language="es").count() == 3
    assert webtoon.api_requests()[0].path == "/es/challenge/mi-historia/rss"


def test_a_series_webtoon_does_not_have_is_not_found(webtoon):
    with pytest.raises(TitleNotFound):
        import_title(TitleRef("webtoon", "en/fantasy/nothing/999"))


def test_a_tapas_series_by_its_page_costs_the_page_and_the_feed(tapas, reader):
    tapas.add_title(12345, "Some Story", slug="some-story", episodes=5)
    title = import_title(TitleRef("tapas", "some-story"), user=reader).title
    assert title.name == "Some Story"
    assert [r.path for r in tapas.api_requests()] == ["/series/some-story", "/rss/series/12345"]
    assert sorted(int(n) for n in Chapter.objects.filter(title=title).values_list("number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]
    tapas.add_chapters(12345, 1)
    assert [c.number for c in check_title(Title.objects.get(pk=title.pk)).new_chapters] == [6]


def test_a_tapas_series_by_its_feed_costs_one_request(tapas, reader):
    tapas.add_title(777, "Feed Story", slug="feed-story", episodes=2)
    import_title(TitleRef("tapas", "777"), user=reader)
    assert [r.path for r in tapas.api_requests()] == ["/rss/series/777"]


def test_feeds_are_read_as_rss_or_atom_and_anything_else_is_refused():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>Some Scans</title>
      <entry><id>tag:example.org,2026:ch-12</id><title>Series Name Chapter 12</title>
        <link href="https://example.org/series/ch-12"/><updated>2026-01-02T03:04:05Z</updated></entry>
    </feed>"""
    feed = parse_feed(atom, "A feed")
    [entry] = feed.entries
    assert feed.name == "Some Scans" and entry.key == "tag:example.org,2026:ch-12"
    assert entry.published_at.isoformat() == "2026-01-02T03:04:05+00:00"
    with pytest.raises(BadResponse, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body>Hello</body></html>", "A feed")
    with pytest.raises(BadResponse):
        parse_feed(b'{"json": true}', "A feed")


# Any feed a reader names


def feed_ref(site_feed, key="series", host="127.0.0.1"):
    return TitleRef("feed", f"http://{host}:{site_feed.url.rsplit(':', 1)[1]}/feed/{key}")


def test_a_feed_is_named_by_its_prefix_and_other_sites_are_told_so():
    assert parse_reference("feed:https://scans.example.org/series/feed/") == TitleRef(
        "feed", "https://scans.example.org/series/feed/"
    )
    assert parse_reference("rss:HTTPS://Scans.Example.org/feed?x=1") == TitleRef(
        "feed", "https://scans.example.org/feed?x=1"
    )
    with pytest.raises(InvalidTitleReference, match="feed:https://scans.example.org/series/"):
        parse_reference("https://scans.example.org/series/")
    for bad in (
        "feed:ftp://example.org/feed",
        "feed:https://user:pw@example.org/feed",
        "feed:https://x.org/" + "a" * 700,
    ):
        with pytest.raises(InvalidTitleReference):
            parse_reference(bad)


def test_a_feed_imports_and_an_unchanged_feed_costs_a_304(site_feed, reader):
    site_feed.add_title("series", "Series Name", episodes=5)
    ref = feed_ref(site_feed)
    title = import_title(ref, user=reader).title
    assert title.name == "Series Name" and title.source_memo["etag"] == '"series-5"'
    assert sorted(int(n) for n in Chapter.objects.filter(title=title).values_list("number", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]
    chapter = Chapter.objects.get(title=title, number=5)
    assert title.source_object.chapter_link(title.source_id, chapter.url_path, chapter.external_url).url == (
        "https://scans.example.org/series/chapter-5/"
    )
    result = check_title(Title.objects.get(pk=title.pk))
    assert result.log.outcome == "no_change" and result.new_chapters == []
    last = site_feed.api_requests()[-1]
    assert {k.lower(): v for k, v in last.headers.items()}["if-none-match"] == '"series-5"'
    assert result.log.http_status == 304
    site_feed.add_chapters("series", 1)
    assert [c.number for c in check_title(Title.objects.get(pk=title.pk)).new_chapters] == [6]
    check_title(Title.objects.get(pk=title.pk))
    [told] = Notification.objects.filter(user=reader, kind=Notification.Kind.NEW_CHAPTER)
    assert "Chapter 6 of Series Name" in told.message and "Series Name Chapter" not in told.message


def test_a_feed_title_is_seen_by_its_followers_alone_and_its_link_never_holds_the_key(
    site_feed, reader, other_reader, as_reader
):
    """A private feed's address holds its reader's key: another reader cannot open its title by id."""
    site_feed.add_title("series", "Series Name", episodes=2)
    keyed = TitleRef("feed", feed_ref(site_feed).source_id + "?private_key=SECRETKEY")
    title = import_title(keyed, user=reader).title
    pages = (f"/titles/{title.pk}/", f"/api/titles/{title.pk}", f"/api/titles/{title.pk}/chapters")
    other = logged_in(other_reader)
    for page in pages:
        answer = other.get(page)
        assert answer.status_code == 404 and b"SECRETKEY" not in answer.content, page
    assert [as_reader.get(page).status_code for page in pages] == [200] * 3, "its follower sees it"
    assert sources.get("feed").title_url("https://scans.example.org/feed/?private_key=SECRETKEY") == (
        "https://scans.example.org/feed/"
    )
    assert sources.get("feed").title_url(keyed.source_id) == "", "no link inside the network"


def test_an_atom_feed_reads_the_same(site_feed, reader):
    site_feed.atom = True
    site_feed.add_title("atom", "Atom Series", episodes=3)
    title = import_title(feed_ref(site_feed, "atom"), user=reader).title
    assert title.name == "Atom Series" and Chapter.objects.filter(title=title).count() == 3


def test_a_feed_inside_the_network_is_refused_where_it_connects(site_feed, settings):
    site_feed.add_title("series", episodes=2)
    settings.FEEDS_ALLOW_PRIVATE = False
    with pytest.raises(Exception, match="private network"):
        import_title(feed_ref(site_feed))
    assert site_feed.api_requests() == []


def test_each_feed_host_has_its_own_gate(site_feed, reader):
    from scraping.models import SourceState

    site_feed.add_title("series", episodes=2)
    one = import_title(feed_ref(site_feed), user=reader).title
    other = import_title(feed_ref(site_feed, host="localhost"), user=reader).title
    site_feed.set_fault("server_error")
    check_title(Title.objects.get(pk=one.pk))
    failing = SourceState.objects.get(source="feed:127.0.0.1")
    assert failing.failures_in_a_row == 1 and str(failing) == "Feed (127.0.0.1)"
    assert SourceState.objects.get(source="feed:localhost").failures_in_a_row == 0
    assert not SourceState.objects.filter(source="feed", failures_in_a_row__gt=0).exists()
    site_feed.set_fault(None)
    assert check_title(Title.objects.get(pk=other.pk)).log.outcome == "no_change"


def test_a_feed_that_moved_says_where_and_is_not_followed(site_feed, reader):
    site_feed.add_title("series", episodes=2)
    title = import_title(feed_ref(site_feed), user=reader).title
    site_feed.moved_to = "https://elsewhere.example.org/feed/"
    result = check_title(Title.objects.get(pk=title.pk))
    assert "moved" in result.log.message and "elsewhere.example.org" in result.log.message


@pytest.mark.parametrize(
    "text",
    [
        "https://www.webtoons.com/en/fantasy/tower-of-god/list?title_no=\u00b2",
        "https://www.webtoons.com/en/fantasy/tower-of-god/list?title_no=%C2%B2",
        "https://www.webtoons.com/en/fantasy/tower-of-god/list?title_no=\u2460",
        "https://tapas.io/rss/series/\u0661\u0662\u0663",
    ],
)
def test_digits_that_are_not_ascii_are_refused_not_a_crash(text):
    with pytest.raises(InvalidTitleReference):
        parse_reference(text)


def test_a_series_id_longer_than_an_id_is_not_cut_short(tapas):
    from scraping.sources import tapas as tapas_source

    assert tapas_source.series_id_in_page('content="tapastic://series/99999999999999999999999/info"') is None
    assert tapas_source.series_id_in_page('content="tapastic://series/12345/info"') == "12345"
