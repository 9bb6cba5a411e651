"""The Retrier's loop over attempts and endpoints, on a fake clock (no real waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from gwstream.errors import (
    ConfigError,
    GatewayAuthError,
    GatewayClientError,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayTransportError,
)
from gwstream.gateways.resilience import (
    AttemptFailed,
    Retrier,
    RetryPolicy,
    classify_status,
    failure_from_status,
)

A, B = "http://a.example", "http://b.example"


class FakeTime:
    """A monotonic clock that only moves when the Retrier sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def highest(low: float, high: float) -> float:
    return high


class Script:
    """An attempt function that plays back failures, then succeeds."""

    def __init__(self, failures: dict[str, Sequence[AttemptFailed | None]]) -> None:
        self._failures = {endpoint: list(items) for endpoint, items in failures.items()}
        self.calls: list[str] = []

    async def __call__(self, endpoint: str) -> str:
        self.calls.append(endpoint)
        pending = self._failures.get(endpoint, [])
        if pending:
            failure = pending.pop(0)
            if failure is not None:
                raise failure
        return f"reply from {endpoint}"


def http(status: int, retry_after: str | None = None) -> AttemptFailed:
    return failure_from_status(status, retry_after=retry_after)


def refused() -> AttemptFailed:
    return AttemptFailed(GatewayTransportError("refused"), endpoint_down=True)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def retrier(fake_time: FakeTime, **policy: Any) -> Retrier:
    return Retrier(
        RetryPolicy(**policy),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rand=highest,
    )


async def test_first_try_success_is_ok(fake_time: FakeTime) -> None:
    result = await retrier(fake_time).call(Script({}), endpoints=[A], attempt_timeout_s=5)
    assert (result.value, result.attempts, result.outcome) == (f"reply from {A}", 1, "ok")
    assert fake_time.sleeps == []


async def test_transient_failures_are_retried_with_growing_backoff(fake_time: FakeTime) -> None:
    script = Script({A: [http(503), http(502), None]})
    result = await retrier(fake_time, base_delay_s=0.1).call(
        script, endpoints=[A], attempt_timeout_s=5
    )
    assert (result.attempts, result.outcome, result.endpoint) == (3, "retried_ok", A)
    assert fake_time.sleeps == pytest.approx([0.1, 0.2])


async def test_retry_after_sets_the_wait(fake_time: FakeTime) -> None:
    script = Script({A: [http(429, retry_after="2"), None]})
    result = await retrier(fake_time, base_delay_s=0.05).call(
        script, endpoints=[A], attempt_timeout_s=5
    )
    assert result.outcome == "retried_ok"
    assert fake_time.sleeps == pytest.approx([2.05])


async def test_client_errors_are_final_at_once(fake_time: FakeTime) -> None:
    script = Script({A: [http(400)], B: []})
    with pytest.raises(GatewayClientError) as info:
        await retrier(fake_time).call(script, endpoints=[A, B], attempt_timeout_s=5)
    assert info.value.attempts == 1
    assert info.value.endpoint == A
    assert script.calls == [A]


async def test_exhausted_endpoint_falls_back_to_the_next(fake_time: FakeTime) -> None:
    script = Script({A: [http(503)] * 3})
    result = await retrier(fake_time, max_attempts=3).call(
        script, endpoints=[A, B], attempt_timeout_s=5
    )
    assert (result.outcome, result.endpoint, result.attempts) == ("fallback_ok", B, 4)
    assert script.calls == [A, A, A, B]


async def test_refused_connection_falls_back_without_waiting(fake_time: FakeTime) -> None:
    script = Script({A: [refused()]})
    result = await retrier(fake_time).call(script, endpoints=[A, B], attempt_timeout_s=5)
    assert (result.outcome, result.attempts) == ("fallback_ok", 2)
    assert fake_time.sleeps == []


async def test_refused_connection_on_the_last_endpoint_is_retried(fake_time: FakeTime) -> None:
    script = Script({A: [refused(), None]})
    result = await retrier(fake_time).call(script, endpoints=[A], attempt_timeout_s=5)
    assert (result.outcome, result.attempts) == ("retried_ok", 2)


