"""ClientCredentialsAuth against an in-process token endpoint (an httpx.MockTransport).

Token caching, refresh ahead of expiry, single-flight refreshes, refresh after a
401, how each credential style is sent, and what failures say (never the secret).
"""

from __future__ import annotations

import asyncio
import base64
import traceback
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
import pytest_asyncio
from pydantic import SecretStr

from gwstream.errors import (
    ConfigError,
    GatewayAuthError,
    GatewayProtocolError,
    GatewayServerError,
)
from gwstream.gateways.auth import ClientCredentialsAuth, load_secret

SECRET = "s3cr3t-UNIT-9f8e7d"
TOKEN_URL = "https://tenant.example/api/v1/auth/token"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenEndpoint:
    """Issues tok-1, tok-2, ... and records every request; ``answer`` overrides the reply."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.expires_in: object = 3600
        self.answer: Callable[[httpx.Request], httpx.Response] | None = None
        self.seen = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.seen.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.answer is not None:
            return self.answer(request)
        body = {
            "access_token": f"tok-{len(self.requests)}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": "llm.gateway:invoke",
        }
        return httpx.Response(200, content=orjson.dumps(body))

    def form(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].content.decode())


@pytest.fixture
def endpoint() -> TokenEndpoint:
    return TokenEndpoint()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def client(endpoint: TokenEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        yield client


@pytest.fixture
def make_auth(client: httpx.AsyncClient, clock: FakeClock) -> Callable[..., ClientCredentialsAuth]:
    def make(**kwargs: object) -> ClientCredentialsAuth:
        settings: dict[str, object] = {
            "token_url": TOKEN_URL,
            "client_id": "cid",
            "client_secret": SECRET,
            "scopes": ("llm.gateway:invoke",),
            "clock": clock,
        }
        settings.update(kwargs)
        auth = ClientCredentialsAuth(**settings)  # type: ignore[arg-type]
        auth.bind(client)
        return auth

    return make


MakeAuth = Callable[..., ClientCredentialsAuth]


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


def test_the_provider_never_shows_its_secret(make_auth: MakeAuth) -> None:
    auth = make_auth()
    for text in (repr(auth), str(auth), repr(vars(auth) if hasattr(auth, "__dict__") else "")):
        assert SECRET not in text
    assert "cid" in repr(auth) and TOKEN_URL in repr(auth)


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
    settings: dict[str, object] = {"token_url": TOKEN_URL, "client_id": "c", "client_secret": "s"}
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
    assert (request.method, str(request.url)) == ("POST", TOKEN_URL)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
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


async def test_200_concurrent_callers_with_no_token_cause_one_request(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    auth = make_auth()
    tokens = await asyncio.gather(*(auth.token() for _ in range(200)))
    assert set(tokens) == {"tok-1"}
    assert len(endpoint.requests) == 1


async def test_200_concurrent_callers_with_an_expired_token_cause_one_request(
    make_auth: MakeAuth, endpoint: TokenEndpoint, clock: FakeClock
) -> None:
    auth = make_auth()
    await auth.token()
    clock.now += 7200
    tokens = await asyncio.gather(*(auth.token() for _ in range(200)))
    assert set(tokens) == {"tok-2"}
    assert len(endpoint.requests) == 2


async def test_a_refresh_after_401_replaces_only_the_token_that_was_rejected(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    auth = make_auth()
    stale = await auth.token()
    results = await asyncio.gather(*(auth.refresh_after_401(stale) for _ in range(200)))
    assert all(results)
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
    await endpoint.seen.wait()  # the shared request is in flight
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
    endpoint.answer = lambda _: httpx.Response(503, content=b"{}")
    clock.now += 3600 - 30
    assert await auth.token() == "tok-1"
    assert await auth.token() == "tok-1"  # held back: no second failing request at once
    assert len(endpoint.requests) == 2
    clock.now += 31  # expired: the failure now surfaces
    with pytest.raises(GatewayServerError, match="token endpoint"):
        await auth.token()


async def test_concurrent_callers_share_one_failure_and_the_next_call_tries_again(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    endpoint.answer = lambda _: httpx.Response(503, content=b"{}")
    auth = make_auth()
    results = await asyncio.gather(*(auth.token() for _ in range(50)), return_exceptions=True)
    assert all(isinstance(r, GatewayServerError) for r in results)
    assert len(endpoint.requests) == 1
    endpoint.answer = None
    assert await auth.token() == "tok-2"


# -- failures ----------------------------------------------------------------------------


async def test_rejected_credentials_name_the_token_url_and_never_the_secret(
    make_auth: MakeAuth, endpoint: TokenEndpoint
) -> None:
    body = {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}
    endpoint.answer = lambda _: httpx.Response(401, content=orjson.dumps(body))
    auth = make_auth()
    with pytest.raises(GatewayAuthError) as info:
        await auth.token()
    error = info.value
    assert f"client credentials rejected by {TOKEN_URL}" in str(error)
    assert "'cid'" in str(error)
    assert error.status_code is None  # not the gateway's 401: nothing to refresh
    rendered = [str(error), repr(error), "".join(traceback.format_exception(error))]
    assert all(SECRET not in text for text in rendered)


async def test_a_refused_scope_is_named(make_auth: MakeAuth, endpoint: TokenEndpoint) -> None:
    body = {"error": "invalid_scope", "error_description": "unknown scope"}
    endpoint.answer = lambda _: httpx.Response(400, content=orjson.dumps(body))
    with pytest.raises(GatewayAuthError, match=r"refused to grant scope.*llm\.gateway:invoke"):
        await make_auth().token()


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
    endpoint.answer = lambda _: httpx.Response(200, content=body)
    with pytest.raises(GatewayProtocolError, match="token endpoint"):
        await make_auth().token()


async def test_an_unbound_provider_says_how_to_bind_it() -> None:
    auth = ClientCredentialsAuth(token_url=TOKEN_URL, client_id="c", client_secret="s")
    with pytest.raises(RuntimeError, match="auth="):
        await auth.token()


async def test_a_provider_serves_one_gateway_client_at_a_time(
    make_auth: MakeAuth,
) -> None:
    auth = make_auth()
    async with httpx.AsyncClient() as other:
        with pytest.raises(ConfigError, match="its own ClientCredentialsAuth"):
            auth.bind(other)


async def test_redact_masks_the_secret_and_the_cached_token(make_auth: MakeAuth) -> None:
    auth = make_auth()
    token = await auth.token()
    assert auth.redact(f"x {SECRET} y {token} z") == "x *** y *** z"
