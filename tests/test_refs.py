"""What a user may paste to name a title on any source, and what is refused with a reason."""

import pytest

from scraping.sources import TitleRef, parse_reference
from scraping.sources.errors import InvalidTitleReference

UUID = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    "text, source, source_id",
    [
        ("https://batotwo.com/title/110100-some-slug", "bato", "110100"),
        ("https://bato.to/title/110100", "bato", "110100"),
        ("https://bato.to/series/72315/some-slug", "bato", "72315"),
        ("http://wto.to/title/102497-please-don-t-come/1906652-ch_1", "bato", "102497"),
        ("https://www.xbato.com/title/5-x?utm=1#top", "bato", "5"),
        ("BATO.TO/title/77-upper-host", "bato", "77"),
        ("  102497 ", "bato", "102497"),
        ("0042", "bato", "42"),
        ("bato:110100", "bato", "110100"),
        (f"https://mangadex.org/title/{UUID}", "mangadex", UUID),
        (f"https://mangadex.org/title/{UUID}/some-slug", "mangadex", UUID),
        (f"https://www.mangadex.org/title/{UUID.upper()}/", "mangadex", UUID),
        (UUID, "mangadex", UUID),
        (f"md:{UUID}", "mangadex", UUID),
        ("https://www.mangaupdates.com/series/ttaew4a/some-title", "mangaupdates", "64897697818"),
        ("https://mangaupdates.com/series/ttaew4a", "mangaupdates", "64897697818"),
        ("64897697818", "mangaupdates", "64897697818"),
        ("mangaupdates:123", "mangaupdates", "123"),
        ("mu:9223372036854775807", "mangaupdates", "9223372036854775807"),
    ],
)
def test_accepted_references(text, source, source_id):
    assert parse_reference(text) == TitleRef(source, source_id)


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "Nothing given"),
        ("https://evil.example/title/110100-x", "evil.example is not a site batoshelf follows"),
        ("https://bato.to.evil.example/title/110100", "is not a site batoshelf follows"),
        ("https://user:pw@bato.to/title/110100", "user name or password"),
        ("ftp://bato.to/title/110100", "not an http(s) URL"),
        ("javascript:alert(1)", "not an http(s) URL"),
        ("https://bato.to/chapter/1906652", "not a Bato title page"),
        ("https://bato.to/title/abc-slug", "not a Bato title page"),
        ("one piece", "is not a URL"),
        ("not a url", "is not a URL"),
        ("-5", "neither a URL nor an id"),
        ("1" * 40, "a 40-digit number is too large"),
        ("mu:9223372036854775808", "is not a MangaUpdates id"),
        ("md:12345", "is not a MangaDex id"),
        ("[", "is not a URL"),  # this one and ":@" were found by tests/test_fuzz.py
        ("https://:@bato.to/title/1", "user name or password"),
        ("https://[::1/title/1", "is not a URL"),
        (f"https://mangadex.org/chapter/{UUID}", "that is a chapter"),
        ("https://mangadex.org/title/not-a-uuid/x", "not a MangaDex title page"),
        ("https://www.mangaupdates.com/series.html?id=71967", "old MangaUpdates link"),
        ("https://www.mangaupdates.com/releases.html", "not a MangaUpdates series page"),
    ],
)
def test_refused_references_say_what_was_wrong_and_what_is_accepted(text, why):
    with pytest.raises(InvalidTitleReference) as refused:
        parse_reference(text)
    assert why in str(refused.value)
    assert "https://" in str(refused.value), "the message shows what is accepted"
