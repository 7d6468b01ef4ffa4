"""Property-based fuzzing of what comes from outside: pasted title references and the sources' answers.

Whatever arrives, the parsers answer with their own error types and never
crash, and a check stores a whole answer or nothing.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraping.checking.pipeline import check_title, import_title
from scraping.models import Chapter, CheckLog, SourceState, Title
from scraping.sources import parse_reference
from scraping.sources.base import Answer
from scraping.sources.bato import parse_title_response
from scraping.sources.errors import InvalidTitleReference, SourceError
from scraping.sources.http import read_json
from scraping.sources.mangadex import parse_feed, parse_title
from scraping.sources.mangadex import parse_search as parse_mangadex_search
from scraping.sources.mangadex import read as read_mangadex
from scraping.sources.mangaupdates import parse_releases, parse_series
from scraping.sources.mangaupdates import parse_search as parse_mangaupdates_search
from tests.conftest import bato
from tests.standins.bato import make_details

UUID = "11111111-2222-4333-8444-555555555555"
FUZZ = settings(max_examples=300, deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
hosts = st.sampled_from(
    [
        "bato.to",
        "batotwo.com",
        "mangadex.org",
        "www.mangaupdates.com",
        "evil.example",
        "bato.to.evil.example",
        "[::1",
        "127.0.0.1:99999",
        "",
    ]
)
url_like = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(
        ["https://", "http://", "ftp://", "javascript:", "//", "", "file:///", "data:text/html,", "md:", "mu:", "bato:"]
    ),
    st.sampled_from(["", "user:pw@", "user@", ":@"]),
    hosts,
    st.sampled_from(["/title/", "/series/", "/chapter/", "/series.html?id=", "/", "", f"/title/{UUID}"]),
    st.text(alphabet="0123456789-abcf/%?#@:[]", max_size=16),
)


@FUZZ
@given(st.one_of(st.text(), url_like))
def test_a_pasted_reference_is_a_title_on_a_source_or_a_clear_refusal(text):
    try:
        ref = parse_reference(text)
    except InvalidTitleReference as refused:
        assert "expected" in str(refused) or "too long" in str(refused)
    else:
        assert ref.source in ("bato", "mangadex", "mangaupdates") and ref.source_id


@FUZZ
@given(url_like)
def test_no_reference_with_credentials_or_another_host_is_accepted(text):
    try:
        parse_reference(text)
    except InvalidTitleReference:
        return
    head = text.split("/title/")[0].split("/series/")[0]
    assert "@" not in head
    assert "evil" not in head


def valid_payload(comic_id="1", chapters=2):
    return {
        "data": {
            "get_content_comicNode": {"id": comic_id, "data": make_details(comic_id, "Fuzzed")},
            "get_content_chapterList": [
                {
                    "id": str(900 + n),
                    "data": {
                        "dname": f"Chapter {n}",
                        "title": "",
                        "urlPath": f"/title/1/{900 + n}-ch_{n}",
                        "dateCreate": 1647940559044,
                        "datePublic": 1647940559044,
                    },
                }
                for n in range(chapters)
            ],
        }
    }


@st.composite
def mutated_payloads(draw):
    """A valid answer with a few of its values, at any depth, replaced by anything."""
    payload = valid_payload(chapters=draw(st.integers(0, 3)))
    for _ in range(draw(st.integers(1, 4))):
        parent, key = None, None
        node = payload
        for step in draw(st.lists(st.integers(0, 30), min_size=1, max_size=6)):
            keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
            if not keys:
                break
            parent, key = node, keys[step % len(keys)]
            node = node[key]
            if step % 3 == 0:
                break
        if parent is not None:
            parent[key] = draw(json_values)
    return payload


@FUZZ
@given(st.one_of(json_values, mutated_payloads()))
def test_any_json_answer_parses_or_is_a_source_error(payload):
    try:
        parse_title_response(payload, "1")
    except SourceError:
        pass


PARSERS = [
    lambda payload: parse_title(payload, UUID),
    parse_feed,
    parse_mangadex_search,
    lambda payload: parse_series(payload, "64897697818"),
    parse_releases,
    parse_mangaupdates_search,
]


@FUZZ
@given(st.sampled_from(PARSERS), json_values)
def test_mangadex_and_mangaupdates_answers_parse_or_are_source_errors(parse, payload):
    try:
        parse(payload)
    except SourceError:
        pass


@FUZZ
@given(
    st.integers(100, 599),
    st.sampled_from(["application/json", "text/html", "text/plain", ""]),
    st.binary(max_size=300),
    st.sampled_from(
        [
            lambda answer: read_json(answer, "Bato", lambda payload: payload),
            lambda answer: read_mangadex(answer, parse_feed, not_found="x"),
        ]
    ),
)
def test_any_http_answer_decodes_or_is_a_source_error(status, content_type, body, read):
    try:
        read(Answer(status, {"Content-Type": content_type}, body))
    except SourceError:
        pass


@pytest.mark.django_db(transaction=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=st.one_of(mutated_payloads().map(lambda p: json.dumps(p).encode()), st.binary(max_size=200)))
def test_a_check_stores_a_whole_answer_or_nothing(standin, answer):
    if not Title.objects.exists():
        standin.add_title("1", chapters=2)
        import_title(bato("1"))
    SourceState.objects.all().delete()  # garbage opens the breaker; each answer gets its own check
    title = Title.objects.select_related("schedule").get()
    before = sorted(Chapter.objects.values_list("source_id", "name"))
    standin.raw_answer = (200, {"Content-Type": "application/json"}, answer)
    standin.set_fault("raw")
    result = check_title(title)
    after = sorted(Chapter.objects.values_list("source_id", "name"))
    if result.log.outcome == CheckLog.Outcome.FAILED:
        assert after == before
        assert Title.objects.get().refreshed_at == title.refreshed_at
    else:
        assert result.log.outcome in (CheckLog.Outcome.SUCCESS, CheckLog.Outcome.NO_CHANGE)
        parsed = parse_title_response(json.loads(answer), "1")
        assert {c.source_id for c in parsed.chapters} <= {source_id for source_id, _ in after}
        assert Title.objects.get().name == parsed.details.name[:500]
