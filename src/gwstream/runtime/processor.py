"""The consumer-group processor: per-key order, cross-key concurrency, at-least-once.

One fetch loop reads records and never waits on processing. Each record goes
to the lane of its key (``(partition, key)``); a lane holds that key's records
in offset order. Lanes with work wait in one FIFO ready queue; a fixed pool of
``max_in_flight`` workers takes a lane, processes its head record, publishes
the outputs, waits for the broker to acknowledge them, marks the offset done,
and puts the lane back at the tail of the ready queue if it has more. So:

- a key's records are processed one at a time, in order (a lane is in the
  ready queue at most once and is held by at most one worker);
- different keys, even in one partition, run concurrently, up to the pool size;
- sessions are served round-robin, so one chatty session cannot starve others.

Offsets are committed per partition at the first record not yet done, on a
timer, on revoke and on shutdown; a partition is paused when too many of its
records are uncommitted and resumed below a low-water mark. On revoke and on
shutdown the runtime stops dispatching, waits a bounded time for records in
flight, commits, and drops the partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from gwstream.config import KafkaSettings, RuntimeSettings
from gwstream.errors import PoisonRecord, ProcessingHalted
from gwstream.events import DeadLetter, utcnow
from gwstream.kafkaio import make_consumer, make_producer, start_client
from gwstream.lifecycle import Service
from gwstream.runtime.offsets import OffsetTracker

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InRecord:
    """An input record as the handler sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class OutRecord:
    """A record to publish before the input record counts as done."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class RecordHandler(Protocol[T]):
    """What the runtime calls; the stages live behind it.

    ``decode`` runs in the fetch loop, so it must be quick and must not block;
    it raises :class:`PoisonRecord` for input that can never be processed.
    ``handle`` runs in a worker, one record of a key at a time, and returns the
    records to publish. An exception from it dead-letters the record
    (``handler_error``) rather than stopping the partition.
    """

    def decode(self, record: InRecord) -> T: ...

    async def handle(self, item: T, record: InRecord) -> Sequence[OutRecord]: ...


@dataclass(slots=True)
class RuntimeStats:
    """Counters for progress displays and benchmarks (single event loop, no locks)."""

    fetched: int = 0
    processed: int = 0
    dead_lettered: int = 0
    handler_errors: int = 0
    outputs: int = 0
    in_flight: int = 0
    queued: int = 0
    commits: int = 0
    pauses: int = 0
    rebalances: int = 0
    draining: int = 0
    assigned: list[int] = field(default_factory=list)
    paused: set[int] = field(default_factory=set)
    handle_seconds: float = 0.0


@dataclass(slots=True)
class _Work(Generic[T]):
    record: InRecord
    item: T | None
    poison: PoisonRecord | None
    abandoned: bool = False


class _Partition:
    __slots__ = (
        "committed",
        "dropped",
        "idle",
        "in_flight",
        "lanes",
        "paused",
        "revoked",
        "tp",
        "tracker",
    )

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.tracker = OffsetTracker()
        self.lanes: dict[bytes | None, _Lane[Any]] = {}
        self.in_flight: dict[asyncio.Task[Any], _Work[Any]] = {}
        self.revoked = False  # draining or gone: start nothing new
        self.dropped = False  # gone: results no longer count toward commits
        self.paused = False
        self.committed: int | None = None
        self.idle = asyncio.Event()
        self.idle.set()


class _Lane(Generic[T]):
    __slots__ = ("key", "part", "queue", "scheduled")

    def __init__(self, part: _Partition, key: bytes | None) -> None:
        self.part = part
        self.key = key
        self.queue: deque[_Work[T]] = deque()
        self.scheduled = False


class _Fatal(ProcessingHalted):
    """A failure after which continuing could lose data (e.g. the producer failed)."""


class Processor(Service, Generic[T]):
    """Run ``handler`` over ``input_topic`` in consumer group ``kafka.group_id``.

    Use as ``async with Processor(...) as p: await p.run(stop_event)``. Raises
    from ``run`` only when it cannot continue without risking loss (producer or
    commit failures it cannot retry); offsets of unfinished records are then
    left uncommitted, so a restart reprocesses them.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        input_topic: str,
        dlq_topic: str,
        handler: RecordHandler[T],
        settings: RuntimeSettings | None = None,
        stats: RuntimeStats | None = None,
    ) -> None:
        self._kafka = kafka
        self._input = input_topic
        self._dlq = dlq_topic
        self._handler = handler
        self._cfg = settings or RuntimeSettings()
        self.stats = stats or RuntimeStats()
        self._parts: dict[TopicPartition, _Partition] = {}
        self._ready: asyncio.Queue[_Lane[T]] = asyncio.Queue()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._fatal: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        producer = make_producer(self._kafka)
        await start_client(producer, self._kafka)
        self._producer = producer
        self._consumer = make_consumer(
            self._kafka,
            group_id=self._kafka.group_id,
            max_poll_records=self._cfg.fetch_max_records,
        )
        self._consumer.subscribe([self._input], listener=_Listener(self))
        try:
            await start_client(self._consumer, self._kafka)
        except BaseException:
            self._consumer = None
            self._producer = None
            await producer.stop()
            raise
        self._workers = [
            asyncio.create_task(self._worker(), name=f"gwstream-worker-{i}")
            for i in range(self._cfg.max_in_flight)
        ]

    async def stop(self) -> None:
        """Drain every partition (bounded), commit, and close the clients."""
        if self._consumer is not None:
            await self._drain(list(self._parts.values()))
            self._log_progress("stopped")
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            with contextlib.suppress(KafkaError):
                await consumer.stop()
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(KafkaError):
                await producer.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and dispatch until ``stop`` is set; then return (``stop()`` drains)."""
        assert self._consumer is not None, "start() first"
        committer = asyncio.create_task(self._commit_loop(stop), name="gwstream-committer")
        try:
            while not stop.is_set():
                if committer.done():
                    committer.result()  # a commit loop that died must not fail silently
                    break
                if self._fatal is not None:
                    raise _Fatal(
                        "processing stopped; unfinished records stay uncommitted"
                    ) from self._fatal
                batch = await self._consumer.getmany(
                    timeout_ms=100, max_records=self._cfg.fetch_max_records
                )
                for tp, records in batch.items():
                    self._accept(tp, records)
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer
        if self._fatal is not None:
            raise _Fatal("processing stopped; unfinished records stay uncommitted") from self._fatal

    # -- fetch side ----------------------------------------------------------------

    def _accept(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        part = self._parts.get(tp)
        if part is None or part.revoked:
            if (
                part is None
                and records
                and self._consumer is not None
                and tp in self._consumer.assignment()
            ):
                # Fetched before our assignment callback ran: rewind, never skip.
                self._consumer.seek(tp, records[0].offset)
            return
        stats = self.stats
        max_bytes = self._cfg.max_record_bytes
        for r in records:
            rec = InRecord(tp.topic, tp.partition, r.offset, r.key, r.value, r.headers, r.timestamp)
            part.tracker.add(r.offset)
            stats.fetched += 1
            work: _Work[T]
            try:
                size = len(r.value or b"") + len(r.key or b"")
                if size > max_bytes:
                    raise PoisonRecord(
                        "oversized", f"record is {size} bytes, the limit is {max_bytes}"
                    )
                if not r.key:
                    raise PoisonRecord("missing_key", "records must be keyed tenant_id:session_id")
                work = _Work(rec, self._handler.decode(rec), None)
            except PoisonRecord as poison:
                work = _Work(rec, None, poison)
            except Exception as exc:
                log.exception("decode failed on %s[%d]@%d", tp.topic, tp.partition, r.offset)
                work = _Work(
                    rec, None, PoisonRecord("handler_error", f"decode: {type(exc).__name__}")
                )
            lane = part.lanes.get(r.key)
            if lane is None:
                lane = part.lanes[r.key] = _Lane(part, r.key)
            lane.queue.append(work)
            stats.queued += 1
            if not lane.scheduled:
                lane.scheduled = True
                self._ready.put_nowait(lane)
        if not part.paused and len(part.tracker) >= self._cfg.pause_above:
            assert self._consumer is not None
            self._consumer.pause(tp)
            part.paused = True
            stats.paused.add(tp.partition)
            stats.pauses += 1

    # -- work side -------------------------------------------------------------------

    async def _worker(self) -> None:
        current = asyncio.current_task()
        assert current is not None
        while True:
            lane = await self._ready.get()
            part = lane.part
            if part.revoked or not lane.queue:
                lane.scheduled = False
                continue
            work = lane.queue.popleft()
            self.stats.queued -= 1
            part.in_flight[current] = work
            part.idle.clear()
            self.stats.in_flight += 1
            try:
                await self._process(part, work)
            except asyncio.CancelledError:
                # Swallow only the cancel that abandoned this record; a shutdown
                # cancel requested meanwhile must still end the worker.
                if not work.abandoned or current.uncancel() > 0:
                    raise
            except _Fatal:
                # Never marked done, so never committed; the lane stays parked
                # until run() raises and the process restarts from the commit.
                lane.queue.appendleft(work)
                self.stats.queued += 1
                continue
            finally:
                self.stats.in_flight -= 1
                del part.in_flight[current]
                if not part.in_flight:
                    part.idle.set()
            if lane.queue and not part.revoked:
                self._ready.put_nowait(lane)
            else:
                lane.scheduled = False
                if not lane.queue and part.lanes.get(lane.key) is lane:
                    del part.lanes[lane.key]

    async def _process(self, part: _Partition, work: _Work[T]) -> None:
        rec = work.record
        outputs: Sequence[OutRecord]
        if work.poison is not None:
            outputs = [self._dead_letter(rec, work.poison)]
        else:
            started = time.perf_counter()
            try:
                outputs = await self._handler.handle(work.item, rec)  # type: ignore[arg-type]
            except PoisonRecord as poison:
                outputs = [self._dead_letter(rec, poison)]
            except Exception as exc:
                log.exception("handler failed on %s[%d]@%d", rec.topic, rec.partition, rec.offset)
                self.stats.handler_errors += 1
                outputs = [
                    self._dead_letter(rec, PoisonRecord("handler_error", type(exc).__name__))
                ]
            self.stats.handle_seconds += time.perf_counter() - started
        await self._publish(outputs)
        if work.abandoned or part.dropped:
            return
        part.tracker.mark_done(rec.offset)
        self.stats.processed += 1
        if (
            part.paused
            and not part.revoked
            and len(part.tracker) < self._cfg.resume_below
            and self._consumer is not None
        ):
            self._consumer.resume(part.tp)
            part.paused = False
            self.stats.paused.discard(part.tp.partition)

    def _dead_letter(self, rec: InRecord, poison: PoisonRecord) -> OutRecord:
        self.stats.dead_lettered += 1
        info = DeadLetter(
            reason=poison.reason,
            detail=poison.detail[:1000],
            source_topic=rec.topic,
            source_partition=rec.partition,
            source_offset=rec.offset,
            failed_at=utcnow(),
        )
        log.warning(
            "dead-lettered %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, poison.reason
        )
        return OutRecord(self._dlq, rec.key, rec.value or b"", [*rec.headers, *info.headers()])

    async def _publish(self, outputs: Sequence[OutRecord]) -> None:
        """Send and wait for the broker's acknowledgement of every output."""
        producer = self._producer
        assert producer is not None
        try:
            futures = [
                await producer.send(o.topic, o.value, key=o.key, headers=o.headers) for o in outputs
            ]
            for fut in futures:
                await fut
        except KafkaError as exc:
            log.error("publishing failed, stopping without committing: %r", exc)
            self._fatal = exc
            raise _Fatal(str(exc)) from exc
        self.stats.outputs += len(outputs)

    # -- commits, rebalance, drain -----------------------------------------------------

    def _log_progress(self, prefix: str) -> None:
        s = self.stats
        log.info(
            "%s: %d processed, %d dead-lettered, %d in flight, %d queued, partitions %s, paused %s",
            prefix,
            s.processed,
            s.dead_lettered,
            s.in_flight,
            s.queued,
            s.assigned,
            sorted(s.paused),
        )

    async def _commit_loop(self, stop: asyncio.Event) -> None:
        next_report = time.monotonic() + self._cfg.stats_interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._cfg.commit_interval_s)
            await self._commit([p for p in self._parts.values() if not p.revoked])
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + self._cfg.stats_interval_s
                self._log_progress("progress")

    async def _commit(self, parts: Sequence[_Partition]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for p in parts:
            off = p.tracker.committable()
            if off is not None and off != p.committed:
                offsets[p.tp] = OffsetAndMetadata(off, "")
        if not offsets or self._consumer is None:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # Rebalancing or the coordinator moved: the next tick or the revoke
            # handler commits again; uncommitted work is replayed, never lost.
            log.info("commit deferred: %r", exc)
            return
        for p in parts:
            if p.tp in offsets:
                p.committed = offsets[p.tp].offset
        self.stats.commits += 1

    async def _drain(self, parts: Sequence[_Partition]) -> None:
        """Stop dispatching for ``parts``, wait (bounded) for their work, commit, drop them."""
        if not parts:
            return
        self.stats.draining += len(parts)
        for p in parts:
            p.revoked = True
            for lane in p.lanes.values():
                self.stats.queued -= len(lane.queue)
                lane.queue.clear()
        waits = [asyncio.create_task(p.idle.wait()) for p in parts]
        _, pending = await asyncio.wait(waits, timeout=self._cfg.drain_timeout_s)
        for w in pending:
            w.cancel()
        if pending:
            stuck = [p for p in parts if p.in_flight]
            log.warning(
                "drain timed out after %.1fs; abandoning %d records in flight (they will be replayed)",
                self._cfg.drain_timeout_s,
                sum(len(p.in_flight) for p in stuck),
            )
            for p in stuck:
                for task, work in list(p.in_flight.items()):
                    work.abandoned = True
                    task.cancel()
        # Only records marked done count, so abandoned ones stay uncommitted.
        await self._commit(parts)
        for p in parts:
            p.dropped = True
            self._parts.pop(p.tp, None)
            self.stats.paused.discard(p.tp.partition)
        self.stats.assigned = sorted(tp.partition for tp in self._parts)
        self.stats.draining -= len(parts)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        self.stats.rebalances += 1
        parts = [self._parts[tp] for tp in revoked if tp in self._parts]
        if parts:
            started = time.monotonic()
            await self._drain(parts)
            log.info(
                "released partitions %s after draining for %.2fs",
                sorted(p.tp.partition for p in parts),
                time.monotonic() - started,
            )

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            if tp not in self._parts:
                self._parts[tp] = _Partition(tp)
        self.stats.assigned = sorted(tp.partition for tp in self._parts)
        log.info("assigned partitions %s of %s", self.stats.assigned, self._input)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, processor: Processor[Any]) -> None:
        self._p = processor

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._p._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._p._on_assigned(set(assigned))
