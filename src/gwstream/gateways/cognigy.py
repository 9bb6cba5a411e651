"""Adapters for the NICE Cognigy.AI LLM Gateway: chat and streaming inference.

Both authenticate with OAuth2 client credentials (form fields posted to
``{tenant}/api/v1/auth/token``, see :meth:`ClientCredentialsAuth.cognigy`).

- **chat**: ``POST {base}/api/v1/llm/gateway/chat`` with an OpenAI-style body
  (``model``, ``messages``, ``temperature``, ``max_tokens``) and an
  OpenAI-style reply (``choices[0].message.content``, optional ``usage``).
  Always buffered.
- **inference**: ``POST {base}/api/v1/llm/gateway/inference`` with the same
  body and ``stream: true``; the answer is JSON lines: delta chunks
  (``choices[0].delta.content``), possibly an ``{"error": {...}}`` line, and a
  final line with ``usage``. The usage line is the stream's only terminator,
  so a stream that ends without it is a dropped stream, never a success.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import orjson

from gwstream.gateways.adapter import Exchange, HttpGateway
from gwstream.gateways.base import GatewayRequest
from gwstream.gateways.completion import (
    ChatDeltaAccumulator,
    Completion,
    completion_from_deltas,
    stream_error,
)
from gwstream.gateways.openai import build_payload, parse_chat_completion
from gwstream.gateways.protocols import PROTOCOLS
from gwstream.gateways.streams import MalformedChunk, StreamCut, iter_json_lines

__all__ = [
    "CHAT_PATH",
    "INFERENCE_PATH",
    "CognigyChatGateway",
    "CognigyInferenceGateway",
    "build_chat_payload",
    "build_inference_payload",
    "read_inference_stream",
]

CHAT_PATH = PROTOCOLS["cognigy.chat"].path
INFERENCE_PATH = PROTOCOLS["cognigy.inference"].path
NDJSON = "application/x-ndjson"


def build_chat_payload(request: GatewayRequest, model: str) -> dict[str, Any]:
    """The chat body: OpenAI's, never streamed (``request.stream`` is for inference)."""
    return build_payload(dataclasses.replace(request, stream=False), model)


def build_inference_payload(request: GatewayRequest, model: str) -> dict[str, Any]:
    """The inference body: OpenAI's chat body with ``stream: true`` and no ``stream_options``."""
    payload = build_payload(dataclasses.replace(request, stream=False), model)
    payload["stream"] = True
    return payload


async def read_inference_stream(chunks: AsyncIterator[bytes], endpoint: str) -> Completion:
    """Fold a Cognigy inference stream; complete only once its usage line arrives.

    Raises StreamCut if the bytes end first, MalformedChunk if the usage line
    carries no valid token counts, and the classified GatewayError of an
    error line.
    """
    deltas = ChatDeltaAccumulator()
    async for line in iter_json_lines(chunks):
        if line.get("error") is not None:
            raise stream_error(line["error"], endpoint=endpoint)
        deltas.add(line)
        if "usage" in line:
            if not deltas.has_usage:
                raise MalformedChunk("the final usage line has no valid token counts")
            return completion_from_deltas(deltas)
    raise StreamCut("the inference stream ended without its final usage line")


class CognigyChatGateway(HttpGateway, protocol="cognigy.chat"):
    """Cognigy LLM Gateway chat (buffered, OpenAI-shaped); needs ``auth``."""

    def build_exchange(self, request: GatewayRequest, model: str) -> Exchange:
        payload = build_chat_payload(request, model)
        return Exchange(body=orjson.dumps(payload), prompt=payload["messages"])

    def parse_reply(self, body: bytes) -> Completion:
        return parse_chat_completion(body)


class CognigyInferenceGateway(HttpGateway, protocol="cognigy.inference"):
    """Cognigy LLM Gateway streaming inference (JSON lines, final usage); needs ``auth``."""

    def build_exchange(self, request: GatewayRequest, model: str) -> Exchange:
        payload = build_inference_payload(request, model)
        return Exchange(
            body=orjson.dumps(payload),
            prompt=payload["messages"],
            stream=True,
            accept=f"{NDJSON}, application/json",
        )

    async def read_stream(self, chunks: AsyncIterator[bytes], endpoint: str) -> Completion:
        return await read_inference_stream(chunks, endpoint)
