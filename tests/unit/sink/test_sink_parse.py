"""Parsing fetched records: bad ones are counted and skipped, never logged verbatim."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition

from gwstream.events import CostEvent, event_id
from gwstream.sink.parse import parse_batch

TOPIC = "gw.costs.v1"
SECRET = "do-not-log-me"


def cost_event(turn: str, cost: str = "0.01") -> CostEvent:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    return CostEvent(
        event_id=event_id(turn, "cost"),
        turn_id=turn,
        tenant_id="acme",
        session_id="s-1",
        seq=0,
        produced_at=when,
        occurred_at=when,
        request_model="gpt-4o-mini",
        input_tokens=1,
        output_tokens=1,
        usage_source="gateway",
        cost=Decimal(cost),
        price_source="litellm",
    )


def record(partition: int, offset: int, value: bytes | None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=TOPIC,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"acme:s-1",
        value=value,
        checksum=None,
        serialized_key_size=8,
        serialized_value_size=len(value or b""),
        headers=[],
    )


def test_bad_records_are_counted_skipped_and_logged_by_position_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = cost_event("t-1")
    wrong_schema = good.model_dump(mode="json") | {"usage_source": SECRET}
    too_big = cost_event("t-2", "1e400")
    p0, p1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    fetched = {
        p0: [
            record(0, 10, good.to_json()),
            record(0, 11, f"not json {SECRET}".encode()),
            record(0, 12, None),
        ],
        p1: [
            record(1, 40, orjson.dumps(wrong_schema)),
            record(1, 41, too_big.to_json()),
            record(1, 42, cost_event("t-3").to_json()),
        ],
    }
    with caplog.at_level(logging.WARNING, logger="gwstream.sink.parse"):
        batch = parse_batch(fetched)
    assert [row["turn_id"] for row in batch.batch.cost_rows()] == ["t-1", "t-3"]
    assert batch.bad_records == 4
    assert batch.records == 6
    # Bad records are handled, so the offsets to commit go past them too.
    assert batch.offsets == {p0: 13, p1: 43}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for position in (f"{TOPIC}[0]@11", f"{TOPIC}[0]@12", f"{TOPIC}[1]@40", f"{TOPIC}[1]@41"):
        assert position in logged
    assert SECRET not in logged


def test_an_empty_partition_list_adds_no_offsets() -> None:
    batch = parse_batch({TopicPartition(TOPIC, 3): []})
    assert batch.records == 0
    assert batch.offsets == {}


def test_the_new_fields_survive_parsing_and_an_infinite_latency_is_skipped() -> None:
    good = cost_event("t-1").model_copy(
        update={"status": "ok", "latency_ms": 12.5, "use_case": "billing", "prompt_version": "v2"}
    )
    # 1e999 is valid JSON that parses to an infinite float, which the table cannot hold.
    endless = cost_event("t-2").to_json().replace(b'"latency_ms":0.0', b'"latency_ms":1e999')
    assert b"1e999" in endless
    batch = parse_batch(
        {TopicPartition(TOPIC, 0): [record(0, 0, good.to_json()), record(0, 1, endless)]}
    )
    [row] = batch.batch.cost_rows()
    assert (row["status"], row["latency_ms"], row["use_case"], row["prompt_version"]) == (
        "ok",
        12.5,
        "billing",
        "v2",
    )
    assert batch.bad_records == 1


def test_a_negative_cost_is_skipped_and_money_finer_than_the_column_is_counted_rounded() -> None:
    fetched = {
        TopicPartition(TOPIC, 0): [
            record(0, 0, cost_event("t-1", "-1.5").to_json()),
            record(0, 1, cost_event("t-2", "0.00001728345").to_json()),  # 11 places
            record(0, 2, cost_event("t-3", "0.000017283").to_json()),  # 9: exact
        ]
    }
    batch = parse_batch(fetched)
    assert batch.bad_records == 1  # the negative one
    assert batch.rounded == 1
    assert sorted(row["turn_id"] for row in batch.batch.cost_rows()) == ["t-2", "t-3"]
