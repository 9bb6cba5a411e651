"""Genesys invoke (plain and SSE), invocations and cursor-paginated telemetry over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from tests.integration.gateways.test_simulator_support import (
    INVOCATION_BODY,
    INVOKE_BODY,
    StartSimulator,
    call,
    stream,
    token,
    url,
)

from gwstream.simulator import GatewaySimulator
from gwstream.simulator.genesys import invocation_messages, invoke_messages
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def bearer(simulator: GatewaySimulator, http: aiohttp.ClientSession) -> str:
    return await token(http, simulator, "genesys", basic=True)


async def test_a_plain_invoke_answers_choices_without_usage(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    answer = await call(
        http, "POST", url(simulator, "genesys.invoke"), json=INVOKE_BODY, token=bearer
    )
    reply = answer.json()
    assert answer.status == 200
    assert reply["modelId"] == INVOKE_BODY["modelId"]
    choice = reply["choices"][0]
    assert (choice["message"]["role"], choice["finish_reason"]) == ("assistant", "stop")
    assert choice["message"]["content"]
    assert "usage" not in reply


async def test_a_streamed_invoke_is_sse_deltas_then_done_without_usage(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    plain = await call(
        http, "POST", url(simulator, "genesys.invoke"), json=INVOKE_BODY, token=bearer
    )
    body = {**INVOKE_BODY, "stream": True, "temperature": 0.7}
    streamed = await stream(
        http,
        url(simulator, "genesys.invoke"),
        body,
        token=bearer,
        headers={"Accept": "text/event-stream"},
    )
    assert (streamed.status, streamed.complete) == (200, True)
    assert streamed.headers["Content-Type"].startswith("text/event-stream")
    payloads = streamed.payloads(b"data: ")
    assert payloads[-1] == b"[DONE]"
    chunks = streamed.objects(b"data: ")
    assert len(chunks) == len(payloads) - 1
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain.json()["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)


async def test_max_tokens_cuts_an_invoke(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    body = {**INVOKE_BODY, "maxTokens": 2}
    answer = await call(http, "POST", url(simulator, "genesys.invoke"), json=body, token=bearer)
    choice = answer.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert default_counter().count(choice["message"]["content"]) == 2


async def test_streaming_needs_the_stream_scope_and_plain_invoke_does_not(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    bearer = await token(http, simulator, "genesys", scope="ai:llm:gateway:use")
    plain = await call(
        http, "POST", url(simulator, "genesys.invoke"), json=INVOKE_BODY, token=bearer
    )
    streamed = await call(
        http,
        "POST",
        url(simulator, "genesys.invoke"),
        json={**INVOKE_BODY, "stream": True},
        token=bearer,
    )
    assert (plain.status, streamed.status) == (200, 403)
    assert streamed.json()["code"] == "missing.scope"
    assert "'ai:llm:gateway:stream'" in streamed.json()["message"]


async def test_an_invocation_returns_output_and_real_token_usage(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    answer = await call(
        http, "POST", url(simulator, "genesys.invocations"), json=INVOCATION_BODY, token=bearer
    )
    reply = answer.json()
    assert answer.status == 200
    assert set(reply) == {"responseId", "output", "tokenUsage"}
    counter = default_counter()
    assert reply["tokenUsage"] == {
        "prompt": counter.count_messages(invocation_messages(INVOCATION_BODY)),
        "completion": counter.count(reply["output"]),
    }


@pytest.mark.parametrize(
    "flag",
    [{"returnTokenUsage": False}, {"options": {"stream": False, "returnTokenUsage": False}}],
)
async def test_an_invocation_leaves_out_usage_when_not_asked(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str, flag: dict[str, Any]
) -> None:
    body = {k: v for k, v in INVOCATION_BODY.items() if k != "returnTokenUsage"} | flag
    answer = await call(
        http, "POST", url(simulator, "genesys.invocations"), json=body, token=bearer
    )
    assert answer.status == 200
    assert "tokenUsage" not in answer.json()


async def test_an_invalid_invocation_is_a_genesys_style_400(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    answer = await call(
        http, "POST", url(simulator, "genesys.invocations"), json={"userInput": "x"}, token=bearer
    )
    body = answer.json()
    assert (answer.status, body["status"], body["code"]) == (400, 400, "bad.request")
    assert "promptId" in body["message"]


@pytest.mark.parametrize("route", ["genesys.invoke", "genesys.invocations"])
async def test_calls_without_a_token_are_a_401(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, route: str
) -> None:
    answer = await call(http, "POST", url(simulator, route), json=INVOKE_BODY)
    assert (answer.status, answer.json()["code"]) == (401, "authentication.required")


async def test_an_expired_token_is_a_401_saying_so(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    simulator.expire_tokens()
    answer = await call(
        http, "POST", url(simulator, "genesys.invoke"), json=INVOKE_BODY, token=bearer
    )
    assert (answer.status, answer.json()["code"]) == (401, "token.expired")
    assert "expired" in answer.json()["message"]


@pytest.mark.parametrize(
    ("route", "method", "scope"),
    [
        ("genesys.invoke", "POST", "ai:llm:gateway:use"),
        ("genesys.invocations", "POST", "ai:gateway:write"),
        ("genesys.telemetry", "GET", "ai:telemetry:read"),
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
    bearer = await token(http, simulator, "genesys")
    body = (
        (INVOKE_BODY if route == "genesys.invoke" else INVOCATION_BODY)
        if method == "POST"
        else None
    )
    answer = await call(http, method, url(simulator, route), json=body, token=bearer)
    assert (answer.status, answer.json()["code"]) == (403, "missing.scope")
    assert f"'{scope}'" in answer.json()["message"]


async def serve_calls(
    http: aiohttp.ClientSession, simulator: GatewaySimulator, bearer: str, n: int
) -> list[str]:
    """n calls cycling plain invoke, streamed invoke and invocation, each with its own id."""
    ids = []
    for i in range(n):
        request_id = f"g-{i}"
        headers = {"X-Request-ID": request_id}
        if i % 3 == 0:
            await call(
                http,
                "POST",
                url(simulator, "genesys.invoke"),
                json=INVOKE_BODY,
                token=bearer,
                headers=headers,
            )
        elif i % 3 == 1:
            await stream(
                http,
                url(simulator, "genesys.invoke"),
                {**INVOKE_BODY, "stream": True},
                token=bearer,
                headers=headers,
            )
        else:
            body = {**INVOCATION_BODY, "promptId": f"prompt-{i % 2}"}
            await call(
                http,
                "POST",
                url(simulator, "genesys.invocations"),
                json=body,
                token=bearer,
                headers=headers,
            )
        ids.append(request_id)
    return ids


async def read_all(
    http: aiohttp.ClientSession, simulator: GatewaySimulator, bearer: str, **query: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every entity, following nextPageCursor; and how many pages that took."""
    entities: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params = {k: str(v) for k, v in query.items()}
        if cursor:
            params["cursor"] = cursor
        answer = await call(
            http, "GET", url(simulator, "genesys.telemetry"), token=bearer, params=params
        )
        assert answer.status == 200, answer.body
        body = answer.json()
        entities.extend(body["entities"])
        pages += 1
        cursor = body["nextPageCursor"]
        if cursor is None:
            return entities, pages


