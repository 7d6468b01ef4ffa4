"""The rules batoshelf keeps towards a source, as pure functions: no database, no clock."""

import pytest

from scraping.gate.rules import (
    HOUR,
    PRIORITY_LEASE,
    LimiterState,
    Verdict,
    breaker_wait,
    decide_turn,
    judge,
    mirror_in_use,
    next_mirror,
    rate_limit_wait,
    spacing,
)
from scraping.sources.errors import (
    BadResponse,
    Blocked,
    NetworkError,
    NotJson,
    RateLimited,
    RequestTimedOut,
    ServerError,
    TitleNotFound,
)

T0 = 1_800_000_000.0


def turn(state, now, *, priority=False, delay=5.0, per_hour=100):
    return decide_turn(state, now, delay=delay, per_hour=per_hour, priority=priority)


def test_a_granted_turn_sets_the_next_one_a_delay_later_and_counts_itself():
    decision = turn(LimiterState(), T0, delay=4.5)
    assert decision.granted
    assert decision.state.next_at == T0 + 4.5
    assert decision.state.recent == (T0,)


def test_a_turn_before_the_spacing_is_over_waits_for_it_and_changes_nothing():
    state = LimiterState(next_at=T0 + 3, recent=(T0 - 2,))
    decision = turn(state, T0)
    assert not decision.granted
    assert decision.wait == pytest.approx(3)
    assert decision.state == state


def test_the_hourly_budget_waits_until_the_oldest_request_of_the_hour_is_an_hour_old():
    recent = (T0 - 3000, T0 - 2000, T0 - 1000)
    decision = turn(LimiterState(recent=recent), T0, per_hour=3)
    assert not decision.granted
    assert decision.wait == pytest.approx(600)
    assert decision.reason == "3 requests an hour"
    assert turn(LimiterState(recent=recent), T0 + 601, per_hour=3).granted


def test_requests_older_than_an_hour_are_forgotten():
    decision = turn(LimiterState(recent=(T0 - HOUR - 1, T0 - 10)), T0, per_hour=2)
    assert decision.granted
    assert decision.state.recent == (T0 - 10, T0)


def test_a_check_someone_asked_for_holds_the_others_back_until_it_has_its_turn():
    busy = LimiterState(next_at=T0 + 2)
    waiting = turn(busy, T0, priority=True)
    assert not waiting.granted
    assert waiting.state.priority_until == T0 + 2 + PRIORITY_LEASE

    held = waiting.state
    scheduled = turn(held, T0 + 2)
    assert not scheduled.granted and scheduled.reason == "a check someone asked for goes first"
    asked = turn(held, T0 + 2, priority=True)
    assert asked.granted and asked.state.priority_until == 0.0
    assert turn(asked.state, T0 + 7).granted


def test_an_asker_that_never_comes_back_holds_the_others_only_for_its_lease():
    held = LimiterState(priority_until=T0 + PRIORITY_LEASE)
    assert not turn(held, T0 + 1).granted
    assert turn(held, T0 + PRIORITY_LEASE + 0.01).granted


def test_limiter_state_survives_its_json_form():
    state = LimiterState(next_at=T0, recent=(T0 - 5, T0 - 1), priority_until=T0 + 3)
    assert LimiterState.from_json(state.as_json()) == state
    assert LimiterState.from_json(None) == LimiterState()


def test_for_an_hour_after_a_429_requests_go_twice_as_far_apart():
    assert spacing(5.0, T0, None) == 5.0
    assert spacing(5.0, T0, T0 - 10) == 10.0
    assert spacing(5.0, T0, T0 - HOUR - 1) == 5.0


@pytest.mark.parametrize("asked, expected", [(120, 120), (None, 60), (99_999, 3600), (-5, 0)])
def test_a_429_waits_for_its_retry_after_the_default_when_absent_and_never_beyond_the_cap(asked, expected):
    assert rate_limit_wait(asked, default=60, cap=3600) == expected


def test_the_breaker_waits_five_minutes_then_doubles_up_to_six_hours():
    waits = [breaker_wait(n, first=300, longest=6 * 3600) for n in range(1, 10)]
    assert waits == [300, 600, 1200, 2400, 4800, 9600, 19200, 21600, 21600]
    assert breaker_wait(10_000, first=300, longest=6 * 3600) == 21600


@pytest.mark.parametrize(
    "error, verdict",
    [
        (None, Verdict.FINE),
        (TitleNotFound("gone"), Verdict.FINE),
        (BadResponse("odd"), Verdict.FINE),
        (RateLimited("429"), Verdict.RATE_LIMITED),
        (Blocked("cloudflare"), Verdict.BLOCKED),
        (NetworkError("refused"), Verdict.UNREACHABLE),
        (RequestTimedOut("slow"), Verdict.UNREACHABLE),
        (ServerError("502"), Verdict.UNREACHABLE),
        (NotJson("<garbage>"), Verdict.UNREACHABLE),
    ],
)
def test_only_the_sources_own_faults_count_against_the_source(error, verdict):
    assert judge(error) is verdict


def test_mirrors_fail_over_in_order_and_wrap_round():
    mirrors = ["https://bato.to", "https://wto.to", "https://mto.to"]
    assert next_mirror(mirrors, "https://bato.to") == "https://wto.to"
    assert next_mirror(mirrors, "https://mto.to") == "https://bato.to"
    assert next_mirror(mirrors, "https://gone.example") == "https://bato.to"


def test_a_remembered_mirror_no_longer_configured_gives_way_to_the_first():
    mirrors = ["https://bato.to", "https://wto.to"]
    assert mirror_in_use(mirrors, "https://wto.to") == "https://wto.to"
    assert mirror_in_use(mirrors, "https://old.example") == "https://bato.to"
    assert mirror_in_use(mirrors, "") == "https://bato.to"
