"""What the sink stores of each event: the rows of its tables, and what they cannot hold.

Every table's row is built from a validated event (:func:`cost_row`,
:func:`audit_row`, :func:`notice_row`) or checked as strictly (the sink's bulk
parser); :func:`storage_problem` sets aside the events whose values a column
cannot hold, so that one such event never fails a whole batch. A
:class:`Batch` carries one fetched batch's rows of every table to
:class:`~gwstream.sink.writer.CostWriter`. Cost events carry no conversation
text, audit rows only counts: no row holds text or a value the guardrails found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypedDict

import pyarrow as pa

from gwstream.events import AuditEvent, BudgetNotice, CostEvent
from gwstream.sink.schema import AUDITS, COST_SCALE, COSTS, MAX_MONEY, NOTICES, Table

__all__ = [
    "MAX_COST",
    "AuditRow",
    "Batch",
    "CostRow",
    "NoticeRow",
    "audit_row",
    "cost_row",
    "money_text",
    "notice_row",
    "rounded",
    "storage_problem",
]

#: Largest absolute cost a ``DECIMAL(18,9)`` column holds.
MAX_COST = MAX_MONEY
_QUANTUM = Decimal(1).scaleb(-COST_SCALE)
# Amounts below this in magnitude round (half-even, to COST_SCALE places) to at most MAX_COST.
_COST_LIMIT = MAX_COST + _QUANTUM / 2
_MAX_BIGINT = 2**63 - 1


class CostRow(TypedDict):
    """One cost event as the batch file carries it: the table's columns, storable as they are.

    Money is a decimal string with at most :data:`COST_SCALE` fractional
    digits (:func:`money_text`), so DuckDB's cast to ``DECIMAL(18,9)`` is
    exact; timestamps are aware datetimes or RFC 3339 strings with an offset.
    Build one with :func:`cost_row`, or check every value as strictly.
    """

    event_id: str
    turn_id: str
    tenant_id: str
    session_id: str
    seq: int
    produced_at: datetime | str
    occurred_at: datetime | str
    gateway: str | None
    request_model: str
    input_tokens: int
    output_tokens: int
    usage_source: str
    tokenizer: str | None
    cost: str
    currency: str
    price_source: str
    status: str | None
    latency_ms: float
    cached: bool
    avoided_cost: str
    use_case: str | None
    prompt_version: str | None
    cached_input_tokens: int
    price_version: str | None
    budget_mode: str | None
    session_tokens_used: int | None
    session_tokens_left: int | None
    tenant_limit_day: str | None
    tenant_limit_month: str | None


class AuditRow(TypedDict):
    """One audit event's row: outcome, timing and guardrail counts (no text, no values)."""

    event_id: str
    turn_id: str
    tenant_id: str
    session_id: str
    seq: int
    produced_at: datetime | str
    status: str
    outcome: str
    reason: str | None
    gateway: str | None
    endpoint: str | None
    attempts: int
    latency_ms: float
    replayed: bool
    cache: str | None
    use_case: str | None
    prompt_version: str | None
    budget_mode: str | None
    injection_score: float | None
    injection_rule: str | None
    injection_action: str | None
    input_pii: dict[str, int] | None
    output_pii: dict[str, int] | None


class NoticeRow(TypedDict):
    """One budget notice's row."""

    event_id: str
    turn_id: str
    tenant_id: str
    session_id: str
    produced_at: datetime | str
    period: str
    budget_window: str
    level: str
    spend: str
    spend_limit: str
    threshold: float
    currency: str


@dataclass(slots=True)
class Batch:
    """The rows of one sink batch, per table, stored together in one transaction."""

    costs: list[CostRow] = field(default_factory=list)
    audits: list[AuditRow] = field(default_factory=list)
    notices: list[NoticeRow] = field(default_factory=list)
    cost_tables: list[pa.Table] = field(default_factory=list)
    """Cost rows already in the cost table's Arrow form (:func:`arrow_schema`), checked as
    strictly as :func:`cost_row`'s (the sink's bulk parser); stored before :attr:`costs`."""

    @property
    def cost_count(self) -> int:
        """Cost rows in the batch, duplicates included."""
        return len(self.costs) + sum(int(t.num_rows) for t in self.cost_tables)

    def cost_rows(self) -> list[dict[str, Any]]:
        """Every cost row as a dict, in storing order (for inspection: this converts)."""
        rows: list[dict[str, Any]] = []
        for table in self.cost_tables:
            rows += table.to_pylist()
        return rows + [dict(row) for row in self.costs]

    def __len__(self) -> int:
        return self.cost_count + len(self.audits) + len(self.notices)

    def by_table(self) -> list[tuple[Table, Sequence[Mapping[str, Any]]]]:
        return [
            (COSTS, self.costs),
            (AUDITS, self.audits),
            (NOTICES, self.notices),
        ]


def _money_ok(amount: Decimal | None) -> bool:
    return amount is None or abs(amount) < _COST_LIMIT


