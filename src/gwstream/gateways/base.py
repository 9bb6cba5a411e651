"""The interface every gateway adapter (OpenAI-compatible, Cognigy, Genesys) shares.

The pipeline builds a :class:`GatewayRequest`, awaits :meth:`Gateway.complete`
and gets back either a :class:`GatewayResult` or a
:class:`~gwstream.errors.GatewayError` subclass whose ``outcome`` classifies the
failure. Adapters hold only what differs between protocols (paths, payload
shapes, stream parsing); retries, backoff and fallback live in
:mod:`gwstream.gateways.resilience`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "ChatMessage",
    "Gateway",
    "GatewayRequest",
    "GatewayResult",
    "ResultOutcome",
    "Usage",
    "UsageSource",
]

UsageSource = Literal["gateway", "tiktoken"]
ResultOutcome = Literal["ok", "retried_ok", "fallback_ok"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat turn; ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """One completion to ask a gateway for.

    ``request_id`` is the turn id; adapters send it as ``X-Request-ID`` so a
    gateway's logs can be joined to ours, and it stays the same across retries
    and fallbacks. ``system`` is sent as a leading system message (or the
    protocol's equivalent). ``deadline_s``, when set, replaces the retry
    policy's total deadline for this call, in seconds from the call's start.
    """

    messages: tuple[ChatMessage, ...]
    model: str
    request_id: str
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False
    deadline_s: float | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a call consumed.

    ``source`` says whether the gateway reported the figures or we counted
    them with tiktoken (the gateway omitted usage); ``tokenizer`` names the
    encoding when we counted, so a report can tell estimates from bills.
    ``cached_input_tokens`` are the part of ``input_tokens`` the gateway read
    from its prompt cache (priced lower), 0 when it does not say.
    """

    input_tokens: int
    output_tokens: int
    source: UsageSource
    tokenizer: str | None
    cached_input_tokens: int = 0


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """A successful completion.

    ``endpoint`` is the base URL that answered, ``attempts`` counts every HTTP
    attempt made across all endpoints, ``latency_s`` spans the whole call
    (retries and backoff included), and ``outcome`` is ``ok`` (first try),
    ``retried_ok`` (the first endpoint, after retries) or ``fallback_ok`` (a
    later endpoint answered).
    """

    text: str
    usage: Usage
    finish_reason: str | None
    response_model: str | None
    response_id: str | None
    endpoint: str
    attempts: int
    latency_s: float
    outcome: ResultOutcome


@runtime_checkable
class Gateway(Protocol):
    """A chat-completion gateway.

    ``complete`` either returns a result or raises a
    :class:`~gwstream.errors.GatewayError` subclass once retries and
    fallbacks are exhausted; it never raises transport library exceptions.
    ``start`` prepares what the first call would otherwise pay for (pools,
    the tokenizer); ``aclose`` releases pooled connections; the gateway is
    unusable afterwards.
    """

    name: str

    async def start(self) -> None: ...

    async def complete(self, request: GatewayRequest) -> GatewayResult: ...

    async def aclose(self) -> None: ...
