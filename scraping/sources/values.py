"""Small pure readers every source's parser shares: text, numbers, dates, HTML, safe links.

Liberal in what they accept: a value of the wrong type becomes None or empty,
never an exception; the parsers decide what is fatal.
"""

import html
import ipaddress
import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# A chapter language as the sources write it: "en", "pt-br", "es-la".
CHAPTER_LANGUAGE = re.compile(r"^[a-z]{2}(-[a-z]{2})?$")
# Characters no name shows: controls, and the marks that turn the text around them (a name with
# U+202E reads backwards, and the rest of its line with it).
UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The largest id a source or a database row can have: a signed 64-bit integer.
MAX_INT64 = 2**63 - 1


def whole_number(value: Any, digits: int = 18) -> int | None:
    """The number `value` writes in at most `digits` plain digits (an id, an index a form sends), else
    None: int() gives up past 4,300 digits with an error, and no row is that far anyway."""
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= digits:
        return int(value)
    return None


def text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def listed(value: Any) -> list[Any]:
    """`value` when the JSON gave a list, else an empty one."""
    return value if isinstance(value, list) else []


def fields(value: Any) -> dict[str, Any]:
    """`value` when the JSON gave an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else None
    if isinstance(value, str):
        try:
            return integer(float(value)) if "." in value else int(value)
        except ValueError:
            return None
    return None


def decimal_or_none(value: Any) -> float | None:
    """A finite number (a score), or None: NaN, infinities and numbers past 1e15 are no score."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        number = float(value) if abs(value) < 1e15 else math.inf
        return number if math.isfinite(number) else None
    return None


# A chapter number as stored: up to 6 digits before the point and 2 after.
_NUMBER = r"\d{1,6}(?:\.\d{1,2})?"
_ONE_NUMBER = re.compile(rf"^\s*({_NUMBER})\s*$")
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*-\s*({_NUMBER})\s*$")


def chapter_numbers(value: Any) -> tuple[Decimal | None, Decimal | None]:
    """(first, last) chapter numbers in "12", "10.5" or a range "25-26"; (None, None) for text.

    For one number `first` is None: only a range has two ends.
    """
    value = text(value)
    one = _ONE_NUMBER.match(value)
    if one:
        return None, Decimal(one.group(1))
    pair = _RANGE.match(value)
    if pair:
        first, last = Decimal(pair.group(1)), Decimal(pair.group(2))
        if first < last:
            return first, last
        if first == last:
            return None, last
    return None, None


# Epoch milliseconds past this are not dates (year ~2286); before 2000 none of our sources existed.
_MAX_EPOCH_MS = 10_000_000_000_000
_MIN_EPOCH_MS = 946_684_800_000


def epoch_ms(value: Any) -> datetime | None:
    """A date given as epoch milliseconds; seconds given instead are accepted; otherwise None."""
    ms = integer(value)
    if ms is None or ms <= 0:
        return None
    if ms < _MIN_EPOCH_MS:
        ms *= 1000  # seconds where milliseconds are documented
    if not _MIN_EPOCH_MS <= ms < _MAX_EPOCH_MS:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_datetime(value: Any, *, in_utc: bool = True) -> datetime | None:
    """An ISO 8601 time ("2024-02-13T02:28:41+00:00", "2022-03-29T09:15:59.044Z") in UTC, or None.

    A time without an offset is taken as UTC, as the sources document. `in_utc=False` keeps the
    offset the time was given in (its day there may not be its day in UTC).
    """
    value = text(value)
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.astimezone(UTC).year < 2000:
        return None
    return parsed.astimezone(UTC) if in_utc else parsed


# The largest count a stored figure may hold (a PositiveIntegerField's upper bound).
MAX_COUNT = 2**31 - 1


def count(value: Any, maximum: int = MAX_COUNT) -> int | None:
    """A figure that counts something (votes, views, follows): a whole number from 0 to `maximum`, else None.

    A source's -1 or 10**30 is no count: stored as it is, it would break a database constraint.
    """
    number = integer(value)
    return number if number is not None and 0 <= number <= maximum else None


