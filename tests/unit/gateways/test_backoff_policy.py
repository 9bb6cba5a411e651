"""Pure retry decisions: backoff, jitter, Retry-After and the deadline."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from gwstream.errors import ConfigError
from gwstream.gateways.resilience import (
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
    plan_retry,
)


def highest(low: float, high: float) -> float:
    return high


def lowest(low: float, high: float) -> float:
    return low


NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_backoff_ceiling_doubles_from_the_base_delay() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=100.0)
    ceilings = [backoff_delay(policy, n, rand=highest) for n in range(4)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8])


def test_backoff_ceiling_is_capped_by_max_delay() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=0.3)
    assert backoff_delay(policy, 5, rand=highest) == pytest.approx(0.3)


def test_backoff_does_not_overflow_for_huge_retry_numbers() -> None:
    policy = RetryPolicy(base_delay_s=0.05, max_delay_s=5.0)
    assert backoff_delay(policy, 10_000, rand=highest) == pytest.approx(5.0)


def test_full_jitter_may_wait_zero() -> None:
    assert backoff_delay(RetryPolicy(), 3, rand=lowest) == 0.0


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(base_delay_s=0.05, max_delay_s=5.0)
    rng = random.Random(7)
    for n in range(12):
        ceiling = min(5.0, 0.05 * 2**n)
        for _ in range(200):
            assert 0.0 <= backoff_delay(policy, n, rand=rng.uniform) <= ceiling


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0", 0.0), (" 3 ", 3.0), ("0.5", 0.5)],
)
def test_retry_after_delta_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "-1", "inf", "nan", "Wed, 99 Foo"])
def test_unreadable_retry_after_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


def test_retry_after_http_date_is_seconds_from_now() -> None:
    header = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=NOW) == pytest.approx(30.0)


def test_retry_after_http_date_in_the_past_means_no_wait() -> None:
    header = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(header, now=NOW) == 0.0


def test_retry_after_http_date_with_unknown_zone_is_read_as_utc() -> None:
    assert parse_retry_after("Wed, 01 May 2024 12:00:10 -0000", now=NOW) == pytest.approx(10.0)


def test_plan_retry_uses_backoff_without_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=10.0)
    delay = plan_retry(
        policy, attempts_made=3, elapsed_s=0.0, deadline_s=30.0, retry_after_s=None, rand=highest
    )
    assert delay == pytest.approx(0.4)


def test_plan_retry_honours_retry_after_plus_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.05)
    for rand in (lowest, highest):
        delay = plan_retry(
            policy, attempts_made=1, elapsed_s=0.0, deadline_s=30.0, retry_after_s=2.0, rand=rand
        )
        assert delay is not None
        assert 2.0 <= delay <= 2.05


def test_plan_retry_honours_retry_after_beyond_max_delay() -> None:
    policy = RetryPolicy(max_delay_s=1.0)
    delay = plan_retry(
        policy, attempts_made=1, elapsed_s=0.0, deadline_s=30.0, retry_after_s=10.0, rand=lowest
    )
    assert delay == 10.0


def test_plan_retry_stops_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert (
        plan_retry(
            policy, attempts_made=3, elapsed_s=0.0, deadline_s=30.0, retry_after_s=None, rand=lowest
        )
        is None
    )


def test_plan_retry_never_waits_past_the_deadline() -> None:
    policy = RetryPolicy()
    assert (
        plan_retry(
            policy, attempts_made=1, elapsed_s=25.0, deadline_s=30.0, retry_after_s=6.0, rand=lowest
        )
        is None
    )


def test_plan_retry_waits_when_the_deadline_allows() -> None:
    policy = RetryPolicy()
    delay = plan_retry(
        policy, attempts_made=1, elapsed_s=25.0, deadline_s=30.0, retry_after_s=4.0, rand=lowest
    )
    assert delay == 4.0


def test_policy_defaults_match_the_design() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.base_delay_s, policy.max_delay_s, policy.deadline_s) == (
        4,
        0.05,
        5.0,
        30.0,
    )
    server_errors = set(range(500, 600)) - {501, 505}
    assert policy.retry_on_status == {408, 429} | server_errors
    assert policy.fallback_on_status == {408} | server_errors
    assert {529, 507, 520} <= policy.retry_on_status  # 529: Anthropic overloaded, via LiteLLM


def test_policy_rejects_retrying_plain_client_errors() -> None:
    with pytest.raises(ConfigError, match=r"\[400, 404\]"):
        RetryPolicy(retry_on_status=frozenset({400, 404, 503}))


def test_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ConfigError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_policy_rejects_a_non_positive_deadline() -> None:
    with pytest.raises(ConfigError, match="deadline_s"):
        RetryPolicy(deadline_s=0)
