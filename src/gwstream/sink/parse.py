"""Parsing what the sink fetched: cost events, audit events and budget notices into rows.

A record that does not parse as a :class:`~gwstream.events.CostEvent`, or
whose values the table cannot hold, is logged by position (never by content),
counted in :attr:`SinkStats.bad_records` and skipped: one bad record must not
stop the reports.

Records as the processor writes them take a fast path (:func:`fast_row`): a
strict TypedDict validator that accepts a subset of what the model accepts
and yields the table's row directly, without building the model and
rounding its Decimals (about a third less time per record than model plus
row). Anything else (an unusual but valid form, a budget, a bad record)
goes through the model, so validation is exactly the model's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from aiokafka import ConsumerRecord, TopicPartition
from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict  # pydantic needs it below Python 3.12

from gwstream.events import ID_PATTERN, AuditEvent, BudgetNotice, CostEvent, ResponseStatus
from gwstream.sink.writer import (
    Batch,
    CostRow,
    audit_row,
    cost_row,
    notice_row,
    storage_problem,
)

logger = logging.getLogger(__name__)

Records = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """One fetched batch, parsed: the storable events and the offsets it covers."""

    records: int
    batch: Batch
    """The storable events' rows, in fetch order (duplicates included)."""
    bad_records: int

    @property
    def rows(self) -> list[CostRow]:
        """The cost rows."""
        return self.batch.costs

    offsets: dict[TopicPartition, int]
    """Next offset to read per partition, past every fetched record."""


def _reason(exc: ValidationError) -> str:
    # Only location and error type: pydantic messages may quote the input.
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0] if errors else None
    where = ".".join(str(part) for part in first["loc"]) if first else ""
    kind = first["type"] if first else "invalid"
    return f"{len(errors)} error(s), first {kind} at {where or '(root)'}"


_MAX_BIGINT = 2**63 - 1
_WireId = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=128, pattern=ID_PATTERN)
]
_WireCount = Annotated[int, Strict(), Field(ge=0, le=_MAX_BIGINT)]
# Plain decimals DECIMAL(18,9) holds exactly: stored as written, no rounding needed.
_WireMoney = Annotated[
    str, StringConstraints(strict=True, pattern=r"^-?(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,9})?$")
]


class _WireCost(TypedDict):
    """A cost event exactly as the processor writes it, each field a strict subset of CostEvent's.

    Strict types (no coercion), every field present, no budget, money as
    plain decimal strings within the column's scale and range; the patterns
    and the datetime parser are CostEvent's own, so whatever passes here
    passes CostEvent with the same values.
    """

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    event_id: str
    turn_id: _WireId
    tenant_id: _WireId
    session_id: _WireId
    seq: _WireCount
    produced_at: AwareDatetime
    occurred_at: AwareDatetime
    gateway: str | None
    request_model: str
    input_tokens: _WireCount
    output_tokens: _WireCount
    usage_source: Literal["gateway", "tiktoken", "none"]
    tokenizer: str | None
    cost: _WireMoney
    currency: Annotated[str, StringConstraints(strict=True, min_length=3, max_length=3)]
    price_source: str
    budget: None
    status: ResponseStatus | None
    latency_ms: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    cached: bool
    avoided_cost: _WireMoney
    use_case: str | None
    prompt_version: str | None
    cached_input_tokens: _WireCount
    price_version: str | None


_NO_BUDGET = {
    "budget_mode": None,
    "session_tokens_used": None,
    "session_tokens_left": None,
    "tenant_limit_day": None,
    "tenant_limit_month": None,
}


@functools.cache
def _wire_adapter() -> TypeAdapter[_WireCost]:
    # Built on first use, not at import.
    return TypeAdapter(_WireCost)


def fast_row(payload: bytes) -> CostRow | None:
    """The row of a cost event as the processor writes it, or None for any other form.

    None does not mean invalid: the caller then validates with
    :class:`CostEvent`. A row returned here is one the model accepts,
    :func:`~gwstream.sink.writer.storage_problem` passes, and
    :func:`~gwstream.sink.writer.cost_row` gives for the model's event, got
    without building the model or converting money (see :class:`_WireCost`).
    """
    try:
        wire: dict[str, Any] = dict(_wire_adapter().validate_json(payload))
    except ValidationError:
        return None
    del wire["budget"]
    wire.update(_NO_BUDGET)
    return cast(CostRow, wire)


def _cost(value: bytes, position: str) -> CostRow | None:
    row = fast_row(value)
    if row is not None:
        return row
    try:
        event = CostEvent.model_validate_json(value)
    except ValidationError as exc:
        logger.warning("skipping cost record %s: %s", position, _reason(exc))
        return None
    problem = storage_problem(event)
    if problem is not None:
        logger.warning("skipping cost record %s: %s", position, problem)
        return None
    return cost_row(event)


_NOTICE_TYPE = BudgetNotice.ce_type.encode()


def _audit(value: bytes, headers: Sequence[tuple[str, bytes]], position: str, batch: Batch) -> bool:
    """Add an audit record's row (an audit event or a budget notice) to ``batch``."""
    kind: type[AuditEvent] | type[BudgetNotice] = AuditEvent
    if any(k == "ce_type" and v == _NOTICE_TYPE for k, v in headers):
        kind = BudgetNotice
    try:
        event = kind.model_validate_json(value)
    except ValidationError as exc:
        logger.warning("skipping audit record %s: %s", position, _reason(exc))
        return False
    problem = storage_problem(event)
    if problem is not None:
        logger.warning("skipping audit record %s: %s", position, problem)
        return False
    if isinstance(event, BudgetNotice):
        batch.notices.append(notice_row(event))
    else:
        batch.audits.append(audit_row(event))
    return True


def parse_batch(fetched: Records, audit_topic: str | None = None) -> ParsedBatch:
    """Parse fetched records into storable rows, counting and logging the rest.

    Records of ``audit_topic`` are audit events and budget notices (told
    apart by their ``ce_type`` header); every other record is a cost event.
    The offsets to commit cover every fetched record, bad ones included: a
    skipped record is handled (logged), not pending.
    """
    batch = Batch()
    bad = 0
    records = 0
    offsets: dict[TopicPartition, int] = {}
    for tp, recs in fetched.items():
        if not recs:
            continue
        offsets[tp] = recs[-1].offset + 1
        audit = tp.topic == audit_topic
        for record in recs:
            records += 1
            position = f"{tp.topic}[{tp.partition}]@{record.offset}"
            if record.value is None:
                bad += 1
                logger.warning("skipping record %s: no value", position)
                continue
            if audit:
                bad += not _audit(record.value, record.headers, position, batch)
                continue
            row = _cost(record.value, position)
            if row is None:
                bad += 1
            else:
                batch.costs.append(row)
    return ParsedBatch(records=records, batch=batch, bad_records=bad, offsets=offsets)
