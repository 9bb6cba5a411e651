"""Cached prompt tokens from a real loopback simulator, through the OpenAI adapter."""

from __future__ import annotations

from tests.integration.gateways.conftest import GatewayFactory, SimulatorFactory

from gwstream.gateways import ChatMessage, GatewayRequest
from gwstream.pipeline import Outcome
from gwstream.tokens import default_counter

MESSAGES = (ChatMessage("user", "My router keeps dropping the connection every evening."),)
SENT = [
    {"role": "system", "content": "Be brief."},
    *({"role": m.role, "content": m.content} for m in MESSAGES),
]


def ask(stream: bool) -> GatewayRequest:
    return GatewayRequest(
        messages=MESSAGES,
        model="gpt-4o-mini",
        request_id="turn-cached",
        system="Be brief.",
        stream=stream,
    )


async def test_cached_prompt_tokens_reach_the_usage_plain_and_streamed(
    start_simulator: SimulatorFactory, make_gateway: GatewayFactory
) -> None:
    simulator = await start_simulator(cached_prompt_share=0.5)
    gateway = make_gateway(base_url=simulator.url)
    prompt = default_counter().count_messages(SENT)
    for stream in (False, True):
        result = await gateway.complete(ask(stream))
        assert result.usage.source == "gateway"
        assert result.usage.input_tokens == prompt
        assert result.usage.cached_input_tokens == prompt // 2 > 0, stream
        assert Outcome.answered(result).cached_input_tokens == prompt // 2


async def test_a_gateway_that_reports_no_cached_tokens_gives_zero(
    start_simulator: SimulatorFactory, make_gateway: GatewayFactory
) -> None:
    simulator = await start_simulator()
    gateway = make_gateway(base_url=simulator.url)
    result = await gateway.complete(ask(stream=False))
    assert result.usage.input_tokens > 0 and result.usage.cached_input_tokens == 0
