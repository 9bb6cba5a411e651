"""Cognigy chat and streaming inference against the simulator over real HTTP."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from gwstream.errors import (
    GatewayAuthError,
    GatewayServerError,
    GatewayTransportError,
)
from gwstream.gateways import (
    ChatMessage,
    ClientCredentialsAuth,
    CognigyChatGateway,
    CognigyInferenceGateway,
    GatewayRequest,
    HttpGateway,
    RetryPolicy,
    build_gateway,
)
from gwstream.simulator import GatewaySimulator
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
Build = Callable[..., HttpGateway]
CLIENT = {"client_id": "cognigy-sim", "client_secret": "cognigy-sim-secret"}


def ask(text: str = "I was charged twice this month", *, turn: str = "turn-1") -> GatewayRequest:
    return GatewayRequest(
        messages=(ChatMessage("user", text),),
        model="gpt-4o-mini",
        request_id=turn,
        system="You are a billing assistant.",
        max_tokens=200,
        temperature=0.2,
    )


@pytest_asyncio.fixture
async def build(fast_retry: RetryPolicy) -> AsyncIterator[Build]:
    made: list[HttpGateway] = []

    def make(protocol: str, *urls: str, **kwargs: Any) -> HttpGateway:
        for key, value in CLIENT.items():
            kwargs.setdefault(key, value)
        kwargs.setdefault("retry", fast_retry)
        kwargs.setdefault("timeout_s", 10.0)
        gateway = build_gateway(protocol, base_urls=list(urls), **kwargs)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()


async def test_chat_answers_with_the_gateways_usage(
    simulator: GatewaySimulator, build: Build
) -> None:
    gateway = build("cognigy.chat", simulator.url)
    assert isinstance(gateway, CognigyChatGateway)

    result = await gateway.complete(ask())

    counter = default_counter()
    sent = [
        {"role": "system", "content": "You are a billing assistant."},
        {"role": "user", "content": "I was charged twice this month"},
    ]
    assert result.usage.source == "gateway"
    assert result.usage.input_tokens == counter.count_messages(sent)
    assert result.usage.output_tokens == counter.count(result.text) > 0
    assert (result.outcome, result.endpoint, result.response_model) == (
        "ok",
        simulator.url,
        "gpt-4o-mini",
    )
    assert simulator.stats.token_requests["cognigy.token"] == 1


async def test_chat_without_usage_is_counted_with_tiktoken(
    start_simulator: StartSimulator, build: Build
) -> None:
    reporting = await start_simulator()
    silent = await start_simulator(include_usage=False)
    reported = await build("cognigy.chat", reporting.url).complete(ask())

    counted = await build("cognigy.chat", silent.url).complete(ask())

    assert counted.usage.source == "tiktoken"
    assert (counted.usage.input_tokens, counted.usage.output_tokens) == (
        reported.usage.input_tokens,
        reported.usage.output_tokens,
    )


async def test_inference_streams_the_same_answer_with_the_final_usage_line(
    simulator: GatewaySimulator, build: Build
) -> None:
    chat = await build("cognigy.chat", simulator.url).complete(ask())
    gateway = build("cognigy.inference", simulator.url)
    assert isinstance(gateway, CognigyInferenceGateway)

    streamed = await gateway.complete(ask())

    assert streamed.text == chat.text
    assert streamed.usage == chat.usage
    assert streamed.finish_reason == "stop"
    assert simulator.route_stats("cognigy.inference").by_status == {200: 1}


async def test_inference_without_its_usage_line_is_an_error_not_a_success(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(include_usage=False)

    with pytest.raises(GatewayTransportError, match="without its final usage line") as info:
        await build("cognigy.inference", simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts
    assert simulator.route_stats("cognigy.inference").by_status == {200: fast_retry.max_attempts}


async def test_inference_cut_mid_way_is_retried_and_falls_back(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={"cognigy.inference": {"cut_stream_rate": 1.0}})
    gateway = build(
        "cognigy.inference", simulator.url, simulator.url.replace("127.0.0.1", "localhost")
    )

    with pytest.raises(GatewayTransportError, match="was cut") as info:
        await gateway.complete(ask())

    assert info.value.attempts == 2 * fast_retry.max_attempts
    assert simulator.route_stats("cognigy.inference").requests == 2 * fast_retry.max_attempts


async def test_inference_error_line_is_a_retried_server_error(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={"cognigy.inference": {"stream_error_rate": 1.0}})

    with pytest.raises(GatewayServerError, match="upstream model failed mid-stream") as info:
        await build("cognigy.inference", simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts


async def test_inference_malformed_line_is_retried_like_a_dropped_stream(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={"cognigy.inference": {"malformed_chunk_rate": 1.0}})

    with pytest.raises(GatewayTransportError, match=r"malformed chunk.*not JSON") as info:
        await build("cognigy.inference", simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts


async def test_wrong_client_credentials_name_the_token_url_never_the_secret(
    simulator: GatewaySimulator, build: Build
) -> None:
    secret = "not-the-secret-4711"
    gateway = build("cognigy.chat", simulator.url, client_secret=secret)

    with pytest.raises(GatewayAuthError) as info:
        await gateway.complete(ask())

    error = info.value
    assert f"client credentials rejected by {simulator.url}/api/v1/auth/token" in str(error)
    assert error.attempts == 1
    rendered = [str(error), repr(error), repr(gateway), "".join(traceback.format_exception(error))]
    assert all(secret not in text for text in rendered)
    assert simulator.route_stats("cognigy.chat").requests == 0


async def test_an_explicit_provider_can_be_passed_to_the_constructor(
    simulator: GatewaySimulator, fast_retry: RetryPolicy
) -> None:
    auth = ClientCredentialsAuth.cognigy(simulator.url, scopes=["llm.gateway:invoke"], **CLIENT)
    async with CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry) as gateway:
        result = await gateway.complete(ask())
    assert result.outcome == "ok"
    assert auth.token_requests == 1