async def test_rate_limits_do_not_fall_back(fake_time: FakeTime) -> None:
    script = Script({A: [http(429)] * 2})
    with pytest.raises(GatewayRateLimited) as info:
        await retrier(fake_time, max_attempts=2).call(script, endpoints=[A, B], attempt_timeout_s=5)
    assert info.value.attempts == 2
    assert B not in script.calls


async def test_all_endpoints_failing_counts_every_attempt(fake_time: FakeTime) -> None:
    script = Script({A: [http(500)] * 2, B: [http(503)] * 2})
    with pytest.raises(GatewayServerError) as info:
        await retrier(fake_time, max_attempts=2).call(script, endpoints=[A, B], attempt_timeout_s=5)
    assert (info.value.attempts, info.value.endpoint, info.value.status_code) == (4, B, 503)


async def test_a_wait_past_the_deadline_gives_up_with_the_classified_error(
    fake_time: FakeTime,
) -> None:
    script = Script({A: [http(429, retry_after="60"), None]})
    with pytest.raises(GatewayRateLimited) as info:
        await retrier(fake_time, deadline_s=30).call(script, endpoints=[A], attempt_timeout_s=5)
    assert info.value.attempts == 1
    assert fake_time.sleeps == []


async def test_request_deadline_overrides_the_policy(fake_time: FakeTime) -> None:
    script = Script({A: [http(503), None]})
    with pytest.raises(GatewayServerError):
        await retrier(fake_time, base_delay_s=1.0, deadline_s=30).call(
            script, endpoints=[A], attempt_timeout_s=5, deadline_s=0.5
        )


async def test_unauthorized_is_retried_once_after_a_credential_refresh(
    fake_time: FakeTime,
) -> None:
    refreshes: list[bool] = []

    async def refresh() -> bool:
        refreshes.append(True)
        return True

    script = Script({A: [http(401), http(401), None]})
    with pytest.raises(GatewayAuthError) as info:
        await retrier(fake_time).call(
            script, endpoints=[A], attempt_timeout_s=5, refresh_auth=refresh
        )
    assert info.value.attempts == 2
    assert refreshes == [True]


async def test_unauthorized_without_a_refresher_is_final(fake_time: FakeTime) -> None:
    script = Script({A: [http(401), None]})
    with pytest.raises(GatewayAuthError) as info:
        await retrier(fake_time).call(script, endpoints=[A], attempt_timeout_s=5)
    assert info.value.attempts == 1


async def test_an_attempt_over_its_timeout_becomes_a_gateway_timeout(
    fake_time: FakeTime,
) -> None:
    never = asyncio.Event()

    async def hang(endpoint: str) -> str:
        await never.wait()
        return "unreachable"

    with pytest.raises(GatewayTimeout) as info:
        await retrier(fake_time, max_attempts=2).call(hang, endpoints=[A], attempt_timeout_s=0.01)
    assert info.value.attempts == 2
    assert info.value.endpoint == A


async def test_status_errors_keep_their_status_code(fake_time: FakeTime) -> None:
    error = classify_status(504)

    async def fail(endpoint: str) -> str:
        raise AttemptFailed(error)

    with pytest.raises(GatewayServerError) as info:
        await retrier(fake_time, max_attempts=1).call(fail, endpoints=[A], attempt_timeout_s=5)
    assert info.value.status_code == 504


# -- which statuses are retried and fallen back from ------------------------------------


@pytest.mark.parametrize("status", [529, 507, 520, 599])
async def test_every_server_error_but_501_and_505_is_retried_then_falls_back(
    fake_time: FakeTime, status: int
) -> None:
    script = Script({A: [http(status)] * 2, B: [http(status), None]})
    result = await retrier(fake_time, max_attempts=2).call(
        script, endpoints=[A, B], attempt_timeout_s=5
    )
    assert (result.outcome, result.endpoint, result.attempts) == ("fallback_ok", B, 4)
    assert script.calls == [A, A, B, B]


