"""Both token endpoints over real HTTP: credentials, scopes, expiry, revocation, counting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from tests.integration.gateways.test_simulator_support import (
    COGNIGY_BODY,
    INVOCATION_BODY,
    StartSimulator,
    call,
    get_token,
    token,
    url,
)

from gwstream.simulator import GatewaySimulator
from gwstream.simulator.routes import COGNIGY_SCOPES, GENESYS_SCOPES

pytestmark = pytest.mark.integration

VENDORS = ("cognigy", "genesys")
PROTECTED = {"cognigy": "cognigy.chat", "genesys": "genesys.invocations"}
BODIES = {"cognigy": COGNIGY_BODY, "genesys": INVOCATION_BODY}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def use(
    http: aiohttp.ClientSession, sim: GatewaySimulator, vendor: str, access_token: str | None
) -> int:
    answer = await call(
        http, "POST", url(sim, PROTECTED[vendor]), json=BODIES[vendor], token=access_token
    )
    return answer.status


@pytest.mark.parametrize("vendor", VENDORS)
async def test_client_credentials_in_form_fields_get_a_bearer_token(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, vendor: str
) -> None:
    answer = await get_token(http, simulator, vendor)
    body = answer.json()
    assert answer.status == 200
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert answer.headers["Cache-Control"] == "no-store"
    known = COGNIGY_SCOPES if vendor == "cognigy" else GENESYS_SCOPES
    assert set(body["scope"].split()) == known
    assert await use(http, simulator, vendor, body["access_token"]) == 200


@pytest.mark.parametrize("vendor", VENDORS)
async def test_client_credentials_in_basic_auth_get_a_bearer_token(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, vendor: str
) -> None:
    answer = await get_token(http, simulator, vendor, basic=True)
    assert answer.status == 200
    assert await use(http, simulator, vendor, answer.json()["access_token"]) == 200


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("basic", [False, True])
async def test_a_bad_client_secret_is_a_401_invalid_client(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, vendor: str, basic: bool
) -> None:
    answer = await get_token(http, simulator, vendor, secret="not-the-s3cret", basic=basic)
    assert answer.status == 401
    assert answer.json()["error"] == "invalid_client"
    assert b"not-the-s3cret" not in answer.body
    assert ("WWW-Authenticate" in answer.headers) == basic


async def test_an_unknown_client_is_a_401(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    answer = await get_token(http, simulator, "cognigy", client_id="stranger", secret="x")
    assert (answer.status, answer.json()["error"]) == (401, "invalid_client")


async def test_no_configured_clients_accept_any_pair(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(clients={})
    answer = await get_token(http, simulator, "genesys", client_id="anyone", secret="anything")
    assert answer.status == 200


async def test_the_requested_scopes_are_granted(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    answer = await get_token(
        http, simulator, "cognigy", scope="llm.gateway:invoke llm.gateway:metrics:read"
    )
    assert answer.json()["scope"] == "llm.gateway:invoke llm.gateway:metrics:read"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "client_id": "cognigy-sim"}, "unsupported_grant_type"),
        ({"client_id": "cognigy-sim", "client_secret": "cognigy-sim-secret"}, "invalid_request"),
    ],
)
async def test_a_malformed_token_request_is_a_400(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, form: dict[str, str], error: str
) -> None:
    answer = await call(http, "POST", url(simulator, "cognigy.token"), data=form)
    assert (answer.status, answer.json()["error"]) == (400, error)


async def test_a_json_token_request_is_refused_with_the_content_type_to_use(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    body = {"grant_type": "client_credentials", "client_id": "genesys-sim"}
    answer = await call(http, "POST", url(simulator, "genesys.token"), json=body)
    assert answer.status == 400
    assert "application/x-www-form-urlencoded" in answer.json()["error_description"]


async def test_an_unknown_scope_is_a_400_invalid_scope(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    answer = await get_token(http, simulator, "genesys", scope="ai:llm:gateway:use root")
    assert (answer.status, answer.json()["error"]) == (400, "invalid_scope")


async def test_token_ttl_sets_expires_in(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(token_ttl_s=90)
    assert (await get_token(http, simulator, "cognigy")).json()["expires_in"] == 90


@pytest.mark.parametrize("vendor", VENDORS)
async def test_expired_tokens_get_a_401_and_a_new_token_works(
    simulator: GatewaySimulator, http: aiohttp.ClientSession, vendor: str
) -> None:
    old = await token(http, simulator, vendor)
    simulator.expire_tokens()
    answer = await call(
        http, "POST", url(simulator, PROTECTED[vendor]), json=BODIES[vendor], token=old
    )
    assert answer.status == 401
    assert b"expired" in answer.body
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token expired"'
    )
    assert await use(http, simulator, vendor, await token(http, simulator, vendor)) == 200


async def test_a_token_is_refused_by_the_other_vendor(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    cognigy = await token(http, simulator, "cognigy")
    assert await use(http, simulator, "genesys", cognigy) == 401


async def test_revoked_scopes_are_left_out_of_new_tokens(
    start_simulator: StartSimulator, http: aiohttp.ClientSession
) -> None:
    simulator = await start_simulator(revoked_scopes=frozenset({"llm.gateway:invoke"}))
    answer = await get_token(http, simulator, "cognigy", scope="llm.gateway:invoke")
    assert (answer.status, answer.json()["scope"]) == (200, "")


async def test_revoking_a_scope_refuses_tokens_issued_before(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    access_token = await token(http, simulator, "genesys")
    simulator.update(revoked_scopes=frozenset({"ai:gateway:write"}))
    answer = await call(
        http,
        "POST",
        url(simulator, "genesys.invocations"),
        json=INVOCATION_BODY,
        token=access_token,
    )
    assert answer.status == 403
    assert "ai:gateway:write" in answer.json()["message"]


async def test_token_requests_are_counted_per_token_endpoint(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    await get_token(http, simulator, "cognigy")
    await get_token(http, simulator, "cognigy", secret="wrong")
    await get_token(http, simulator, "genesys", basic=True)
    stats = simulator.stats
    assert stats.token_requests == {"cognigy.token": 2, "genesys.token": 1}
    assert stats.tokens_issued == 2
    assert simulator.route_stats("cognigy.token").by_status == {200: 1, 401: 1}
    assert stats.requests == 0  # token endpoints are not gateway calls


async def test_concurrent_calls_on_an_expired_token_all_get_401_and_make_no_token_request(
    simulator: GatewaySimulator, http: aiohttp.ClientSession
) -> None:
    old = await token(http, simulator, "cognigy")
    simulator.expire_tokens()
    simulator.reset_stats()
    statuses = await asyncio.gather(*(use(http, simulator, "cognigy", old) for _ in range(200)))
    assert set(statuses) == {401}
    await token(http, simulator, "cognigy")
    stats = simulator.stats
    assert stats.token_requests["cognigy.token"] == 1
    assert stats.routes["cognigy.chat"].by_status == {401: 200}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_token_endpoints_take_fault_knobs(
    start_simulator: StartSimulator, http: aiohttp.ClientSession, vendor: str
) -> None:
    simulator = await start_simulator(
        routes={f"{vendor}.token": {"fail_first_n": 1, "fail_status": 429, "retry_after_s": 3}}
    )
    first = await get_token(http, simulator, vendor)
    second = await get_token(http, simulator, vendor)
    assert (first.status, first.headers["Retry-After"], second.status) == (429, "3", 200)
    assert "error" in first.json()
