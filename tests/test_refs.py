"""What a user may paste to add a title, and what is refused."""

import pytest

from scraping.bato.errors import InvalidTitleReference
from scraping.bato.refs import parse_title_reference

MIRRORS = ["bato.to", "batotwo.com", "wto.to", "xbato.com"]


@pytest.mark.parametrize(
    "text, comic_id",
    [
        ("https://batotwo.com/title/110100-some-slug", "110100"),
        ("https://bato.to/title/110100", "110100"),
        ("https://bato.to/series/72315/some-slug", "72315"),
        ("https://bato.to/series/72315", "72315"),
        ("http://wto.to/title/102497-please-don-t-come/1906652-ch_1", "102497"),
        ("https://www.xbato.com/title/5-x?utm=1#top", "5"),
        ("BATO.TO/title/77-upper-host", "77"),
        ("  102497 ", "102497"),
        ("0042", "42"),
    ],
)
def test_accepted_references(text, comic_id):
    assert parse_title_reference(text, MIRRORS) == comic_id


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "Nothing given"),
        ("https://evil.example/title/110100-x", "not a known Bato mirror"),
        ("https://bato.to.evil.example/title/110100", "not a known Bato mirror"),
        ("https://user:pw@bato.to/title/110100", "user name or password"),
        ("ftp://bato.to/title/110100", "not an http(s) URL"),
        ("javascript:alert(1)", "not"),
        ("https://bato.to/chapter/1906652", "not a title page"),
        ("https://bato.to/title/abc-slug", "not a title page"),
        ("one piece", "not"),
        ("-5", "not"),
        ("[", "is not a URL"),  # this one and ":@" were found by tests/test_fuzz.py
        ("https://:@bato.to/title/1", "user name or password"),
        ("https://[::1/title/1", "is not a URL"),
    ],
)
def test_refused_references_say_what_is_accepted(text, why):
    with pytest.raises(InvalidTitleReference) as refused:
        parse_title_reference(text, MIRRORS)
    assert why in str(refused.value)
    assert "bare id" in str(refused.value)
