"""The runtime on a real broker, with plain handlers (no LLM stages)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import pytest
from tests.conftest import wait_for
from tests.integration.helpers import committed_total, run_processor_until

from gwstream.config import KafkaSettings, RuntimeSettings, TopicNames
from gwstream.errors import PoisonRecord
from gwstream.kafkaio import key_partition, read_topic, send_all
from gwstream.runtime import InRecord, KeyState, OutRecord, Processor

pytestmark = pytest.mark.integration


class Recorder:
    """Decodes ``seq`` from the value; records the order and overlap of handling."""

    def __init__(self, out_topic: str) -> None:
        self.out_topic = out_topic
        self.handled: dict[bytes, list[int]] = defaultdict(list)
        self.active: set[bytes] = set()
        self.max_active = 0
        self.overlapping_keys = False
        self.gates: dict[tuple[bytes, int], asyncio.Event] = {}
        self.waits: dict[tuple[bytes, int], tuple[bytes, int]] = {}

    def decode(self, record: InRecord) -> int:
        try:
            return int(record.value or b"")
        except ValueError:
            raise PoisonRecord("not_json", "not an integer") from None

    async def handle(self, item: int, record: InRecord, state: KeyState) -> Sequence[OutRecord]:
        key = record.key or b""
        assert key not in self.active, "two records of one key ran at once"
        self.active.add(key)
        self.max_active = max(self.max_active, len(self.active))
        try:
            if (key, item) in self.waits:
                await self.gates.setdefault(self.waits[(key, item)], asyncio.Event()).wait()
            else:
                await asyncio.sleep(0)
            self.handled[key].append(item)
            self.gates.setdefault((key, item), asyncio.Event()).set()
        finally:
            self.active.discard(key)
        return [OutRecord(self.out_topic, key, str(item).encode())]


async def test_keys_of_one_partition_run_concurrently_and_each_key_in_order(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    keys = [f"tenant:s{i}".encode() for i in range(20)]
    records = [(topic_names.turns, k, str(seq).encode(), []) for seq in range(10) for k in keys]
    # Everything in partition 0: only per-key lanes can give concurrency here.
    futures = [await producer.send(t, v, key=k, partition=0) for t, k, v, _ in records]  # type: ignore[attr-defined]
    await asyncio.gather(*futures)
    # s0's first record waits until s1's last is handled: serial processing deadlocks.
    rec = Recorder(topic_names.responses)
    rec.waits[(keys[0], 0)] = (keys[1], 9)
    proc = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=rec,
        settings=RuntimeSettings(max_in_flight=50),
    )
    await run_processor_until(proc, lambda: proc.stats.processed == len(records))
    for k in keys:
        assert rec.handled[k] == list(range(10))
    assert rec.max_active > 1


async def test_poison_records_go_to_the_dead_letter_topic_and_the_stream_goes_on(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    good = [(topic_names.turns, b"t:a", str(i).encode(), []) for i in range(5)]
    bad = [
        (topic_names.turns, None, b"1", [("x-trace", b"abc")]),
        (topic_names.turns, b"t:b", b"not-a-number", []),
        (topic_names.turns, b"t:c", b"9" * 5000, []),
    ]
    await send_all(producer, [good[0], *bad, *good[1:]])  # type: ignore[arg-type]
    rec = Recorder(topic_names.responses)
    settings = RuntimeSettings(max_record_bytes=1024, max_in_flight=4)
    proc = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=rec,
        settings=settings,
    )
    await run_processor_until(proc, lambda: proc.stats.processed == 8)
    assert rec.handled[b"t:a"] == [0, 1, 2, 3, 4]
    dlq = await read_topic(kafka, topic_names.dlq, until=lambda rs: len(rs) >= 3)
    reasons = {dict(r.headers)["gw_dlq_reason"]: r for r in dlq}
    assert set(reasons) == {b"missing_key", b"not_json", b"oversized"}
    assert reasons[b"missing_key"].value == b"1"
    assert dict(reasons[b"missing_key"].headers)["x-trace"] == b"abc"
    assert reasons[b"oversized"].value == b"9" * 5000


async def test_offsets_are_committed_so_a_restart_resumes_after_finished_work(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    await send_all(
        producer,
        [(topic_names.turns, f"t:{i % 7}".encode(), str(i).encode(), []) for i in range(100)],
    )  # type: ignore[arg-type]
    rec = Recorder(topic_names.responses)
    proc = Processor(kafka, input_topic=topic_names.turns, dlq_topic=topic_names.dlq, handler=rec)
    await run_processor_until(proc, lambda: proc.stats.processed == 100)
    assert await committed_total(kafka, topic_names.turns, 4) == 100
    await send_all(producer, [(topic_names.turns, b"t:new", b"1000", [])])  # type: ignore[arg-type]
    rec2 = Recorder(topic_names.responses)
    proc2 = Processor(kafka, input_topic=topic_names.turns, dlq_topic=topic_names.dlq, handler=rec2)
    await run_processor_until(proc2, lambda: proc2.stats.processed >= 1)
    assert dict(rec2.handled) == {b"t:new": [1000]}


class Gated:
    """Holds every record until ``release`` is set; ``stuck`` keys never finish."""

    def __init__(self, out_topic: str, stuck: frozenset[bytes] = frozenset()) -> None:
        self.out_topic = out_topic
        self.release = asyncio.Event()
        self.stuck = stuck
        self.started = 0

    def decode(self, record: InRecord) -> int:
        return int(record.value or b"0")

    async def handle(self, item: int, record: InRecord, state: KeyState) -> Sequence[OutRecord]:
        self.started += 1
        if record.key in self.stuck:
            await asyncio.Event().wait()
        await self.release.wait()
        return [OutRecord(self.out_topic, record.key, b"ok")]


async def test_a_partition_with_too_many_uncommitted_records_is_paused_then_resumed(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    futures = [
        await producer.send(topic_names.turns, str(i).encode(), key=f"t:{i}".encode(), partition=1)  # type: ignore[attr-defined]
        for i in range(200)
    ]
    await asyncio.gather(*futures)
    handler = Gated(topic_names.responses)
    settings = RuntimeSettings(
        max_in_flight=500, pause_above=20, resume_below=10, fetch_max_records=10
    )
    proc = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=handler,
        settings=settings,
    )
    stop = asyncio.Event()
    async with proc:
        task = asyncio.create_task(proc.run(stop))
        await wait_for(lambda: 1 in proc.stats.paused)
        # Paused: fetching stopped near the high-water mark although workers are free.
        fetched_while_paused = proc.stats.fetched
        assert fetched_while_paused <= settings.pause_above + settings.fetch_max_records
        handler.release.set()
        await wait_for(lambda: proc.stats.processed == 200)
        stop.set()
        await task
    assert proc.stats.pauses >= 2, "resumed, then paused again as the backlog refilled"
    assert not proc.stats.paused


async def test_drain_is_bounded_and_never_commits_past_a_stuck_record(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    records = [(b"t:stuck" if i == 5 else f"t:{i}".encode(), str(i).encode()) for i in range(20)]
    futures = [
        await producer.send(topic_names.turns, v, key=k, partition=2)  # type: ignore[attr-defined]
        for k, v in records
    ]
    await asyncio.gather(*futures)
    handler = Gated(topic_names.responses, stuck=frozenset({b"t:stuck"}))
    handler.release.set()
    settings = RuntimeSettings(drain_timeout_s=0.5)
    proc = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=handler,
        settings=settings,
    )
    stop = asyncio.Event()
    async with proc:
        task = asyncio.create_task(proc.run(stop))
        await wait_for(lambda: proc.stats.processed == 19)
        stop.set()
        await task
    # __aexit__ returned although one record never finished; its offset was not passed.
    assert await committed_total(kafka, topic_names.turns, 4) == 5


async def test_records_finishing_during_the_drain_are_committed(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    await send_all(  # type: ignore[arg-type]
        producer, [(topic_names.turns, f"t:{i}".encode(), str(i).encode(), []) for i in range(12)]
    )
    handler = Gated(topic_names.responses)
    proc = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=handler,
        settings=RuntimeSettings(drain_timeout_s=30),
    )
    stop = asyncio.Event()
    await proc.start()
    task = asyncio.create_task(proc.run(stop))
    await wait_for(lambda: handler.started == 12)  # all in flight, none finished
    stop.set()
    await task
    stopping = asyncio.create_task(proc.stop())
    await wait_for(lambda: proc.stats.draining > 0)
    handler.release.set()  # they finish while their partitions drain
    await stopping
    assert proc.stats.processed == 12
    assert await committed_total(kafka, topic_names.turns, 4) == 12


async def test_a_key_on_a_partition_murmur2_does_not_give_it_is_counted_and_reported(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    producer: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The way librdkafka's default partitioner would place a key (CRC32), against
    # Kafka's default (murmur2) that aiokafka and the Java client use: 4 partitions.
    placed, misplaced = b"t:placed", b"t:elsewhere"
    home = key_partition(misplaced, 4)
    records = [
        (topic_names.turns, placed, b"1", key_partition(placed, 4)),
        (topic_names.turns, misplaced, b"2", (home + 1) % 4),
    ]
    futures = [await producer.send(t, v, key=k, partition=p) for t, k, v, p in records]  # type: ignore[attr-defined]
    await asyncio.gather(*futures)
    proc = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=Recorder(topic_names.responses),
    )
    await run_processor_until(proc, lambda: proc.stats.processed == 2)
    assert proc.stats.misplaced_keys == 1
    [warning] = [r for r in caplog.records if "murmur2_random" in r.getMessage()]
    assert f"{topic_names.turns}[{(home + 1) % 4}]" in warning.getMessage()
    assert b"elsewhere" not in warning.getMessage().encode()  # the key is not logged
