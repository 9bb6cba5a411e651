"""Per-route fault injection over real HTTP, on every route: 429, 5xx, fail-first-n,
hangs, and the streaming faults (cut, error line, malformed chunk)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from tests.integration.gateways.test_simulator_support import (
    COGNIGY_BODY,
    INVOCATION_BODY,
    INVOKE_BODY,
    OPENAI_BODY,
    Answer,
    StartSimulator,
    Streamed,
    call,
    get_token,
    stream,
    token,
    url,
)

from gwstream.simulator import ROUTE_NAMES, GatewaySimulator
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration

Tokens = dict[str, str]
RouteCall = Callable[[aiohttp.ClientSession, GatewaySimulator, Tokens], Awaitable[Answer]]


def _post(route: str, body: dict[str, Any], vendor: str | None) -> RouteCall:
    async def run(http: aiohttp.ClientSession, sim: GatewaySimulator, tokens: Tokens) -> Answer:
        bearer = tokens[vendor] if vendor else None
        return await call(http, "POST", url(sim, route), json=body, token=bearer)

    return run


def _get(route: str, vendor: str) -> RouteCall:
    async def run(http: aiohttp.ClientSession, sim: GatewaySimulator, tokens: Tokens) -> Answer:
        return await call(http, "GET", url(sim, route), token=tokens[vendor])

    return run


def _token(vendor: str) -> RouteCall:
    async def run(http: aiohttp.ClientSession, sim: GatewaySimulator, tokens: Tokens) -> Answer:
        return await get_token(http, sim, vendor, basic=vendor == "genesys")

    return run


ROUTE_CALLS: dict[str, RouteCall] = {
    "openai.chat": _post("openai.chat", OPENAI_BODY, None),
    "cognigy.token": _token("cognigy"),
    "cognigy.chat": _post("cognigy.chat", COGNIGY_BODY, "cognigy"),
    "cognigy.inference": _post("cognigy.inference", COGNIGY_BODY, "cognigy"),
    "cognigy.metrics": _get("cognigy.metrics", "cognigy"),
    "genesys.token": _token("genesys"),
    "genesys.invoke": _post("genesys.invoke", INVOKE_BODY, "genesys"),
    "genesys.invocations": _post("genesys.invocations", INVOCATION_BODY, "genesys"),
    "genesys.telemetry": _get("genesys.telemetry", "genesys"),
}
ROUTES = sorted(ROUTE_CALLS)
TOKEN_FIRST = ["cognigy.token", "genesys.token", *(r for r in ROUTES if not r.endswith(".token"))]

# streaming route -> (request body, vendor, line prefix, whether the tail has usage)
STREAMS: dict[str, tuple[dict[str, Any], str | None, bytes]] = {
    "openai.chat": (
        {**OPENAI_BODY, "stream": True, "stream_options": {"include_usage": True}},
        None,
        b"data: ",
    ),
    "cognigy.inference": (COGNIGY_BODY, "cognigy", b""),
    "genesys.invoke": ({**INVOKE_BODY, "stream": True}, "genesys", b"data: "),
}


def test_every_route_has_a_call_here() -> None:
    assert set(ROUTE_CALLS) == ROUTE_NAMES


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def sim(start_simulator: StartSimulator) -> GatewaySimulator:
    return await start_simulator(seed=5)


@pytest_asyncio.fixture
async def tokens(sim: GatewaySimulator, http: aiohttp.ClientSession) -> Tokens:
    return {v: await token(http, sim, v) for v in ("cognigy", "genesys")}


def error_text(answer: Answer) -> str:
    """The error's wording, whatever the route's dialect."""
    body = answer.json()
    if isinstance(body.get("error"), dict):
        return str(body["error"]["message"])
    return str(body.get("message") or body.get("error_description"))


@pytest.mark.parametrize("route", ROUTES)
async def test_a_429_sends_retry_after_in_seconds(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    sim.update_route(route, error_429_rate=1.0, retry_after_s=7)
    answer = await ROUTE_CALLS[route](http, sim, tokens)
    assert (answer.status, answer.headers["Retry-After"]) == (429, "7")
    assert "Rate limit" in error_text(answer)
    sim.update_route(route, error_429_rate=None)
    assert (await ROUTE_CALLS[route](http, sim, tokens)).status == 200


@pytest.mark.parametrize("route", ROUTES)
async def test_a_429_can_send_retry_after_as_an_http_date(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    sim.update_route(route, error_429_rate=1.0, retry_after_s=30, retry_after_http_date=True)
    before = datetime.now(UTC)
    answer = await ROUTE_CALLS[route](http, sim, tokens)
    assert answer.status == 429
    wait = (parsedate_to_datetime(answer.headers["Retry-After"]) - before).total_seconds()
    assert 29 <= wait <= 32


@pytest.mark.parametrize("route", ROUTES)
async def test_a_5xx_uses_the_configured_status(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    sim.update_route(route, error_5xx_rate=1.0, error_5xx_status=504)
    answer = await ROUTE_CALLS[route](http, sim, tokens)
    assert answer.status == 504
    assert "504" in error_text(answer)
    assert sim.route_stats(route).by_status.get(504) == 1


@pytest.mark.parametrize("route", ROUTES)
async def test_an_override_leaves_every_other_route_alone(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    sim.update_route(route, error_5xx_rate=1.0)
    statuses = {r: (await ROUTE_CALLS[r](http, sim, tokens)).status for r in ROUTES}
    assert statuses == {r: 503 if r == route else 200 for r in ROUTES}


async def test_fail_first_n_counts_per_route(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(fail_first_n=1, fail_status=502)
    tokens: Tokens = {}
    statuses = {}
    for route in TOKEN_FIRST:
        first = await ROUTE_CALLS[route](http, simulator, tokens)
        second = await ROUTE_CALLS[route](http, simulator, tokens)
        if route.endswith(".token"):
            tokens[route.split(".")[0]] = second.json()["access_token"]
        statuses[route] = (first.status, second.status)
    assert statuses == {r: (502, 200) for r in ROUTES}


async def test_global_knobs_apply_where_no_override_says_otherwise(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(
        routes={"cognigy.token": {"error_5xx_rate": 0.0}, "cognigy.chat": {"error_5xx_rate": 0.0}}
    )
    tokens = {"cognigy": await token(http, simulator, "cognigy")}
    simulator.update(error_5xx_rate=1.0)
    chat = await ROUTE_CALLS["cognigy.chat"](http, simulator, tokens)
    inference = await ROUTE_CALLS["cognigy.inference"](http, simulator, tokens)
    assert (chat.status, inference.status) == (200, 503)


async def test_a_seeded_route_draws_the_same_faults_whatever_other_routes_do(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    runs = []
    for interleave in (False, True):
        simulator = await start_simulator(seed=42, routes={"cognigy.chat": {"error_429_rate": 0.5}})
        tokens = {"cognigy": await token(http, simulator, "cognigy")}
        statuses = []
        for _ in range(12):
            if interleave:
                await ROUTE_CALLS["cognigy.inference"](http, simulator, tokens)
            statuses.append((await ROUTE_CALLS["cognigy.chat"](http, simulator, tokens)).status)
        runs.append(statuses)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 429}


async def test_a_hung_request_is_answered_503_after_hang_s(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens
) -> None:
    sim.update_route("genesys.invocations", hang_rate=1.0, hang_s=0.05)
    answer = await ROUTE_CALLS["genesys.invocations"](http, sim, tokens)
    assert (answer.status, answer.json()["status"]) == (503, 503)


async def open_stream(
    http: aiohttp.ClientSession, sim: GatewaySimulator, tokens: Tokens, route: str
) -> Streamed:
    body, vendor, _ = STREAMS[route]
    return await stream(http, url(sim, route), body, token=tokens[vendor] if vendor else None)


def terminators(streamed: Streamed, prefix: bytes) -> list[Any]:
    """What ends a healthy stream: its usage figures and [DONE]."""
    return [
        p if p == b"[DONE]" else orjson.loads(p)["usage"]
        for p in streamed.payloads(prefix)
        if p == b"[DONE]" or b'"usage"' in p
    ]


@pytest.mark.parametrize("route", sorted(STREAMS))
async def test_a_cut_stream_stops_mid_way_without_usage_or_done(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    whole = await open_stream(http, sim, tokens, route)
    sim.update_route(route, cut_stream_rate=1.0)
    cut = await open_stream(http, sim, tokens, route)
    prefix = STREAMS[route][2]
    assert (cut.status, cut.complete) == (200, False)
    assert terminators(cut, prefix) == []
    assert 0 < len(cut.objects(prefix)) < len(whole.objects(prefix))
    assert terminators(whole, prefix)


@pytest.mark.parametrize("route", sorted(STREAMS))
async def test_a_stream_error_is_one_error_line_then_the_end(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    sim.update_route(route, stream_error_rate=1.0)
    streamed = await open_stream(http, sim, tokens, route)
    prefix = STREAMS[route][2]
    assert (streamed.status, streamed.complete) == (200, True)
    *chunks, last = streamed.objects(prefix)
    assert last["error"]["message"]
    assert chunks and all("error" not in c for c in chunks)
    assert terminators(streamed, prefix) == []


@pytest.mark.parametrize("route", sorted(STREAMS))
async def test_a_malformed_chunk_is_one_extra_line_that_is_not_json(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens, route: str
) -> None:
    whole = await open_stream(http, sim, tokens, route)
    sim.update_route(route, malformed_chunk_rate=1.0)
    streamed = await open_stream(http, sim, tokens, route)
    prefix = STREAMS[route][2]
    bad = []
    for payload in streamed.payloads(prefix):
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError:
            if payload != b"[DONE]":
                bad.append(payload)
    assert len(bad) == 1
    assert streamed.complete
    assert len(streamed.objects(prefix)) == len(whole.objects(prefix))
    assert terminators(streamed, prefix) == terminators(whole, prefix) != []


async def test_a_cut_stream_is_recorded_with_the_tokens_actually_sent(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens
) -> None:
    sim.update_route("cognigy.inference", cut_stream_rate=1.0)
    cut = await open_stream(http, sim, tokens, "cognigy.inference")
    text = "".join(o["choices"][0]["delta"]["content"] for o in cut.objects())
    metrics = await call(http, "GET", url(sim, "cognigy.metrics"), token=tokens["cognigy"])
    (item,) = metrics.json()["items"]
    assert (item["status"], item["streamed"]) == (200, True)
    assert item["completion_tokens"] == default_counter().count(text)


async def test_non_streaming_answers_ignore_stream_faults(
    sim: GatewaySimulator, http: aiohttp.ClientSession, tokens: Tokens
) -> None:
    sim.update(cut_stream_rate=1.0, malformed_chunk_rate=1.0, stream_error_rate=1.0)
    for route in ("openai.chat", "cognigy.chat", "genesys.invoke", "genesys.invocations"):
        answer = await ROUTE_CALLS[route](http, sim, tokens)
        assert answer.status == 200
        answer.json()
