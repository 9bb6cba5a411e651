"""All endpoints down: the breakers open and calls fail at once as circuit_open."""

from __future__ import annotations

import asyncio

import pytest
from tests.conftest import wait_for

from gwstream.errors import GatewayCircuitOpen, GatewayRateLimited, GatewayServerError
from gwstream.gateways import build_gateway
from gwstream.gateways.base import ChatMessage, GatewayRequest
from gwstream.gateways.breaker import BreakerPolicy, CircuitState
from gwstream.gateways.resilience import RetryPolicy
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration


def _request(n: int) -> GatewayRequest:
    return GatewayRequest((ChatMessage("user", f"hello {n}"),), "gpt-4o-mini", f"turn-{n}")


async def test_breakers_open_after_repeated_failures_and_then_nothing_is_sent() -> None:
    down = SimulatorConfig(error_5xx_rate=1.0, seed=1)
    async with GatewaySimulator(down) as a, GatewaySimulator(down) as b:
        gw = build_gateway(
            "openai",
            base_urls=[a.url, b.url],
            retry=RetryPolicy(max_attempts=1),
            breaker=BreakerPolicy(failure_threshold=2, open_s=60),
        )
        async with gw:
            for n in range(2):
                with pytest.raises(GatewayServerError):
                    await gw.complete(_request(n))
            assert {s.state for s in gw.breaker_states()} == {CircuitState.OPEN}
            sent = a.stats.requests + b.stats.requests
            with pytest.raises(GatewayCircuitOpen) as info:
                await gw.complete(_request(3))
            assert info.value.outcome == "circuit_open"
            assert info.value.attempts == 0
            assert a.stats.requests + b.stats.requests == sent, "an open circuit sends nothing"


async def test_one_open_endpoint_is_skipped_for_the_next() -> None:
    async with (
        GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0, seed=1)) as bad,
        GatewaySimulator(SimulatorConfig()) as good,
    ):
        gw = build_gateway(
            "openai",
            base_urls=[bad.url, good.url],
            retry=RetryPolicy(max_attempts=1),
            breaker=BreakerPolicy(failure_threshold=1, open_s=60),
        )
        async with gw:
            first = await gw.complete(_request(1))
            assert first.outcome == "fallback_ok"
            before = bad.stats.requests
            second = await gw.complete(_request(2))
            assert second.endpoint == good.url.rstrip("/") or second.endpoint.startswith(good.url)
            assert bad.stats.requests == before, "the open endpoint was skipped"


async def test_a_spent_retry_budget_stops_retries_across_calls() -> None:
    from gwstream.gateways.resilience import Retrier, RetryBudget

    async with GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0, seed=1)) as sim:
        gw = build_gateway(
            "openai",
            base_urls=[sim.url],
            retry=Retrier(
                RetryPolicy(max_attempts=4, base_delay_s=0),
                budget=RetryBudget(0.0, min_per_s=0.0),  # one banked retry, no refill
            ),
            breaker=BreakerPolicy(failure_threshold=1000),
        )
        async with gw:
            for n in range(10):
                with pytest.raises(GatewayServerError):
                    await gw.complete(_request(n))
        # 10 first attempts and the single retry the budget allowed, not 40.
        assert sim.stats.requests == 11


async def test_a_token_refresh_that_fails_once_after_a_401_is_retried() -> None:
    async with GatewaySimulator(SimulatorConfig()) as sim:
        gw = build_gateway(
            "cognigy.chat",
            base_urls=[sim.url],
            client_id="cognigy-sim",
            client_secret="cognigy-sim-secret",
            retry=RetryPolicy(max_attempts=4, base_delay_s=0),
        )
        async with gw:
            assert (await gw.complete(_request(1))).outcome == "ok"
            sim.expire_tokens()
            sim.update_route("cognigy.token", fail_first_n=1, fail_status=503)
            result = await gw.complete(_request(2))
        assert result.outcome == "retried_ok"
        assert sim.stats.token_requests["cognigy.token"] == 3  # first, failed refresh, refresh


