"""build_gateway / build_auth: one adapter per protocol from flat settings."""

from __future__ import annotations

import pytest

from gwstream.errors import ConfigError
from gwstream.gateways import (
    PROTOCOLS,
    CognigyChatGateway,
    CognigyInferenceGateway,
    Gateway,
    GenesysInvocationsGateway,
    GenesysInvokeGateway,
    OpenAIChatGateway,
    build_gateway,
)

CREDS = {"client_id": "cid", "client_secret": "SEKRIT"}


@pytest.mark.parametrize(
    ("protocol", "cls"),
    [
        ("openai", OpenAIChatGateway),
        ("cognigy.chat", CognigyChatGateway),
        ("cognigy.inference", CognigyInferenceGateway),
        ("genesys.invoke", GenesysInvokeGateway),
        ("genesys.invocations", GenesysInvocationsGateway),
    ],
)
def test_each_protocol_gets_its_adapter(protocol: str, cls: type) -> None:
    creds = {} if protocol == "openai" else CREDS
    gateway = build_gateway(protocol, base_urls=["http://a.example"], **creds)
    assert type(gateway) is cls and isinstance(gateway, Gateway)
    assert gateway.name == protocol
    assert set(PROTOCOLS) == {
        "openai",
        "cognigy.chat",
        "cognigy.inference",
        "genesys.invoke",
        "genesys.invocations",
    }


def test_flat_oauth_settings_get_the_vendors_defaults() -> None:
    cognigy = build_gateway(
        "cognigy.inference", base_urls=["http://c.example/", "http://d"], **CREDS
    )
    genesys = build_gateway("genesys.invoke", base_url="http://g.example", **CREDS)
    assert cognigy.auth is not None and genesys.auth is not None
    assert (cognigy.auth.token_url, cognigy.auth.style, cognigy.auth.scopes) == (
        "http://c.example/api/v1/auth/token",
        "form",
        ("llm.gateway.inference",),
    )
    assert (genesys.auth.token_url, genesys.auth.style, genesys.auth.scopes) == (
        "http://g.example/login/oauth2/token",
        "basic",
        ("ai:llm:gateway:use", "ai:llm:gateway:stream"),
    )


def test_flat_oauth_settings_can_override_the_defaults() -> None:
    gateway = build_gateway(
        "genesys.invocations",
        base_url="http://g.example",
        token_url="https://login.g.example/oauth/token",
        credentials_in="form",
        scopes=["ai:gateway:write", "ai:prompt:read"],
        prompt_id="p-1",
        **CREDS,
    )
    assert isinstance(gateway, GenesysInvocationsGateway) and gateway.auth is not None
    assert (gateway.auth.token_url, gateway.auth.style, gateway.prompt_id) == (
        "https://login.g.example/oauth/token",
        "form",
        "p-1",
    )
    assert gateway.auth.scopes == ("ai:gateway:write", "ai:prompt:read")


@pytest.mark.parametrize(
    ("protocol", "kwargs", "fix"),
    [
        ("grpc", {}, "unknown gateway protocol 'grpc'; use one of openai"),
        ("openai", {"colour": "red"}, "does not take colour"),
        ("cognigy.chat", {}, "needs OAuth client credentials"),
        ("openai", {"client_id": "c", "client_secret": "s"}, "need a token_url"),
        ("cognigy.chat", {"stream": True, **CREDS}, "no streamed form"),
    ],
)
def test_bad_settings_name_the_fix(protocol: str, kwargs: dict[str, object], fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        build_gateway(protocol, base_url="http://a.example", **kwargs)


def test_the_secret_never_shows_in_the_built_gateway() -> None:
    gateway = build_gateway("cognigy.chat", base_url="http://a.example", **CREDS)
    assert "SEKRIT" not in repr(gateway)


def test_the_secret_is_masked_as_requests_carry_it_and_credentials_of_any_kind_too() -> None:
    import base64
    from urllib.parse import quote_plus

    from gwstream.gateways.client import mask_credentials

    secret = "CS+TEST/SECRET=456&x y"
    gateway = build_gateway(
        "genesys.invoke", base_urls=["http://a.example"], client_id="gen", client_secret=secret
    )
    assert gateway.auth is not None
    basic = base64.b64encode(f"gen:{secret}".encode()).decode()
    echoed = f"bad credentials Basic {basic}; form client_secret={quote_plus(secret)}; {secret}"
    masked = gateway.auth.redact(echoed)
    assert secret not in masked and basic not in masked and quote_plus(secret) not in masked
    assert mask_credentials("Bearer sk-abc123456 and password: hunter22") == (
        "Bearer *** and password: ***"
    )
    assert mask_credentials("the token was rejected") == "the token was rejected"
