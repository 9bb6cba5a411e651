"""The OpenAI adapter's pure parts: payloads, reply parsing, configuration checks."""

from __future__ import annotations

import orjson
import pytest
from pydantic import SecretStr

from gwstream.errors import ConfigError, GatewayProtocolError
from gwstream.gateways import ChatMessage, Gateway, GatewayRequest, OpenAIChatGateway
from gwstream.gateways.openai import build_payload, parse_chat_completion

SECRET = "sk-unit-SECRET-4242"


def request(**overrides: object) -> GatewayRequest:
    fields: dict[str, object] = {
        "messages": (ChatMessage("user", "Where is my order?"),),
        "model": "gpt-4o-mini",
        "request_id": "turn-1",
    }
    fields.update(overrides)
    return GatewayRequest(**fields)  # type: ignore[arg-type]


def reply(**overrides: object) -> bytes:
    body: dict[str, object] = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }
    body.update(overrides)
    return orjson.dumps(body)


def test_payload_prepends_the_system_prompt_and_omits_unset_options() -> None:
    payload = build_payload(request(system="Be brief."), "gpt-4o-mini")
    assert payload == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is my order?"},
        ],
        "stream": False,
    }


def test_payload_carries_max_tokens_and_temperature_when_set() -> None:
    payload = build_payload(request(max_tokens=64, temperature=0.0), "m")
    assert (payload["max_tokens"], payload["temperature"]) == (64, 0.0)


def test_reply_parsing_reads_text_metadata_and_usage() -> None:
    parsed = parse_chat_completion(reply())
    assert (parsed.text, parsed.finish_reason, parsed.model, parsed.id) == (
        "Hi!",
        "stop",
        "gpt-4o-mini-2024-07-18",
        "chatcmpl-abc",
    )
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (12, 3)


def test_reply_without_usage_leaves_token_figures_unknown() -> None:
    body = orjson.loads(reply())
    del body["usage"]
    parsed = parse_chat_completion(orjson.dumps(body))
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (None, None)


def test_reply_with_partial_usage_is_treated_as_missing() -> None:
    parsed = parse_chat_completion(reply(usage={"prompt_tokens": 5}))
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (None, None)


def test_null_content_reads_as_empty_text() -> None:
    choices = [{"index": 0, "message": {"role": "assistant", "content": None}}]
    assert parse_chat_completion(reply(choices=choices)).text == ""


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        orjson.dumps({"id": "x"}),
        orjson.dumps({"choices": []}),
        orjson.dumps({"choices": [{"index": 0}]}),
        orjson.dumps({"choices": [{"message": {"content": 42}}]}),
    ],
)
def test_replies_that_break_the_contract_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(GatewayProtocolError):
        parse_chat_completion(body)


def test_gateway_satisfies_the_gateway_protocol() -> None:
    assert isinstance(OpenAIChatGateway(base_url="http://127.0.0.1:1"), Gateway)


def test_gateway_repr_never_shows_the_api_key() -> None:
    for key in (SECRET, SecretStr(SECRET)):
        gateway = OpenAIChatGateway(base_url="http://127.0.0.1:1", api_key=key)
        assert SECRET not in repr(gateway)
        assert SECRET not in str(gateway)
        assert "api_key='***'" in repr(gateway)


def test_base_url_trailing_slash_is_dropped() -> None:
    gateway = OpenAIChatGateway(base_urls=["http://a.example/", "https://b.example/proxy"])
    assert gateway.endpoints == ("http://a.example", "https://b.example/proxy")


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({}, "exactly one of base_url or base_urls"),
        ({"base_url": "http://a", "base_urls": ["http://b"]}, "exactly one"),
        ({"base_urls": []}, "base_urls is empty"),
        ({"base_url": "ftp://a.example"}, "http"),
        ({"base_url": "https://api.openai.com/v1"}, "must not end in /v1"),
        ({"base_url": "https://user:pw@a.example"}, "pass api_key instead"),
        ({"base_url": "http://a.example", "timeout_s": 0}, "timeout_s"),
        ({"base_url": "http://a.example", "max_connections": 0}, "max_connections"),
    ],
)
def test_bad_gateway_settings_name_the_fix(kwargs: dict[str, object], fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        OpenAIChatGateway(**kwargs)  # type: ignore[arg-type]


def test_credentials_in_a_bad_base_url_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        OpenAIChatGateway(base_url=f"https://user:{SECRET}@a.example")
    assert SECRET not in str(info.value)
