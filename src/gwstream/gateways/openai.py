"""Adapter for OpenAI-compatible chat completions (``POST {base_url}/v1/chat/completions``).

Holds only what is specific to the protocol: the path, the payload shape and
the reply parsing, buffered or streamed. A request with ``stream=True`` is
sent with ``stream_options.include_usage`` and read as Server-Sent Events:
``data:`` delta chunks, usage in the last chunk, then ``data: [DONE]``; a
stream without ``[DONE]`` is a dropped stream. Servers that ignore
``stream_options`` send no usage, which is then counted with tiktoken.
Everything else (client, retries, fallback) comes from
:class:`~gwstream.gateways.adapter.HttpGateway`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from gwstream.errors import ConfigError, GatewayProtocolError
from gwstream.gateways.adapter import Exchange, HttpGateway
from gwstream.gateways.base import GatewayRequest
from gwstream.gateways.client import build_http_client
from gwstream.gateways.completion import (
    Completion,
    cached_prompt_tokens,
    read_sse_chat,
    token_count,
)
from gwstream.gateways.protocols import PROTOCOLS

__all__ = [
    "CHAT_COMPLETIONS_PATH",
    "ChatCompletion",
    "OpenAIChatGateway",
    "build_http_client",
    "build_payload",
    "chat_messages",
    "parse_chat_completion",
]

CHAT_COMPLETIONS_PATH = PROTOCOLS["openai"].path

ChatCompletion = Completion
"""The parts of a chat-completion reply gwstream uses (the shared :class:`Completion`)."""


def chat_messages(request: GatewayRequest) -> list[dict[str, str]]:
    """The request's messages as chat-completion JSON, ``system`` prepended as a message."""
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.system is not None:
        messages.insert(0, {"role": "system", "content": request.system})
    return messages


def build_payload(
    request: GatewayRequest, model: str, *, stream: bool | None = None
) -> dict[str, Any]:
    """The JSON body of a chat-completion call; streamed if ``stream`` (default:
    ``request.stream``), then asking for usage in the last chunk."""
    stream = request.stream if stream is None else stream
    payload: dict[str, Any] = {"model": model, "messages": chat_messages(request), "stream": stream}
    if stream:
        payload["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        payload["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    return payload


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_chat_completion(body: bytes) -> Completion:
    """Parse a chat-completion reply; raise GatewayProtocolError if it breaks the contract.

    Requires a JSON object with a non-empty ``choices`` list whose first entry
    has a ``message`` object; ``content`` may be null (read as ""). Usage is
    optional and ignored unless both token figures are non-negative integers;
    ``usage.prompt_tokens_details.cached_tokens`` (OpenAI's prompt caching) counts
    when it is one too, at most the prompt tokens (else 0).
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayProtocolError(f"reply is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise GatewayProtocolError("reply is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise GatewayProtocolError("reply has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise GatewayProtocolError("reply choice has no message object")
    content = message.get("content")
    if content is None:
        content = ""
    elif not isinstance(content, str):
        raise GatewayProtocolError("reply message content is not a string")
    prompt_tokens = completion_tokens = None
    cached = 0
    usage = data.get("usage")
    if isinstance(usage, dict):
        prompt_tokens = token_count(usage.get("prompt_tokens"))
        completion_tokens = token_count(usage.get("completion_tokens"))
        if prompt_tokens is None or completion_tokens is None:
            prompt_tokens = completion_tokens = None
        else:
            cached = min(token_count(cached_prompt_tokens(usage)) or 0, prompt_tokens)
    return Completion(
        text=content,
        finish_reason=_optional_str(choices[0].get("finish_reason")),
        model=_optional_str(data.get("model")),
        id=_optional_str(data.get("id")),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_prompt_tokens=cached,
    )


class OpenAIChatGateway(HttpGateway, protocol="openai"):
    """An OpenAI-compatible chat-completions gateway, buffered or streamed, with fallback.

    ``api_key`` is sent as a bearer token (``auth`` may replace it for
    gateways behind OAuth2). A request streams when ``request.stream`` or the
    gateway's ``stream`` setting says so. See
    :class:`~gwstream.gateways.adapter.HttpGateway` for the keyword arguments.
    """

    def _check_base_url(self, base: str) -> str:
        if base.endswith("/v1"):
            raise ConfigError(
                f"gateway base_url must not end in /v1 ({base!r}): the adapter appends "
                f"{CHAT_COMPLETIONS_PATH}; use {base.removesuffix('/v1')!r}"
            )
        return base

    def build_exchange(self, request: GatewayRequest, model: str) -> Exchange:
        stream = self.streams(request)
        payload = build_payload(request, model, stream=stream)
        return Exchange(
            body=orjson.dumps(payload),
            prompt=payload["messages"],
            stream=stream,
            accept="text/event-stream" if stream else "application/json",
        )

    def parse_reply(self, body: bytes) -> Completion:
        return parse_chat_completion(body)

    async def read_stream(self, chunks: AsyncIterator[bytes], endpoint: str) -> Completion:
        return await read_sse_chat(chunks, endpoint)
