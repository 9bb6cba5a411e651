"""Parsing what the sink fetched: cost events, audit events and budget notices into rows.

A record that does not parse as a :class:`~gwstream.events.CostEvent`, or
whose values the table cannot hold, is logged by position (never by content),
counted in :attr:`SinkStats.bad_records` and skipped: one bad record must not
stop the reports.

Cost records as the processor writes them take a fast path
(:mod:`gwstream.sink.bulk`): a batch's payloads are read by Arrow's JSON
reader straight into the cost table's columns, checked in bulk, never built
into Python objects. Every record it hands back (an unusual but valid form,
a bad record) goes through the model, so what is stored, skipped and logged
is exactly what the model decides.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import ConsumerRecord, TopicPartition
from pydantic import (
    ValidationError,
)

from gwstream.events import AuditEvent, BudgetNotice, CostEvent
from gwstream.sink.bulk import parse_costs
from gwstream.sink.rows import (
    Batch,
    CostRow,
    audit_row,
    cost_row,
    notice_row,
    rounded,
    storage_problem,
)

logger = logging.getLogger(__name__)

Records = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
_E = TypeVar("_E", CostEvent, AuditEvent, BudgetNotice)


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """One fetched batch, parsed: the storable events and the offsets it covers."""

    records: int
    batch: Batch
    """The storable events' rows, in fetch order (duplicates included)."""
    bad_records: int
    rounded: int
    """Cost events whose money was finer than 10^-9: stored rounded half-even."""

    @property
    def cost_events(self) -> int:
        """Cost events that parsed as storable, duplicates included."""
        return self.batch.cost_count

    offsets: dict[TopicPartition, int]
    """Next offset to read per partition, past every fetched record."""


def _reason(exc: ValidationError) -> str:
    # Only location and error type: pydantic messages may quote the input.
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0] if errors else None
    where = ".".join(str(part) for part in first["loc"]) if first else ""
    kind = first["type"] if first else "invalid"
    return f"{len(errors)} error(s), first {kind} at {where or '(root)'}"


def _storable(kind: type[_E], value: bytes, what: str, position: str) -> _E | None:
    """``value`` validated as ``kind`` if its table can hold it; else None, logged by
    position and reason (never content)."""
    try:
        event = kind.model_validate_json(value)
    except ValidationError as exc:
        logger.warning("skipping %s record %s: %s", what, position, _reason(exc))
        return None
    problem = storage_problem(event)
    if problem is not None:
        logger.warning("skipping %s record %s: %s", what, position, problem)
        return None
    return event


def _cost(value: bytes, position: str) -> tuple[CostRow | None, bool]:
    """The row of a cost record through the model, or None (logged) when it cannot be
    stored; and whether storing it rounds its money (finer than 10^-9)."""
    event = _storable(CostEvent, value, "cost", position)
    return (None, False) if event is None else (cost_row(event), rounded(event))


_NOTICE_TYPE = BudgetNotice.ce_type.encode()


def _audit(value: bytes, headers: Sequence[tuple[str, bytes]], position: str, batch: Batch) -> bool:
    """Add an audit record's row (an audit event or a budget notice) to ``batch``."""
    if any(k == "ce_type" and v == _NOTICE_TYPE for k, v in headers):
        notice = _storable(BudgetNotice, value, "audit", position)
        if notice is not None:
            batch.notices.append(notice_row(notice))
        return notice is not None
    event = _storable(AuditEvent, value, "audit", position)
    if event is not None:
        batch.audits.append(audit_row(event))
    return event is not None


def _position(tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> str:
    return f"{tp.topic}[{tp.partition}]@{record.offset}"


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
    costs: list[bytes] = []
    cost_records: list[tuple[TopicPartition, ConsumerRecord[bytes, bytes]]] = []
    for tp, recs in fetched.items():
        if not recs:
            continue
        offsets[tp] = recs[-1].offset + 1
        audit = tp.topic == audit_topic
        records += len(recs)
        for record in recs:
            if record.value is None:
                bad += 1
                logger.warning("skipping record %s: no value", _position(tp, record))
                continue
            if audit:
                bad += not _audit(record.value, record.headers, _position(tp, record), batch)
                continue
            costs.append(record.value)
            cost_records.append((tp, record))
    batch.cost_tables, rest = parse_costs(costs)
    rounded_money = 0
    for i in rest:
        row, rounds = _cost(costs[i], _position(*cost_records[i]))
        if row is None:
            bad += 1
        else:
            batch.costs.append(row)
            rounded_money += rounds
    return ParsedBatch(
        records=records, batch=batch, bad_records=bad, rounded=rounded_money, offsets=offsets
    )
