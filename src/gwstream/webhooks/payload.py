"""The JSON body of a webhook, built from an output event; one pure function per source.

A body is small and carries identifiers, outcome and money, never what the
customer said::

    {"id": "…", "type": "turn.completed", "tenant_id": "acme", "session_id": "s-1",
     "turn_id": "t-1", "seq": 3, "created_at": "2026-11-20T08:00:01.2+00:00",
     "data": {"status": "ok", "reason": null, "gateway": "default", "model": "gpt-4o-mini",
              "input_tokens": 812, "output_tokens": 64, "latency_ms": 840.5, "cached": false,
              "cost": "0.000160", "currency": "USD"}}

``id`` is the source event's id (the response event's, or the budget
notice's, which every processor instance derives alike), so it is the same
on every attempt and every redelivery: receivers dedupe on it.

The answer text is left out unless the tenant sets ``include_text``. The
guardrails replace the PII they find in answers, but an answer can still
repeat an order number, an address or a name the customer gave, and a
webhook endpoint sits outside the cluster's access controls and retention;
what a receiver needs to act on (the turn finished, failed and why, what it
cost) is all here, and the text stays on ``gw.responses.v1`` for those
allowed to read it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gwstream.events import BudgetNotice, Money, ResponseEvent, ResponseStatus
from gwstream.webhooks.settings import WebhookEventClass

__all__ = [
    "BudgetData",
    "TurnData",
    "WebhookPayload",
    "WebhookType",
    "budget_payload",
    "event_class",
    "turn_payload",
]

WebhookType = Literal["turn.completed", "turn.failed", "budget.soft_threshold", "budget.exhausted"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TurnData(_Body):
    """What became of a turn: ``turn.completed`` (status ok) or ``turn.failed`` (the rest)."""

    status: ResponseStatus
    reason: str | None = Field(description="Why a turn was refused or failed, e.g. gateway_timeout")
    gateway: str | None
    model: str | None = Field(description="The model that answered (else the one asked for)")
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    latency_ms: float = Field(ge=0)
    cached: bool
    cost: Money | None = Field(description="Decimal string; null when the cost event was not seen")
    currency: str | None
    text: str | None = Field(
        default=None, description="The answer, only when the tenant sets include_text"
    )


class BudgetData(_Body):
    """A tenant's spend crossed its soft threshold or reached its limit in a UTC window."""

    period: Literal["day", "month"]
    window: str
    level: Literal["soft_threshold", "exhausted"]
    spend: Money
    limit: Money
    threshold: float
    currency: str


class WebhookPayload(_Body):
    """The body POSTed to a tenant's endpoint."""

    id: str
    type: WebhookType
    tenant_id: str
    session_id: str
    turn_id: str
    seq: int = Field(ge=0)
    created_at: AwareDatetime = Field(description="When the processor produced the event")
    data: TurnData | BudgetData

    def to_json(self) -> bytes:
        # The text key is left out entirely unless it was asked for.
        exclude = (
            {"data": {"text"}}
            if isinstance(self.data, TurnData) and self.data.text is None
            else None
        )
        return orjson.dumps(self.model_dump(mode="json", exclude=exclude))


def event_class(status: str) -> WebhookEventClass:
    """The subscription a turn's webhook belongs to: ``completed`` for ok, else ``failed``."""
    return "completed" if status == "ok" else "failed"


def turn_payload(
    event: ResponseEvent,
    *,
    cost: Decimal | None = None,
    currency: str | None = None,
    include_text: bool = False,
) -> WebhookPayload:
    """The webhook for a turn's response event (and its cost, when known)."""
    completed = event_class(event.status) == "completed"
    return WebhookPayload(
        id=event.event_id,
        type="turn.completed" if completed else "turn.failed",
        tenant_id=event.tenant_id,
        session_id=event.session_id,
        turn_id=event.turn_id,
        seq=event.seq,
        created_at=event.produced_at,
        data=TurnData(
            status=event.status,
            reason=event.reason,
            gateway=event.gateway,
            model=event.response_model or event.request_model,
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            latency_ms=event.latency_ms,
            cached=event.cached,
            cost=cost,
            currency=currency if cost is not None else None,
            text=event.text if include_text and completed else None,
        ),
    )


def budget_payload(notice: BudgetNotice) -> WebhookPayload:
    """The webhook for a tenant budget notice (its id is the notice's: one per crossing)."""
    return WebhookPayload(
        id=notice.event_id,
        type="budget.soft_threshold" if notice.level == "soft_threshold" else "budget.exhausted",
        tenant_id=notice.tenant_id,
        session_id=notice.session_id,
        turn_id=notice.turn_id,
        seq=notice.seq,
        created_at=notice.produced_at,
        data=BudgetData(
            period=notice.period,
            window=notice.window,
            level=notice.level,
            spend=notice.spend,
            limit=notice.limit,
            threshold=notice.threshold,
            currency=notice.currency,
        ),
    )
