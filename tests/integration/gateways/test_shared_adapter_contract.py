"""What every adapter does the same way, checked per protocol over real loopback HTTP.

Token refresh on 401, a 403 naming the missing scope, Retry-After in both forms,
fallback on 5xx, every endpoint down, and 200 concurrent calls sharing one token
request. OAuth fallback runs against one simulator reached under two host names
(127.0.0.1 and localhost): simulators do not share issued tokens, so two
instances could not both accept one token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from gwstream.errors import GatewayAuthError, GatewayRateLimited, GatewayServerError
from gwstream.gateways import (
    ChatMessage,
    GatewayRequest,
    HttpGateway,
    Retrier,
    RetryPolicy,
    build_gateway,
)
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
Build = Callable[..., HttpGateway]

CREDENTIALS = {
    "cognigy": {"client_id": "cognigy-sim", "client_secret": "cognigy-sim-secret"},
    "genesys": {"client_id": "genesys-sim", "client_secret": "genesys-sim-secret"},
}
ROUTE = {
    "openai": "openai.chat",
    "cognigy.chat": "cognigy.chat",
    "cognigy.inference": "cognigy.inference",
    "genesys.invoke": "genesys.invoke",
    "genesys.invocations": "genesys.invocations",
}
TOKEN_ROUTE = {"cognigy": "cognigy.token", "genesys": "genesys.token"}
OAUTH = ["cognigy.chat", "cognigy.inference", "genesys.invoke", "genesys.invocations"]
ALL = ["openai", *OAUTH]
SCOPE = {
    "cognigy.chat": "llm.gateway:invoke",
    "cognigy.inference": "llm.gateway.inference",
    "genesys.invoke": "ai:llm:gateway:use",
    "genesys.invocations": "ai:gateway:write",
}


def ask(text: str = "Where is my order?", *, turn: str = "turn-1") -> GatewayRequest:
    return GatewayRequest(
        messages=(ChatMessage("user", text),),
        model="gpt-4o-mini",
        request_id=turn,
        system="You are a courteous support agent.",
    )


def alias(url: str) -> str:
    """The same simulator under another host name."""
    return url.replace("127.0.0.1", "localhost")


@pytest_asyncio.fixture
async def build(fast_retry: RetryPolicy) -> AsyncIterator[Build]:
    """Gateways from build_gateway with the simulator's demo credentials; closed after."""
    made: list[HttpGateway] = []

    def make(protocol: str, *urls: str, **kwargs: Any) -> HttpGateway:
        for key, value in CREDENTIALS.get(protocol.split(".")[0], {}).items():
            kwargs.setdefault(key, value)
        kwargs.setdefault("retry", fast_retry)
        kwargs.setdefault("timeout_s", 10.0)
        gateway = build_gateway(protocol, base_urls=list(urls), **kwargs)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()


def token_requests(simulator: GatewaySimulator, protocol: str) -> int:
    return simulator.stats.token_requests[TOKEN_ROUTE[protocol.split(".")[0]]]


@pytest.mark.parametrize("protocol", OAUTH)
async def test_a_rejected_token_is_refreshed_once_and_the_call_retried(
    protocol: str, simulator: GatewaySimulator, build: Build
) -> None:
    gateway = build(protocol, simulator.url)
    assert (await gateway.complete(ask())).outcome == "ok"
    simulator.expire_tokens()

    result = await gateway.complete(ask(turn="turn-2"))

    assert (result.outcome, result.attempts) == ("retried_ok", 2)
    assert token_requests(simulator, protocol) == 2
    assert simulator.route_stats(ROUTE[protocol]).by_status == {200: 2, 401: 1}


