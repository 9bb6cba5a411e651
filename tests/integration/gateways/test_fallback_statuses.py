"""A real LiteLLM proxy passes Anthropic's 529 (overloaded) through: it is retried and then
the next endpoint answers; 501 is final. Over loopback HTTP with the simulator."""

from __future__ import annotations

import pytest

from gwstream.errors import GatewayServerError
from gwstream.gateways import build_gateway
from gwstream.gateways.base import ChatMessage, GatewayRequest
from gwstream.gateways.resilience import RetryPolicy
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration

POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_delay_s=0.005, deadline_s=20)


def _request() -> GatewayRequest:
    return GatewayRequest((ChatMessage("user", "hello"),), "gpt-4o-mini", "turn-1")


async def test_a_529_is_retried_then_the_next_endpoint_answers() -> None:
    overloaded = SimulatorConfig(error_5xx_rate=1.0, error_5xx_status=529)
    async with GatewaySimulator(overloaded) as bad, GatewaySimulator(SimulatorConfig()) as good:
        async with build_gateway("openai", base_urls=[bad.url, good.url], retry=POLICY) as gw:
            result = await gw.complete(_request())
    assert (result.outcome, result.endpoint, result.attempts) == ("fallback_ok", good.url, 3)
    assert bad.stats.requests == POLICY.max_attempts


async def test_a_501_is_final_on_the_first_endpoint() -> None:
    unimplemented = SimulatorConfig(error_5xx_rate=1.0, error_5xx_status=501)
    async with GatewaySimulator(unimplemented) as bad, GatewaySimulator(SimulatorConfig()) as good:
        async with build_gateway("openai", base_urls=[bad.url, good.url], retry=POLICY) as gw:
            with pytest.raises(GatewayServerError) as info:
                await gw.complete(_request())
    assert (info.value.status_code, info.value.attempts) == (501, 1)
    assert good.stats.requests == 0
