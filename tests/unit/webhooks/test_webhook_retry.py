from __future__ import annotations

import pytest

from gwstream.webhooks.retry import RetrySchedule, verdict


def highest(low: float, high: float) -> float:
    return high


def lowest(low: float, high: float) -> float:
    return low


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert verdict(status) == "delivered"


@pytest.mark.parametrize("status", [408, 429, 500, 501, 502, 503, 504, 599])
def test_timeouts_throttling_and_server_errors_are_retried(status: int) -> None:
    assert verdict(status) == "retry"


@pytest.mark.parametrize("status", [100, 301, 302, 307, 400, 401, 403, 404, 409, 410, 413, 422])
def test_other_answers_are_rejected_without_retrying(status: int) -> None:
    assert verdict(status) == "reject"


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    s = RetrySchedule(max_attempts=10, base_s=0.5, cap_s=5.0, retry_after_cap_s=60)
    waits = [s.delay(n, retry_after_s=None, rand=highest) for n in range(1, 10)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]


def test_backoff_has_full_jitter() -> None:
    s = RetrySchedule(max_attempts=5, base_s=1.0, cap_s=10.0, retry_after_cap_s=60)
    seen: list[tuple[float, float]] = []

    def record(low: float, high: float) -> float:
        seen.append((low, high))
        return (low + high) / 2

    assert s.delay(3, retry_after_s=None, rand=record) == 2.0
    assert seen == [(0.0, 4.0)]


def test_no_wait_after_the_last_attempt() -> None:
    s = RetrySchedule(max_attempts=3, base_s=1.0, cap_s=10.0, retry_after_cap_s=60)
    assert s.delay(2, retry_after_s=None, rand=highest) is not None
    assert s.delay(3, retry_after_s=None, rand=highest) is None
    assert s.delay(3, retry_after_s=1.0, rand=highest) is None


def test_retry_after_is_a_floor_and_is_capped() -> None:
    s = RetrySchedule(max_attempts=5, base_s=1.0, cap_s=10.0, retry_after_cap_s=30)
    assert s.delay(1, retry_after_s=7.5, rand=lowest) == 7.5
    assert s.delay(1, retry_after_s=0.2, rand=highest) == 1.0
    assert s.delay(1, retry_after_s=3_600, rand=lowest) == 30


def test_huge_attempt_counts_do_not_overflow() -> None:
    s = RetrySchedule(max_attempts=100, base_s=1.0, cap_s=60.0, retry_after_cap_s=60)
    assert s.delay(99, retry_after_s=None, rand=highest) == 60.0


def test_longest_adds_up_the_capped_waits() -> None:
    s = RetrySchedule(max_attempts=4, base_s=1.0, cap_s=3.0, retry_after_cap_s=60)
    assert s.longest() == 1.0 + 2.0 + 3.0
