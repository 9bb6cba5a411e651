"""NICE Cognigy.AI LLM Gateway routes (seeds 000 and 001).

- ``cognigy.token`` POST /api/v1/auth/token: see :mod:`.oauth`.
- ``cognigy.chat`` POST /api/v1/llm/gateway/chat, scope ``llm.gateway:invoke``:
  an OpenAI-style body (``model``, ``messages``, optional ``max_tokens``,
  ``temperature``) answered with an OpenAI ``chat.completion`` with
  ``usage``. ``"stream": true`` is refused (400): Cognigy streams on
  /inference.
- ``cognigy.inference`` POST /api/v1/llm/gateway/inference, scope
  ``llm.gateway.inference``: the same body plus optional ``top_p`` (0..1) and
  ``context_window`` (a prompt longer than it is refused with 400); always
  streamed, whatever ``stream`` says, as JSON lines (``application/x-ndjson``):
  ``{"choices":[{"index":0,"delta":{"content":"..."}}]}`` per piece, then
  ``{"choices":[{"index":0,"delta":{},"finish_reason":"stop"|"length"}]}``,
  then ``{"usage":{"prompt_tokens","completion_tokens","total_tokens"}}``
  (unless include_usage is off). A stream error is one line
  ``{"error":{"message","type","code"}}`` and the end of the body.
- ``cognigy.metrics`` GET /api/v1/llm/gateway/metrics?page=N&size=M, scope
  ``llm.gateway:metrics:read``: every chat and inference call that got past
  auth, oldest first, pages 1-based (``size`` 1..1000, default 100):
  ``{"items": [...], "page", "size", "total", "pages", "has_more"}``; an item
  is ``{"request_id" (the caller's X-Request-ID), "timestamp", "route",
  "model", "prompt_tokens", "completion_tokens", "total_tokens",
  "latency_ms", "status", "streamed"}``.

Errors use the OpenAI dialect (:mod:`.dialects`).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from aiohttp import web

from gwstream.simulator.dialects import stream_error_line
from gwstream.simulator.ledger import ServedCall
from gwstream.simulator.openai_routes import completion_body
from gwstream.simulator.replies import (
    RequestProblem,
    check_int,
    check_number,
    validate_chat_request,
)
from gwstream.simulator.routes import (
    COGNIGY_CHAT,
    COGNIGY_INFERENCE,
    COGNIGY_METRICS,
    COGNIGY_TOKEN,
    ROUTES,
)
from gwstream.simulator.state import (
    JSON,
    CallInProgress,
    SimulatorState,
    bad_request,
    iso_utc,
    query_int,
    read_json,
)
from gwstream.simulator.stream_writer import NDJSON, write_stream
from gwstream.simulator.token_endpoint import token_handler

__all__ = ["CognigyRoutes"]

_MALFORMED = b'{"choices":[{"delta":{"content":\n'
_STREAM_ERROR = "The upstream model failed mid-stream (simulated)."
_MAX_PAGE_SIZE = 1000


class CognigyRoutes:
    def __init__(self, state: SimulatorState) -> None:
        self._state = state

    def register(self, app: web.Application) -> None:
        state = self._state
        app.router.add_post(
            ROUTES[COGNIGY_TOKEN].path,
            state.counters.counted(COGNIGY_TOKEN, token_handler(state, "cognigy")),
        )
        app.router.add_post(ROUTES[COGNIGY_CHAT].path, state.recorded(COGNIGY_CHAT, self.chat))
        app.router.add_post(
            ROUTES[COGNIGY_INFERENCE].path, state.recorded(COGNIGY_INFERENCE, self.inference)
        )
        app.router.add_get(
            ROUTES[COGNIGY_METRICS].path, state.authorized(COGNIGY_METRICS, self.metrics)
        )

    async def chat(self, request: web.Request, call: CallInProgress) -> web.StreamResponse:
        state = self._state
        plan = state.plans[COGNIGY_CHAT]
        data = await read_json(request)
        problem = data if isinstance(data, RequestProblem) else validate_chat_request(data)
        if problem is not None:
            return bad_request("openai", problem)
        assert isinstance(data, dict)
        call.model = data["model"]
        if data.get("stream"):
            return bad_request(
                "openai",
                RequestProblem(
                    f"'stream' is not supported on {ROUTES[COGNIGY_CHAT].path}; stream with "
                    f"POST {ROUTES[COGNIGY_INFERENCE].path}",
                    "stream",
                ),
            )
        fault = await plan.inject(state.closing)
        if fault is not None:
            return fault
        body, prompt_tokens, completion_tokens = completion_body(
            state, data, plan.include_usage, count_prompt=True
        )
        call.prompt_tokens = prompt_tokens or 0
        call.completion_tokens = completion_tokens
        return web.Response(body=body, content_type=JSON)

    async def inference(self, request: web.Request, call: CallInProgress) -> web.StreamResponse:
        state = self._state
        plan = state.plans[COGNIGY_INFERENCE]
        data = await read_json(request)
        problem = data if isinstance(data, RequestProblem) else validate_inference_request(data)
        if problem is not None:
            return bad_request("openai", problem)
        assert isinstance(data, dict)
        call.model = data["model"]
        call.streamed = True
        messages = data["messages"]
        prompt_tokens = state.counter.count_messages(messages)
        window = data.get("context_window")
        if window is not None and prompt_tokens > window:
            return bad_request(
                "openai",
                RequestProblem(
                    f"the prompt has {prompt_tokens} tokens, more than context_window {window}",
                    "context_window",
                ),
            )
        fault = await plan.inject(state.closing)
        if fault is not None:
            return fault
        pieces, completion_tokens, finish_reason = state.replies.pieces(
            messages, data.get("max_tokens")
        )
        tail = [_line({"choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})]
        if plan.include_usage:
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            tail.append(_line({"usage": usage}))
        response, sent = await write_stream(
            request,
            content_type=NDJSON,
            head=(),
            pieces=[_line({"choices": [{"index": 0, "delta": {"content": p}}]}) for p in pieces],
            tail=tail,
            error_line=stream_error_line(_STREAM_ERROR) + b"\n",
            malformed_line=_MALFORMED,
            faults=plan.stream_faults(),
        )
        if sent < len(pieces):
            completion_tokens = state.counter.count("".join(pieces[:sent]))
        call.prompt_tokens = prompt_tokens
        call.completion_tokens = completion_tokens
        return response

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        state = self._state
        page = query_int(request, "page", 1, 1, None)
        size = query_int(request, "size", 100, 1, _MAX_PAGE_SIZE)
        for value in (page, size):
            if isinstance(value, RequestProblem):
                return bad_request("openai", value)
        assert isinstance(page, int) and isinstance(size, int)
        fault = await state.plans[COGNIGY_METRICS].inject(state.closing)
        if fault is not None:
            return fault
        ledger = state.ledgers["cognigy"]
        total = len(ledger)
        pages = math.ceil(total / size)
        items = [_metric(call) for call in ledger.slice((page - 1) * size, page * size)]
        body = {
            "items": items,
            "page": page,
            "size": size,
            "total": total,
            "pages": pages,
            "has_more": page < pages,
        }
        return web.Response(body=orjson.dumps(body), content_type=JSON)


def validate_inference_request(data: object) -> RequestProblem | None:
    """:func:`validate_chat_request` plus ``top_p`` (0..1) and ``context_window`` (>= 1)."""
    problem = validate_chat_request(data)
    if problem is not None:
        return problem
    assert isinstance(data, dict)
    return check_number(data, "top_p", 0, 1) or check_int(data, "context_window", 1)


def _line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _metric(call: ServedCall) -> dict[str, Any]:
    return {
        "request_id": call.request_id,
        "timestamp": iso_utc(call.timestamp),
        "route": call.route,
        "model": call.model,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "total_tokens": call.prompt_tokens + call.completion_tokens,
        "latency_ms": call.latency_ms,
        "status": call.status,
        "streamed": call.streamed,
    }
