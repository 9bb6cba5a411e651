"""The cost sink against the real broker and a real DuckDB file."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from tests.conftest import wait_for

from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.events import CostEvent, cloudevent_headers, event_id, session_key
from gwstream.kafkaio import make_consumer, make_producer
from gwstream.sink import BatchResult, CostSink, SinkStats, spend_report
from gwstream.sink.report import variant_report

pytestmark = pytest.mark.integration

TENANTS = ("acme", "globex", "initech")
UNIQUE = 150


def cost_events(count: int, prefix: str = "turn") -> list[CostEvent]:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    return [
        CostEvent(
            event_id=event_id(f"{prefix}-{i}", "cost"),
            turn_id=f"{prefix}-{i}",
            tenant_id=TENANTS[i % len(TENANTS)],
            session_id=f"s-{i % 7}",
            seq=i // 7,
            produced_at=start,
            occurred_at=start + timedelta(hours=i),
            request_model="gpt-4o-mini",
            input_tokens=100 + i,
            output_tokens=10 + i,
            usage_source="gateway",
            # Nano-unit amounts that floats could not add up exactly.
            cost=Decimal("0.1") + Decimal(i).scaleb(-9),
            price_source="litellm",
        )
        for i in range(count)
    ]


async def publish(
    kafka: KafkaSettings,
    topic: str,
    events: Sequence[CostEvent],
    *,
    partitions: Sequence[int | None],
) -> dict[TopicPartition, int]:
    """Send each event once per entry of ``partitions`` (None: by key); return end offsets."""
    producer = make_producer(kafka)
    await producer.start()
    try:
        futures = []
        for partition in partitions:
            for i, event in enumerate(events):
                futures.append(
                    await producer.send(
                        topic,
                        value=event.to_json(),
                        key=session_key(event.tenant_id, event.session_id).encode(),
                        headers=cloudevent_headers(event),
                        partition=None if partition is None else (partition + i) % 4,
                    )
                )
        futures.append(await producer.send(topic, value=b"not json", key=b"acme:s-bad"))
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    ends: dict[TopicPartition, int] = {}
    for meta in metadata:
        tp = TopicPartition(topic, meta.partition)
        ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


async def run_sink(
    kafka: KafkaSettings,
    topics: TopicNames,
    settings: SinkSettings,
    *,
    until: Callable[[SinkStats], bool],
    batches: list[BatchResult] | None = None,
) -> SinkStats:
    """Run a CostSink until ``until(stats)`` holds, then stop it."""

    def on_batch(result: BatchResult, stats: SinkStats) -> None:
        if batches is not None:
            batches.append(result)

    stop = asyncio.Event()
    async with CostSink(kafka, topics, settings, on_batch=on_batch) as sink:
        task = asyncio.create_task(sink.run(stop))
        await wait_for(lambda: until(sink.stats) or task.done(), timeout=60)
        stop.set()
        return await task


async def committed_offsets(
    kafka: KafkaSettings, group_id: str, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int | None]:
    # Named partitions: aiokafka cannot decode Tansu's all-partitions OffsetFetch.
    consumer = make_consumer(kafka, group_id=group_id)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()


def settings_for(database: Path, group_id: str | None = None) -> SinkSettings:
    return SinkSettings(
        database=database,
        group_id=group_id or f"sink-{uuid.uuid4().hex[:8]}",
        batch_size=40,
        batch_timeout_ms=100,
    )


async def test_each_event_is_stored_once_and_offsets_are_committed_after_it(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gwstream.sink.consumer")
    events = cost_events(UNIQUE)
    # Every event twice: once by key, once rotated onto another partition, so
    # copies meet in the same batch, in later batches and across partitions.
    ends = await publish(kafka, topic_names.costs, events, partitions=[None, 1])
    settings = settings_for(tmp_path / "costs.duckdb")
    batches: list[BatchResult] = []

    stats = await run_sink(
        kafka,
        topic_names,
        settings,
        until=lambda s: s.events_seen >= 2 * UNIQUE and s.bad_records >= 1,
        batches=batches,
    )

    assert stats.rows_inserted == UNIQUE
    assert stats.duplicates == UNIQUE
    assert stats.bad_records == 1
    assert stats.batches == len(batches) > 1
    assert (
        f"cost sink stopping: {stats.batches} batches stored and committed; cost events "
        f"{UNIQUE} new, {UNIQUE} duplicates; audit events and notices 0 new, 0 duplicates; "
        "1 bad records skipped; partitions " in caplog.text
    )
    assert "lag 0 records" in caplog.text  # everything read by the end
    expected = {tenant: Decimal(0) for tenant in TENANTS}
    for event in events:
        expected[event.tenant_id] += event.cost
    stored = {tenant: Decimal(0) for tenant in TENANTS}
    for row in spend_report(settings.database):
        stored[row["tenant_id"]] += row["cost"]
    assert stored == expected
    assert sum(row["turns"] for row in spend_report(settings.database)) == UNIQUE

    # Every batch's offsets were committed, up to the end of each partition.
    last_committed: dict[TopicPartition, int] = {}
    for result in batches:
        last_committed.update(result.committed)
    assert last_committed == ends
    tps = [TopicPartition(topic_names.costs, p) for p in range(4)]
    assert await committed_offsets(kafka, settings.group_id, tps) == {
        tp: ends.get(tp) for tp in tps
    }


async def test_a_restarted_sink_resumes_from_its_committed_offsets(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    await publish(kafka, topic_names.costs, cost_events(60), partitions=[None])
    settings = settings_for(tmp_path / "costs.duckdb")
    first = await run_sink(
        kafka, topic_names, settings, until=lambda s: s.events_seen >= 60 and s.bad_records >= 1
    )
    assert first.rows_inserted == 60

    [late] = cost_events(1, prefix="late")
    await publish(kafka, topic_names.costs, [late], partitions=[None])
    second = await run_sink(
        kafka, topic_names, settings, until=lambda s: s.rows_inserted >= 1 and s.bad_records >= 1
    )

    # Had it re-read from the start, it would have seen the earlier events first.
    assert second.events_seen == 1
    assert second.bad_records == 1  # only the bad record published after the restart
    assert sum(row["turns"] for row in spend_report(settings.database)) == 61


async def test_a_replay_under_a_new_group_adds_no_rows(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    events = cost_events(80)
    await publish(kafka, topic_names.costs, events, partitions=[None])
    database = tmp_path / "costs.duckdb"
    first = await run_sink(
        kafka, topic_names, settings_for(database), until=lambda s: s.events_seen >= 80
    )
    assert first.rows_inserted == 80

    replay = await run_sink(
        kafka, topic_names, settings_for(database), until=lambda s: s.events_seen >= 80
    )

    assert replay.rows_inserted == 0
    assert replay.duplicates == 80
    assert sum(row["cost"] for row in spend_report(database)) == sum(e.cost for e in events)


async def test_the_turns_status_cache_and_prompt_variant_reach_the_reports(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    statuses = ("ok", "ok", "refused", "failed", "invalid_output", "ok")
    events = [
        event.model_copy(
            update={
                "status": statuses[i % len(statuses)],
                "latency_ms": 10.0 * (i + 1),
                "cached": i % 4 == 0,
                "avoided_cost": Decimal("0.000000123") * (i + 1) if i % 4 == 0 else Decimal(0),
                "use_case": "billing",
                "prompt_version": f"v{i % 2 + 1}",
            }
        )
        for i, event in enumerate(cost_events(24, prefix="variant"))
    ]
    await publish(kafka, topic_names.costs, events, partitions=[None])
    settings = settings_for(tmp_path / "costs.duckdb")
    await run_sink(
        kafka, topic_names, settings, until=lambda s: s.events_seen >= 24 and s.bad_records >= 1
    )

    rows = variant_report(settings.database)
    expected: dict[tuple[str, str], tuple[int, int, int]] = {}
    for e in events:
        key = (e.tenant_id, e.prompt_version or "")
        turns, refused, cached = expected.get(key, (0, 0, 0))
        expected[key] = (turns + 1, refused + (e.status == "refused"), cached + e.cached)
    assert {
        (r["tenant_id"], r["prompt_version"]): (r["turns"], r["refused"], r["cached"]) for r in rows
    } == expected
    spend = spend_report(settings.database)
    assert sum(r["cached_turns"] for r in spend) == sum(e.cached for e in events) == 6
    assert sum(r["avoided_cost"] for r in spend) == sum(e.avoided_cost for e in events)
