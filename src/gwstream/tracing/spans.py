"""The spans of one turn: the turn, each stage inside it, and the gateway call.

The stage list is wrapped once, when the pipeline is built: a
:class:`TurnSpan` goes first, every stage sits in a :class:`StageSpan`, and
the innermost call is a :class:`ChatSpan`. A turn the sampler leaves out
gets no span below its (non-recording) turn span. Stages wrap the next as
middleware does, so their spans nest the same way: a stage's span lasts
until the stages inside it return, and one without a child answered the turn
itself (a refusal, a replay, a cache hit).

The gateway call follows the OpenTelemetry GenAI semantic conventions: a
CLIENT span named ``chat {model}`` with the ``gen_ai.*`` request, response
and usage attributes, ``server.*`` of the endpoint that answered, and
``error.type`` when the call failed. Attributes hold ids, model names,
counts and classifications, never a turn's or an answer's text; exceptions
are not recorded (their messages may quote text), only their type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, get_current_span
from opentelemetry.util.types import AttributeValue

from gwstream.pipeline.context import Outcome, Status, TurnContext
from gwstream.pipeline.stage import Next, Stage

__all__ = ["TURN_SPAN", "ChatSpan", "StageSpan", "TurnSpan", "instrument", "stage_name"]

TURN_SPAN = "gwstream.turn"

# Attribute names: the semantic conventions' where one exists, gwstream's own otherwise.
ERROR_TYPE = "error.type"
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_SYSTEM = "gen_ai.system"  # deprecated for gen_ai.provider.name; backends still read it
GEN_AI_PROVIDER = "gen_ai.provider.name"
GEN_AI_CONVERSATION = "gen_ai.conversation.id"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
TENANT_ID = "gwstream.tenant.id"
SESSION_ID = "gwstream.session.id"
TURN_ID = "gwstream.turn.id"
TURN_STATUS = "gwstream.turn.status"
TURN_REASON = "gwstream.turn.reason"
TURN_REPLAYED = "gwstream.turn.replayed"
TURN_CACHED = "gwstream.turn.cached"
TURN_COST = "gwstream.turn.cost"
TURN_CURRENCY = "gwstream.turn.currency"
GATEWAY = "gwstream.gateway"
GATEWAY_OUTCOME = "gwstream.gateway.outcome"
GATEWAY_ATTEMPTS = "gwstream.gateway.attempts"
USAGE_SOURCE = "gwstream.usage.source"

#: Statuses of a turn that did not get what it asked for: the turn span's status is ERROR.
_FAILED = frozenset({Status.FAILED, Status.INVALID_OUTPUT})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def instrument(
    stages: Sequence[Stage],
    innermost: Next,
    tracer: Tracer,
    providers: Mapping[str, str],
    *,
    stage_spans: bool = True,
) -> tuple[list[Stage], Next]:
    """``stages`` and ``innermost`` in spans of ``tracer``; ``providers`` names each
    gateway's ``gen_ai.provider.name`` (its protocol's vendor). Without ``stage_spans``
    the stages stay as they are, and the call's span is the turn span's child."""
    wrapped: list[Stage] = [TurnSpan(tracer)]
    if stage_spans:
        wrapped.extend(StageSpan(stage, tracer) for stage in stages)
    else:
        wrapped.extend(stages)
    return wrapped, ChatSpan(innermost, tracer, providers)


def stage_name(stage: Stage) -> str:
    """A stage's span name: its class name less ``Stage``, in snake case
    (``SessionBudgetStage``: ``session_budget``)."""
    name = type(stage).__name__.removesuffix("Stage") or type(stage).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _error_type(exc: Exception) -> str:
    """The exception's fully qualified class name, as ``error.type`` wants it."""
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _fail(span: Span, error_type: str) -> None:
    span.set_attribute(ERROR_TYPE, error_type)
    span.set_status(StatusCode.ERROR)


