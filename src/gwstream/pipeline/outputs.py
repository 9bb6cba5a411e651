"""The events of a turn: one pure function from the turn and its outcome.

Every turn yields exactly one response, one cost and one audit event, with
ids derived from the turn id and the event kind. Given the same outcome
(a replay reads it back from the session) the events are identical, except
that the audit event of a replay says ``replayed`` and where the replayed
record was read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gwstream.events import (
    AuditEvent,
    BudgetNotice,
    CostEvent,
    OutputEvent,
    ResponseEvent,
    ResponseStatus,
    TurnEvent,
    event_id,
)
from gwstream.guardrails.redact import scrub_name
from gwstream.pipeline.context import Outcome, SpendNotice


@dataclass(frozen=True, slots=True)
class TurnOutputs:
    response: ResponseEvent
    cost: CostEvent
    audit: AuditEvent
    #: Spend notices the turn triggered (rare): they go to the audit topic after its event.
    notices: tuple[BudgetNotice, ...] = ()

    def all(self) -> tuple[OutputEvent, ...]:
        return (self.response, self.cost, self.audit, *self.notices)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the turn was read, for the audit trail only (stages never see it)."""

    partition: int
    offset: int


# Events are built unvalidated (Event.built): every field comes from validated
# input or our own code, and validation would triple the per-turn CPU.
# tests/unit/pipeline/test_outputs.py round-trips them through model_validate.
def build_events(turn: TurnEvent, outcome: Outcome, origin: Origin) -> TurnOutputs:
    o = outcome
    common: dict[str, Any] = {
        "turn_id": turn.turn_id,
        "tenant_id": turn.tenant_id,
        "session_id": turn.session_id,
        "seq": turn.seq,
        "produced_at": o.produced_at,
    }
    variant: dict[str, Any] = {"use_case": o.use_case, "prompt_version": o.prompt_version}
    status: ResponseStatus = o.status.value
    reason = o.reason.value if o.reason is not None else None
    model = o.request_model or (scrub_name(turn.model) if turn.model else "unknown")
    response = ResponseEvent.built(
        event_id=event_id(turn.turn_id, ResponseEvent.kind),
        **common,
        **variant,
        status=status,
        reason=reason,
        text=o.text,
        gateway=o.gateway,
        request_model=model,
        response_model=o.response_model,
        response_id=o.response_id,
        finish_reasons=[o.finish_reason] if o.finish_reason else [],
        input_tokens=o.input_tokens,
        output_tokens=o.output_tokens,
        latency_ms=o.latency_ms,
        budget=o.budget,
        redacted=o.guard is not None and o.guard.redacted,
        flagged=o.guard is not None and o.guard.flagged,
        cached=o.cached is not None,
    )
    cost = CostEvent.built(
        event_id=event_id(turn.turn_id, CostEvent.kind),
        **common,
        **variant,
        occurred_at=turn.occurred_at,
        gateway=o.gateway,
        request_model=model,
        input_tokens=o.input_tokens,
        output_tokens=o.output_tokens,
        cached_input_tokens=o.cached_input_tokens,
        usage_source=o.usage_source,
        tokenizer=o.tokenizer,
        cost=o.cost,
        currency=o.currency,
        price_source=o.price_source,
        price_version=o.price_version,
        budget=o.budget,
        status=status,
        latency_ms=o.latency_ms,
        cached=o.cached is not None,
        avoided_cost=o.avoided_cost,
    )
    audit = AuditEvent.built(
        event_id=event_id(turn.turn_id, AuditEvent.kind),
        **common,
        **variant,
        status=status,
        outcome=o.gateway_outcome,
        reason=reason,
        gateway=o.gateway,
        endpoint=o.endpoint,
        attempts=o.attempts,
        latency_ms=o.latency_ms,
        usage_source=o.usage_source,
        # Of the text as the guardrails left it: a hash of the raw text would let whoever
        # reads the audit topic test a guessed card or SSN against a short turn.
        input_sha256=o.input_sha256 or hashlib.sha256(turn.text.encode()).hexdigest(),
        input_chars=len(turn.text),
        output_chars=len(o.text) if o.text else 0,
        history_messages=o.history_messages,
        replayed=o.replayed,
        source_partition=origin.partition,
        source_offset=origin.offset,
        budget=o.budget,
        guardrails=o.guard,
        cache=o.cached,
    )
    if not o.notices:
        return TurnOutputs(response, cost, audit)
    return TurnOutputs(response, cost, audit, tuple(_notice(n, common) for n in o.notices))


def _notice(n: SpendNotice, common: dict[str, Any]) -> BudgetNotice:
    return BudgetNotice.built(
        event_id=BudgetNotice.id_for(n.tenant_id, n.period, n.window, n.level),
        **common,
        period=n.period,
        window=n.window,
        level=n.level,
        spend=n.spend,
        limit=n.limit,
        threshold=n.threshold,
        currency=n.currency,
    )
