"""The Bato client against the stand-in server, over real HTTP on loopback."""

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from scraping.bato.client import BatoClient, parse_retry_after
from scraping.bato.errors import (
    BadResponse,
    Blocked,
    RateLimited,
    RequestTimedOut,
    NetworkError,
    ServerError,
    TitleNotFound,
)
from tests.standin import BatoStandIn


@pytest.fixture
def site():
    with BatoStandIn() as server:
        server.add_title("102497", chapters=3)
        yield server


def client_for(site, timeout=5):
    return BatoClient(site.url, timeout=timeout)


def test_one_post_fetches_details_and_every_chapter(site):
    result = client_for(site).fetch_title("102497")
    assert result.http_status == 200
    assert result.snapshot.details.bato_id == "102497"
    assert len(result.snapshot.chapters) == 3
    [request] = site.api_requests()
    assert request.body["variables"] == {"id": "102497"}


def test_requests_look_like_the_sites_own_web_client(site):
    client_for(site).fetch_title("102497")
    headers = site.api_requests()[0].headers
    assert headers["Origin"] == site.url
    assert headers["Referer"] == f"{site.url}/title/102497"
    assert headers["Cookie"] == "theme=dark"
    assert headers["User-Agent"].startswith("Mozilla/5.0")
    assert headers["Content-Type"] == "application/json"


def test_the_standin_refuses_what_the_real_endpoint_refuses(site):
    """Keeps the stand-in honest: String! and unknown fields give GraphQL errors."""
    status, _, body = site.answer({"query": "query q($id: String!) { get_content_comicNode(id: $id) { id } }",
                                   "variables": {"id": "102497"}})
    assert "ID!" in json.loads(body)["errors"][0]["message"]
    status, _, body = site.answer({"query": "query q($id: ID!) { get_content_comicNode(id: $id) { id nope } }",
                                   "variables": {"id": "102497"}})
    assert json.loads(body)["errors"][0]["message"] == 'Cannot query field "nope".'


def test_unknown_id_is_not_found(site):
    with pytest.raises(TitleNotFound):
        client_for(site).fetch_title("999")
    site.set_fault("not_found_errors")
    with pytest.raises(TitleNotFound):
        client_for(site).fetch_title("999")


def test_429_is_rate_limited_with_the_retry_after_it_gave(site):
    site.set_fault("rate_limit", retry_after=120)
    with pytest.raises(RateLimited) as limited:
        client_for(site).fetch_title("102497")
    assert limited.value.retry_after == 120
    assert limited.value.status == 429
    assert "120 s" in limited.value.message
    site.set_fault("rate_limit")
    with pytest.raises(RateLimited) as limited:
        client_for(site).fetch_title("102497")
    assert limited.value.retry_after is None


@pytest.mark.parametrize("status", [403, 503, 200])
def test_a_cloudflare_page_is_a_block_whatever_the_status(site, status):
    site.set_fault("cloudflare", status=status)
    with pytest.raises(Blocked) as blocked:
        client_for(site).fetch_title("102497")
    assert blocked.value.status == status
    assert blocked.value.site_wide


def test_5xx_is_a_server_error(site):
    site.set_fault("server_error", status=502)
    with pytest.raises(ServerError, match="HTTP 502"):
        client_for(site).fetch_title("102497")


def test_malformed_json_and_graphql_errors_are_bad_responses(site):
    site.set_fault("malformed")
    with pytest.raises(BadResponse, match="not JSON"):
        client_for(site).fetch_title("102497")
    site.set_fault("graphql_errors")
    with pytest.raises(BadResponse, match="GraphQL errors: Internal server error"):
        client_for(site).fetch_title("102497")


def test_a_hang_past_the_timeout_is_a_timeout(site):
    site.set_fault("hang")
    site.hang_seconds = 3
    with pytest.raises(RequestTimedOut, match="within 1 s"):
        client_for(site, timeout=1).fetch_title("102497")


def test_nobody_listening_is_a_network_error():
    with BatoStandIn() as server:
        url = server.url
    with pytest.raises(NetworkError, match="could not reach"):
        BatoClient(url, timeout=2).fetch_title("1")


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