def day(value: Any) -> date | None:
    """A "YYYY-MM-DD" day, or None."""
    value = text(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.year >= 2000 else None


class _TextOfHtml(HTMLParser):
    BREAKS = {"br", "p", "div", "li"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "div"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(value: Any) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, line breaks kept."""
    value = text(value)
    if not value:
        return ""
    parser = _TextOfHtml()
    parser.feed(value)
    parser.close()
    lines = ("".join(parser.parts)).replace("\r", "").split("\n")
    joined = "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def unescape(value: Any) -> str:
    """Text with HTML entities decoded ("Kaguya&#039;s" → "Kaguya's")."""
    return html.unescape(text(value))


def _clean_url_text(value: str) -> bool:
    return bool(value) and not any(c.isspace() or ord(c) < 32 or c == "\\" for c in value)


def link_on(base_url: str, path: Any) -> str:
    """`path` (and its query) on `base_url`'s host, or "" when it could lead anywhere else.

    Chapter paths come from the source; gluing them onto the base URL would let
    "@evil.example/phish" or "//evil.example" name another host.
    """
    if not isinstance(path, str) or not _clean_url_text(path) or not path.startswith("/") or path.startswith("//"):
        return ""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return ""
    base = urlsplit(base_url)
    url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
    return url if urlsplit(url).hostname == base.hostname else ""


def external_link(url: Any) -> str:
    """An http(s) URL with a host and no credentials, as given; "" for anything else."""
    if not isinstance(url, str) or not _clean_url_text(url) or len(url) > 1000:
        return ""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or not port_ok:
        return ""
    return url


def numbers_covered(first: Decimal | None, last: Decimal | None) -> frozenset[Decimal]:
    """The chapter numbers a chapter stands for: each number of a short whole range ("25-26"), the two
    ends of any other range, its one number, or none for a chapter without one."""
    if last is None:
        return frozenset()
    if first is None:
        return frozenset({last})
    if first == int(first) and last == int(last) and last - first <= 50:
        return frozenset(Decimal(n) for n in range(int(first), int(last) + 1))
    return frozenset({first, last})


def public_link(url: Any) -> str:
    """`url` when it is an http(s) link a reader may follow, "" when it is not or when it names this
    machine or a private network by address or by a local name (169.254.169.254, localhost, *.internal).

    A source's links are shown, not fetched: a name is not looked up here (what batoshelf itself
    connects to is checked where it connects).
    """
    url = external_link(url)
    if not url:
        return ""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan", ".home.arpa")):
        return ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url if "." in host else ""  # a bare name ("intranet") is local
    return url if address.is_global else ""


# At most what a chapter's number is stored as (6 digits, 2 decimals), never the start of a longer number.
_NAMED_NUMBER = r"([0-9]{1,6}(?:\.[0-9]{1,2})?)(?![0-9])"
_CHAPTER_NUMBER_PATTERNS = (
    # "Chapter 12", "Ch.10.5", "Chap 3", "Episode 7", "Ep. 4", "Vol.2 Ch.10.5"
    re.compile(r"\b(?:chapter|chap|ch|episode|ep)\.?\s*" + _NAMED_NUMBER, re.IGNORECASE),
    # 第12話 / 第12话 / 第12章 / 第12回, 12화
    re.compile(r"第\s*" + _NAMED_NUMBER + r"\s*[話话章回]"),
    re.compile(_NAMED_NUMBER + r"\s*화"),
    # A name that is only a number: "12", "#12", "12.5"
    re.compile(r"^\s*#?\s*" + _NAMED_NUMBER + r"\s*$"),
)


def chapter_number_in(name: Any) -> Decimal | None:
    """The chapter number in a display name, or None ("Side Story 3", "Extra")."""
    for pattern in _CHAPTER_NUMBER_PATTERNS:
        match = pattern.search(name or "")
        if match:
            return Decimal(match.group(1))
    return None
