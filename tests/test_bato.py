"""Bato as a source, over real HTTP to its stand-in on loopback; and what every source's HTTP shares."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from scraping.sources import get
from scraping.sources.base import Known
from scraping.sources.errors import (
    BadResponse,
    Blocked,
    NetworkError,
    RateLimited,
    RequestTimedOut,
    ServerError,
    TitleNotFound,
)
from scraping.sources.http import Direct, retry_after
from tests.standins import BatoStandIn

BATO = get("bato")


@pytest.fixture
def site():
    with BatoStandIn() as server:
        server.add_title("102497", chapters=3)
        yield server


def fetch(site, comic_id="102497", timeout=5):
    return BATO.fetch_title(Direct(BATO, site.url, timeout=timeout), comic_id, Known(full=True))


def test_one_post_fetches_details_and_every_chapter(site):
    snapshot = fetch(site)
    assert snapshot.details.source_id == "102497"
    assert len(snapshot.chapters) == 3
    [request] = site.api_requests()
    assert request.body["variables"] == {"id": "102497"}


def test_requests_look_like_the_sites_own_web_client_and_keep_a_cookie_jar(site):
    fetch(site)
    headers = site.api_requests()[0].headers
    assert headers["Origin"] == site.url
    assert headers["Referer"] == f"{site.url}/title/102497"
    assert headers["Cookie"] == "theme=dark"
    assert headers["User-Agent"].startswith("Mozilla/5.0")
    assert headers["Content-Type"] == "application/json"


def test_a_cookie_the_site_sets_goes_back_with_the_next_request(site):
    site.raw_answer = (
        200,
        {"Content-Type": "application/json", "Set-Cookie": "cf_clearance=abc; Path=/"},
        b'{"data": {"get_content_comicNode": null}}',
    )
    site.set_fault("raw")
    with pytest.raises(TitleNotFound):
        fetch(site)
    site.set_fault(None)
    fetch(site)
    cookies = site.api_requests()[-1].headers["Cookie"]
    assert "cf_clearance=abc" in cookies and "theme=dark" in cookies


def test_the_standin_refuses_what_the_real_endpoint_refuses(site):
    """Keeps the stand-in honest: String! and unknown fields give GraphQL errors."""
    status, _, body = site.graphql(
        {"query": "query q($id: String!) { get_content_comicNode(id: $id) { id } }", "variables": {"id": "102497"}}
    )
    assert "ID!" in json.loads(body)["errors"][0]["message"]
    status, _, body = site.graphql(
        {"query": "query q($id: ID!) { get_content_comicNode(id: $id) { id nope } }", "variables": {"id": "102497"}}
    )
    assert json.loads(body)["errors"][0]["message"] == 'Cannot query field "nope".'


def test_unknown_id_is_not_found(site):
    with pytest.raises(TitleNotFound):
        fetch(site, "999")
    site.set_fault("not_found_errors")
    with pytest.raises(TitleNotFound):
        fetch(site, "999")


def test_429_is_rate_limited_with_the_retry_after_it_gave(site):
    site.set_fault("rate_limit", retry_after=120)
    with pytest.raises(RateLimited) as limited:
        fetch(site)
    assert limited.value.retry_after == 120
    assert limited.value.status == 429
    assert "120 s" in limited.value.message
    site.set_fault("rate_limit")
    with pytest.raises(RateLimited) as limited:
        fetch(site)
    assert limited.value.retry_after is None


@pytest.mark.parametrize("status", [403, 503, 200])
def test_a_cloudflare_page_is_a_block_whatever_the_status(site, status):
    site.set_fault("cloudflare", status=status)
    with pytest.raises(Blocked) as blocked:
        fetch(site)
    assert blocked.value.status == status
    assert blocked.value.source_wide


def test_5xx_is_a_server_error(site):
    site.set_fault("server_error", status=502)
    with pytest.raises(ServerError, match="HTTP 502"):
        fetch(site)


def test_malformed_json_and_graphql_errors_are_bad_responses(site):
    site.set_fault("malformed")
    with pytest.raises(BadResponse, match="not JSON"):
        fetch(site)
    site.set_fault("graphql_errors")
    with pytest.raises(BadResponse, match="GraphQL errors: Internal server error"):
        fetch(site)


def test_json_nested_past_what_python_reads_is_a_bad_response_not_a_crash(site):
    site.raw_answer = (200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000)
    site.set_fault("raw")
    with pytest.raises(BadResponse):
        fetch(site)


def test_a_hang_past_the_timeout_is_a_timeout(site):
    site.set_fault("hang")
    site.hang_seconds = 3
    with pytest.raises(RequestTimedOut, match="within 1 s"):
        fetch(site, timeout=1)


def test_nobody_listening_is_a_network_error():
    with BatoStandIn() as server:
        url = server.url
    with pytest.raises(NetworkError, match="could not reach"):
        BATO.fetch_title(Direct(BATO, url, timeout=2), "1", Known(full=True))


def test_retry_after_reads_seconds_http_dates_and_mangadex_epochs():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert retry_after({"Retry-After": "120"}, now) == 120
    assert retry_after({"Retry-After": format_datetime(now + timedelta(seconds=90), usegmt=True)}, now) == 90
    assert retry_after({"Retry-After": format_datetime(now - timedelta(seconds=90), usegmt=True)}, now) == 0
    assert retry_after({"X-RateLimit-Retry-After": str(int(now.timestamp()) + 30)}, now) == 31
    assert retry_after({"Retry-After": "soon"}, now) is None
    assert retry_after({}, now) is None