async def test_breakers_are_per_model_so_one_failing_model_leaves_the_others_callable() -> None:
    down = SimulatorConfig(error_5xx_rate=1.0, seed=1)
    async with GatewaySimulator(down) as a:
        gw = build_gateway(
            "openai",
            base_urls=[a.url],
            retry=RetryPolicy(max_attempts=1),
            breaker=BreakerPolicy(failure_threshold=2, open_s=60),
        )
        async with gw:
            for n in range(2):
                with pytest.raises(GatewayServerError):
                    await gw.complete(_request(n))  # gpt-4o-mini
            with pytest.raises(GatewayCircuitOpen):
                await gw.complete(_request(2))
            sent = a.stats.requests
            other = GatewayRequest((ChatMessage("user", "hello"),), "gpt-4o", "turn-other")
            with pytest.raises(GatewayServerError):  # sent, and failing on its own account
                await gw.complete(other)
            assert a.stats.requests == sent + 1
            states = {(s.model, s.state) for s in gw.breaker_states()}
            assert states == {("gpt-4o-mini", CircuitState.OPEN), ("gpt-4o", CircuitState.CLOSED)}


async def test_after_an_outage_the_first_burst_waits_for_the_probe_and_is_answered() -> None:
    # Operators saw 38 of 40 turns fail circuit_open minutes after the gateway was back:
    # the half-open breaker let one probe through and refused the rest of the burst.
    async with GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0, latency_ms=50)) as sim:
        gw = build_gateway(
            "openai",
            base_urls=[sim.url],
            retry=RetryPolicy(max_attempts=1),
            breaker=BreakerPolicy(failure_threshold=2, open_s=0.2),
        )
        async with gw:
            for n in range(2):
                with pytest.raises(GatewayServerError):
                    await gw.complete(_request(n))
            assert {s.state for s in gw.breaker_states()} == {CircuitState.OPEN}
            sim.update(error_5xx_rate=0.0)
            await wait_for(
                lambda: {s.state for s in gw.breaker_states()} == {CircuitState.HALF_OPEN}
            )
            results = await asyncio.gather(*(gw.complete(_request(n)) for n in range(10, 50)))
            assert [r.outcome for r in results] == ["ok"] * 40
            assert {s.state for s in gw.breaker_states()} == {CircuitState.CLOSED}


async def test_a_probe_failing_once_is_retried_and_the_waiting_burst_answered() -> None:
    # Operators saw 99 of 100 turns fail circuit_open when the probe after an outage met one
    # 503: the calls waiting on its verdict failed with it, none sent. The probe's call now
    # retries as the probe, the others wait on, and all are answered.
    async with GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0, latency_ms=20)) as sim:
        gw = build_gateway(
            "openai",
            base_urls=[sim.url],
            retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, deadline_s=10),
            breaker=BreakerPolicy(failure_threshold=1, open_s=0.3),
        )
        async with gw:
            with pytest.raises(GatewayServerError):
                await gw.complete(_request(0))
            sim.update(error_5xx_rate=0.0, fail_first_n=1, fail_status=503)  # the probe fails
            await wait_for(
                lambda: {s.state for s in gw.breaker_states()} == {CircuitState.HALF_OPEN}
            )
            failed_before = sim.stats.by_status.get(503, 0)
            results = await asyncio.gather(*(gw.complete(_request(n)) for n in range(10, 30)))
            assert sorted({r.outcome for r in results}) == ["ok", "retried_ok"]
            assert {s.state for s in gw.breaker_states()} == {CircuitState.CLOSED}
            # one failed probe, then one call each
            assert sim.stats.by_status.get(503, 0) == failed_before + 1
            assert sim.stats.by_status.get(200, 0) == 20


async def test_an_open_circuit_still_fails_the_call_at_once() -> None:
    async with GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0)) as sim:
        gw = build_gateway(
            "openai",
            base_urls=[sim.url],
            retry=RetryPolicy(max_attempts=1, deadline_s=2),
            breaker=BreakerPolicy(failure_threshold=1, open_s=60),
        )
        async with gw:
            with pytest.raises(GatewayServerError):
                await gw.complete(_request(0))
            started = asyncio.get_running_loop().time()
            with pytest.raises(GatewayCircuitOpen):
                await gw.complete(_request(1))
            assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_probe_answered_429_does_not_leave_the_circuit_half_open_for_good() -> None:
    async with GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0)) as sim:
        gw = build_gateway(
            "openai",
            base_urls=[sim.url],
            retry=RetryPolicy(max_attempts=1),
            breaker=BreakerPolicy(failure_threshold=1, open_s=0.1),
        )
        async with gw:
            with pytest.raises(GatewayServerError):
                await gw.complete(_request(0))
            sim.update(error_5xx_rate=0.0, error_429_rate=1.0)
            await wait_for(
                lambda: {s.state for s in gw.breaker_states()} == {CircuitState.HALF_OPEN}
            )
            with pytest.raises(GatewayRateLimited):
                await gw.complete(_request(1))  # the probe: no verdict on the endpoint
            sim.update(error_429_rate=0.0)
            assert (await gw.complete(_request(2))).outcome == "ok"