def storage_problem(event: CostEvent | AuditEvent | BudgetNotice) -> str | None:
    """Why ``event`` cannot be stored in its table, or None when it can.

    The payload models accept values the columns cannot hold (a cost of 1e400,
    a token count past 2^63, an infinite latency). Such an event would fail its
    whole batch on every retry, so callers set it aside before writing.
    """
    if isinstance(event, BudgetNotice):
        if not (_money_ok(event.spend) and _money_ok(event.limit)):
            return f"spend or limit beyond +/-{MAX_COST}"
        return None
    if isinstance(event, AuditEvent):
        if max(event.seq, event.attempts) > _MAX_BIGINT:
            return "seq or attempts beyond 2^63-1"
        if not math.isfinite(event.latency_ms):
            return "latency_ms not a finite number"
        return None
    if not _money_ok(event.cost):
        return f"cost beyond +/-{MAX_COST}"
    if event.cost < 0 or event.avoided_cost < 0:
        return "a negative cost"
    if not _money_ok(event.avoided_cost):
        return f"avoided_cost beyond +/-{MAX_COST}"
    b = event.budget
    if b is not None and not (_money_ok(b.tenant_limit_day) and _money_ok(b.tenant_limit_month)):
        return f"a tenant limit beyond +/-{MAX_COST}"
    counts = [event.seq, event.input_tokens, event.output_tokens, event.cached_input_tokens]
    if b is not None:
        counts += [b.session_tokens_used or 0, b.session_tokens_left or 0]
    if max(counts) > _MAX_BIGINT:
        return "seq or a token count beyond 2^63-1"
    if not math.isfinite(event.latency_ms):
        return "latency_ms not a finite number"
    return None


def money_text(amount: Decimal) -> str:
    """``amount`` as the column stores it: rounded half-even to 10^-9, in plain notation."""
    return format(amount.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN), "f") if amount else "0"


def rounded(event: CostEvent) -> bool:
    """Whether storing ``event`` rounds its cost or avoided cost (finer than 10^-9)."""
    return any(a != a.quantize(_QUANTUM) for a in (event.cost, event.avoided_cost))


def _maybe_money(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)


def cost_row(event: CostEvent) -> CostRow:
    """The row of an event that passed :func:`storage_problem`."""
    b = event.budget
    return CostRow(
        event_id=event.event_id,
        turn_id=event.turn_id,
        tenant_id=event.tenant_id,
        session_id=event.session_id,
        seq=event.seq,
        produced_at=event.produced_at,
        occurred_at=event.occurred_at,
        gateway=event.gateway,
        request_model=event.request_model,
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        usage_source=event.usage_source,
        tokenizer=event.tokenizer,
        cost=money_text(event.cost),
        currency=event.currency,
        price_source=event.price_source,
        status=event.status,
        latency_ms=event.latency_ms,
        cached=event.cached,
        avoided_cost=money_text(event.avoided_cost),
        use_case=event.use_case,
        prompt_version=event.prompt_version,
        cached_input_tokens=event.cached_input_tokens,
        price_version=event.price_version,
        budget_mode=b.mode if b is not None else None,
        session_tokens_used=b.session_tokens_used if b is not None else None,
        session_tokens_left=b.session_tokens_left if b is not None else None,
        tenant_limit_day=_maybe_money(b.tenant_limit_day) if b is not None else None,
        tenant_limit_month=_maybe_money(b.tenant_limit_month) if b is not None else None,
    )


def audit_row(event: AuditEvent) -> AuditRow:
    """The row of an audit event that passed :func:`storage_problem`."""
    g = event.guardrails
    return AuditRow(
        event_id=event.event_id,
        turn_id=event.turn_id,
        tenant_id=event.tenant_id,
        session_id=event.session_id,
        seq=event.seq,
        produced_at=event.produced_at,
        status=event.status,
        outcome=event.outcome,
        reason=event.reason,
        gateway=event.gateway,
        endpoint=event.endpoint,
        attempts=event.attempts,
        latency_ms=event.latency_ms,
        replayed=event.replayed,
        cache=event.cache,
        use_case=event.use_case,
        prompt_version=event.prompt_version,
        budget_mode=event.budget.mode if event.budget is not None else None,
        injection_score=g.injection_score if g is not None else None,
        injection_rule=g.injection_rule if g is not None else None,
        injection_action=g.injection_action if g is not None else None,
        input_pii=dict(g.pii) if g is not None and g.pii else None,
        output_pii=dict(g.output_pii) if g is not None and g.output_pii else None,
    )


def notice_row(event: BudgetNotice) -> NoticeRow:
    """The row of a budget notice that passed :func:`storage_problem`."""
    return NoticeRow(
        event_id=event.event_id,
        turn_id=event.turn_id,
        tenant_id=event.tenant_id,
        session_id=event.session_id,
        produced_at=event.produced_at,
        period=event.period,
        budget_window=event.window,
        level=event.level,
        spend=money_text(event.spend),
        spend_limit=money_text(event.limit),
        threshold=event.threshold,
        currency=event.currency,
    )