@pytest.mark.parametrize("status", [501, 505])
async def test_not_implemented_and_version_not_supported_are_final(
    fake_time: FakeTime, status: int
) -> None:
    script = Script({A: [http(status)]})
    with pytest.raises(GatewayServerError) as info:
        await retrier(fake_time).call(script, endpoints=[A, B], attempt_timeout_s=5)
    assert (info.value.status_code, info.value.attempts, script.calls) == (status, 1, [A])


async def test_a_status_not_retried_may_still_fall_back_when_configured(
    fake_time: FakeTime,
) -> None:
    policy = {"retry_on_status": {429}, "fallback_on_status": {529}}
    script = Script({A: [http(529)]})
    result = await retrier(fake_time, **policy).call(script, endpoints=[A, B], attempt_timeout_s=5)
    assert (result.outcome, result.endpoint, result.attempts) == ("fallback_ok", B, 2)
    assert script.calls == [A, B] and fake_time.sleeps == []
    # ... and a status in neither set is final on the first endpoint.
    final = Script({A: [http(503)]})
    with pytest.raises(GatewayServerError):
        await retrier(fake_time, **policy).call(final, endpoints=[A, B], attempt_timeout_s=5)
    assert final.calls == [A]


def test_the_policy_accepts_only_retryable_kinds_of_status() -> None:
    with pytest.raises(ConfigError, match=r"fallback_on_status .* remove \[404\]"):
        RetryPolicy(fallback_on_status=frozenset({404, 503}))


async def test_a_probe_keeps_its_place_across_retries_but_not_after_a_429() -> None:
    # Half-open lets one probe through. The probing call keeps that place while it retries a
    # server error (its failure is the probe's), but a 429 frees it: the call's next attempt
    # is admitted again, and while another call holds the place it waits for its verdict.
    from tests.conftest import wait_for

    from gwstream.gateways.breaker import BreakerPolicy, CircuitBreaker, CircuitState

    breaker = CircuitBreaker(A, BreakerPolicy(failure_threshold=1, open_s=0.01))
    breaker.record_failure()
    await wait_for(lambda: breaker.state is CircuitState.HALF_OPEN, timeout=5)
    in_flight, most = 0, 0
    other_may_end = asyncio.Event()
    sleeping, proceed = asyncio.Event(), asyncio.Event()

    async def attempt(script: list[str]) -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            step = script.pop(0)
            if step == "hold":
                await other_may_end.wait()
                return "held"
            if step != "ok":
                raise http(int(step), retry_after="0")
            return "ok"
        finally:
            in_flight -= 1

    async def sleep(seconds: float) -> None:  # the Retrier's backoff, stepped by the test
        sleeping.set()
        await proceed.wait()
        proceed.clear()

    async def step() -> None:
        sleeping.clear()
        proceed.set()
        await asyncio.wait_for(sleeping.wait(), 1)

    r = Retrier(RetryPolicy(max_attempts=3, base_delay_s=0), sleep=sleep)
    first = ["503", "429", "ok"]
    probing = asyncio.create_task(
        r.call(lambda e: attempt(first), endpoints=[A], attempt_timeout_s=5, breakers={A: breaker})
    )
    await asyncio.wait_for(sleeping.wait(), 1)  # after the 503: the place kept
    assert breaker.state is CircuitState.HALF_OPEN and not breaker.allow()
    await step()  # the 429: the place freed
    assert breaker.allow()  # taken here, as the other call would
    breaker.record_neutral()
    second = ["hold"]
    other = asyncio.create_task(
        r.call(lambda e: attempt(second), endpoints=[A], attempt_timeout_s=5, breakers={A: breaker})
    )
    await wait_for(lambda: second == [], timeout=5)  # the other call probes now
    proceed.set()  # the first call's next attempt: it waits for the other's verdict
    await wait_for(lambda: breaker._settled is not None, timeout=5)
    assert first == ["ok"] and not probing.done()
    other_may_end.set()
    assert (await other).value == "held" and (await probing).value == "ok"
    assert most == 1
    assert breaker.state is CircuitState.CLOSED
