"""ClientCredentialsAuth against a real token endpoint on loopback (a small aiohttp server).

Token caching, refresh ahead of expiry, single-flight refreshes, refresh after a
401, how each credential style is sent, and what failures say (never the secret).
The provider posts through a real pooled client (``build_http_client``, the
httpx-aiohttp transport), as it does inside a gateway. Whole-gateway flows
against the simulator's token endpoints are in test_auth_token_endpoint.py.
"""

from __future__ import annotations

import asyncio
import base64
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from multidict import CIMultiDict
from pydantic import SecretStr

from gwstream.errors import (
    ConfigError,
    GatewayAuthError,
    GatewayProtocolError,
    GatewayServerError,
)
from gwstream.gateways.auth import COGNIGY_TOKEN_PATH, ClientCredentialsAuth, load_secret
from gwstream.gateways.client import build_http_client

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-UNIT-9f8e7d"
# For the checks that never reach the network (settings, an unbound provider).
OFFLINE_TOKEN_URL = "https://tenant.example/api/v1/auth/token"


class FakeClock:
    """The provider's monotonic clock, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Recorded:
    """One request as the token endpoint received it."""

    method: str
    url: str
    headers: CIMultiDict[str]
    body: bytes = field(repr=False)


Answer = Callable[[Recorded], web.Response]


def reply(status: int, body: bytes) -> Answer:
    """An ``answer`` for :class:`TokenEndpoint`: always ``status`` with ``body``."""

    def answer(_: Recorded) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    return answer


class TokenEndpoint:
    """Issues tok-1, tok-2, ... and records every request; ``answer`` overrides the reply.

    While ``gate`` is set to an unset event, requests are recorded and then
    held until it is set. ``url`` is the token URL once the server is up.
    """

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Recorded] = []
        self.expires_in: object = 3600
        self.answer: Answer | None = None
        self.gate: asyncio.Event | None = None
        self._arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        recorded = Recorded(
            method=request.method,
            url=str(request.url),
            headers=CIMultiDict(request.headers),
            body=await request.read(),
        )
        async with self._arrived:
            self.requests.append(recorded)
            number = len(self.requests)
            self._arrived.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        if self.answer is not None:
            return self.answer(recorded)
        body = {
            "access_token": f"tok-{number}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": "llm.gateway:invoke",
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def received(self, count: int) -> None:
        """Return once ``count`` requests have arrived (held ones included)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    def form(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].body.decode())

    async def held(self, calls: Iterable[Awaitable[Any]]) -> list[Any]:
        """Run ``calls`` concurrently while the next token request is held at the endpoint.

        Checks that every call is waiting, and only one request has arrived,
        before the request is let through; returns the calls' results (or
        exceptions).
        """
        self.gate = asyncio.Event()
        before = len(self.requests)
        entered = 0

        async def call(awaitable: Awaitable[Any]) -> Any:
            nonlocal entered
            entered += 1
            return await awaitable

        tasks = [asyncio.ensure_future(call(c)) for c in calls]
        await self.received(before + 1)
        assert entered == len(tasks)
        assert not any(task.done() for task in tasks)  # all waiting on the held request
        assert len(self.requests) == before + 1
        self.gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)


@pytest_asyncio.fixture
async def endpoint() -> AsyncIterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", endpoint.handle)  # a wrong path is recorded too
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        endpoint.url = f"http://127.0.0.1:{port}{COGNIGY_TOKEN_PATH}"
        yield endpoint
    finally:
        if endpoint.gate is not None:
            endpoint.gate.set()  # release any request a failed test left held
        await runner.cleanup()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def client(endpoint: TokenEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client(timeout_s=10.0, connect_timeout_s=5.0, max_connections=10)
    async with client:
        yield client


MakeAuth = Callable[..., ClientCredentialsAuth]


@pytest_asyncio.fixture
async def make_auth(
    endpoint: TokenEndpoint, client: httpx.AsyncClient, clock: FakeClock
) -> AsyncIterator[MakeAuth]:
    made: list[ClientCredentialsAuth] = []

    def make(**kwargs: object) -> ClientCredentialsAuth:
        settings: dict[str, object] = {
            "token_url": endpoint.url,
            "client_id": "cid",
            "client_secret": SECRET,
            "scopes": ("llm.gateway:invoke",),
            "clock": clock,
        }
        settings.update(kwargs)
        auth = ClientCredentialsAuth(**settings)  # type: ignore[arg-type]
        auth.bind(client)
        made.append(auth)
        return auth

    yield make
    for auth in made:
        await auth.aclose()


# -- secrets -----------------------------------------------------------------------------


def test_a_secret_loads_from_a_value_an_env_variable_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_SECRET", SECRET)
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    loaded = [
        load_secret(SECRET),
        load_secret(SecretStr(SECRET)),
        load_secret(env="GW_SECRET"),
        load_secret(file=path),
    ]
    assert {s.get_secret_value() for s in loaded} == {SECRET}


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({}, "exactly one"),
        ({"value": SECRET, "env": "X"}, "exactly one"),
        ({"env": "GW_SURELY_UNSET_VARIABLE"}, "GW_SURELY_UNSET_VARIABLE is not set"),
        ({"file": "/nonexistent/secret"}, "cannot read /nonexistent/secret"),
        ({"value": "  "}, "empty"),
    ],
)
def test_secret_loading_errors_name_what_to_fix(kwargs: dict[str, str], fix: str) -> None:
    with pytest.raises(ConfigError, match=fix) as info:
        load_secret(**kwargs)
    assert SECRET not in str(info.value)


