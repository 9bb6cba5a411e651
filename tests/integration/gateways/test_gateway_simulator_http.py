"""The gateway simulator over real HTTP: the contract, faults, config changes, CLI mode."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio

from gwstream.simulator import GatewaySimulator, SimulatorConfig
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
CHAT = "/v1/chat/completions"
BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Hi, I need help."}],
}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, sim: GatewaySimulator, body: Any = BODY, **kw: Any
) -> tuple[int, dict[str, Any], Mapping[str, str]]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with http.post(sim.url + CHAT, data=data, **kw) as response:
        return response.status, orjson.loads(await response.read()), response.headers


async def test_port_zero_binds_a_real_port(simulator: GatewaySimulator) -> None:
    assert simulator.port > 0
    assert simulator.url == f"http://127.0.0.1:{simulator.port}"


async def test_health_answers_ok(simulator: GatewaySimulator, http: aiohttp.ClientSession) -> None:
    async with http.get(simulator.url + "/health") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})


async def test_a_completion_follows_the_openai_shape(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    status, reply, _ = await post(http, simulator)
    assert status == 200
    assert reply["object"] == "chat.completion"
    assert reply["id"].startswith("chatcmpl-")
    assert reply["model"] == "gpt-4o-mini"
    choice = reply["choices"][0]
    assert (choice["message"]["role"], choice["finish_reason"]) == ("assistant", "stop")
    counter = default_counter()
    usage = reply["usage"]
    assert usage["prompt_tokens"] == counter.count_messages(BODY["messages"])
    assert usage["completion_tokens"] == counter.count(choice["message"]["content"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_max_tokens_cuts_the_reply(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    status, reply, _ = await post(http, simulator, {**BODY, "max_tokens": 4})
    assert status == 200
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 4


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        ({"messages": BODY["messages"]}, "model"),
        ({**BODY, "messages": [{"role": "user"}]}, "messages[0].content"),
        ({**BODY, "stream": "yes"}, "stream"),
        ({**BODY, "stream_options": {"include_usage": True}}, "stream_options"),
    ],
)
async def test_bad_requests_get_an_openai_style_400(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, body: Any, param: str | None
) -> None:
    status, reply, _ = await post(http, simulator, body)
    assert status == 400
    assert reply["error"]["type"] == "invalid_request_error"
    assert reply["error"]["param"] == param
    assert reply["error"]["message"]


async def test_a_configured_api_key_is_required(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(api_key="sk-sim")
    missing, reply, _ = await post(http, simulator)
    wrong, _, _ = await post(http, simulator, headers={"Authorization": "Bearer nope"})
    right, _, _ = await post(http, simulator, headers={"Authorization": "Bearer sk-sim"})
    assert (missing, wrong, right) == (401, 401, 200)
    assert reply["error"]["code"] == "invalid_api_key"


async def test_a_429_carries_retry_after(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(error_429_rate=1.0, retry_after_s=2)
    status, reply, headers = await post(http, simulator)
    assert (status, headers["Retry-After"]) == (429, "2")
    assert reply["error"]["code"] == "rate_limit_exceeded"


async def test_fail_first_n_fails_that_many_then_recovers(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(fail_first_n=2, fail_status=502)
    statuses = [(await post(http, simulator))[0] for _ in range(3)]
    assert statuses == [502, 502, 200]


async def test_updating_the_config_restarts_fail_first_n(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    assert (await post(http, simulator))[0] == 200
    simulator.update(fail_first_n=1, fail_status=500)
    statuses = [(await post(http, simulator))[0] for _ in range(2)]
    assert statuses == [500, 200]
    assert simulator.config.fail_first_n == 1


async def test_replacing_the_config_changes_behaviour(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    simulator.config = SimulatorConfig(error_5xx_rate=1.0, error_5xx_status=504)
    assert (await post(http, simulator))[0] == 504


async def test_a_seed_makes_fault_draws_reproducible(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    runs = []
    for _ in range(2):
        simulator = await start_simulator(error_5xx_rate=0.5, seed=1234)
        runs.append([(await post(http, simulator))[0] for _ in range(20)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


async def test_stats_count_requests_by_status(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(fail_first_n=1, fail_status=429)
    for _ in range(3):
        await post(http, simulator)
    await post(http, simulator, {"model": "m"})
    stats = simulator.stats
    assert (stats.requests, stats.by_status) == (4, {429: 1, 200: 2, 400: 1})
    assert (stats.in_flight, stats.in_flight_max) == (0, 1)
    simulator.reset_stats()
    assert simulator.stats.requests == 0


async def test_an_invalid_update_is_rejected_and_the_config_kept(
    simulator: GatewaySimulator,
) -> None:
    with pytest.raises(ValueError, match="error_429_rate"):
        simulator.update(error_429_rate=2.0)
    assert simulator.config.error_429_rate == 0.0


async def test_foreground_mode_prints_its_url_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gwstream.simulator",
        "--port",
        "0",
        "--latency-ms",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        url = line.decode().split()[-1]
        async with (
            aiohttp.ClientSession() as http,
            http.get(url + "/health") as response,
        ):
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
