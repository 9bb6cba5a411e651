"""Genesys Cloud AI Gateway routes (seeds 002 and 004).

- ``genesys.token`` POST /login/oauth2/token: see :mod:`.oauth` (Basic auth or
  form fields).
- ``genesys.invoke`` POST /api/v2/ai/llm/gateway/invoke, scope
  ``ai:llm:gateway:use`` (a streaming call also ``ai:llm:gateway:stream``):
  ``{"modelId", "messages", "systemInstruction"?, "stream"?, "temperature"?,
  "maxTokens"?}``; ``systemInstruction`` counts as a leading system message.
  Streamed (``"stream": true``): SSE lines
  ``data: {"choices":[{"delta":{"content":"..."}}]}``, then
  ``data: {"choices":[{"delta":{},"finish_reason":"stop"|"length"}]}``, then
  ``data: [DONE]``. Plain: ``{"id", "modelId", "choices":[{"index":0,
  "message":{"role":"assistant","content"},"finish_reason"}]}``. Seed 002
  shows no usage, so neither form reports any (include_usage has no effect
  here): clients count with tiktoken. A stream error is one line
  ``data: {"error":{"message","type","code"}}`` and the end of the body.
- ``genesys.invocations`` POST /api/v2/ai/llm/gateway/invocations, scope
  ``ai:gateway:write``: ``{"promptId", "userInput"? (alias "input"),
  "variables"?: {name: value}, "sessionId"?, "returnTokenUsage"?,
  "options"?: {"returnTokenUsage"?, "stream"?}}`` (userInput or variables
  required; streaming refused with 400). The simulator has no prompt store:
  the prompt is one user message, see :func:`invocation_messages`. Answer
  (seed 004) ``{"responseId", "output", "tokenUsage": {"prompt", "completion"}}``;
  ``tokenUsage`` is left out when returnTokenUsage is false (top level or in
  options; default true) or include_usage is off.
- ``genesys.telemetry`` GET /api/v2/ai/llm/gateway/telemetry, scope
  ``ai:telemetry:read``: every invoke and invocation that got past auth,
  oldest first, ``?cursor=&pageSize=`` (1..500, default 25) and optional
  filters ``promptId``, ``startTime``, ``endTime`` (ISO-8601, end exclusive):
  ``{"entities": [...], "pageSize", "nextPageCursor": "..." | null}``; an
  entity is ``{"requestId" (the caller's X-Request-ID), "timestamp",
  "operation": "invoke"|"invocations", "modelId", "promptId", "status",
  "latencyMs", "streamed", "tokenUsage": {"prompt", "completion", "total"}}``.

Errors use the Genesys dialect ``{"message", "code", "status"}`` (:mod:`.dialects`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gwstream.simulator.dialects import stream_error_line
from gwstream.simulator.ledger import ServedCall
from gwstream.simulator.openai_routes import SSE_DONE
from gwstream.simulator.replies import (
    RequestProblem,
    check_bool,
    check_int,
    check_number,
    check_string,
    validate_messages,
)
from gwstream.simulator.routes import (
    GENESYS_INVOCATIONS,
    GENESYS_INVOKE,
    GENESYS_STREAM_SCOPE,
    GENESYS_TELEMETRY,
    GENESYS_TOKEN,
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
from gwstream.simulator.stream_writer import SSE, write_stream
from gwstream.simulator.token_endpoint import token_handler

__all__ = [
    "GenesysRoutes",
    "invocation_messages",
    "validate_invocation_request",
    "validate_invoke_request",
]

_MALFORMED = b'data: {"choices":[{"delta":{"content":\n\n'
_STREAM_ERROR = "The upstream model failed mid-stream (simulated)."
_MAX_PAGE_SIZE = 500
_CURSOR_PREFIX = b"gwsim-telemetry:"
_OPERATIONS = {GENESYS_INVOKE: "invoke", GENESYS_INVOCATIONS: "invocations"}


def validate_invoke_request(data: object) -> RequestProblem | None:
    """The first way ``data`` breaks the invoke contract, or None."""
    if not isinstance(data, dict):
        return RequestProblem("request body must be a JSON object", None)
    return (
        check_string(data, "modelId")
        or validate_messages(data.get("messages"), "messages")
        or check_string(data, "systemInstruction", required=False)
        or check_bool(data, "stream")
        or check_number(data, "temperature", 0, 2)
        or check_int(data, "maxTokens", 1)
    )


def invoke_messages(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The conversation an invoke asks about: systemInstruction first, as a system message."""
    messages: list[dict[str, str]] = list(data["messages"])
    system = data.get("systemInstruction")
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return messages


