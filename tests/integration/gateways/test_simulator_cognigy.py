"""Cognigy chat, streaming inference and paginated metrics over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from tests.integration.gateways.test_simulator_support import (
    COGNIGY_BODY,
    MESSAGES,
    StartSimulator,
    call,
    stream,
    token,
    url,
)

from gwstream.simulator import GatewaySimulator
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def bearer(simulator: GatewaySimulator, http: aiohttp.ClientSession) -> str:
    return await token(http, simulator, "cognigy")


async def test_chat_answers_openai_style_with_real_usage(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    answer = await call(
        http,
        "POST",
        url(simulator, "cognigy.chat"),
        json={**COGNIGY_BODY, "max_tokens": 512, "temperature": 0.7},
        token=bearer,
        headers={"X-Request-ID": "turn-1"},
    )
    reply = answer.json()
    assert answer.status == 200
    text = reply["choices"][0]["message"]["content"]
    counter = default_counter()
    assert reply["usage"] == {
        "prompt_tokens": counter.count_messages(MESSAGES),
        "completion_tokens": counter.count(text),
        "total_tokens": counter.count_messages(MESSAGES) + counter.count(text),
    }
    assert simulator.route_stats("cognigy.chat").last_request_id == "turn-1"


async def test_chat_refuses_stream_and_points_to_inference(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    body = {**COGNIGY_BODY, "stream": True}
    answer = await call(http, "POST", url(simulator, "cognigy.chat"), json=body, token=bearer)
    assert answer.status == 400
    assert "/api/v1/llm/gateway/inference" in answer.json()["error"]["message"]


async def test_chat_without_a_token_is_a_401(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    answer = await call(http, "POST", url(simulator, "cognigy.chat"), json=COGNIGY_BODY)
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "missing_token"


async def test_chat_with_an_expired_token_is_a_401_saying_so(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    simulator.expire_tokens()
    answer = await call(
        http, "POST", url(simulator, "cognigy.chat"), json=COGNIGY_BODY, token=bearer
    )
    error = answer.json()["error"]
    assert (answer.status, error["code"]) == (401, "token_expired")
    assert "expired" in error["message"]


@pytest.mark.parametrize(
    ("route", "method", "scope"),
    [
        ("cognigy.chat", "POST", "llm.gateway:invoke"),
        ("cognigy.inference", "POST", "llm.gateway.inference"),
        ("cognigy.metrics", "GET", "llm.gateway:metrics:read"),
    ],
)
async def test_a_revoked_scope_is_a_403_naming_it(
    start_simulator: StartSimulator,
    http: aiohttp.ClientSession,
    route: str,
    method: str,
    scope: str,
) -> None:
    simulator = await start_simulator(revoked_scopes=frozenset({scope}))
    bearer = await token(http, simulator, "cognigy")
    body = COGNIGY_BODY if method == "POST" else None
    answer = await call(http, method, url(simulator, route), json=body, token=bearer)
    error = answer.json()["error"]
    assert (answer.status, error["code"]) == (403, "insufficient_scope")
    assert f"'{scope}'" in error["message"]
    assert f'scope="{scope}"' in answer.headers["WWW-Authenticate"]


async def test_a_token_without_the_metrics_scope_cannot_read_metrics(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    bearer = await token(http, simulator, "cognigy", scope="llm.gateway:invoke")
    answer = await call(http, "GET", url(simulator, "cognigy.metrics"), token=bearer)
    assert answer.status == 403
    assert "llm.gateway:metrics:read" in answer.json()["error"]["message"]


async def test_inference_streams_json_lines_ending_with_real_usage(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    body = {**COGNIGY_BODY, "stream": True, "top_p": 0.9, "context_window": 16000}
    streamed = await stream(http, url(simulator, "cognigy.inference"), body, token=bearer)
    assert (streamed.status, streamed.complete) == (200, True)
    assert streamed.headers["Content-Type"].startswith("application/x-ndjson")
    objects = streamed.objects()
    assert len(objects) == len(streamed.payloads())  # every line is JSON
    *deltas, finish, last = objects
    text = "".join(d["choices"][0]["delta"]["content"] for d in deltas)
    assert finish["choices"][0]["finish_reason"] == "stop"
    counter = default_counter()
    assert last == {
        "usage": {
            "prompt_tokens": counter.count_messages(MESSAGES),
            "completion_tokens": counter.count(text),
            "total_tokens": counter.count_messages(MESSAGES) + counter.count(text),
        }
    }
    assert len(deltas) == counter.count(text)


async def test_inference_cut_by_max_tokens_reports_length(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    body = {**COGNIGY_BODY, "max_tokens": 3}
    objects = (
        await stream(http, url(simulator, "cognigy.inference"), body, token=bearer)
    ).objects()
    assert objects[-2]["choices"][0]["finish_reason"] == "length"
    assert objects[-1]["usage"]["completion_tokens"] == 3


async def test_inference_refuses_a_prompt_longer_than_its_context_window(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    body = {**COGNIGY_BODY, "context_window": 5}
    answer = await call(http, "POST", url(simulator, "cognigy.inference"), json=body, token=bearer)
    assert (answer.status, answer.json()["error"]["param"]) == (400, "context_window")


async def test_inference_without_usage_ends_after_the_finish_line(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(routes={"cognigy.inference": {"include_usage": False}})
    bearer = await token(http, simulator, "cognigy")
    streamed = await stream(http, url(simulator, "cognigy.inference"), COGNIGY_BODY, token=bearer)
    assert streamed.complete
    assert all("usage" not in obj for obj in streamed.objects())


async def serve_calls(
    http: aiohttp.ClientSession, simulator: GatewaySimulator, bearer: str, n: int
) -> list[str]:
    """n calls alternating chat and inference, each with its own X-Request-ID."""
    ids = []
    for i in range(n):
        request_id = f"req-{i}"
        headers = {"X-Request-ID": request_id}
        if i % 2:
            await stream(
                http,
                url(simulator, "cognigy.inference"),
                COGNIGY_BODY,
                token=bearer,
                headers=headers,
            )
        else:
            await call(
                http,
                "POST",
                url(simulator, "cognigy.chat"),
                json=COGNIGY_BODY,
                token=bearer,
                headers=headers,
            )
        ids.append(request_id)
    return ids


async def read_page(
    http: aiohttp.ClientSession, simulator: GatewaySimulator, bearer: str, page: int, size: int
) -> dict[str, Any]:
    answer = await call(
        http,
        "GET",
        url(simulator, "cognigy.metrics"),
        token=bearer,
        params={"page": page, "size": size},
    )
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.json()
    return body


async def test_metrics_pages_return_each_served_request_exactly_once(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    served = await serve_calls(http, simulator, bearer, 7)
    await call(http, "POST", url(simulator, "cognigy.chat"), json=COGNIGY_BODY)  # no token
    pages = [await read_page(http, simulator, bearer, page, 3) for page in (1, 2, 3)]
    assert [(p["total"], p["pages"], p["has_more"]) for p in pages] == [
        (7, 3, True),
        (7, 3, True),
        (7, 3, False),
    ]
    items = [item for page in pages for item in page["items"]]
    assert [item["request_id"] for item in items] == served
    assert (await read_page(http, simulator, bearer, 4, 3))["items"] == []


async def test_metrics_items_carry_real_usage_and_latency(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    await serve_calls(http, simulator, bearer, 2)
    chat, inference = (await read_page(http, simulator, bearer, 1, 10))["items"]
    counter = default_counter()
    for item, route, streamed in (
        (chat, "cognigy.chat", False),
        (inference, "cognigy.inference", True),
    ):
        assert (item["route"], item["streamed"], item["status"]) == (route, streamed, 200)
        assert item["model"] == COGNIGY_BODY["model"]
        assert item["prompt_tokens"] == counter.count_messages(MESSAGES)
        assert item["completion_tokens"] > 0
        assert item["total_tokens"] == item["prompt_tokens"] + item["completion_tokens"]
        assert item["latency_ms"] >= 0
        assert item["timestamp"].endswith("Z")


async def test_metrics_count_faulted_calls_with_their_status(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(
        routes={"cognigy.chat": {"fail_first_n": 1, "fail_status": 429}}
    )
    bearer = await token(http, simulator, "cognigy")
    await serve_calls(http, simulator, bearer, 2)
    items = (await read_page(http, simulator, bearer, 1, 10))["items"]
    assert [(i["request_id"], i["status"]) for i in items] == [("req-0", 429), ("req-1", 200)]
    assert items[0]["completion_tokens"] == 0


@pytest.mark.parametrize("query", [{"page": 0}, {"size": 0}, {"size": 1001}, {"page": "x"}])
async def test_metrics_refuse_bad_paging(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str, query: dict[str, Any]
) -> None:
    answer = await call(http, "GET", url(simulator, "cognigy.metrics"), token=bearer, params=query)
    assert answer.status == 400
    assert answer.json()["error"]["param"] in query


async def test_reset_stats_clears_the_metrics(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    await serve_calls(http, simulator, bearer, 2)
    simulator.reset_stats()
    assert (await read_page(http, simulator, bearer, 1, 10))["total"] == 0


async def test_a_bad_json_body_is_an_openai_style_400(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    answer = await call(
        http,
        "POST",
        url(simulator, "cognigy.chat"),
        data=b"{nope",
        token=bearer,
        headers={"Content-Type": "application/json"},
    )
    assert (answer.status, orjson.loads(answer.body)["error"]["type"]) == (
        400,
        "invalid_request_error",
    )
