"""The protocol facts are written once: the configuration, the adapters and the typed
builder all agree with them."""

from __future__ import annotations

import pytest

from gwstream.gateways.factory import PROTOCOLS as ADAPTERS
from gwstream.gateways.factory import gateway_from_settings
from gwstream.gateways.genesys import GenesysInvocationsGateway
from gwstream.gateways.protocols import PROTOCOLS, facts
from gwstream.gateways.settings import PROTOCOLS as CONFIGURABLE
from gwstream.gateways.settings import GatewaySettings

OAUTH = {"client_id": "cid", "client_secret": "s3cret"}


def test_every_configurable_protocol_has_facts_and_an_adapter() -> None:
    assert set(CONFIGURABLE) == set(PROTOCOLS) == set(ADAPTERS)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_each_adapter_takes_its_class_attributes_from_the_facts(protocol: str) -> None:
    f, cls = facts(protocol), ADAPTERS[protocol]
    assert (cls.protocol, cls.path, cls.needed_scopes) == (f.name, f.path, f.scopes)
    assert (cls.stream_forms, cls.stream_default) == (f.stream_forms, f.stream_default)
    assert cls.vendor == (f.vendor if f.oauth else None)


def test_an_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"use one of openai, cognigy\.chat"):
        facts("openia")


@pytest.mark.parametrize(
    ("protocol", "style", "token_path"),
    [
        ("cognigy.chat", "form", "/api/v1/auth/token"),
        ("genesys.invoke", "basic", "/login/oauth2/token"),
    ],
)
def test_the_typed_builder_gives_oauth_gateways_their_vendors_token_endpoint_and_scopes(
    protocol: str, style: str, token_path: str
) -> None:
    gw = GatewaySettings(protocol=protocol, base_urls=["https://gw.example"], oauth=OAUTH)
    gateway = gateway_from_settings("vendor", gw)
    assert gateway.auth is not None
    assert gateway.auth.token_url == "https://gw.example" + token_path
    assert (gateway.auth.style, gateway.auth.scopes) == (style, facts(protocol).scopes)
    assert type(gateway) is ADAPTERS[protocol]


def test_the_typed_builder_carries_every_setting() -> None:
    gw = GatewaySettings(
        protocol="genesys.invocations",
        base_urls=["https://gw.example", "https://gw2.example"],
        oauth={**OAUTH, "credentials_in": "form", "scopes": ["custom:scope"]},
        prompt_id="prompt-7",
        max_attempts=2,
        timeout_s=7,
        max_connections=9,
        retry_on_status=[529],
        breaker_failures=3,
    )
    gateway = gateway_from_settings("g", gw)
    assert isinstance(gateway, GenesysInvocationsGateway)
    assert gateway.prompt_id == "prompt-7"
    assert gateway.endpoints == ("https://gw.example", "https://gw2.example")
    assert (gateway.timeout_s, gateway.max_connections) == (7, 9)
    assert gateway.retrier.policy.max_attempts == 2
    assert gateway.retrier.policy.retry_on_status == {529}
    assert gateway.auth is not None and gateway.auth.scopes == ("custom:scope",)
    assert gateway.auth.style == "form"
    probe = gateway_from_settings("g", gw, base_urls=["https://gw2.example"], timeout_s=2)
    assert (probe.endpoints, probe.timeout_s) == (("https://gw2.example",), 2)


def test_an_unreadable_secret_file_names_the_gateway(tmp_path: object) -> None:
    from pathlib import Path

    from gwstream.errors import ConfigError

    missing = Path(str(tmp_path)) / "nope"
    gw = GatewaySettings(base_urls=["http://gw"], api_key_file=missing)
    with pytest.raises(ConfigError, match=r"gateways\.house: api_key_file: cannot read"):
        gateway_from_settings("house", gw)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "api_key_file: file .* is empty"),
        ("\n", "api_key_file: file .* is empty"),
        ("sk-live\nabc\n", "api_key_file: holds a control character"),
    ],
)
def test_an_empty_key_file_or_one_with_a_line_break_inside_is_refused(
    tmp_path: object, content: str, error: str
) -> None:
    from pathlib import Path

    from gwstream.errors import ConfigError

    path = Path(str(tmp_path)) / "key"
    path.write_text(content)
    gw = GatewaySettings(base_urls=["http://gw"], api_key_file=path)
    with pytest.raises(ConfigError, match=rf"gateways\.house: {error}") as info:
        gateway_from_settings("house", gw)
    assert "sk-live" not in str(info.value)


def test_a_key_file_s_trailing_newline_is_dropped(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "key"
    path.write_text("sk-live-abc\n")
    assert GatewaySettings(base_urls=["http://gw"], api_key_file=path).resolved_api_key() == (
        "sk-live-abc"
    )


def test_an_api_key_s_surrounding_whitespace_is_dropped() -> None:
    gw = GatewaySettings(base_urls=["http://gw"], api_key="sk-live-abc\n")  # type: ignore[arg-type]
    assert gw.resolved_api_key() == "sk-live-abc"


def test_an_empty_client_secret_file_is_refused_as_empty(tmp_path: object) -> None:
    from pathlib import Path

    from gwstream.errors import ConfigError

    path = Path(str(tmp_path)) / "secret"
    path.write_text("\n")
    oauth = {"client_id": "id", "client_secret_file": str(path)}
    gw = GatewaySettings(protocol="cognigy.chat", base_urls=["https://gw.example"], oauth=oauth)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"oauth\.client_secret_file: file .* is empty"):
        gateway_from_settings("cog", gw)


def test_a_secret_file_that_is_not_utf8_is_a_configuration_error(tmp_path: object) -> None:
    from pathlib import Path

    from gwstream.errors import ConfigError

    path = Path(str(tmp_path)) / "key"
    path.write_bytes(b"\xff\xfesk-TESTSECRET123")
    gw = GatewaySettings(base_urls=["http://gw"], api_key_file=path)
    with pytest.raises(
        ConfigError, match=r"gateways\.house: api_key_file: .* is not UTF-8"
    ) as info:
        gateway_from_settings("house", gw)
    assert "TESTSECRET" not in str(info.value)
