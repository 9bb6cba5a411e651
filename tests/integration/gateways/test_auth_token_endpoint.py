"""ClientCredentialsAuth against the simulator's real token endpoints.

Tokens expiring on our clock (refresh ahead, one request for 200 callers), both
credential styles at both vendors, and token endpoint failures.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio

from gwstream.errors import GatewayAuthError, GatewayTransportError
from gwstream.gateways import (
    ChatMessage,
    ClientCredentialsAuth,
    CognigyChatGateway,
    GatewayRequest,
    GenesysInvocationsGateway,
    HttpGateway,
    RetryPolicy,
)
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]
COGNIGY = {"client_id": "cognigy-sim", "client_secret": "cognigy-sim-secret"}
GENESYS = {"client_id": "genesys-sim", "client_secret": "genesys-sim-secret"}


class FakeClock:
    """The auth provider's monotonic clock, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ask(turn: str = "turn-1") -> GatewayRequest:
    return GatewayRequest(
        messages=(ChatMessage("user", "Where is my parcel?"),), model="gpt-4o-mini", request_id=turn
    )


@pytest.fixture
def refused_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest_asyncio.fixture
async def closing() -> AsyncIterator[list[HttpGateway]]:
    gateways: list[HttpGateway] = []
    yield gateways
    for gateway in gateways:
        await gateway.aclose()


async def test_a_token_expiring_on_our_clock_is_refreshed_once_for_200_callers(
    start_simulator: StartSimulator, fast_retry: RetryPolicy, closing: list[HttpGateway]
) -> None:
    simulator = await start_simulator(token_ttl_s=600, latency_ms=20)
    clock = FakeClock()
    auth = ClientCredentialsAuth.cognigy(simulator.url, refresh_margin_s=60, clock=clock, **COGNIGY)
    gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)
    await gateway.complete(ask())
    clock.now += 600  # expired for us; the gateway is never shown a stale token

    results = await asyncio.gather(*(gateway.complete(ask(f"t{i}")) for i in range(200)))

    assert [r.outcome for r in results] == ["ok"] * 200
    assert simulator.stats.token_requests["cognigy.token"] == auth.token_requests == 2
    assert simulator.route_stats("cognigy.chat").by_status == {200: 201}


async def test_a_token_is_refreshed_ahead_of_its_expiry(
    start_simulator: StartSimulator, fast_retry: RetryPolicy, closing: list[HttpGateway]
) -> None:
    simulator = await start_simulator(token_ttl_s=600)
    clock = FakeClock()
    auth = ClientCredentialsAuth.cognigy(simulator.url, refresh_margin_s=60, clock=clock, **COGNIGY)
    gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)
    await gateway.complete(ask())
    clock.now += 539
    await gateway.complete(ask())
    clock.now += 2  # 59 s before expiry: inside the margin
    await gateway.complete(ask())

    assert auth.token_requests == 2
    assert simulator.route_stats("cognigy.chat").by_status == {200: 3}


@pytest.mark.parametrize("style", ["form", "basic"])
@pytest.mark.parametrize("vendor", ["cognigy", "genesys"])
async def test_both_credential_styles_work_at_both_token_endpoints(
    vendor: str,
    style: str,
    simulator: GatewaySimulator,
    fast_retry: RetryPolicy,
    closing: list[HttpGateway],
) -> None:
    gateway: HttpGateway
    if vendor == "cognigy":
        auth = ClientCredentialsAuth.cognigy(simulator.url, style=style, **COGNIGY)
        gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    else:
        auth = ClientCredentialsAuth.genesys(simulator.url, style=style, **GENESYS)
        gateway = GenesysInvocationsGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)

    assert (await gateway.complete(ask())).outcome == "ok"
    assert simulator.stats.token_requests[f"{vendor}.token"] == 1


async def test_a_failing_token_endpoint_is_retried_with_the_call(
    start_simulator: StartSimulator, fast_retry: RetryPolicy, closing: list[HttpGateway]
) -> None:
    simulator = await start_simulator(
        routes={"cognigy.token": {"fail_first_n": 1, "fail_status": 503}}
    )
    auth = ClientCredentialsAuth.cognigy(simulator.url, **COGNIGY)
    gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)

    result = await gateway.complete(ask())

    assert (result.outcome, result.attempts) == ("retried_ok", 2)
    assert simulator.route_stats("cognigy.token").by_status == {503: 1, 200: 1}


async def test_an_unreachable_token_endpoint_fails_naming_it(
    simulator: GatewaySimulator,
    refused_url: str,
    fast_retry: RetryPolicy,
    closing: list[HttpGateway],
) -> None:
    auth = ClientCredentialsAuth(
        token_url=refused_url + "/api/v1/auth/token",
        client_id="cognigy-sim",
        client_secret="cognigy-sim-secret",
    )
    gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)

    with pytest.raises(GatewayTransportError, match=f"cannot connect to {refused_url}") as info:
        await gateway.complete(ask())

    assert info.value.attempts == fast_retry.max_attempts
    assert simulator.stats.requests == 0


async def test_asking_for_a_scope_the_vendor_does_not_know_names_it(
    simulator: GatewaySimulator, fast_retry: RetryPolicy, closing: list[HttpGateway]
) -> None:
    auth = ClientCredentialsAuth.cognigy(
        simulator.url, scopes=["llm.gateway:everything"], **COGNIGY
    )
    gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)

    with pytest.raises(GatewayAuthError, match=r"refused to grant scope.*llm\.gateway:everything"):
        await gateway.complete(ask())


async def test_a_gateway_refuses_a_token_from_the_other_vendor(
    simulator: GatewaySimulator, fast_retry: RetryPolicy, closing: list[HttpGateway]
) -> None:
    auth = ClientCredentialsAuth.genesys(simulator.url, **GENESYS)
    gateway = CognigyChatGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    closing.append(gateway)

    with pytest.raises(GatewayAuthError) as info:
        await gateway.complete(ask())

    assert (info.value.status_code, info.value.attempts) == (401, 2)  # refreshed once, in vain
    assert simulator.stats.token_requests["genesys.token"] == 2


async def test_neither_secrets_nor_tokens_reach_the_logs(
    simulator: GatewaySimulator,
    fast_retry: RetryPolicy,
    closing: list[HttpGateway],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = ClientCredentialsAuth.genesys(simulator.url, **GENESYS)
    gateway = GenesysInvocationsGateway(base_url=simulator.url, auth=auth, retry=fast_retry)
    wrong = ClientCredentialsAuth.genesys(
        simulator.url, client_id="genesys-sim", client_secret="WRONG-x1"
    )
    rejected = GenesysInvocationsGateway(base_url=simulator.url, auth=wrong, retry=fast_retry)
    closing.extend([gateway, rejected])

    await gateway.complete(ask())
    simulator.expire_tokens()
    await gateway.complete(ask())  # 401, refresh, retry
    with pytest.raises(GatewayAuthError):
        await rejected.complete(ask())

    assert caplog.records  # the calls were logged ...
    assert "genesys-sim-secret" not in caplog.text  # ... without their secrets
    assert "WRONG-x1" not in caplog.text
    assert not re.search(r"sim-[\w-]{40,}", caplog.text), "an access token was logged"