class TurnSpan:
    """The outermost stage when tracing: one ``gwstream.turn`` span around the whole turn,
    with its ids and how it ended; ERROR when it failed."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        turn = ctx.turn
        with self._tracer.start_as_current_span(
            TURN_SPAN,
            attributes={
                TENANT_ID: turn.tenant_id,
                SESSION_ID: turn.session_id,
                TURN_ID: turn.turn_id,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                outcome = await call_next(ctx)
            except Exception as exc:
                _fail(span, _error_type(exc))
                raise
            if span.is_recording():
                span.set_attributes(_turn_attributes(outcome))
                if outcome.status in _FAILED:
                    _fail(span, (outcome.reason or outcome.status).value)
            return outcome


def _turn_attributes(outcome: Outcome) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        TURN_STATUS: outcome.status.value,
        GATEWAY_OUTCOME: outcome.gateway_outcome,
    }
    if outcome.reason is not None:
        attributes[TURN_REASON] = outcome.reason.value
    if outcome.gateway is not None:
        attributes[GATEWAY] = outcome.gateway
    if outcome.replayed:
        attributes[TURN_REPLAYED] = True
    if outcome.cached is not None:
        attributes[TURN_CACHED] = outcome.cached
    if outcome.cost:
        attributes[TURN_COST] = format(outcome.cost, "f")
        attributes[TURN_CURRENCY] = outcome.currency
    return attributes


class StageSpan:
    """One stage in a span named after it, lasting until the stages inside it return."""

    def __init__(self, stage: Stage, tracer: Tracer) -> None:
        self.stage = stage
        self.name = stage_name(stage)
        self._tracer = tracer

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        if not get_current_span().is_recording():  # a turn the sampler left out
            return await self.stage(ctx, call_next)
        with self._tracer.start_as_current_span(
            self.name, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                return await self.stage(ctx, call_next)
            except Exception as exc:
                _fail(span, _error_type(exc))
                raise


class ChatSpan:
    """The gateway call (retries and fallbacks included) as a GenAI ``chat {model}``
    CLIENT span: the model asked for and the one that answered, the tokens, the finish
    reason, the endpoint that answered, and ``error.type`` (the failure's
    classification, e.g. ``timeout``) with status ERROR when the call failed."""

    def __init__(self, call: Next, tracer: Tracer, providers: Mapping[str, str]) -> None:
        self.call = call
        self._tracer = tracer
        self._providers = providers

    async def __call__(self, ctx: TurnContext) -> Outcome:
        route = ctx.route
        # No route: the gateway call says why. Not recording: a turn the sampler left out.
        if route is None or not get_current_span().is_recording():
            return await self.call(ctx)
        provider = self._providers.get(route.gateway, route.gateway)
        attributes: dict[str, AttributeValue] = {
            GEN_AI_OPERATION: "chat",
            GEN_AI_PROVIDER: provider,
            GEN_AI_SYSTEM: provider,
            GEN_AI_REQUEST_MODEL: route.model,
            GEN_AI_CONVERSATION: ctx.turn.session_id,
            GATEWAY: route.gateway,
        }
        if route.max_tokens is not None:
            attributes[GEN_AI_REQUEST_MAX_TOKENS] = route.max_tokens
        with self._tracer.start_as_current_span(
            f"chat {route.model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                outcome = await self.call(ctx)
            except Exception as exc:
                _fail(span, _error_type(exc))
                raise
            if span.is_recording():
                span.set_attributes(_call_attributes(outcome))
                if outcome.status is Status.FAILED:
                    _fail(span, outcome.gateway_outcome)
            return outcome


def _call_attributes(outcome: Outcome) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        GATEWAY_OUTCOME: outcome.gateway_outcome,
        GATEWAY_ATTEMPTS: outcome.attempts,
    }
    if outcome.endpoint:
        parts = urlsplit(outcome.endpoint)
        if parts.hostname:
            attributes[SERVER_ADDRESS] = parts.hostname
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
            if port is not None:
                attributes[SERVER_PORT] = port
    if outcome.status is Status.FAILED:
        return attributes
    attributes[GEN_AI_INPUT_TOKENS] = outcome.input_tokens
    attributes[GEN_AI_OUTPUT_TOKENS] = outcome.output_tokens
    attributes[USAGE_SOURCE] = outcome.usage_source
    if outcome.cached_input_tokens:
        attributes[GEN_AI_CACHE_READ_TOKENS] = outcome.cached_input_tokens
    if outcome.response_model is not None:
        attributes[GEN_AI_RESPONSE_MODEL] = outcome.response_model
    if outcome.response_id is not None:
        attributes[GEN_AI_RESPONSE_ID] = outcome.response_id
    if outcome.finish_reason is not None:
        attributes[GEN_AI_FINISH_REASONS] = (outcome.finish_reason,)
    return attributes
