"""Key state in the runtime on a real broker: changelog, restore, snapshots, expiry, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from tests.conftest import own_broker_topics
from tests.integration.helpers import run_processor_until

from gwstream.broker import EmbeddedBroker
from gwstream.config import KafkaSettings, RuntimeSettings, StateSettings, TopicNames
from gwstream.errors import BrokerError, ProcessingHalted
from gwstream.kafkaio import make_consumer, partitions_of, read_topic, send_all, start_client
from gwstream.runtime import InRecord, KeyState, OutRecord, Processor
from gwstream.runtime.changelog import CONTROL_KEY

pytestmark = pytest.mark.integration


class Appender:
    """State = the comma-joined values seen for the key; records what state each record saw."""

    def __init__(self, out_topic: str) -> None:
        self.out_topic = out_topic
        self.seen: dict[bytes, bytes | None] = {}
        self.order: list[bytes] = []

    def decode(self, record: InRecord) -> bytes:
        return record.value or b""

    async def handle(self, item: bytes, record: InRecord, state: KeyState) -> Sequence[OutRecord]:
        self.seen[item] = state.value
        self.order.append(item)
        state.set(item if state.value is None else state.value + b"," + item)
        return [OutRecord(self.out_topic, record.key, item)]


def _processor(
    kafka: KafkaSettings,
    names: TopicNames,
    handler: object,
    state: StateSettings | None = None,
    **runtime: object,
) -> Processor[bytes]:
    return Processor(
        kafka,
        input_topic=names.turns,
        dlq_topic=names.dlq,
        handler=handler,  # type: ignore[arg-type]
        settings=RuntimeSettings(commit_interval_s=0.1, **runtime),  # type: ignore[arg-type]
        changelog_topic=names.sessions,
        state=state,
    )


async def test_state_written_by_one_instance_is_restored_by_the_next_before_its_records(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    keys = [f"t:s{i}".encode() for i in range(12)]
    await send_all(
        producer, [(topic_names.turns, k, b"%s-%d" % (k, n), []) for n in range(3) for k in keys]
    )  # type: ignore[arg-type]
    first = Appender(topic_names.responses)
    p1 = _processor(kafka, topic_names, first)
    await run_processor_until(p1, lambda: p1.stats.processed == 36)
    await send_all(producer, [(topic_names.turns, k, b"%s-3" % k, []) for k in keys])  # type: ignore[arg-type]
    second = Appender(topic_names.responses)
    p2 = _processor(kafka, topic_names, second)
    await run_processor_until(p2, lambda: p2.stats.processed == 12)
    assert p2.stats.restored_keys == 12
    for k in keys:
        assert second.seen[b"%s-3" % k] == b"%s-0,%s-1,%s-2" % (k, k, k)


async def test_a_restore_reads_the_last_snapshot_and_what_followed_not_the_whole_history(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    keys = [f"t:s{i}".encode() for i in range(10)]
    records = [(topic_names.turns, k, b"%d" % n, []) for n in range(60) for k in keys]
    await send_all(producer, records)  # type: ignore[arg-type]
    state = StateSettings(snapshot_min_changes=40, snapshot_ratio=1.0)
    p1 = _processor(kafka, topic_names, Appender(topic_names.responses), state)

    def snapshots_settled() -> bool:
        # Stopped with a snapshot half written, its partition restores from the one before.
        parts = p1._parts.values()
        return p1.stats.processed == 600 and all(
            (part.snapshot is None or part.snapshot.done())
            and (part.store is None or not part.store.snapshot_due(40, 1.0))
            for part in parts
        )

    await run_processor_until(p1, snapshots_settled)
    p2 = _processor(kafka, topic_names, Appender(topic_names.responses), state)
    await run_processor_until(p2, lambda: p2.stats.restored_keys == 10)
    # 600 changes were written; a restore reads the last snapshots and what followed them.
    assert 10 <= p2.stats.restored_records < 200


async def test_idle_keys_expire_with_a_tombstone_on_the_changelog(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    await send_all(
        producer,
        [(topic_names.turns, b"t:idle", b"1", []), (topic_names.turns, b"t:idle2", b"1", [])],
    )  # type: ignore[arg-type]
    state = StateSettings(idle_expiry_s=0.3, expiry_check_s=0.1)
    p = _processor(kafka, topic_names, Appender(topic_names.responses), state)
    await run_processor_until(p, lambda: p.stats.expired == 2)
    assert p.stats.expired == 2
    log = await read_topic(
        kafka, topic_names.sessions, until=lambda rs: sum(r.value is None for r in rs) >= 2
    )
    tombstones = {r.key for r in log if r.key != CONTROL_KEY and r.value is None}
    assert tombstones == {b"t:idle", b"t:idle2"}


async def test_with_one_worker_the_oldest_waiting_record_goes_first(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    # One partition, two keys: round-robin lanes would interleave a1 b1 a2 ...
    values = [(b"t:a", b"a1"), (b"t:a", b"a2"), (b"t:b", b"b1"), (b"t:a", b"a3"), (b"t:b", b"b2")]
    futures = [await producer.send(topic_names.turns, v, key=k, partition=0) for k, v in values]  # type: ignore[attr-defined]
    await asyncio.gather(*futures)
    handler = Appender(topic_names.responses)
    p = _processor(kafka, topic_names, handler, max_in_flight=1)
    await run_processor_until(p, lambda: p.stats.processed == 5)
    assert handler.order == [v for _, v in values]


class BadOutputs(Appender):
    """Returns an output the producer cannot send: a failure outside the handler."""

    async def handle(self, item: bytes, record: InRecord, state: KeyState) -> Sequence[OutRecord]:
        return [OutRecord(self.out_topic, record.key, "not bytes")]  # type: ignore[arg-type]


async def test_a_worker_failing_outside_the_handler_stops_the_processor_visibly(
    kafka: KafkaSettings, topic_names: TopicNames, producer: object
) -> None:
    await send_all(producer, [(topic_names.turns, b"t:x", b"1", [])])  # type: ignore[arg-type]
    p = _processor(kafka, topic_names, BadOutputs(topic_names.responses))
    stop = asyncio.Event()
    async with p:
        with pytest.raises(ProcessingHalted):
            await asyncio.wait_for(p.run(stop), 30)
    assert p.stats.processed == 0


async def test_a_changelog_not_copartitioned_with_the_input_is_refused_at_start(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic_names.sessions + "-x", 2, 1)])
    finally:
        await admin.close()
    names = topic_names.model_copy(update={"sessions": topic_names.sessions + "-x"})
    p = _processor(kafka, names, Appender(names.responses))
    with pytest.raises(BrokerError, match="must be equal"):
        await p.start()


async def test_a_missing_input_topic_is_named_at_start_without_waiting_out_the_timeout(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    names = topic_names.model_copy(update={"turns": topic_names.turns + "-never-created"})
    p = _processor(kafka, names, Appender(names.responses))
    # partitions_of waits up to 15 s for a topic that has no partitions yet; one the
    # cluster does not list fails after ABSENT_GRACE_S, which this bound would catch.
    with pytest.raises(BrokerError, match=f"topic {names.turns} does not exist"):
        await asyncio.wait_for(p.start(), 10)


async def test_a_missing_output_topic_is_named_at_start_and_not_created(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    """A broker that creates topics on first use must not get the chance to."""
    from aiokafka.admin import AIOKafkaAdminClient

    missing = topic_names.responses + "-never-created"
    p = Processor(
        kafka,
        input_topic=topic_names.turns,
        dlq_topic=topic_names.dlq,
        handler=Appender(missing),  # type: ignore[arg-type]
        settings=RuntimeSettings(commit_interval_s=0.1),
        changelog_topic=topic_names.sessions,
        outputs=[missing],
    )
    with pytest.raises(BrokerError, match=f"topic {missing} does not exist"):
        await asyncio.wait_for(p.start(), 10)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        assert missing not in await admin.list_topics()
    finally:
        await admin.close()


async def test_a_topic_a_restarted_broker_lost_is_missing_not_read_from_stale_metadata(
    embedded_broker: EmbeddedBroker,
) -> None:
    # A client's cached metadata still lists the topics an in-memory broker lost when it
    # restarted. Believing it, the changelog's restore sent its fence to the lost topic,
    # and the broker auto-created it with its default partitions (4, against the input's
    # 8), which `gwstream topics apply` then refused ever after.
    kafka, names = await own_broker_topics(embedded_broker, "stale", partitions=8)
    consumer = make_consumer(kafka, group_id=None)
    await start_client(consumer, kafka)
    try:
        assert len(await partitions_of(consumer, names.sessions, 10)) == 8
        assert consumer.partitions_for_topic(names.sessions)  # cached
        await embedded_broker.stop()
        await embedded_broker.start()  # in memory: back without topics
        with pytest.raises(TimeoutError, match=f"topic {names.sessions} does not exist"):
            await partitions_of(consumer, names.sessions, 10)
        assert names.sessions not in await consumer.topics()  # and not created by asking
    finally:
        await consumer.stop()