def test_the_provider_never_shows_its_secret(make_auth: MakeAuth, endpoint: TokenEndpoint) -> None:
    auth = make_auth()
    for text in (repr(auth), str(auth), repr(vars(auth) if hasattr(auth, "__dict__") else "")):
        assert SECRET not in text
    assert "cid" in repr(auth) and endpoint.url in repr(auth)


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({"token_url": "ftp://x"}, "http"),
        ({"token_url": f"https://cid:{SECRET}@x.example/token"}, "must not carry credentials"),
        ({"client_id": ""}, "client_id"),
        ({"style": "header"}, "style"),
        ({"refresh_margin_s": -1}, "refresh_margin_s"),
    ],
)
def test_bad_settings_name_the_fix(kwargs: dict[str, object], fix: str) -> None:
    settings: dict[str, object] = {
        "token_url": OFFLINE_TOKEN_URL,
        "client_id": "c",
        "client_secret": "s",
    }
    settings.update(kwargs)
    with pytest.raises(ConfigError, match=fix) as info:
        ClientCredentialsAuth(**settings)  # type: ignore[arg-type]
    assert SECRET not in str(info.value)


# -- the token request -------------------------------------------------------------------


async def test_form_style_posts_the_credentials_and_scopes_as_form_fields(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    auth = make_auth(scopes=("a:b", "c.d"))
    assert await auth.token() == "tok-1"
    request = endpoint.requests[0]
    assert (request.method, request.url) == ("POST", endpoint.url)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers
    assert endpoint.form() == {
        "grant_type": ["client_credentials"],
        "scope": ["a:b c.d"],
        "client_id": ["cid"],
        "client_secret": [SECRET],
    }


async def test_basic_style_sends_the_credentials_as_http_basic_only(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    auth = make_auth(style="basic")
    await auth.token()
    request = endpoint.requests[0]
    expected = base64.b64encode(f"cid:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert endpoint.form() == {
        "grant_type": ["client_credentials"],
        "scope": ["llm.gateway:invoke"],
    }


def test_vendor_constructors_pick_the_vendor_token_path_and_style() -> None:
    cognigy = ClientCredentialsAuth.cognigy("https://t.example/", client_id="c", client_secret="s")
    genesys = ClientCredentialsAuth.genesys("https://g.example", client_id="c", client_secret="s")
    assert (cognigy.token_url, cognigy.style) == ("https://t.example/api/v1/auth/token", "form")
    assert (genesys.token_url, genesys.style) == ("https://g.example/login/oauth2/token", "basic")


# -- caching and refresh -----------------------------------------------------------------


async def test_the_token_is_cached_until_the_refresh_margin(
    make_auth: MakeAuth, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    auth = make_auth(refresh_margin_s=60)
    assert await auth.token() == "tok-1"
    clock.now += 3600 - 61
    assert await auth.token() == "tok-1"
    clock.now += 2  # inside the margin, still valid: refreshed ahead of expiry
    assert await auth.token() == "tok-2"
    assert auth.token_requests == len(endpoint.requests) == 2


async def test_the_margin_is_capped_at_half_a_short_tokens_life(
    make_auth: MakeAuth, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    endpoint.expires_in = 10
    auth = make_auth(refresh_margin_s=60)
    await auth.token()
    clock.now += 4.9
    assert await auth.token() == "tok-1"
    clock.now += 0.2
    assert await auth.token() == "tok-2"
    assert len(endpoint.requests) == 2


async def test_200_concurrent_callers_with_no_token_cause_one_request(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    auth = make_auth()
    tokens = await endpoint.held(auth.token() for _ in range(200))
    assert tokens == ["tok-1"] * 200
    assert auth.token_requests == len(endpoint.requests) == 1


async def test_200_concurrent_callers_with_an_expired_token_cause_one_request(
    make_auth: MakeAuth, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    auth = make_auth()
    await auth.token()
    clock.now += 7200
    tokens = await endpoint.held(auth.token() for _ in range(200))
    assert tokens == ["tok-2"] * 200
    assert auth.token_requests == len(endpoint.requests) == 2


async def test_a_refresh_after_401_replaces_only_the_token_that_was_rejected(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    auth = make_auth()
    stale = await auth.token()
    results = await endpoint.held(auth.refresh_after_401(stale) for _ in range(200))
    assert results == [True] * 200
    assert await auth.token() == "tok-2"
    assert await auth.refresh_after_401(stale) is True  # already replaced: no new request
    assert len(endpoint.requests) == 2


async def test_a_cancelled_caller_does_not_cancel_the_shared_request(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    endpoint.gate = asyncio.Event()
    auth = make_auth()
    impatient = asyncio.ensure_future(auth.token())
    patient = asyncio.ensure_future(auth.token())
    await endpoint.received(1)  # the shared request is in flight, held at the endpoint
    impatient.cancel()
    endpoint.gate.set()
    assert await patient == "tok-1"
    assert impatient.cancelled()
    assert len(endpoint.requests) == 1


async def test_a_failed_refresh_ahead_keeps_the_still_valid_token(
    make_auth: MakeAuth, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    auth = make_auth(refresh_margin_s=60)
    await auth.token()
    endpoint.answer = reply(503, b"{}")
    clock.now += 3600 - 30
    assert await auth.token() == "tok-1"
    assert await auth.token() == "tok-1"  # held back: no second failing request at once
    assert len(endpoint.requests) == 2
    clock.now += 31  # expired: the failure now surfaces
    with pytest.raises(GatewayServerError, match="token endpoint"):
        await auth.token()
    assert len(endpoint.requests) == 3


async def test_concurrent_callers_share_one_failure_and_the_next_call_tries_again(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    endpoint.answer = reply(503, b"{}")
    auth = make_auth()
    results = await endpoint.held(auth.token() for _ in range(50))
    assert all(isinstance(r, GatewayServerError) for r in results)
    assert len(endpoint.requests) == 1
    endpoint.answer = None
    assert await auth.token() == "tok-2"


# -- failures ----------------------------------------------------------------------------


async def test_rejected_credentials_name_the_token_url_and_never_the_secret(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    body = {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}
    endpoint.answer = reply(401, orjson.dumps(body))
    auth = make_auth()
    with pytest.raises(GatewayAuthError) as info:
        await auth.token()
    error = info.value
    assert f"client credentials rejected by {endpoint.url}" in str(error)
    assert "'cid'" in str(error)
    assert error.status_code is None  # not the gateway's 401: nothing to refresh
    rendered = [str(error), repr(error), "".join(traceback.format_exception(error))]
    assert all(SECRET not in text for text in rendered)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"token_type": "Bearer", "expires_in": 60}',
        b'{"access_token": "t", "token_type": "mac", "expires_in": 60}',
        b'{"access_token": "t", "expires_in": -5}',
    ],
)
async def test_a_token_answer_that_breaks_the_contract_is_a_protocol_error(
    make_auth: MakeAuth, endpoint: TokenEndpoint, body: bytes
) -> None:
    endpoint.answer = reply(200, body)
    with pytest.raises(GatewayProtocolError, match="token endpoint"):
        await make_auth().token()
    assert len(endpoint.requests) == 1


async def test_an_unbound_provider_says_how_to_bind_it() -> None:
    auth = ClientCredentialsAuth(token_url=OFFLINE_TOKEN_URL, client_id="c", client_secret="s")
    with pytest.raises(RuntimeError, match="auth="):
        await auth.token()


async def test_a_provider_serves_one_gateway_client_at_a_time(
    make_auth: MakeAuth,
) -> None:
    auth = make_auth()
    other = build_http_client(timeout_s=10.0, connect_timeout_s=5.0, max_connections=10)
    async with other:
        with pytest.raises(ConfigError, match="its own ClientCredentialsAuth"):
            auth.bind(other)


async def test_redact_masks_the_secret_and_the_cached_token(make_auth: MakeAuth) -> None:
    auth = make_auth()
    token = await auth.token()
    assert auth.redact(f"x {SECRET} y {token} z") == "x *** y *** z"
