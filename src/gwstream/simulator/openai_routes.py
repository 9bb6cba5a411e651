"""``openai.chat``: POST /v1/chat/completions, plain and streamed.

Plain: a ``chat.completion`` object with ``usage`` (unless include_usage is
off). Streamed (``"stream": true``): Server-Sent Events, one
``data: {chat.completion.chunk}`` per token-sized piece after a first chunk
carrying ``delta.role``, then a chunk with an empty delta and the
``finish_reason``; with ``"stream_options": {"include_usage": true}`` (and
include_usage on) a last chunk with ``"choices": []`` and ``usage``; then
``data: [DONE]``. Auth is the static ``api_key`` bearer, when configured.
With ``cached_prompt_share`` above 0, ``usage`` carries
``prompt_tokens_details.cached_tokens``: that share of the prompt tokens,
rounded down, as OpenAI reports a prompt-cache hit.

The non-streaming path is the benchmark's hot path: per request it parses,
validates, counts prompt tokens and answers, nothing more.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

import orjson
from aiohttp import web

from gwstream.simulator.dialects import openai_error, stream_error_line
from gwstream.simulator.faults import RoutePlan
from gwstream.simulator.replies import (
    RequestProblem,
    check_bool,
    validate_chat_request,
)
from gwstream.simulator.routes import OPENAI_CHAT, ROUTES
from gwstream.simulator.state import JSON, SimulatorState, bad_request, read_json
from gwstream.simulator.stream_writer import SSE, write_stream

__all__ = ["SSE_DONE", "OpenAIRoutes", "completion_body", "stream_chat"]

_UNAUTHORIZED = openai_error(
    "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key"
)
_FINGERPRINT = "gwstream-simulator"
SSE_DONE = b"data: [DONE]\n\n"
_MALFORMED_SSE = b'data: {"choices":[{"delta":{"content":\n\n'


def completion_body(
    state: SimulatorState,
    data: dict[str, Any],
    include_usage: bool,
    *,
    count_prompt: bool,
    cached_share: float = 0.0,
) -> tuple[bytes, int | None, int]:
    """A ``chat.completion`` body, its prompt tokens (counted if ``include_usage`` or
    ``count_prompt``, else None) and its completion tokens; ``cached_share`` of the
    prompt tokens are reported as cached."""
    messages = data["messages"]
    text, completion_tokens, finish_reason = state.replies.reply(messages, data.get("max_tokens"))
    reply: dict[str, Any] = {
        "id": "chatcmpl-" + os.urandom(12).hex(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "system_fingerprint": _FINGERPRINT,
    }
    prompt_tokens = None
    if include_usage or count_prompt:
        prompt_tokens = state.counter.count_messages(messages)
    if include_usage:
        assert prompt_tokens is not None
        reply["usage"] = _usage(prompt_tokens, completion_tokens, cached_share)
    return orjson.dumps(reply), prompt_tokens, completion_tokens


def _usage(prompt_tokens: int, completion_tokens: int, cached_share: float) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_share:
        usage["prompt_tokens_details"] = {"cached_tokens": int(prompt_tokens * cached_share)}
    return usage


def _check_stream_options(data: dict[str, Any]) -> RequestProblem | None:
    options = data.get("stream_options")
    if options is None:
        return None
    if not data.get("stream"):
        return RequestProblem(
            "'stream_options' is only allowed when 'stream' is true", "stream_options"
        )
    if not isinstance(options, dict):
        return RequestProblem("'stream_options' must be an object", "stream_options")
    problem = check_bool(options, "include_usage")
    if problem is not None:
        return RequestProblem(problem.message, "stream_options.include_usage")
    return None


class OpenAIRoutes:
    """The OpenAI-compatible route."""

    def __init__(self, state: SimulatorState) -> None:
        self._state = state

    def register(self, app: web.Application) -> None:
        route = ROUTES[OPENAI_CHAT]
        app.router.add_post(route.path, self._state.counters.counted(OPENAI_CHAT, self.chat))

    async def chat(self, request: web.Request) -> web.StreamResponse:
        state = self._state
        plan = state.plans[OPENAI_CHAT]
        auth = state.openai_auth
        if auth is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, auth):
                return web.Response(status=401, body=_UNAUTHORIZED, content_type=JSON)
        data = await read_json(request)
        if isinstance(data, RequestProblem):
            return bad_request("openai", data)
        problem = validate_chat_request(data)
        if problem is not None:
            return bad_request("openai", problem)
        assert isinstance(data, dict)  # validated above
        if "stream_options" in data:
            problem = _check_stream_options(data)
            if problem is not None:
                return bad_request("openai", problem)
        fault = await plan.inject(state.closing)
        if fault is not None:
            return fault
        if data.get("stream"):
            response, _, _ = await stream_chat(state, plan, request, data)
            return response
        body, _, _ = completion_body(
            state,
            data,
            plan.include_usage,
            count_prompt=False,
            cached_share=plan.cached_prompt_share,
        )
        return web.Response(body=body, content_type=JSON)


async def stream_chat(
    state: SimulatorState, plan: RoutePlan, request: web.Request, data: dict[str, Any]
) -> tuple[web.StreamResponse, int, int]:
    """Stream a completion as OpenAI chunks; return the response, prompt tokens and the
    completion tokens actually delivered."""
    messages = data["messages"]
    pieces, completion_tokens, finish_reason = state.replies.pieces(
        messages, data.get("max_tokens")
    )
    prompt_tokens = state.counter.count_messages(messages)
    chunk_id = "chatcmpl-" + os.urandom(12).hex()
    created = int(time.time())
    model = data["model"]
    envelope = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": _FINGERPRINT,
    }
    prefix = b"data: " + orjson.dumps(envelope)[:-1] + b',"choices":[{"index":0,"delta":{"content":'
    suffix = b'},"logprobs":null,"finish_reason":null}]}\n\n'

    def line(obj: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps({**envelope, **obj}) + b"\n\n"

    head = [
        line(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ]
            }
        )
    ]
    tail = [
        line(
            {
                "choices": [
                    {"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish_reason}
                ]
            }
        )
    ]
    options = data.get("stream_options") or {}
    if plan.include_usage and options.get("include_usage"):
        usage = _usage(prompt_tokens, completion_tokens, plan.cached_prompt_share)
        tail.append(line({"choices": [], "usage": usage}))
    tail.append(SSE_DONE)
    faults = plan.stream_faults()
    response, sent = await write_stream(
        request,
        content_type=SSE,
        head=head,
        pieces=[prefix + orjson.dumps(piece) + suffix for piece in pieces],
        tail=tail,
        error_line=b"data: " + stream_error_line(_STREAM_ERROR) + b"\n\n",
        malformed_line=_MALFORMED_SSE,
        faults=faults,
    )
    if sent < len(pieces):
        completion_tokens = state.counter.count("".join(pieces[:sent]))
    return response, prompt_tokens, completion_tokens


_STREAM_ERROR = "The upstream model failed mid-stream (simulated)."