@pytest.mark.parametrize("protocol", OAUTH)
async def test_a_token_still_rejected_after_its_refresh_fails_as_auth(
    protocol: str, start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(
        routes={ROUTE[protocol]: {"fail_first_n": 2, "fail_status": 401}}
    )
    gateway = build(protocol, simulator.url)

    with pytest.raises(GatewayAuthError) as info:
        await gateway.complete(ask())

    assert (info.value.attempts, info.value.status_code) == (2, 401)
    assert token_requests(simulator, protocol) == 2


@pytest.mark.parametrize("protocol", OAUTH)
async def test_a_403_is_final_and_names_the_missing_scope(
    protocol: str, start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(revoked_scopes=frozenset({SCOPE[protocol]}))
    gateway = build(protocol, simulator.url)

    with pytest.raises(GatewayAuthError) as info:
        await gateway.complete(ask())

    assert SCOPE[protocol] in str(info.value)
    assert "lacks scope" in str(info.value)
    assert (info.value.attempts, info.value.status_code) == (1, 403)
    assert simulator.route_stats(ROUTE[protocol]).requests == 1


@pytest.mark.parametrize("protocol", ALL)
@pytest.mark.parametrize(("http_date", "low", "high"), [(False, 0.05, 0.051), (True, 1.0, 3.01)])
async def test_a_429_waits_for_its_retry_after_in_either_form(
    protocol: str,
    http_date: bool,
    low: float,
    high: float,
    start_simulator: StartSimulator,
    build: Build,
) -> None:
    retry_after = 0.05 if not http_date else 2.0  # an HTTP-date is rounded up to the second
    simulator = await start_simulator(
        routes={
            ROUTE[protocol]: {
                "fail_first_n": 1,
                "fail_status": 429,
                "retry_after_s": retry_after,
                "retry_after_http_date": http_date,
            }
        }
    )
    waits: list[float] = []

    async def record(seconds: float) -> None:  # the wait is asserted, not taken
        waits.append(seconds)

    retrier = Retrier(RetryPolicy(base_delay_s=0.001, deadline_s=30.0), sleep=record)
    gateway = build(protocol, simulator.url, retry=retrier)

    result = await gateway.complete(ask())

    assert (result.outcome, result.attempts) == ("retried_ok", 2)
    assert len(waits) == 1 and low <= waits[0] <= high, waits
    assert simulator.route_stats(ROUTE[protocol]).by_status == {429: 1, 200: 1}


@pytest.mark.parametrize("protocol", ALL)
async def test_a_429_past_the_deadline_fails_as_rate_limited(
    protocol: str, start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(
        routes={ROUTE[protocol]: {"error_429_rate": 1.0, "retry_after_s": 60}}
    )
    gateway = build(protocol, simulator.url, retry=RetryPolicy(deadline_s=5.0))

    with pytest.raises(GatewayRateLimited) as info:
        await gateway.complete(ask())

    assert (info.value.attempts, info.value.status_code) == (1, 429)


@pytest.mark.parametrize("protocol", OAUTH)
async def test_server_errors_fall_back_to_the_next_endpoint(
    protocol: str, start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    n = fast_retry.max_attempts
    simulator = await start_simulator(
        routes={ROUTE[protocol]: {"fail_first_n": n, "fail_status": 503}}
    )
    gateway = build(protocol, simulator.url, alias(simulator.url))

    result = await gateway.complete(ask())

    assert (result.outcome, result.endpoint, result.attempts) == (
        "fallback_ok",
        alias(simulator.url),
        n + 1,
    )
    assert simulator.route_stats(ROUTE[protocol]).by_status == {503: n, 200: 1}
    assert token_requests(simulator, protocol) == 1


async def test_openai_server_errors_fall_back_to_a_second_simulator(
    start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    broken = await start_simulator(error_5xx_rate=1.0, error_5xx_status=502)
    healthy = await start_simulator()
    gateway = build("openai", broken.url, healthy.url)

    result = await gateway.complete(ask())

    assert (result.outcome, result.endpoint) == ("fallback_ok", healthy.url)
    assert result.attempts == fast_retry.max_attempts + 1
    assert broken.stats.by_status == {502: fast_retry.max_attempts}


@pytest.mark.parametrize("protocol", ALL)
async def test_every_endpoint_down_fails_with_every_attempt_counted(
    protocol: str, start_simulator: StartSimulator, build: Build, fast_retry: RetryPolicy
) -> None:
    simulator = await start_simulator(routes={ROUTE[protocol]: {"error_5xx_rate": 1.0}})
    gateway = build(protocol, simulator.url, alias(simulator.url))

    with pytest.raises(GatewayServerError) as info:
        await gateway.complete(ask())

    assert info.value.attempts == 2 * fast_retry.max_attempts
    assert (info.value.status_code, info.value.endpoint) == (503, alias(simulator.url))
    assert simulator.route_stats(ROUTE[protocol]).requests == 2 * fast_retry.max_attempts


@pytest.mark.parametrize("protocol", OAUTH)
async def test_200_concurrent_calls_with_an_expired_token_cause_one_token_request(
    protocol: str, start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(latency_ms=20)
    gateway = build(protocol, simulator.url)
    await gateway.complete(ask())
    simulator.expire_tokens()

    results = await asyncio.gather(
        *(gateway.complete(ask(f"question {i}", turn=f"turn-{i}")) for i in range(200))
    )

    assert all(r.text for r in results)
    assert token_requests(simulator, protocol) == 2  # the first token, then one refresh
    stats = simulator.route_stats(ROUTE[protocol])
    assert stats.by_status[200] == 201
    assert stats.by_status.get(401, 0) <= 200


@pytest.mark.parametrize("protocol", OAUTH)
async def test_200_concurrent_first_calls_cause_one_token_request(
    protocol: str, start_simulator: StartSimulator, build: Build
) -> None:
    simulator = await start_simulator(latency_ms=20)
    gateway = build(protocol, simulator.url)

    results = await asyncio.gather(*(gateway.complete(ask(turn=f"t{i}")) for i in range(200)))

    assert [r.outcome for r in results] == ["ok"] * 200
    assert token_requests(simulator, protocol) == 1


@pytest.mark.parametrize("protocol", ALL)
async def test_the_request_id_reaches_the_gateway(
    protocol: str, simulator: GatewaySimulator, build: Build
) -> None:
    await build(protocol, simulator.url).complete(ask(turn="turn-77"))
    assert simulator.route_stats(ROUTE[protocol]).last_request_id == "turn-77"