def validate_invocation_request(data: object) -> RequestProblem | None:
    """The first way ``data`` breaks the invocations contract, or None."""
    if not isinstance(data, dict):
        return RequestProblem("request body must be a JSON object", None)
    problem = (
        check_string(data, "promptId")
        or check_string(data, "sessionId", required=False)
        or check_bool(data, "returnTokenUsage")
    )
    if problem is not None:
        return problem
    user_input = data.get("userInput", data.get("input"))
    if user_input is not None and not isinstance(user_input, str):
        return RequestProblem("'userInput' must be a string", "userInput")
    variables = data.get("variables")
    if variables is not None and (
        not isinstance(variables, dict)
        or not all(isinstance(v, str | int | float | bool) for v in variables.values())
    ):
        return RequestProblem(
            "'variables' must be an object of string, number or boolean values", "variables"
        )
    if not user_input and not variables:
        return RequestProblem("an invocation needs 'userInput' or 'variables'", "userInput")
    options = data.get("options")
    if options is not None:
        if not isinstance(options, dict):
            return RequestProblem("'options' must be an object", "options")
        problem = check_bool(options, "stream") or check_bool(options, "returnTokenUsage")
        if problem is not None:
            return RequestProblem(problem.message, f"options.{problem.param}")
        if options.get("stream"):
            return RequestProblem(
                f"invocations are not streamed; stream with POST {ROUTES[GENESYS_INVOKE].path}",
                "options.stream",
            )
    return None


