"""Turning what a user pastes into a Bato comic id."""

import re
from urllib.parse import urlsplit

from scraping.bato.errors import InvalidTitleReference

_BARE_ID = re.compile(r"^\d{1,12}$")
# /title/110100, /title/110100-some-slug, /title/110100-slug/1906652-ch_1, /series/72315/some-slug
_TITLE_PATH = re.compile(r"^/(?:title/(?P<title>\d{1,12})(?:-[^/]*)?|series/(?P<series>\d{1,12}))(?:/.*)?$")


def parse_title_reference(text, mirrors):
    """Return the comic id in a title URL on one of `mirrors`, or in a bare id.

    Raises InvalidTitleReference with a message that says what is accepted.
    """
    text = (text or "").strip()
    if _BARE_ID.match(text):
        return str(int(text))
    accepted = (
        "a Bato title URL such as https://bato.to/title/110100-some-slug or "
        "https://bato.to/series/72315/some-slug on a known mirror, or a bare id such as 110100"
    )
    if not text:
        raise InvalidTitleReference(f"Nothing given: expected {accepted}.")
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise InvalidTitleReference(f"{text!r} is not a URL: expected {accepted}.") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidTitleReference(f"{text!r} is not an http(s) URL: expected {accepted}.")
    if "@" in parts.netloc:  # even an empty "user:@" or ":@"
        raise InvalidTitleReference(f"{text!r} carries a user name or password: expected {accepted}.")
    host = (parts.hostname or "").lower()
    known = {m.lower() for m in mirrors}
    if host.startswith("www."):
        host = host[4:]
    if host not in known:
        raise InvalidTitleReference(
            f"{host or text!r} is not a known Bato mirror (BATO_MIRRORS lists the known ones): expected {accepted}."
        )
    match = _TITLE_PATH.match(parts.path)
    if not match:
        raise InvalidTitleReference(f"{text!r} is not a title page: expected {accepted}.")
    return str(int(match.group("title") or match.group("series")))