async def test_telemetry_cursors_return_each_served_request_exactly_once(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    served = await serve_calls(http, simulator, bearer, 7)
    entities, pages = await read_all(http, simulator, bearer, pageSize=2)
    assert [e["requestId"] for e in entities] == served
    assert pages == 4


async def test_a_full_last_page_has_no_next_cursor(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    served = await serve_calls(http, simulator, bearer, 4)
    entities, pages = await read_all(http, simulator, bearer, pageSize=2)
    assert ([e["requestId"] for e in entities], pages) == (served, 2)


async def test_telemetry_filters_by_prompt_id(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    await serve_calls(http, simulator, bearer, 9)
    entities, _ = await read_all(http, simulator, bearer, pageSize=1, promptId="prompt-0")
    assert [e["requestId"] for e in entities] == ["g-2", "g-8"]


async def test_telemetry_filters_by_time(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    await serve_calls(http, simulator, bearer, 2)
    everything, _ = await read_all(http, simulator, bearer)
    after, _ = await read_all(http, simulator, bearer, endTime="2000-01-01T00:00:00Z")
    since, _ = await read_all(http, simulator, bearer, startTime="2000-01-01T00:00:00+00:00")
    assert (len(everything), len(after), len(since)) == (2, 0, 2)


async def test_telemetry_entities_carry_real_usage(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    await serve_calls(http, simulator, bearer, 3)
    plain, streamed, invocation = (await read_all(http, simulator, bearer))[0]
    counter = default_counter()
    prompt = counter.count_messages(invoke_messages(INVOKE_BODY))
    assert (plain["operation"], plain["streamed"], plain["tokenUsage"]["prompt"]) == (
        "invoke",
        False,
        prompt,
    )
    assert (streamed["operation"], streamed["streamed"]) == ("invoke", True)
    assert streamed["tokenUsage"] == plain["tokenUsage"]  # same prompt, same reply
    assert (invocation["operation"], invocation["promptId"], invocation["modelId"]) == (
        "invocations",
        "prompt-0",
        None,
    )
    usage = invocation["tokenUsage"]
    assert usage["total"] == usage["prompt"] + usage["completion"]
    assert {e["status"] for e in (plain, streamed, invocation)} == {200}


async def test_telemetry_refuses_a_cursor_it_did_not_issue(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, bearer: str
) -> None:
    answer = await call(
        http, "GET", url(simulator, "genesys.telemetry"), token=bearer, params={"cursor": "bogus"}
    )
    assert (answer.status, answer.json()["code"]) == (400, "bad.request")
