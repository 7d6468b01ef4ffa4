"""The one place that talks HTTP to Bato."""

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from scraping.bato.errors import (
    BadResponse,
    BatoError,
    Blocked,
    NetworkError,
    NotJson,
    RateLimited,
    RequestTimedOut,
    ServerError,
)
from scraping.bato.parsing import TITLE_QUERY, TitleSnapshot, parse_title_response

# What the site's own web client sends; a bare python-requests agent is blocked sooner.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Safari/537.36"
)


@dataclass(frozen=True)
class FetchResult:
    snapshot: TitleSnapshot
    http_status: int


class BatoClient:
    """Fetches a title's details and full chapter list with one POST to `base_url`/apo/."""

    def __init__(self, base_url, *, timeout, session=None):
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.endpoint = f"{self.origin}/apo/"
        self.timeout = timeout
        self.session = session or requests.Session()

    def fetch_title(self, comic_id):
        headers = {
            "User-Agent": BROWSER_USER_AGENT,
            "Accept": "application/json",
            "Origin": self.origin,
            "Referer": f"{self.origin}/title/{comic_id}",
            "Cookie": "theme=dark",
        }
        body = {"query": TITLE_QUERY, "variables": {"id": str(comic_id)}}
        try:
            response = self.session.post(
                self.endpoint, json=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout:
            raise RequestTimedOut(f"no answer from {self.origin} within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise NetworkError(f"could not reach {self.origin}: {exc.__class__.__name__}") from None
        try:
            payload = decode_response(response.status_code, response.headers, response.content)
            snapshot = parse_title_response(payload, str(comic_id))
        except BatoError as exc:
            exc.status = response.status_code
            raise
        return FetchResult(snapshot=snapshot, http_status=response.status_code)


def decode_response(status, headers, content):
    """Classify an HTTP answer and return its JSON body, or raise the matching BatoError."""
    text = content.decode("utf-8", errors="replace")
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        wait = f"; it asked for {retry_after:g} s" if retry_after is not None else ""
        raise RateLimited(f"Bato is rate limiting us (HTTP 429{wait})", retry_after=retry_after)
    if _looks_like_html(headers, text):
        if status in (403, 503) or status < 300 or "cloudflare" in text.lower():
            raise Blocked(f"Bato answered an HTML page instead of JSON (HTTP {status}): blocked", status=status)
        raise ServerError(f"Bato answered an HTML error page (HTTP {status})", status=status)
    if status == 403:
        raise Blocked("Bato refused the request (HTTP 403)", status=status)
    if status >= 500:
        raise ServerError(f"Bato had a server error (HTTP {status})", status=status)
    if status != 200:
        raise BadResponse(f"unexpected HTTP {status} from Bato", status=status)
    try:
        return json.loads(text)
    except ValueError:
        raise NotJson(f"the answer is not JSON: {text[:80]!r}", status=status) from None


def _looks_like_html(headers, text):
    content_type = headers.get("Content-Type", "").lower()
    start = text.lstrip()[:200].lower()
    return "html" in content_type or start.startswith(("<!doctype", "<html"))


def parse_retry_after(value, now=None):
    """Retry-After as seconds to wait: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
