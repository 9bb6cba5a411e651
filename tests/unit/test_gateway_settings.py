"""Gateway definitions are checked at start-up against protocols and the model matrix."""

from __future__ import annotations

import pytest

from gwstream.config import load_settings
from gwstream.errors import ConfigError

OAUTH = {"client_id": "cx", "client_secret": "s3cret"}


def _gateways(**gw: object) -> dict[str, object]:
    return {"gateways": {"g": {"base_urls": ["http://127.0.0.1:1"], **gw}}, "default_gateway": "g"}


def test_each_protocol_with_what_it_needs_is_accepted() -> None:
    for protocol in ("cognigy.chat", "cognigy.inference", "genesys.invoke"):
        s = load_settings(**_gateways(protocol=protocol, oauth=OAUTH))
        assert s.gateways["g"].token_url() is not None
    s = load_settings(**_gateways(protocol="genesys.invocations", oauth=OAUTH, prompt_id="p-1"))
    assert s.gateways["g"].scopes() == ["ai:gateway:write"]


@pytest.mark.parametrize(
    ("gw", "message"),
    [
        ({"protocol": "grpc"}, r"gateways\.g\.protocol"),
        ({"protocol": "cognigy.chat"}, "needs oauth"),
        ({"protocol": "genesys.invocations", "oauth": OAUTH}, "needs prompt_id"),
        ({"model": "no-such-model"}, "not in the model matrix"),
        ({"max_tokens": 100_000}, "exceeds gpt-4o-mini's max output"),
        ({"rpm": 0}, r"gateways\.g\.rpm"),
        ({"base_urls": ["ftp://x"]}, r"base_urls\[0\] \(ftp://x\): must be an http\(s\) URL"),
        # Credentials in a URL are refused without being quoted.
        (
            {"base_urls": ["http://a.example/v1?api-key=SECRETKEY"]},
            r"base_urls\[0\] \(http://a\.example/v1\?\*\*\*\): must not have a query",
        ),
        (
            {"base_urls": ["http://a.example", "http://u:pw-SECRET@b.example"]},
            r"base_urls\[1\] \(http://\*\*\*@b\.example\): must not carry credentials",
        ),
        ({"protocol": "cognigy.chat", "oauth": {"client_id": "cx"}}, "client_secret"),
    ],
)
def test_bad_gateway_definitions_fail_at_start_naming_the_problem(
    gw: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings(**_gateways(**gw))
    assert "SECRETKEY" not in str(refused.value) and "pw-SECRET" not in str(refused.value)


def test_a_model_can_be_added_to_the_matrix_per_gateway() -> None:
    s = load_settings(
        **_gateways(
            model="in-house-13b",
            max_tokens=900,
            models={"in-house-13b": {"context_window": 8192, "max_output_tokens": 1024}},
        )
    )
    assert s.gateways["g"].model_limits("in-house-13b") is not None


def test_a_tenant_on_an_unknown_gateway_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"tenants\.acme\.gateway"):
        load_settings(tenants={"acme": {"gateway": "nowhere"}})


def test_secrets_do_not_appear_in_the_settings_repr() -> None:
    s = load_settings(**_gateways(protocol="cognigy.chat", oauth=OAUTH))
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())


def test_a_stream_form_the_protocol_lacks_is_refused() -> None:
    with pytest.raises(ConfigError, match="no buffered form"):
        load_settings(**_gateways(protocol="cognigy.inference", oauth=OAUTH, stream=False))
    with pytest.raises(ConfigError, match="no streamed form"):
        load_settings(**_gateways(protocol="cognigy.chat", oauth=OAUTH, stream=True))


def test_retry_and_fallback_statuses_take_only_retryable_kinds() -> None:
    from pydantic import ValidationError

    from gwstream.gateways.settings import GatewaySettings

    ok = GatewaySettings(base_urls=["http://gw"], retry_on_status=[429, 529], fallback_on_status=[])
    assert (ok.retry_on_status, ok.fallback_on_status) == ([429, 529], [])
    with pytest.raises(ValidationError, match=r"remove \[400\]"):
        GatewaySettings(base_urls=["http://gw"], fallback_on_status=[400, 503])


def test_an_empty_api_key_from_the_environment_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GWSTREAM_GATEWAYS__G__API_KEY", "")
    with pytest.raises(ConfigError) as refused:
        load_settings(**_gateways())
    assert "gateways.g.api_key (GWSTREAM_GATEWAYS__G__API_KEY): is empty" in str(refused.value)


def test_an_api_key_with_a_control_character_inside_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A line break inside a key would fail every call at aiohttp's header check.
    monkeypatch.setenv("GWSTREAM_GATEWAYS__G__API_KEY", "sk-live\r\nX-Evil: 1")
    with pytest.raises(ConfigError) as refused:
        load_settings(**_gateways())
    assert "gateways.g.api_key (GWSTREAM_GATEWAYS__G__API_KEY): holds a control character" in str(
        refused.value
    )
    assert "sk-live" not in str(refused.value)


def test_a_base_url_that_is_no_url_is_named_by_its_place_alone() -> None:
    import pytest
    from pydantic import ValidationError

    from gwstream.gateways.settings import GatewaySettings

    with pytest.raises(ValidationError) as err:
        GatewaySettings(base_urls=["sk-pasted-key-here"])
    text = err.value.errors()[0]["msg"]  # what gwstream prints (pydantic's repr adds the input)
    assert text == "Value error, base_urls[0]: must be an http(s) URL with a host"


def test_a_repeated_base_url_or_an_api_key_on_an_oauth_protocol_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    from gwstream.gateways.settings import GatewaySettings

    with pytest.raises(ValidationError, match=r"base_urls\[1\] repeats an earlier URL"):
        GatewaySettings(base_urls=["https://gw.example/", "https://gw.example"])
    with pytest.raises(ValidationError, match=r"base_urls\[1\] repeats an earlier URL"):
        GatewaySettings(base_urls=["http://127.0.0.1:8089", "HTTP://127.0.0.1:8089/"])
    with pytest.raises(ValidationError, match="authenticates with oauth; api_key and api_key_file"):
        GatewaySettings(
            protocol="cognigy.chat",
            base_urls=["https://cognigy.example"],
            model="gpt-4o",
            api_key_file="/run/secrets/key",  # type: ignore[arg-type]
            oauth={"client_id": "c", "client_secret": "s"},  # type: ignore[arg-type]
        )


def test_phone_regions_are_matched_in_any_case_and_uk_gets_a_hint() -> None:
    import pytest
    from pydantic import ValidationError

    from gwstream.policies import GuardrailPolicy

    assert GuardrailPolicy(phone_regions=["gb", "De"]).phone_regions == ["GB", "DE"]
    with pytest.raises(ValidationError, match=r"the United Kingdom is GB"):
        GuardrailPolicy(phone_regions=["uk"])
