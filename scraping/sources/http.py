"""Sending one request to a source and reading what comes back, the same way for every source.

`send` is the only place that talks HTTP. `read_json` turns an answer into
JSON or the error that says whose fault it is: a 429, a block, a 5xx or an
answer that is not JSON count against the source, the rest against the title.
"""

import json
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings

import batoshelf
from batoshelf import egress
from scraping.sources.base import Answer
from scraping.sources.errors import (
    BadResponse,
    Blocked,
    NetworkError,
    NotJson,
    RateLimited,
    RequestTimedOut,
    ServerError,
    SourceError,
    TitleNotFound,
)

# No source sends a title this big (2,000 Bato chapters are about 1 MB); a larger answer is not read
# into memory, and its JSON would take ten times that once parsed.
MAX_ANSWER_BYTES = 16 * 1024 * 1024

_local = threading.local()


def honest_user_agent():
    """batoshelf's own User-Agent: its name, version and the operator's contact URL.

    MangaDex refuses browser-like agents from programs (June 2026); MangaUpdates
    asks clients to identify themselves.
    """
    contact = settings.BATOSHELF_CONTACT_URL
    about = f"+{contact}" if contact else "self-hosted new-chapter tracker"
    return f"batoshelf/{batoshelf.__version__} ({about})"


def session_for(source):
    """This thread's session for `source`: connections and cookies are kept between requests."""
    sessions = _local.__dict__.setdefault("sessions", {})
    if source.name not in sessions:
        session = requests.Session()
        source.prepare_session(session)
        sessions[source.name] = session
    return sessions[source.name]


def send(source, base_url, request, *, timeout, deadline=None):
    """Send `request` to `base_url`; the Answer, or NetworkError / RequestTimedOut when none came.

    `timeout` bounds each read; `deadline` (seconds, SOURCE_DEADLINE by default) the whole of it,
    connect, headers and body together: a source that sends a byte a second is cut off there.
    """
    url = request.url or base_url.rstrip("/") + request.path
    host = urlsplit(url).netloc
    deadline = deadline or settings.SOURCE_DEADLINE
    with egress.guarded(deadline, policy=source.may_connect, what=host) as guard:
        try:
            with session_for(source).request(
                request.method,
                url,
                params=list(request.params) or None,
                json=request.body,
                headers=source.headers(base_url, request),
                timeout=min(timeout, deadline),
                allow_redirects=False,
                stream=True,
            ) as response:
                content = _read_capped(response)
                return Answer(response.status_code, response.headers, content)
        except requests.Timeout:
            raise RequestTimedOut(f"no answer from {host} within {timeout:g} s") from None
        except (requests.RequestException, OSError) as exc:
            if guard.expired:
                raise RequestTimedOut(f"no whole answer from {host} within {deadline:g} s") from None
            if guard.refusals:
                raise NetworkError(guard.refusals[0]) from None
            raise NetworkError(f"could not reach {host}: {exc.__class__.__name__}") from None


def _read_capped(response):
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ServerError(f"the answer is larger than {MAX_ANSWER_BYTES // 2**20} MB", status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(headers, now=None):
    """Seconds a 429 asks us to wait, or None when it does not say.

    `Retry-After` in seconds or as an HTTP date, else MangaDex's
    `X-RateLimit-Retry-After`, the epoch second the limit's period ends.
    """
    now = now or datetime.now(UTC)
    value = (headers.get("Retry-After") or "").strip()
    if value.isdecimal():
        return float(value)
    if value:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    epoch = (headers.get("X-RateLimit-Retry-After") or "").strip()
    if epoch.isdecimal() and len(epoch) < 12:
        return max(0.0, int(epoch) - now.timestamp()) + 1.0  # a second's margin past the period's end
    return None


def quota_spent_for(headers, now=None):
    """Seconds until an endpoint's quota comes back when this answer spent the last of it, else None."""
    if (headers.get("X-RateLimit-Remaining") or "").strip() != "0":
        return None
    return retry_after({"X-RateLimit-Retry-After": headers.get("X-RateLimit-Retry-After", "")}, now)


def _looks_like_html(answer):
    start = answer.text.lstrip()[:200].lower()
    return "html" in answer.headers.get("Content-Type", "").lower() or start.startswith(("<!doctype", "<html"))


def raise_source_faults(answer, who):
    """Raise the source-wide error an answer is (429, block, 5xx, an HTML page), if it is one."""
    status = answer.status
    if status == 429:
        wait = retry_after(answer.headers)
        asked = f"; it asked for {wait:g} s" if wait is not None else ""
        raise RateLimited(f"{who} is rate limiting us (HTTP 429{asked})", retry_after=wait)
    if _looks_like_html(answer):
        if status in (403, 503) or status < 300 or "cloudflare" in answer.text.lower():
            raise Blocked(f"{who} answered an HTML page instead of JSON (HTTP {status}): blocked", status=status)
        raise ServerError(f"{who} answered an HTML error page (HTTP {status})", status=status)
    if status == 403:
        raise Blocked(f"{who} refused the request (HTTP 403)", status=status)
    if status >= 500:
        raise ServerError(f"{who} had a server error (HTTP {status})", status=status)


def json_of(answer, who):
    """The answer's JSON; NotJson when it is not JSON (or nested too deep to read)."""
    try:
        return json.loads(answer.text)
    except (ValueError, RecursionError):
        raise NotJson(f"{who}'s answer is not JSON: {answer.text[:80]!r}", status=answer.status) from None


def read_json(answer, who, parse, *, not_found=None, reason=None):
    """`parse(json)` of a 200 answer; the matching SourceError, with its HTTP status, otherwise.

    `not_found`: the message when a 404 means the source has no such title.
    `reason(json)`: the source's own words in an error answer.
    """
    if answer.status == 404 and not_found:
        raise TitleNotFound(not_found, status=404)
    raise_source_faults(answer, who)
    payload = json_of(answer, who)
    if answer.status != 200:
        said = reason(payload) if reason else ""
        raise BadResponse(f"{who} answered HTTP {answer.status}: {said or 'no reason given'}", status=answer.status)
    try:
        return parse(payload)
    except SourceError as error:
        error.status = error.status or answer.status
        raise
    except RecursionError:
        raise BadResponse(f"{who}'s answer is nested too deep to read", status=answer.status) from None


class Direct:
    """Sends a source's requests straight to one base URL, with no gate: for tests and benchmarks."""

    def __init__(self, source, base_url, *, timeout=10):
        self.source, self.base_url, self.timeout = source, base_url, timeout
        self.count = 0

    def __call__(self, request, read):
        self.count += 1
        return read(send(self.source, self.base_url, request, timeout=self.timeout))
