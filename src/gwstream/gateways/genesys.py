"""Adapters for the Genesys Cloud LLM Gateway: streamed invoke and prompt invocations.

Both authenticate with OAuth2 client credentials (HTTP Basic to
``{org}/login/oauth2/token``, see :meth:`ClientCredentialsAuth.genesys`).

- **invoke** (seed 002): ``POST {base}/api/v2/ai/llm/gateway/invoke`` with
  ``modelId``, ``messages``, ``stream`` and optional ``temperature`` and
  ``maxTokens``; the request's system text goes in ``systemInstruction``,
  never as a system message. Streamed by default (as in the seed): Server-Sent
  Events, ``data:`` lines holding ``choices[0].delta`` chunks, ended by
  ``data: [DONE]``; a stream without ``[DONE]`` is a dropped stream. With
  ``stream=False`` the gateway answers one JSON object
  (``choices[0].message.content``, ``modelId``). The contract carries no usage
  (an OpenAI-style ``usage`` is read if a gateway sends one), so usage is
  normally counted with tiktoken.
- **invocations** (seed 004): ``POST {base}/api/v2/ai/llm/gateway/invocations``
  runs a prompt configuration stored in Genesys: ``promptId`` (the gateway's
  ``prompt_id`` setting, else its model), ``userInput`` (the last user message: the prompt config
  owns the system prompt and the template) and ``options`` asking for
  ``returnTokenUsage``. The reply's ``output`` is the text and
  ``tokenUsage: {prompt, completion}`` the usage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import orjson

from gwstream.errors import ConfigError, GatewayClientError, GatewayProtocolError
from gwstream.gateways.adapter import Exchange, HttpGateway
from gwstream.gateways.base import GatewayRequest
from gwstream.gateways.completion import Completion, read_sse_chat, token_count
from gwstream.gateways.openai import parse_chat_completion
from gwstream.gateways.protocols import PROTOCOLS

__all__ = [
    "INVOCATIONS_PATH",
    "INVOKE_PATH",
    "GenesysInvocationsGateway",
    "GenesysInvokeGateway",
    "build_invocation_payload",
    "build_invoke_payload",
    "parse_invocation",
    "parse_invoke_reply",
]

INVOKE_PATH = PROTOCOLS["genesys.invoke"].path
INVOCATIONS_PATH = PROTOCOLS["genesys.invocations"].path


def build_invoke_payload(
    request: GatewayRequest, model: str, *, stream: bool = True
) -> dict[str, Any]:
    """The invoke body: ``modelId``, ``messages``, ``systemInstruction``, ``stream``."""
    payload: dict[str, Any] = {
        "modelId": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": stream,
    }
    if request.system is not None:
        payload["systemInstruction"] = request.system
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.max_tokens is not None:
        payload["maxTokens"] = request.max_tokens
    return payload


def invoke_prompt(payload: dict[str, Any]) -> list[dict[str, str]]:
    """The messages the model sees for an invoke body (the system instruction first)."""
    messages: list[dict[str, str]] = list(payload["messages"])
    system = payload.get("systemInstruction")
    if isinstance(system, str):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def parse_invoke_reply(body: bytes) -> Completion:
    """Parse a plain (non-streamed) invoke reply: chat-completion shaped, ``modelId``."""
    reply = parse_chat_completion(body)
    if reply.model is None:
        try:
            model = orjson.loads(body).get("modelId")
        except (orjson.JSONDecodeError, AttributeError):
            model = None
        if isinstance(model, str):
            return dataclasses.replace(reply, model=model)
    return reply


def build_invocation_payload(request: GatewayRequest, prompt_id: str) -> dict[str, Any]:
    """The invocations body for prompt configuration ``prompt_id``.

    Raises GatewayClientError if the request has no user message to send.
    """
    user_input = next((m.content for m in reversed(request.messages) if m.role == "user"), None)
    if user_input is None:
        raise GatewayClientError(
            "a Genesys invocation needs a user message (userInput); the request has none",
            attempts=0,
        )
    return {
        "promptId": prompt_id,
        "userInput": user_input,
        "options": {"stream": False, "returnTokenUsage": True},
    }


def parse_invocation(body: bytes) -> Completion:
    """Parse an invocation reply ``{"responseId", "output", "tokenUsage": {prompt, completion}}``.

    ``output`` must be a string; ``tokenUsage`` counts only when both figures
    are non-negative integers.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayProtocolError(f"reply is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise GatewayProtocolError("reply is not a JSON object")
    output = data.get("output")
    if not isinstance(output, str):
        raise GatewayProtocolError("invocation reply has no output text")
    prompt = completion = None
    usage = data.get("tokenUsage")
    if isinstance(usage, dict):
        prompt, completion = (
            token_count(usage.get("prompt")),
            token_count(usage.get("completion")),
        )
        if prompt is None or completion is None:
            prompt = completion = None
    response_id = data.get("responseId")
    model = data.get("modelId")
    finish = data.get("finishReason")
    return Completion(
        text=output,
        finish_reason=finish if isinstance(finish, str) else None,
        model=model if isinstance(model, str) else None,
        id=response_id if isinstance(response_id, str) else None,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


class GenesysInvokeGateway(HttpGateway, protocol="genesys.invoke"):
    """Genesys LLM Gateway invoke, streamed as SSE until ``[DONE]``; needs ``auth``."""

    def build_exchange(self, request: GatewayRequest, model: str) -> Exchange:
        stream = self.streams(request)
        payload = build_invoke_payload(request, model, stream=stream)
        return Exchange(
            body=orjson.dumps(payload),
            prompt=invoke_prompt(payload),
            stream=stream,
            accept="text/event-stream" if stream else "application/json",
        )

    def parse_reply(self, body: bytes) -> Completion:
        return parse_invoke_reply(body)

    async def read_stream(self, chunks: AsyncIterator[bytes], endpoint: str) -> Completion:
        return await read_sse_chat(chunks, endpoint)


class GenesysInvocationsGateway(HttpGateway, protocol="genesys.invocations"):
    """Genesys prompt invocations of ``prompt_id`` (default: the request's model).

    The model stays what results report and prices are looked up by; the
    prompt configuration in Genesys decides what actually runs.
    """

    def __init__(self, *, prompt_id: str | None = None, **kwargs: Any) -> None:
        """``prompt_id`` names the Genesys prompt to run (default: the model name);
        every other keyword is :class:`HttpGateway`'s."""
        if prompt_id is not None and not prompt_id.strip():
            raise ConfigError(
                f"gateway {kwargs.get('name') or self.protocol!r}: prompt_id is empty"
            )
        super().__init__(**kwargs)
        self.prompt_id = prompt_id

    def build_exchange(self, request: GatewayRequest, model: str) -> Exchange:
        payload = build_invocation_payload(request, self.prompt_id or model)
        return Exchange(
            body=orjson.dumps(payload),
            prompt=[{"role": "user", "content": payload["userInput"]}],
        )

    def parse_reply(self, body: bytes) -> Completion:
        return parse_invocation(body)
