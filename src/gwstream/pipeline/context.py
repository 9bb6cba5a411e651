"""What a stage gets and what the pipeline ends with: a turn's context and its outcome.

:class:`TurnContext` travels down the stage list; each stage reads it and may
fill in what later stages need (the route, the history window). The innermost
stage calls the gateway; every stage returns an :class:`Outcome`, which is
all :func:`~gwstream.pipeline.outputs.build_events` needs to build the
response, cost and audit events. An outcome is also what a session keeps of
its recent turns, so a replayed turn is answered with the same events.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Self

from gwstream.events import (
    BudgetInfo,
    BudgetMode,
    GuardInfo,
    TurnEvent,
    utcnow,
)
from gwstream.gateways.base import ChatMessage, GatewayResult
from gwstream.pipeline.session import Session


class Status(StrEnum):
    """How a turn ended, as the response event says it."""

    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"
    #: The gateway answered, but not as the turn asked (a JSON answer that is not JSON,
    #: or does not satisfy the turn's schema).
    INVALID_OUTPUT = "invalid_output"


class Reason(StrEnum):
    """Why a turn was refused or failed (the response's ``reason``)."""

    UNKNOWN_GATEWAY = "unknown_gateway"
    UNKNOWN_MODEL = "unknown_model"
    RATE_LIMITED = "rate_limited"
    CONTEXT_OVERFLOW = "context_overflow"
    EMPTY_TEXT = "empty_text"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BLOCKED_INJECTION = "blocked_injection"
    INVALID_JSON = "invalid_json"
    SCHEMA_MISMATCH = "schema_mismatch"
    INVALID_RESPONSE_SCHEMA = "invalid_response_schema"
    TENANT_BUDGET_EXHAUSTED = "tenant_budget_exhausted"
    UNPRICED_MODEL = "unpriced_model"
    UNKNOWN_USE_CASE = "unknown_use_case"
    MISSING_PROMPT_VARIABLE = "missing_prompt_variable"
    GATEWAY_TIMEOUT = "gateway_timeout"
    GATEWAY_RATE_LIMITED = "gateway_rate_limited"
    GATEWAY_SERVER_ERROR = "gateway_server_error"
    GATEWAY_CLIENT_ERROR = "gateway_client_error"
    GATEWAY_AUTH = "gateway_auth"
    GATEWAY_TRANSPORT = "gateway_transport"
    GATEWAY_CIRCUIT_OPEN = "gateway_circuit_open"
    GATEWAY_PROTOCOL_ERROR = "gateway_protocol_error"

    @classmethod
    def gateway(cls, outcome: str) -> Reason:
        """The reason for a gateway failure classified as ``outcome`` (e.g. ``timeout``)."""
        try:
            return cls(f"gateway_{outcome}")
        except ValueError:
            return cls.GATEWAY_SERVER_ERROR


#: The audit outcome of a turn refused before any gateway call (budgets, routing, context).
NOT_CALLED = "not_called"
#: The audit outcome of a turn answered from a cache.
CACHED = "cached"

CacheKind = Literal["exact", "intent"]


@dataclass(frozen=True, slots=True)
class Route:
    """Which gateway and model answer a turn, with that gateway's limits."""

    gateway: str
    model: str
    max_tokens: int | None
    deadline_s: float = 60.0
    #: The gateway's model matrix: model -> context window (prompt + output
    #: tokens). A turn may only ask for these; None: any model, window unknown.
    models: Mapping[str, int] | None = None
    #: model -> most output tokens it produces, for models the gateway knows.
    max_outputs: Mapping[str, int] | None = None

    @property
    def context_window(self) -> int | None:
        """Tokens the routed model accepts (None: unknown, so nothing is trimmed)."""
        return self.models.get(self.model) if self.models is not None else None

    @property
    def output_bound(self) -> int | None:
        """Most output tokens a call can bill: ``max_tokens``, else the model's own limit."""
        if self.max_tokens is not None:
            return self.max_tokens
        return self.max_outputs.get(self.model) if self.max_outputs is not None else None


@dataclass(frozen=True, slots=True)
class SpendNotice:
    """A tenant's spend crossed its soft threshold, or reached its limit, in a window."""

    tenant_id: str
    period: Literal["day", "month"]
    #: The window: ``2026-12-01`` for a day, ``2026-12`` for a month (UTC).
    window: str
    level: Literal["soft_threshold", "exhausted"]
    spend: Decimal
    limit: Decimal
    threshold: float
    currency: str


# Not frozen: built on every turn, and a frozen dataclass takes 3-5 times as long
# to build. Never changed once built.
@dataclass(slots=True)
class SessionTokens:
    """A session's token budget after a turn."""

    used: int
    left: int
    #: Start of the budget window (None: the window is the conversation).
    window_start: datetime | None


# Not frozen: built on every turn, and a frozen dataclass takes 3-5 times as long
# to build. Never changed once built.
@dataclass(slots=True)
class TenantSpend:
    """A tenant's spend after a turn, in the UTC day and month of the turn (None: no limit)."""

    day: Decimal | None
    limit_day: Decimal | None
    month: Decimal | None
    limit_month: Decimal | None
    currency: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one turn ended: everything its three events are built from.

    ``gateway_outcome`` is the resilience layer's classification (``ok``,
    ``retried_ok``, ``fallback_ok``, ``timeout``, ...; ``not_called`` for
    refusals made before any call). ``produced_at`` and the cost are fixed
    here, not when events are built, so a replay rebuilds identical events.
    """

    status: Status
    reason: Reason | None = None
    gateway_outcome: str = "ok"
    text: str | None = None
    gateway: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    usage_source: Literal["gateway", "tiktoken", "none"] = "none"
    tokenizer: str | None = None
    endpoint: str | None = None
    attempts: int = 0
    latency_ms: float = 0.0
    cost: Decimal = Decimal(0)
    currency: str = "USD"
    price_source: str = "none"
    history_messages: int = 0
    produced_at: datetime = field(default_factory=utcnow)
    #: Answered from the session's state instead of the gateway (never stored as True).
    replayed: bool = False
    budget: BudgetInfo | None = None
    guard: GuardInfo | None = None
    #: Spend notices this turn triggered (published once on the audit topic; not stored).
    notices: tuple[SpendNotice, ...] = ()
    #: Which cache answered the turn (None: not from a cache). A cached outcome has no
    #: tokens or cost of its own: the call it saved is in the ``avoided_*`` fields.
    cached: CacheKind | None = None
    avoided_input_tokens: int = 0
    avoided_output_tokens: int = 0
    avoided_cost: Decimal = Decimal(0)
    #: The prompt use case and version (the experiment's variant) the turn got.
    use_case: str | None = None
    prompt_version: str | None = None
    #: Of ``input_tokens``, those the gateway read from its prompt cache.
    cached_input_tokens: int = 0
    #: The version of the price map (or tenant override) that priced the turn (None:
    #: unpriced); ``price_source`` names the map.
    price_version: str | None = None
    #: SHA-256 (hex) of the turn's text as the guardrails left it (PII replaced, an
    #: instruction filtered), for the audit event; None: they left it as it was.
    input_sha256: str | None = None

    @classmethod
    def refused(cls, reason: Reason, **fields: Any) -> Outcome:
        """A refusal made before (or instead of) any gateway call."""
        fields.setdefault("gateway_outcome", NOT_CALLED)
        return cls(Status.REFUSED, reason, **fields)

    @classmethod
    def answered(cls, result: GatewayResult, **fields: Any) -> Outcome:
        usage = result.usage
        return cls(
            Status.OK,
            None,
            result.outcome,
            text=result.text,
            response_model=result.response_model,
            response_id=result.response_id,
            finish_reason=result.finish_reason,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            usage_source=usage.source,
            tokenizer=usage.tokenizer,
            endpoint=result.endpoint,
            attempts=result.attempts,
            **fields,
        )

    def but(self, **changes: Any) -> Self:
        """A copy with ``changes``: ``dataclasses.replace`` without ``__init__``, in under half
        its time (the stages make a turn's outcome twice over)."""
        new = object.__new__(type(self))
        for put, value in zip(_OUTCOME_PUTS, _outcome_values(self), strict=True):
            put(new, value)
        for name, value in changes.items():
            try:
                _OUTCOME_PUT[name](new, value)
            except KeyError:
                raise TypeError(f"Outcome has no field {name!r}") from None
        return new

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (money as a string) without default values, as a session stores it."""
        d: dict[str, Any] = {}
        for f, default in _DEFAULTS:
            value = getattr(self, f)
            if value != default:
                d[f] = value
        d["status"] = self.status.value
        d["cost"] = format(self.cost, "f")
        if self.avoided_cost:
            d["avoided_cost"] = format(self.avoided_cost, "f")
        d["produced_at"] = self.produced_at.isoformat()
        d.pop("replayed", None)
        d.pop("notices", None)
        if self.budget is not None:
            d["budget"] = _budget_to_list(self.budget)
        if self.guard is not None:
            d["guard"] = self.guard.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values["status"] = Status(values["status"])
        if values.get("reason") is not None:
            values["reason"] = Reason(values["reason"])
        values["cost"] = Decimal(values.get("cost", "0"))
        if "avoided_cost" in values:
            values["avoided_cost"] = Decimal(values["avoided_cost"])
        values.setdefault("status", Status.OK)
        values["produced_at"] = datetime.fromisoformat(values["produced_at"])
        if values.get("budget") is not None:
            values["budget"] = _budget_from_list(values["budget"])
        if values.get("guard") is not None:
            values["guard"] = GuardInfo.from_dict(values["guard"])
        values.pop("notices", None)
        return cls(**values)


# How an outcome's budget is stored in session state: compactly, its fields in order.


def _budget_to_list(b: BudgetInfo) -> list[Any]:
    """``b`` compactly, as a session stores it with a turn's outcome: its fields in order,
    money as strings, the window start as Unix seconds."""
    start = b.session_window_start
    return [
        b.mode,
        b.session_tokens_used,
        b.session_tokens_left,
        _epoch(start) if start is not None else None,
        _str(b.tenant_spend_day),
        _str(b.tenant_limit_day),
        _str(b.tenant_spend_month),
        _str(b.tenant_limit_month),
        b.currency,
    ]


# A turn's window start is that of many turns before it: remember its Unix second.
@functools.lru_cache(maxsize=64)
def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _str(m: Decimal | None) -> str | None:
    return None if m is None else str(m)


def _budget_from_list(v: list[Any]) -> BudgetInfo:
    mode, used, left, start, spend_day, limit_day, spend_month, limit_month, currency = v
    return BudgetInfo(
        mode,
        used,
        left,
        datetime.fromtimestamp(start, UTC) if start is not None else None,
        _decimal(spend_day),
        _decimal(limit_day),
        _decimal(spend_month),
        _decimal(limit_month),
        currency,
    )


def _decimal(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


_DEFAULTS: tuple[tuple[str, Any], ...] = tuple(
    (f.name, f.default) for f in dataclasses.fields(Outcome) if f.name not in ("produced_at",)
)
_OUTCOME_FIELDS = tuple(f.name for f in dataclasses.fields(Outcome))
# Each field's value of an outcome at once, and each slot's setter (which a frozen
# dataclass's own __setattr__ would refuse), for Outcome.but.
_outcome_values = operator.attrgetter(*_OUTCOME_FIELDS)
_OUTCOME_PUT: dict[str, Callable[[Outcome, Any], None]] = {
    name: getattr(Outcome, name).__set__ for name in _OUTCOME_FIELDS
}
_OUTCOME_PUTS = tuple(_OUTCOME_PUT.values())


@dataclass(slots=True)
class TurnContext:
    """One turn on its way through the stages (no Kafka coordinates in here).

    ``session`` is the turn's session, changed in place by the stages that
    keep state (history, results, budget); ``route`` is set by the router;
    ``system``, ``mode`` and ``token_allowance`` by the session budget;
    ``history`` and ``prompt_tokens`` by the conversation stage; the budgets
    after the turn by the session budget and spend stages.
    """

    turn: TurnEvent
    session: Session
    system: str
    route: Route | None = None
    #: The system instruction the turn gets: "lightweight" when its session budget runs low.
    mode: BudgetMode = "standard"
    #: Most tokens (prompt and reserved output) the turn may use; None: no session budget.
    token_allowance: int | None = None
    history: tuple[ChatMessage, ...] = ()
    prompt_tokens: int = 0
    #: Set on the way out by the session budget and spend stages; the price stage puts
    #: them on the outcome (see :meth:`budget`), so that a replay carries them too.
    session_tokens: SessionTokens | None = None
    tenant_spend: TenantSpend | None = None
    notices: tuple[SpendNotice, ...] = ()
    #: The turn's text as the gateway and the history get it (set by the guardrails:
    #: PII replaced, a filtered instruction removed); None: the turn's own text.
    text: str | None = None
    #: What the guardrails found (set by the guard stages; the price stage puts it on
    #: the outcome).
    guard: GuardInfo | None = None
    #: The prompt use case and version chosen for the session (set by the prompt stage).
    use_case: str | None = None
    prompt_version: str | None = None
    #: Few-shot examples sent between the system instruction and the history, and the
    #: tokens they take (message overhead included).
    examples: tuple[ChatMessage, ...] = ()
    examples_tokens: int = 0

    @property
    def user_text(self) -> str:
        return self.text if self.text is not None else self.turn.text

    def budget(self) -> BudgetInfo | None:
        """The turn's budgets after it, built once; None when its tenant has none."""
        s, t = self.session_tokens, self.tenant_spend
        if s is None and t is None:
            return None
        if t is None:
            return BudgetInfo(self.mode, s.used, s.left, s.window_start)  # type: ignore[union-attr]
        if s is None:
            return BudgetInfo(
                self.mode, None, None, None, t.day, t.limit_day, t.month, t.limit_month, t.currency
            )
        return BudgetInfo(
            self.mode,
            s.used,
            s.left,
            s.window_start,
            t.day,
            t.limit_day,
            t.month,
            t.limit_month,
            t.currency,
        )
