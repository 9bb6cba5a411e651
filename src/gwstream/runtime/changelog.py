"""The state changelog: writing changes, snapshots, and restoring a partition.

Every key's change is a record on the changelog topic, in the partition of
the same number as the input partition (co-partitioned), keyed by the input
key; its value is the key's whole new state (None: a tombstone), so the last
record of a key wins and a compacted topic keeps exactly the live state.

A broker that does not compact (the embedded one) would keep every change,
and a restore that read them all would grow with every turn ever processed.
So each partition is snapshotted now and then: a marker record, then every
live key's current value. Once the broker has acknowledged the whole
snapshot, the marker's offset is committed as the offset of the
``<group>.state`` consumer group on that changelog partition. A restore reads
from there: the snapshot, then the changes after it, so it reads about
``(1 + snapshot_ratio)`` records per live key whatever the history.

A restore knows where to stop without trusting end offsets (the embedded
broker reports them short): the new owner first appends a fence record, and
reads until it has passed it.

Ordering without locks: a record's change is applied in memory before it
is appended, and a key's records come one at a time (its lane), so the last
record of a key is always its value in memory, except where a background
writer (a snapshot or an expiry sweep) raced a change: such a writer checks
the key again once its append returned and appends the key's value in
memory if it differs from what it wrote. So the last record of every key, by
offset, is its state: a compacting broker keeps exactly that, and a restore
that applies records in offset order ends with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata, RecordMetadata

from gwstream.config import KafkaSettings, StateSettings
from gwstream.errors import BrokerError
from gwstream.kafkaio import (
    lost_topics,
    make_consumer,
    require_partitions,
    settle,
    start_client,
)
from gwstream.runtime.state import StateStore

log = logging.getLogger(__name__)

#: Header on records that are not key changes (fences, snapshot markers).
CONTROL_HEADER = "gw_state"
#: Key of control records; session keys never start with a NUL byte.
CONTROL_KEY = b"\x00gwstream"
_SNAPSHOT_CHUNK = 500
_PROGRESS_EVERY_S = 2.0


class Changelog:
    """Changelog I/O for one processor: change records, snapshots, restores.

    ``start()`` opens the pointer client (a consumer of the ``<group>.state``
    group that never fetches, used to commit and read snapshot offsets).
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        producer: AIOKafkaProducer,
        settings: StateSettings,
    ) -> None:
        self.topic = topic
        self._kafka = kafka
        self._producer = producer
        self._cfg = settings
        self._pointers: AIOKafkaConsumer | None = None
        self._tps: dict[int, TopicPartition] = {}
        accumulator = getattr(producer, "_message_accumulator", None)
        self._append: Callable[..., Awaitable[asyncio.Future[RecordMetadata]]] | None = getattr(
            accumulator, "add_message", None
        )
        self._timeout_s = getattr(producer, "_request_timeout_ms", 30_000) / 1000

    @property
    def pointer_group(self) -> str:
        return f"{self._kafka.group_id}.state"

    async def start(self, input_topic: str) -> None:
        """Open the pointer client; check the changelog is co-partitioned with ``input_topic``."""
        consumer = make_consumer(self._kafka, group_id=self.pointer_group)
        await start_client(consumer, self._kafka)
        try:
            tps = await require_partitions(consumer, self.topic)
            inputs = await require_partitions(consumer, input_topic)
            if len(inputs) != len(tps):
                raise BrokerError(
                    f"changelog topic {self.topic} has {len(tps)} partitions and {input_topic} "
                    f"has {len(inputs)}: they must be equal (state is co-partitioned with its "
                    "input); recreate the changelog to match"
                )
        except BaseException:
            await consumer.stop()
            raise
        consumer.assign(tps)
        consumer.pause(*tps)
        self._pointers = consumer

    async def stop(self) -> None:
        if self._pointers is not None:
            consumer, self._pointers = self._pointers, None
            await consumer.stop()

    async def send(
        self, partition: int, key: bytes, value: bytes | None
    ) -> asyncio.Future[RecordMetadata]:
        """Append one key's change (already applied in memory); await the result for the ack.

        A change is one more record per turn, and aiokafka's ``send()`` spends
        more CPU checking a record than appending it (measured with
        bench/throughput.py: state cost +36% CPU per turn through ``send()``,
        +17% straight to the accumulator). These records are ours: bytes, to a
        partition whose metadata ``start()`` checked. So they go to the
        producer's accumulator directly when it has the API this was measured
        on, and through ``send()`` otherwise.
        """
        if self._append is not None:
            tp = self._tps.get(partition) or self._tps.setdefault(
                partition, TopicPartition(self.topic, partition)
            )
            fut: asyncio.Future[RecordMetadata] = await self._append(
                tp, key, value, self._timeout_s
            )
            return fut
        fut = await self._producer.send(self.topic, value, key=key, partition=partition)
        return fut

    async def send_settled(
        self, partition: int, store: StateStore, key: bytes, value: bytes | None
    ) -> list[asyncio.Future[RecordMetadata]]:
        """Append ``value`` for a background writer; then re-append the key's value in
        memory until no change raced the append (see the module's ordering note)."""
        futures = [await self.send(partition, key, value)]
        current = store.get(key)
        while current is not value:
            value = current
            futures.append(await self.send(partition, key, value))
            current = store.get(key)
        return futures

    async def _control_send(self, partition: int, kind: bytes) -> asyncio.Future[RecordMetadata]:
        fut: asyncio.Future[RecordMetadata] = await self._producer.send(
            self.topic,
            uuid.uuid4().bytes,
            key=CONTROL_KEY,
            partition=partition,
            headers=[(CONTROL_HEADER, kind)],
        )
        return fut

    async def _control(self, partition: int, kind: bytes) -> RecordMetadata:
        md: RecordMetadata = await (await self._control_send(partition, kind))
        return md

    # -- snapshots -------------------------------------------------------------------

    async def snapshot(self, partition: int, store: StateStore) -> int:
        """Write a snapshot of ``store``; once acknowledged, make it the restore point.

        Returns the marker's offset. Changes keep flowing meanwhile.
        """
        started = time.monotonic()
        marker = await self._control_send(partition, b"snapshot")
        # Taken right after the marker was appended, with no await between: a
        # key changed later is appended after the marker, so a restore from the
        # marker sees it; a key changed earlier is in the list.
        keys = store.keys()
        store.changes_since_snapshot = 0
        futures: list[asyncio.Future[RecordMetadata]] = []
        written = 0
        for key in keys:
            value = store.get(key)
            if value is None:
                continue  # deleted since the list was taken
            futures += await self.send_settled(partition, store, key, value)
            written += 1
            if len(futures) >= _SNAPSHOT_CHUNK:
                await settle(futures)
                futures.clear()
        await settle(futures)
        offset: int = (await marker).offset
        await self._commit_pointer(partition, offset)
        log.info(
            "snapshot of %s[%d]: %d keys at offset %d in %.2fs",
            self.topic,
            partition,
            written,
            offset,
            time.monotonic() - started,
        )
        return offset

    async def expire(
        self,
        partition: int,
        store: StateStore,
        busy: Container[bytes | None],
        now: float,
        max_idle_s: float,
    ) -> int:
        """Drop keys idle for ``max_idle_s`` (not ``busy``) with tombstones; return how many."""
        futures: list[asyncio.Future[RecordMetadata]] = []
        expired = 0
        for key in list(store.idle(now, max_idle_s)):
            if key in busy or key not in store:
                continue  # a record of it is waiting or running
            store.apply(key, None, now)
            futures += await self.send_settled(partition, store, key, None)
            expired += 1
        await settle(futures)
        if expired:
            log.info("expired %d idle keys of %s[%d]", expired, self.topic, partition)
        return expired

    async def _commit_pointer(self, partition: int, offset: int) -> None:
        assert self._pointers is not None, "start() first"
        tp = TopicPartition(self.topic, partition)
        await self._pointers.commit({tp: OffsetAndMetadata(offset, "")})

    async def _pointer(self, partition: int) -> int | None:
        assert self._pointers is not None, "start() first"
        committed = await self._pointers.committed(TopicPartition(self.topic, partition))
        return int(committed) if committed is not None else None

    # -- restore -----------------------------------------------------------------------

    async def _require(self, parts: list[int]) -> None:
        """BrokerError unless the changelog has every partition in ``parts``: a broker that
        lost its topics (an in-memory one restarted) may have auto-created it with fewer,
        and a fence sent to a partition that does not exist would wait for ever."""
        if self._pointers is None:
            return
        have = {tp.partition for tp in await require_partitions(self._pointers, self.topic)}
        missing = [p for p in parts if p not in have]
        if missing:
            raise lost_topics(self.topic, len(have), missing, "session state cannot be restored")

    async def restore(self, stores: Mapping[int, StateStore]) -> int:
        """Fill ``stores`` (partition -> empty store) from the changelog; return records read.

        Reads each partition from its last snapshot (or the beginning) up to a
        fence appended now, logging progress every few seconds.
        """
        if not stores:
            return 0
        started = time.monotonic()
        parts = sorted(stores)
        await self._require(parts)
        starts = {p: await self._pointer(p) for p in parts}
        fences = {p: (await self._control(p, b"fence")).offset for p in parts}
        consumer = make_consumer(self._kafka, group_id=None, max_poll_records=10_000)
        await start_client(consumer, self._kafka)
        read = 0
        try:
            tps = {p: TopicPartition(self.topic, p) for p in parts}
            consumer.assign(list(tps.values()))
            for p, tp in tps.items():
                start = starts[p]
                if start is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, start)
            pending = set(parts)
            next_report = time.monotonic() + _PROGRESS_EVERY_S
            while pending:
                batch = await consumer.getmany(
                    *[tps[p] for p in pending], timeout_ms=200, max_records=10_000
                )
                for tp, records in batch.items():
                    read += _apply(stores[tp.partition], records, fences[tp.partition])
                    if records and records[-1].offset >= fences[tp.partition]:
                        pending.discard(tp.partition)
                if time.monotonic() >= next_report:
                    next_report = time.monotonic() + _PROGRESS_EVERY_S
                    log.info(
                        "restoring %s partitions %s: %d records read, %d keys so far",
                        self.topic,
                        parts,
                        read,
                        sum(len(s) for s in stores.values()),
                    )
        finally:
            await consumer.stop()
        log.info(
            "restored %s partitions %s: %d keys from %d records (from %s) in %.2fs",
            self.topic,
            parts,
            sum(len(s) for s in stores.values()),
            read,
            {p: ("start" if starts[p] is None else starts[p]) for p in parts},
            time.monotonic() - started,
        )
        return read


def _apply(store: StateStore, records: Sequence[Any], fence: int) -> int:
    """Apply change records up to ``fence``; return how many were read."""
    n = 0
    for r in records:
        if r.offset >= fence:
            break
        n += 1
        if r.key == CONTROL_KEY and any(h[0] == CONTROL_HEADER for h in r.headers):
            continue
        store.apply(r.key, r.value, r.timestamp / 1000.0)
    return n