def invocation_messages(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The prompt of a (valid) invocation: one user message holding the variables, one
    ``name: value`` per line, then a blank line and the user input. Prompt tokens are
    ``TokenCounter.count_messages`` of this."""
    user_input = data.get("userInput", data.get("input")) or ""
    variables = data.get("variables") or {}
    lines = [f"{name}: {_text(value)}" for name, value in variables.items()]
    content = "\n".join(lines) + ("\n\n" if lines and user_input else "") + user_input
    return [{"role": "user", "content": content}]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _wants_usage(data: Mapping[str, Any]) -> bool:
    wanted = data.get("returnTokenUsage")
    if wanted is None:
        wanted = (data.get("options") or {}).get("returnTokenUsage")
    return wanted is not False


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX) :].isdigit():
        return None
    return int(raw[len(_CURSOR_PREFIX) :])


def _query_time(request: web.Request, key: str) -> datetime | RequestProblem | None:
    raw = request.query.get(key)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return RequestProblem(f"query parameter '{key}' must be an ISO-8601 date-time", key)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class GenesysRoutes:
    def __init__(self, state: SimulatorState) -> None:
        self._state = state

    def register(self, app: web.Application) -> None:
        state = self._state
        app.router.add_post(
            ROUTES[GENESYS_TOKEN].path,
            state.counters.counted(GENESYS_TOKEN, token_handler(state, "genesys")),
        )
        app.router.add_post(
            ROUTES[GENESYS_INVOKE].path, state.recorded(GENESYS_INVOKE, self.invoke)
        )
        app.router.add_post(
            ROUTES[GENESYS_INVOCATIONS].path,
            state.recorded(GENESYS_INVOCATIONS, self.invocations),
        )
        app.router.add_get(
            ROUTES[GENESYS_TELEMETRY].path, state.authorized(GENESYS_TELEMETRY, self.telemetry)
        )

    async def invoke(self, request: web.Request, call: CallInProgress) -> web.StreamResponse:
        state = self._state
        plan = state.plans[GENESYS_INVOKE]
        data = await read_json(request)
        problem = data if isinstance(data, RequestProblem) else validate_invoke_request(data)
        if problem is not None:
            return bad_request("genesys", problem)
        assert isinstance(data, dict)
        call.model = data["modelId"]
        streamed = bool(data.get("stream"))
        if streamed:
            denied = state.authorize(ROUTES[GENESYS_INVOKE], request, GENESYS_STREAM_SCOPE)
            if denied is not None:
                return denied
        call.streamed = streamed
        messages = invoke_messages(data)
        prompt_tokens = state.counter.count_messages(messages)
        fault = await plan.inject(state.closing)
        if fault is not None:
            return fault
        call.prompt_tokens = prompt_tokens
        max_tokens = data.get("maxTokens")
        if not streamed:
            text, call.completion_tokens, finish_reason = state.replies.reply(messages, max_tokens)
            body = {
                "id": os.urandom(16).hex(),
                "modelId": data["modelId"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish_reason,
                    }
                ],
            }
            return web.Response(body=orjson.dumps(body), content_type=JSON)
        pieces, completion_tokens, finish_reason = state.replies.pieces(messages, max_tokens)
        finish = {"choices": [{"delta": {}, "finish_reason": finish_reason}]}
        response, sent = await write_stream(
            request,
            content_type=SSE,
            head=(),
            pieces=[_event({"choices": [{"delta": {"content": p}}]}) for p in pieces],
            tail=[_event(finish), SSE_DONE],
            error_line=b"data: " + stream_error_line(_STREAM_ERROR) + b"\n\n",
            malformed_line=_MALFORMED,
            faults=plan.stream_faults(),
        )
        if sent < len(pieces):
            completion_tokens = state.counter.count("".join(pieces[:sent]))
        call.completion_tokens = completion_tokens
        return response

    async def invocations(self, request: web.Request, call: CallInProgress) -> web.StreamResponse:
        state = self._state
        plan = state.plans[GENESYS_INVOCATIONS]
        data = await read_json(request)
        problem = data if isinstance(data, RequestProblem) else validate_invocation_request(data)
        if problem is not None:
            return bad_request("genesys", problem)
        assert isinstance(data, dict)
        call.prompt_id = data["promptId"]
        fault = await plan.inject(state.closing)
        if fault is not None:
            return fault
        messages = invocation_messages(data)
        text, completion_tokens, _ = state.replies.reply(messages, None)
        call.prompt_tokens = state.counter.count_messages(messages)
        call.completion_tokens = completion_tokens
        body: dict[str, Any] = {"responseId": "inv-" + os.urandom(12).hex(), "output": text}
        if plan.include_usage and _wants_usage(data):
            body["tokenUsage"] = {"prompt": call.prompt_tokens, "completion": completion_tokens}
        return web.Response(body=orjson.dumps(body), content_type=JSON)

    async def telemetry(self, request: web.Request) -> web.StreamResponse:
        state = self._state
        size = query_int(request, "pageSize", 25, 1, _MAX_PAGE_SIZE)
        start = _query_time(request, "startTime")
        end = _query_time(request, "endTime")
        cursor = request.query.get("cursor")
        position = 0
        if cursor:
            decoded = decode_cursor(cursor)
            if decoded is None:
                return bad_request(
                    "genesys",
                    RequestProblem(
                        "'cursor' is not a nextPageCursor this gateway issued", "cursor"
                    ),
                )
            position = decoded
        for value in (size, start, end):
            if isinstance(value, RequestProblem):
                return bad_request("genesys", value)
        assert isinstance(size, int)
        assert not isinstance(start, RequestProblem) and not isinstance(end, RequestProblem)
        prompt_id = request.query.get("promptId")
        fault = await state.plans[GENESYS_TELEMETRY].inject(state.closing)
        if fault is not None:
            return fault

        def keep(call: ServedCall) -> bool:
            return (
                (prompt_id is None or call.prompt_id == prompt_id)
                and (start is None or call.timestamp >= start)
                and (end is None or call.timestamp < end)
            )

        found, resume = state.ledgers["genesys"].scan(position, size, keep)
        body = {
            "entities": [_entity(call) for call in found],
            "pageSize": size,
            "nextPageCursor": None if resume is None else encode_cursor(resume),
        }
        return web.Response(body=orjson.dumps(body), content_type=JSON)


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _entity(call: ServedCall) -> dict[str, Any]:
    return {
        "requestId": call.request_id,
        "timestamp": iso_utc(call.timestamp),
        "operation": _OPERATIONS.get(call.route, call.route),
        "modelId": call.model,
        "promptId": call.prompt_id,
        "status": call.status,
        "latencyMs": call.latency_ms,
        "streamed": call.streamed,
        "tokenUsage": {
            "prompt": call.prompt_tokens,
            "completion": call.completion_tokens,
            "total": call.prompt_tokens + call.completion_tokens,
        },
    }
