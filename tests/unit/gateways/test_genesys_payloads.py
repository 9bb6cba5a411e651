"""Genesys adapters' pure parts: invoke and invocation bodies, reply parsing."""

from __future__ import annotations

import orjson
import pytest

from gwstream.errors import ConfigError, GatewayClientError, GatewayProtocolError
from gwstream.gateways import (
    ChatMessage,
    ClientCredentialsAuth,
    GatewayRequest,
    GenesysInvocationsGateway,
    GenesysInvokeGateway,
)
from gwstream.gateways.genesys import (
    build_invocation_payload,
    build_invoke_payload,
    invoke_prompt,
    parse_invocation,
    parse_invoke_reply,
)

AUTH = ClientCredentialsAuth.genesys("http://g.example", client_id="c", client_secret="s")


def request(**overrides: object) -> GatewayRequest:
    fields: dict[str, object] = {
        "messages": (
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello!"),
            ChatMessage("user", "Move my visit to Friday"),
        ),
        "model": "gpt-4o-mini",
        "request_id": "t",
        "system": "You schedule visits.",
    }
    fields.update(overrides)
    return GatewayRequest(**fields)  # type: ignore[arg-type]


def test_invoke_puts_the_system_text_in_system_instruction_not_in_messages() -> None:
    payload = build_invoke_payload(request(max_tokens=64, temperature=0.3), "model-x")
    assert payload == {
        "modelId": "model-x",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Move my visit to Friday"},
        ],
        "stream": True,
        "systemInstruction": "You schedule visits.",
        "temperature": 0.3,
        "maxTokens": 64,
    }


def test_invoke_without_system_text_has_no_system_instruction() -> None:
    payload = build_invoke_payload(request(system=None), "m", stream=False)
    assert "systemInstruction" not in payload and payload["stream"] is False


def test_the_counted_invoke_prompt_leads_with_the_system_instruction() -> None:
    prompt = invoke_prompt(build_invoke_payload(request(), "m"))
    assert prompt[0] == {"role": "system", "content": "You schedule visits."}
    assert len(prompt) == 4


def test_an_invocation_sends_the_prompt_id_the_last_user_text_and_asks_for_usage() -> None:
    assert build_invocation_payload(request(), "support-v2") == {
        "promptId": "support-v2",
        "userInput": "Move my visit to Friday",
        "options": {"stream": False, "returnTokenUsage": True},
    }


def test_an_invocation_without_a_user_message_is_a_client_error() -> None:
    with pytest.raises(GatewayClientError, match="userInput"):
        build_invocation_payload(request(messages=(ChatMessage("assistant", "x"),)), "p")


def test_an_invocation_reply_gives_output_id_and_token_usage() -> None:
    body = orjson.dumps(
        {
            "responseId": "inv-123",
            "output": "Done.",
            "tokenUsage": {"prompt": 120, "completion": 45},
        }
    )
    reply = parse_invocation(body)
    assert (reply.text, reply.id, reply.prompt_tokens, reply.completion_tokens) == (
        "Done.",
        "inv-123",
        120,
        45,
    )


@pytest.mark.parametrize("usage", [None, {"prompt": 1}, {"prompt": 1, "completion": -2}, "x"])
def test_an_invocation_reply_without_valid_usage_leaves_it_unknown(usage: object) -> None:
    reply = parse_invocation(orjson.dumps({"output": "x", "tokenUsage": usage}))
    assert (reply.prompt_tokens, reply.completion_tokens) == (None, None)


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"output": 5}', b'{"responseId": "x"}'])
def test_an_invocation_reply_without_output_text_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(GatewayProtocolError):
        parse_invocation(body)


def test_a_plain_invoke_reply_reads_its_model_id() -> None:
    body = orjson.dumps(
        {
            "id": "abc",
            "modelId": "model-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sure."}}],
        }
    )
    reply = parse_invoke_reply(body)
    assert (reply.text, reply.model, reply.id, reply.prompt_tokens) == (
        "Sure.",
        "model-x",
        "abc",
        None,
    )


def test_invoke_streams_by_default_and_when_the_request_asks() -> None:
    streamed = GenesysInvokeGateway(base_url="http://g.example", auth=AUTH)
    plain = GenesysInvokeGateway(base_url="http://g.example", auth=AUTH, stream=False)
    assert streamed.streams(request()) is True
    assert plain.streams(request()) is False
    assert plain.streams(request(stream=True)) is True


def test_invocations_use_the_prompt_id_setting_over_the_model() -> None:
    gateway = GenesysInvocationsGateway(base_url="http://g.example", auth=AUTH, prompt_id="p-7")
    body = orjson.loads(gateway.build_exchange(request(), "gpt-4o-mini").body)
    assert body["promptId"] == "p-7"
    with pytest.raises(ConfigError, match="prompt_id is empty"):
        GenesysInvocationsGateway(base_url="http://g.example", auth=AUTH, prompt_id=" ")


def test_genesys_adapters_need_credentials() -> None:
    with pytest.raises(ConfigError, match=r"auth=ClientCredentialsAuth\.genesys"):
        GenesysInvokeGateway(base_url="http://g.example")
