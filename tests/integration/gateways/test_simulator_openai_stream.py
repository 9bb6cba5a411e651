"""openai.chat with ``"stream": true`` over real HTTP: SSE chunks, usage, [DONE]."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from tests.integration.gateways.test_simulator_support import (
    MESSAGES,
    OPENAI_BODY,
    StartSimulator,
    call,
    stream,
    url,
)

from gwstream.simulator import GatewaySimulator
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration

STREAM_BODY = {**OPENAI_BODY, "stream": True, "stream_options": {"include_usage": True}}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_stream_is_chunks_then_usage_then_done(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    plain = (await call(http, "POST", url(simulator, "openai.chat"), json=OPENAI_BODY)).json()
    streamed = await stream(http, url(simulator, "openai.chat"), STREAM_BODY)
    assert (streamed.status, streamed.complete) == (200, True)
    assert streamed.headers["Content-Type"].startswith("text/event-stream")
    assert streamed.payloads(b"data: ")[-1] == b"[DONE]"
    first, *chunks, usage = streamed.objects(b"data: ")
    assert {c["object"] for c in (first, *chunks, usage)} == {"chat.completion.chunk"}
    assert len({c["id"] for c in (first, *chunks, usage)}) == 1
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == []
    assert usage["usage"] == plain["usage"]
    counter = default_counter()
    assert usage["usage"]["prompt_tokens"] == counter.count_messages(MESSAGES)
    assert usage["usage"]["completion_tokens"] == counter.count(text) == len(chunks) - 1


async def test_a_stream_without_include_usage_has_no_usage_chunk(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    streamed = await stream(http, url(simulator, "openai.chat"), {**OPENAI_BODY, "stream": True})
    assert streamed.payloads(b"data: ")[-1] == b"[DONE]"
    assert all("usage" not in c for c in streamed.objects(b"data: "))


async def test_include_usage_off_wins_over_the_request(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(include_usage=False)
    streamed = await stream(http, url(simulator, "openai.chat"), STREAM_BODY)
    assert streamed.complete
    assert all("usage" not in c for c in streamed.objects(b"data: "))


async def test_max_tokens_cuts_a_stream_with_finish_reason_length(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    streamed = await stream(http, url(simulator, "openai.chat"), {**STREAM_BODY, "max_tokens": 4})
    *_, finish, usage = streamed.objects(b"data: ")
    assert finish["choices"][0]["finish_reason"] == "length"
    assert usage["usage"]["completion_tokens"] == 4


async def test_a_stream_needs_the_api_key_when_one_is_set(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(api_key="sk-sim")
    refused = await call(http, "POST", url(simulator, "openai.chat"), json=STREAM_BODY)
    allowed = await stream(
        http, url(simulator, "openai.chat"), STREAM_BODY, headers={"Authorization": "Bearer sk-sim"}
    )
    assert (refused.status, allowed.status, allowed.complete) == (401, 200, True)


async def test_stream_options_must_be_an_object_with_a_boolean(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    body = {**STREAM_BODY, "stream_options": {"include_usage": "yes"}}
    answer = await call(http, "POST", url(simulator, "openai.chat"), json=body)
    assert (answer.status, answer.json()["error"]["param"]) == (
        400,
        "stream_options.include_usage",
    )


async def test_streams_count_in_the_openai_route_stats(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    await stream(http, url(simulator, "openai.chat"), STREAM_BODY, headers={"X-Request-ID": "s-1"})
    stats = simulator.stats
    assert (stats.requests, stats.by_status, stats.last_request_id) == (1, {200: 1}, "s-1")
    assert stats.routes["openai.chat"].requests == 1
