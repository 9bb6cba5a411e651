from __future__ import annotations

import asyncio

import pytest

from gwstream.errors import GatewayRateLimited
from gwstream.gateways.breaker import BreakerPolicy, CircuitBreaker, CircuitState
from gwstream.gateways.ratelimit import Bucket, acquire


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_refuses_calls() -> None:
    clock = Clock()
    b = CircuitBreaker("http://gw", BreakerPolicy(failure_threshold=3, open_s=5), clock=clock)
    for _ in range(2):
        b.record_failure()
    b.record_success()  # a success resets the count
    for _ in range(2):
        b.record_failure()
    assert b.state is CircuitState.CLOSED and b.allow()
    b.record_failure()
    assert b.state is CircuitState.OPEN
    assert not b.allow()
    assert b.snapshot().times_opened == 1


def test_half_open_allows_one_probe_then_closes_on_success_or_reopens_on_failure() -> None:
    clock = Clock()
    b = CircuitBreaker("http://gw", BreakerPolicy(failure_threshold=1, open_s=5), clock=clock)
    b.record_failure()
    clock.now += 4.9
    assert not b.allow()
    clock.now += 0.2
    assert b.state is CircuitState.HALF_OPEN
    assert b.allow()
    assert not b.allow(), "only one probe at a time"
    b.record_failure()
    assert b.state is CircuitState.OPEN and b.snapshot().times_opened == 2
    clock.now += 5
    assert b.allow()
    b.record_success()
    assert b.state is CircuitState.CLOSED and b.allow() and b.allow()


def test_a_failed_probe_is_logged_as_such_not_as_the_failures_counted_while_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    b = CircuitBreaker("http://gw", BreakerPolicy(failure_threshold=2, open_s=5), clock=clock)
    for _ in range(5):  # two open it; three more are calls that were in flight then
        b.record_failure()
    clock.now += 5
    assert b.allow()
    caplog.clear()
    b.record_failure()
    assert b.state is CircuitState.OPEN
    assert [r.getMessage() for r in caplog.records] == [
        "circuit for  http://gw (model any) opened again: the probe failed; resting 5s"
    ]


def test_calls_sent_before_the_circuit_opened_neither_close_it_nor_extend_its_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    b = CircuitBreaker("http://gw", BreakerPolicy(failure_threshold=2, open_s=5), clock=clock)
    b.record_failure()
    b.record_failure()
    caplog.clear()
    clock.now += 1
    b.record_success()  # an answer to a call that was in flight when it opened
    assert b.state is CircuitState.OPEN and not b.allow()
    assert caplog.records == []  # no "closed: the probe succeeded"
    clock.now += 1
    b.record_failure()  # a late failure: the rest still ends 5 s after it opened
    clock.now += 3
    assert b.state is CircuitState.HALF_OPEN and b.allow()
    assert b.snapshot().times_opened == 1


def _half_open(clock: Clock) -> CircuitBreaker:
    b = CircuitBreaker("http://gw", BreakerPolicy(failure_threshold=1, open_s=5), clock=clock)
    b.record_failure()
    clock.now += 5
    assert b.allow()  # the probe is out
    return b


@pytest.mark.parametrize(("verdict", "admitted"), [("success", True), ("failure", False)])
async def test_calls_that_come_while_the_probe_is_out_wait_for_its_verdict(
    verdict: str, admitted: bool
) -> None:
    b = _half_open(Clock())
    waiting = [asyncio.create_task(b.admit(30)) for _ in range(5)]
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)
    b.record_success() if verdict == "success" else b.record_failure()
    assert await asyncio.gather(*waiting) == [admitted] * 5


async def test_a_probe_without_a_verdict_frees_its_place_for_one_waiting_call() -> None:
    b = _half_open(Clock())
    waiting = [asyncio.create_task(b.admit(30)) for _ in range(3)]
    await asyncio.sleep(0)
    b.record_neutral()  # a 429, or a cancelled call
    done, pending = await asyncio.wait(waiting, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    assert [t.result() for t in done] == [True] and len(pending) == 2  # the next probe
    b.record_success()
    assert await asyncio.gather(*pending) == [True, True]


async def test_waiting_for_a_probe_ends_with_the_call_s_time_and_an_open_circuit_refuses_at_once() -> (
    None
):
    clock = Clock()
    b = _half_open(clock)
    assert await b.admit(0.01) is False
    b.record_failure()
    assert await asyncio.wait_for(b.admit(30), 1) is False


def test_breaker_policy_is_validated() -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(failure_threshold=0)


async def test_a_limit_delays_calls_within_the_deadline() -> None:
    clock = Clock()
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    rpm = Bucket("tenant acme requests/min", 60, clock=clock)  # one a second, burst 60
    for _ in range(60):
        await acquire([rpm], [], 0, max_wait_s=0, sleep=sleep)
    assert slept == []
    await acquire([rpm], [], 0, max_wait_s=5, sleep=sleep)
    assert slept == [pytest.approx(1.0)]
    await acquire([rpm], [], 0, max_wait_s=5, sleep=sleep)
    assert slept[-1] == pytest.approx(2.0), "later callers queue behind earlier ones"


async def test_a_wait_past_the_deadline_fails_naming_the_limit_and_takes_nothing() -> None:
    clock = Clock()
    tpm = Bucket("gateway cognigy tokens/min", 1000, clock=clock)
    rpm = Bucket("gateway cognigy requests/min", 100, clock=clock)
    await acquire([rpm], [tpm], 1000, max_wait_s=0)
    with pytest.raises(GatewayRateLimited, match="tokens/min"):
        await acquire([rpm], [tpm], 500, max_wait_s=1)
    assert rpm.wait_for(99) == 0, "the failed call reserved no request"


async def test_settling_returns_unused_tokens() -> None:
    clock = Clock()
    tpm = Bucket("t", 1000, clock=clock)
    r = await acquire([], [tpm], 800, max_wait_s=0)
    r.settle(300)
    assert tpm.wait_for(700) == 0
    assert tpm.wait_for(701) > 0


async def test_rate_limits_combine_gateway_and_tenant_buckets() -> None:
    from gwstream.gateways.ratelimit import Limit, RateLimits

    clock = Clock()
    limits = RateLimits({"cognigy": Limit(rpm=100)}, {"acme": Limit(rpm=2, tpm=1000)}, clock=clock)
    assert limits.counts_tokens("cognigy", "acme")
    assert not limits.counts_tokens("cognigy", "globex")
    await limits.acquire("cognigy", "acme", 10, max_wait_s=0)
    await limits.acquire("cognigy", "acme", 10, max_wait_s=0)
    with pytest.raises(GatewayRateLimited, match="tenant acme requests/min"):
        await limits.acquire("cognigy", "acme", 10, max_wait_s=1)
    # Another tenant is not held back by acme's limit.
    await limits.acquire("cognigy", "globex", 10, max_wait_s=0)
    assert (await limits.acquire("openai", "nobody", 5, max_wait_s=0)).reserved_tokens == 0


def test_the_retry_budget_caps_retries_to_a_share_of_calls() -> None:
    from gwstream.gateways.resilience import RetryBudget

    clock = Clock()
    budget = RetryBudget(0.2, min_per_s=1, window_s=5, clock=clock)  # starts with 5 retries banked
    allowed = 0
    for _ in range(100):  # 100 failing calls at one instant, each wanting a retry
        budget.deposit()
        allowed += budget.try_withdraw()
    # 5 banked + 20% of 100 calls, less the first deposit, which the full bank could not hold.
    assert allowed == 5 + 20 - 1
    assert budget.refused == 100 - allowed
    clock.now += 3
    assert sum(budget.try_withdraw() for _ in range(10)) == 3, "the floor refills at min_per_s"
