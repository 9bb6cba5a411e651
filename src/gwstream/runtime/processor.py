"""The consumer-group processor: per-key order, cross-key concurrency, at-least-once.

One fetch loop reads records and never waits on processing. Each record goes
to the lane of its key (``(partition, key)``); a lane holds that key's records
in offset order. Lanes with work wait in one ready queue ordered by the fetch
order of their head record; a fixed pool of ``max_in_flight`` workers takes
the lane whose head is oldest, processes that record, publishes the outputs
(and the key's state change), waits for the broker to acknowledge them, marks
the offset done, and puts the lane back if it has more. So:

- a key's records are processed one at a time, in order (a lane is in the
  ready queue at most once and is held by at most one worker);
- different keys, even in one partition, run concurrently, up to the pool size;
- the oldest waiting record goes first, which keeps the commit point close to
  finished work (round-robin lanes let it trail by thousands of records, and
  everything between is replayed after a crash).

With a changelog topic the runtime keeps each key's state as bytes
(:mod:`gwstream.runtime.state`, :mod:`gwstream.runtime.changelog`): restored
before a partition's first record is dispatched, changed by the handler,
written with the record's outputs, dropped on revoke, expired when idle.

Offsets are committed per partition at the first record not yet done, on a
timer, on revoke and on shutdown; a partition is paused when too many of its
records are uncommitted and resumed below a low-water mark. On revoke and on
shutdown the runtime stops dispatching, waits a bounded time for records in
flight, commits, and drops the partition. Each commit carries the offsets
finished above the commit point in its metadata, so that a new owner skips
them (on brokers that keep commit metadata; the embedded one drops it, and
the handler then answers those records from state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError, UnknownError
from aiokafka.structs import OffsetAndMetadata

from gwstream.config import KafkaSettings, RuntimeSettings, StateSettings
from gwstream.errors import PoisonRecord
from gwstream.kafkaio import (
    check_held,
    close_consumer,
    close_producer,
    commit_within,
    fetch,
    key_partition,
    make_consumer,
    make_producer,
    require_partitions,
    start_client,
)
from gwstream.lifecycle import Service
from gwstream.runtime.changelog import Changelog
from gwstream.runtime.lanes import Lane, Partition, Work
from gwstream.runtime.limiter import InFlightLimit
from gwstream.runtime.offsets import decode_done, encode_done
from gwstream.runtime.outage import BrokerWatch, retriable
from gwstream.runtime.publish import Fatal, Publisher
from gwstream.runtime.records import InRecord, OutRecord, RecordHandler, RuntimeStats
from gwstream.runtime.state import KeyState, StateStore

log = logging.getLogger(__name__)

#: The shortest wait for an assignment that is reported as long (seconds).
LONG_JOIN_S = 60.0
#: Said after a broker's "unknown error", which names nothing: what has caused it here.
_UNKNOWN_ERROR_HINT = (
    " (the broker gave no reason; the embedded broker answers so once it restarted while"
    " gwstream processes ran against it: stop them all, restart the broker, run"
    " `gwstream topics apply`, then start them)"
)

T = TypeVar("T")


#: Records decoded between two yields to the event loop.
ACCEPT_CHUNK = 32


class Processor(Service, Generic[T]):
    """Run ``handler`` over ``input_topic`` in consumer group ``kafka.group_id``.

    Use as ``async with Processor(...) as p: await p.run(stop_event)``. Raises
    from ``run`` only when it cannot continue without risking loss (producer or
    commit failures it cannot retry, a restore that failed, a worker that
    failed outside the handler); offsets of unfinished records are then left
    uncommitted, so a restart reprocesses them. With ``changelog_topic`` each
    key has state (see :class:`~gwstream.runtime.state.KeyState`).
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
        changelog_topic: str | None = None,
        state: StateSettings | None = None,
        scrub: Callable[[Sequence[bytes]], list[bytes]] | None = None,
        outputs: Sequence[str] = (),
    ) -> None:
        self._kafka = kafka
        #: Topics the handler writes to: checked to exist at start, like the input.
        self._outputs = tuple(outputs)
        #: Applied to a dead letter's value, key and header values together (the guardrails
        #: replace PII in them).
        self._scrub = scrub
        #: The way out (outputs, state changes, dead letters), once started.
        self._out: Publisher | None = None
        self._input = input_topic
        self._dlq = dlq_topic
        self._handler = handler
        self._cfg = settings or RuntimeSettings()
        self._state_cfg = state or StateSettings()
        self._changelog_topic = changelog_topic
        self._changelog: Changelog | None = None
        self.stats = stats or RuntimeStats()
        self._parts: dict[TopicPartition, Partition] = {}
        #: Every partition of the input at start: a broker check that finds fewer stops.
        self._input_partitions: list[TopicPartition] = []
        #: Partitions whose misplaced keys were reported (once each, see _misplaced).
        self._misplaced_reported: set[int] = set()
        self._ready: asyncio.PriorityQueue[tuple[int, Lane[T]]] = asyncio.PriorityQueue()
        self._order = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.limit = InFlightLimit(
            self._cfg.max_in_flight, self._cfg.loop_lag_target_ms / 1000, stats=self.stats
        )
        self._fatal: BaseException | None = None
        #: Set while the broker answers; cleared during an outage (dispatch waits on it).
        self._broker = BrokerWatch.of(self._cfg, self.stats)
        self._joined = False
        #: Since when the processor waits for an assignment (None: it has one); and
        #: whether that wait was reported as long.
        self._joining_since: float | None = time.monotonic()
        self._join_reported = False
        #: Set once ``stop()`` begins: partitions assigned after it are not taken.
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        producer = make_producer(self._kafka)
        await start_client(producer, self._kafka)
        self._producer = producer
        try:
            if self._changelog_topic is not None:
                self._changelog = Changelog(
                    self._kafka, self._changelog_topic, producer, self._state_cfg
                )
                await self._changelog.start(self._input)
            self._consumer = make_consumer(
                self._kafka,
                group_id=self._kafka.group_id,
                max_poll_records=self._cfg.fetch_max_records,
            )
            self._out = Publisher(
                producer,
                self._changelog,
                dlq_topic=self._dlq,
                settings=self._cfg,
                stats=self.stats,
                broker=self._broker,
                halt=self._halt,
                scrub=self._scrub,
            )
            await start_client(self._consumer, self._kafka)
            # Before subscribing or producing: a broker that creates topics on first use
            # would otherwise create a missing one with its own defaults.
            for topic in dict.fromkeys((self._input, self._dlq, *self._outputs)):
                found = await require_partitions(self._consumer, topic)
                if topic == self._input:
                    self._input_partitions = found
            self._consumer.subscribe([self._input], listener=_Listener(self))
        except BaseException:
            if self._consumer is not None:
                with contextlib.suppress(KafkaError):
                    await self._consumer.stop()
            self._consumer = None
            self._producer = None
            if self._changelog is not None:
                await self._changelog.stop()
                self._changelog = None
            await producer.stop()
            raise
        self._workers = [
            asyncio.create_task(self._worker(), name=f"gwstream-worker-{i}")
            for i in range(self._cfg.max_in_flight)
        ]
        for worker in self._workers:
            worker.add_done_callback(self._worker_exited)
        limiter = asyncio.create_task(self.limit.run(), name="gwstream-in-flight-limit")
        limiter.add_done_callback(self._worker_exited)
        self._workers.append(limiter)

        watch = asyncio.create_task(self._broker.run(self._probe), name="gwstream-broker-watch")
        watch.add_done_callback(self._worker_exited)
        self._workers.append(watch)

    async def _probe(self) -> None:
        """The broker check's question: fresh metadata that still has our partitions. Lost
        topics (a BrokerError) end the watch, as in the sink: its task's end stops the
        processor, and no later answer is logged as the broker being back."""
        assert self._producer is not None
        await check_held(
            self._producer.client,
            {*self._input_partitions, *self._parts},
            "its turns would never arrive",
        )

    async def stop(self) -> None:
        """Drain every partition (bounded), commit, and close the clients. Cancelled while it
        drains (a second signal), it still stops the workers and closes the clients."""
        self._stopping = True
        try:
            if self._consumer is not None:
                held = await self._drain(list(self._parts.values()))
                self._log_progress("stopped", state_keys=held)  # the drain let go of them
        finally:
            await self._close()

    async def _close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            with contextlib.suppress(KafkaError):
                await close_consumer(consumer, self._kafka)
        if self._changelog is not None:
            changelog, self._changelog = self._changelog, None
            with contextlib.suppress(KafkaError):
                await changelog.stop()
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(KafkaError):
                await close_producer(producer, self._kafka)

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and dispatch until ``stop`` is set; then return (``stop()`` drains)."""
        assert self._consumer is not None, "start() first"
        committer = asyncio.create_task(self._commit_loop(stop), name="gwstream-committer")
        try:
            while not stop.is_set():
                if committer.done():
                    committer.result()  # a commit loop that died must not fail silently
                    break
                self._check_health()
                batch = await fetch(
                    self._consumer, stop, timeout_ms=100, max_records=self._cfg.fetch_max_records
                )
                for tp, records in batch.items():
                    # A fetch brings up to fetch_max_records; decoding them all in one
                    # step would stall every turn in flight for tens of milliseconds.
                    for i in range(0, len(records), ACCEPT_CHUNK):
                        self._accept(tp, records[i : i + ACCEPT_CHUNK])
                        await asyncio.sleep(0)
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer
        self._check_health()

    def _check_health(self) -> None:
        if self._fatal is not None:
            hint = _UNKNOWN_ERROR_HINT if isinstance(self._fatal, UnknownError) else ""
            raise Fatal(
                f"processing stopped ({self._fatal}); unfinished records stay uncommitted{hint}"
            ) from self._fatal

    def _worker_exited(self, task: asyncio.Task[None]) -> None:
        """Workers only end when cancelled at shutdown; any other end stops the processor."""
        if task.cancelled():
            return
        exc = task.exception()
        self._halt(exc or RuntimeError(f"{task.get_name()} returned"), f"{task.get_name()} exited")

    def _halt(self, exc: BaseException, what: str) -> None:
        """Stop the processor (``run`` raises) after a failure that risks loss if ignored."""
        if self._fatal is None:
            log.error("%s, stopping without committing it: %r", what, exc)
            self._fatal = exc

    # -- readiness -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Joined the group, every owned partition restored, the broker answering."""
        return (
            self._consumer is not None
            and self._fatal is None
            and self._joined
            and self._broker.available
            and not any(p.restoring for p in self._parts.values())
        )

    @property
    def broker_available(self) -> bool:
        return self._broker.available

    @property
    def failed(self) -> bool:
        """Stopped on a failure (``run`` raises or has raised)."""
        return self._fatal is not None

    def unready_reason(self) -> str | None:
        """Why the processor is not :attr:`ready` (None: it is), for ``/readyz``."""
        if self.ready:
            return None
        if self.failed:
            return "stopped on a failure"
        if not self.broker_available:
            return "the broker does not answer"
        return "joining the group or restoring partitions"

    # -- fetch side ----------------------------------------------------------------

    def _check_placed(self, partition: int, key: bytes) -> None:
        """Count (and report once per partition) a key that Kafka's default partitioning
        would put in another partition: its producer partitions otherwise (librdkafka's
        default hashes with CRC32), and if another producer sends the same key with
        murmur2, the key's records and state split between two partitions."""
        n = len(self._input_partitions)
        if not n or key_partition(key, n) == partition:
            return
        self.stats.misplaced_keys += 1
        if partition not in self._misplaced_reported:
            self._misplaced_reported.add(partition)
            log.warning(
                "%s[%d] holds keys that Kafka's default partitioner (murmur2) puts in other "
                "partitions: a producer partitions them otherwise, and a session sent by two "
                "producers splits between partitions, with its state. Partition keys with "
                "murmur2 (librdkafka: partitioner=murmur2_random); counted in "
                "gwstream_misplaced_keys",
                self._input,
                partition,
                extra={"partition": partition},
            )

    def _accept(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        part = self._parts.get(tp)
        if part is None or part.revoked or part.restoring:
            if (
                (part is None or part.restoring)
                and records
                and self._consumer is not None
                and tp in self._consumer.assignment()
            ):
                # Fetched before our assignment callback ran or while the state
                # is restored: rewind, never skip.
                self._consumer.seek(tp, records[0].offset)
            return
        stats = self.stats
        max_bytes = self._cfg.max_record_bytes
        skip = part.skip
        for r in records:
            part.tracker.add(r.offset)
            stats.fetched += 1
            if skip and r.offset in skip:
                skip.discard(r.offset)
                part.tracker.mark_done(r.offset)
                stats.skipped += 1
                continue
            rec = InRecord(tp.topic, tp.partition, r.offset, r.key, r.value, r.headers, r.timestamp)
            work: Work[T]
            self._order += 1
            try:
                size = len(r.value or b"") + len(r.key or b"")
                if size > max_bytes:
                    raise PoisonRecord(
                        "oversized", f"record is {size} bytes, the limit is {max_bytes}"
                    )
                if not r.key:
                    raise PoisonRecord("missing_key", "records must be keyed tenant_id:session_id")
                work = Work(rec, self._handler.decode(rec), None, self._order)
            except PoisonRecord as poison:
                work = Work(rec, None, poison, self._order)
            except Exception as exc:
                log.exception("decode failed on %s[%d]@%d", tp.topic, tp.partition, r.offset)
                work = Work(
                    rec,
                    None,
                    PoisonRecord("handler_error", f"decode: {type(exc).__name__}"),
                    self._order,
                )
            lane = part.lanes.get(r.key)
            if lane is None:
                lane = part.lanes[r.key] = Lane(part, r.key)
                if r.key:
                    self._check_placed(tp.partition, r.key)
            lane.queue.append(work)
            stats.queued += 1
            if not lane.scheduled:
                lane.scheduled = True
                self._ready.put_nowait((work.order, lane))
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
            _, lane = await self._ready.get()
            part = lane.part
            if not await self._admit(lane):
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
            except Exception as exc:
                # Fatal (the broker failed us) or a failure outside the handler:
                # never marked done, so never committed; the lane stays parked
                # until run() raises and the process restarts from the commit.
                if not isinstance(exc, Fatal):
                    log.exception(
                        "worker failed on %s[%d]@%d outside the handler",
                        work.record.topic,
                        work.record.partition,
                        work.record.offset,
                    )
                    self._halt(exc, "a worker failed")
                lane.queue.appendleft(work)
                self.stats.queued += 1
                continue
            finally:
                self.limit.release()
                self.stats.in_flight -= 1
                del part.in_flight[current]
                if not part.in_flight:
                    part.idle.set()
            if lane.queue and not part.revoked:
                self._ready.put_nowait((lane.queue[0].order, lane))
            else:
                lane.scheduled = False
                if not lane.queue and part.lanes.get(lane.key) is lane:
                    del part.lanes[lane.key]

    async def _admit(self, lane: Lane[T]) -> bool:
        """Take an in-flight slot for ``lane``'s head record; False if it has none to run."""
        if lane.part.revoked or not lane.queue:
            return False
        if not self._broker.available:
            await self._broker.wait()  # no gateway call whose answer cannot be published
        await self.limit.acquire()
        if lane.part.revoked or not lane.queue:  # drained while held back
            self.limit.release()
            return False
        return True

    async def _process(self, part: Partition, work: Work[T]) -> None:
        rec, out = work.record, self._out
        assert out is not None, "start() first"
        outputs: Sequence[OutRecord]
        state = KeyState(None)
        if work.poison is not None:
            outputs = [out.dead_letter(rec, work.poison)]
        else:
            started = time.perf_counter()
            if part.store is not None and rec.key is not None:
                state.value = part.store.get(rec.key)
            try:
                outputs = await self._handler.handle(work.item, rec, state)  # type: ignore[arg-type]
            except PoisonRecord as poison:
                state.changed = False
                outputs = [out.dead_letter(rec, poison)]
            except Exception as exc:
                log.exception("handler failed on %s[%d]@%d", rec.topic, rec.partition, rec.offset)
                self.stats.handler_errors += 1
                state.changed = False
                outputs = [out.dead_letter(rec, PoisonRecord("handler_error", type(exc).__name__))]
            self.stats.handle_seconds += time.perf_counter() - started
        if state.changed and part.store is not None and rec.key is not None:
            await out.publish(outputs, (part, rec.key, state.value))
        else:
            await out.publish(outputs, None)
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

    # -- state: snapshots and expiry ----------------------------------------------------

    def _maintain_state(self, now: float, expire: bool) -> list[asyncio.Task[Any]]:
        """Start due snapshots and expiry sweeps, in tasks of their own."""
        cfg = self._state_cfg
        changelog = self._changelog
        tasks: list[asyncio.Task[Any]] = []
        if changelog is None:
            return tasks
        keys = 0
        for part in self._parts.values():
            store = part.store
            if store is None or part.revoked or part.restoring:
                continue
            keys += len(store)
            if (part.snapshot is None or part.snapshot.done()) and store.snapshot_due(
                cfg.snapshot_min_changes, cfg.snapshot_ratio
            ):
                part.snapshot = asyncio.create_task(
                    changelog.snapshot(part.tp.partition, store),
                    name=f"gwstream-snapshot-{part.tp.partition}",
                )
                part.snapshot.add_done_callback(self._snapshot_done)
            if expire:
                tasks.append(asyncio.create_task(self._expire(part, now)))
        self.stats.state_keys = keys
        return tasks

    def _snapshot_done(self, task: asyncio.Task[int]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and retriable(exc):
            # Harmless: the restore point moves only once a snapshot completes.
            self._broker.lost(exc, "writing a snapshot")
        elif exc is not None:
            self._halt(exc, "writing a snapshot failed")
        else:
            self.stats.snapshots += 1

    async def _expire(self, part: Partition, now: float) -> None:
        store, changelog = part.store, self._changelog
        assert store is not None and changelog is not None
        try:
            expired = await changelog.expire(
                part.tp.partition, store, part.lanes, now, self._state_cfg.idle_expiry_s
            )
        except KafkaError as exc:
            if retriable(exc):
                # The sessions come back at the next restore and expire again.
                self._broker.lost(exc, "writing expiry tombstones")
            else:
                self._halt(exc, "writing expiry tombstones failed")
            return
        self.stats.expired += expired

    # -- commits, rebalance, drain -----------------------------------------------------

    def _live_state_keys(self) -> int:
        return sum(
            len(p.store)
            for p in self._parts.values()
            if p.store is not None and not p.revoked and not p.restoring
        )

    def _log_progress(self, prefix: str, state_keys: int | None = None) -> None:
        s = self.stats
        s.state_keys = self._live_state_keys() if state_keys is None else state_keys
        log.info(
            "%s: %d records done (%d of them dead-lettered), %d skipped as finished before "
            "(commit metadata), "
            "%d in flight (limit %d, loop lag up to %.1f ms), %d queued, %d keys with state, "
            "partitions %s, paused %s",
            prefix,
            s.processed,
            s.dead_lettered,
            s.skipped,
            s.in_flight,
            s.in_flight_limit,
            self.limit.take_peak_lag() * 1000,
            s.queued,
            s.state_keys,
            s.assigned,
            sorted(s.paused),
        )

    async def _commit_loop(self, stop: asyncio.Event) -> None:
        next_report = time.monotonic() + self._cfg.stats_interval_s
        next_expiry = time.monotonic() + self._state_cfg.expiry_check_s
        sweeps: list[asyncio.Task[Any]] = []
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._cfg.commit_interval_s)
            await self._commit([p for p in self._parts.values() if not p.revoked])
            sweeps = [t for t in sweeps if not t.done()]
            expire = not sweeps and time.monotonic() >= next_expiry
            if expire:
                next_expiry = time.monotonic() + self._state_cfg.expiry_check_s
            sweeps += self._maintain_state(time.time(), expire)
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + self._cfg.stats_interval_s
                self._log_progress("progress")
            self._report_long_join()
        for t in sweeps:
            t.cancel()

    def _since_joining(self) -> float:
        return time.monotonic() - self._joining_since if self._joining_since is not None else 0.0

    def _report_long_join(self) -> None:
        """Warn once when the wait for an assignment outlasts what a rebalance needs."""
        waited = self._since_joining()
        limit = max(LONG_JOIN_S, 3 * self._kafka.session_timeout_ms / 1000)
        if self._join_reported or waited < limit:
            return
        self._join_reported = True
        group = self._kafka.group_id
        log.warning(
            "still joining group %s after %.0fs, with no partitions: the group is rebalancing. "
            "On Kafka a member that died mid-join holds it until the broker drops it "
            "(session_timeout_ms %d), then this clears by itself; if it lasts, look at the "
            "group (kafka-consumer-groups.sh --describe --group %s). The embedded broker may "
            "never drop such a member: restart it (it keeps everything in memory: topics and "
            "sessions are lost) or use another kafka.group_id (every retained turn is read "
            "again, answered from session state where it was answered)",
            group,
            waited,
            self._kafka.session_timeout_ms,
            group,
        )

    async def _commit(self, parts: Sequence[Partition], timeout_s: float | None = None) -> None:
        """Commit what ``parts`` finished, given up after ``timeout_s`` (by default the
        request timeout): the client retries a commit for partitions the broker lost for
        as long as it is let, and a drain must not wait on that."""
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for p in parts:
            off = p.tracker.committable()
            if off is None:
                continue
            meta = encode_done(off, p.tracker.done_above())
            if (off, meta) != p.committed:
                offsets[p.tp] = OffsetAndMetadata(off, meta)
        if not offsets or self._consumer is None:
            return
        if timeout_s is None:
            timeout_s = self._kafka.request_timeout_ms / 1000
        try:
            await commit_within(self._consumer, offsets, timeout_s)
        except (CommitFailedError, KafkaError) as exc:
            # Rebalancing or the coordinator moved: the next tick or the revoke
            # handler commits again; uncommitted work is replayed, never lost.
            log.info("commit deferred: %r", exc)
            return
        for p in parts:
            if p.tp in offsets:
                p.committed = (offsets[p.tp].offset, offsets[p.tp].metadata)
        self.stats.commits += 1

    async def _drain(self, parts: Sequence[Partition]) -> int:
        """Stop dispatching for ``parts``, wait (bounded) for their work, commit, drop them;
        return how many keys with state they held at the end."""
        if not parts:
            return 0
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
        await self._commit(parts, self._cfg.drain_timeout_s)
        held = sum(len(p.store) for p in parts if p.store is not None and not p.restoring)
        for p in parts:
            if p.snapshot is not None and not p.snapshot.done():
                p.snapshot.cancel()  # its restore point is only moved once it completes
            p.dropped = True
            p.store = None
            self._parts.pop(p.tp, None)
            self.stats.paused.discard(p.tp.partition)
        self.stats.assigned = sorted(tp.partition for tp in self._parts)
        self.stats.draining -= len(parts)
        return held

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        self.stats.rebalances += 1
        if self._joining_since is None:
            self._joining_since = time.monotonic()
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
        if self._stopping or self._fatal is not None:
            # a rebalance that ends while the instance stops: it takes nothing (and says
            # nothing that would read as a rejoin)
            log.debug("partitions %s assigned while stopping: not taken", sorted(assigned))
            return
        self._joined = True
        if self._joining_since is not None and self._join_reported:
            log.warning("joined group %s after %.0fs", self._kafka.group_id, self._since_joining())
        self._joining_since, self._join_reported = None, False
        new = [tp for tp in assigned if tp not in self._parts]
        for tp in new:
            self._parts[tp] = Partition(tp, StateStore() if self._changelog else None)
        self.stats.assigned = sorted(tp.partition for tp in self._parts)
        log.info("assigned partitions %s of %s", self.stats.assigned, self._input)
        if not new or self._consumer is None:
            return
        await self._load_skips(new)
        if self._changelog is not None:
            self._consumer.pause(*new)
            parts = [self._parts[tp] for tp in new]
            await self._restore(parts)
            for p in parts:
                p.restoring = False
                self.stats.restored_keys += len(p.store or ())
            self._consumer.resume(*[p.tp for p in parts if not p.paused and not p.revoked])

    async def _restore(self, parts: Sequence[Partition]) -> None:
        """Fill ``parts``' stores from the changelog. A broker that goes away meanwhile (a
        rebalance can land just before an outage, or the outage begins as the processor
        starts) is waited out, and the partitions read again from the start into empty
        stores; any other failure stops the processor."""
        assert self._changelog is not None
        delay = self._cfg.publish_retry_backoff_s
        while True:
            # empty stores: a read cut short may have filled part of the last ones
            stores = {p.tp.partition: StateStore() for p in parts}
            for p in parts:
                p.store = stores[p.tp.partition]
            try:
                self.stats.restored_records += await self._changelog.restore(stores)
                return
            except KafkaError as exc:
                # aiokafka marks some outage errors retriable, not all ("Unable to get
                # cluster metadata"): whether the broker answers says which this is.
                if not retriable(exc) and await self._broker.failure(self._probe) is None:
                    raise
                delay = await self._broker.ride_out(
                    exc,
                    f"restoring partitions {sorted(stores)}",
                    delay,
                    self._cfg.publish_retry_backoff_max_s,
                )

    async def _load_skips(self, tps: Sequence[TopicPartition]) -> None:
        """Read the offsets the previous owner finished above its commit (commit metadata)."""
        assert self._consumer is not None
        try:
            committed = await self._consumer._coordinator.fetch_committed_offsets(list(tps))
        except KafkaError as exc:
            log.info("no commit metadata for %s (%r): finished records are replayed", tps, exc)
            return
        for tp, om in committed.items():
            if tp in self._parts and om.offset >= 0 and om.metadata:
                self._parts[tp].skip = decode_done(om.offset, om.metadata)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, processor: Processor[Any]) -> None:
        self._p = processor

    # aiokafka logs and swallows a listener's exception: a failed restore or
    # drain must stop the processor instead.

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        try:
            await self._p._on_revoked(set(revoked))
        except Exception as exc:
            self._p._halt(exc, f"releasing partitions {sorted(tp.partition for tp in revoked)}")

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._p._on_assigned(set(assigned))
        except Exception as exc:
            self._p._halt(exc, f"taking partitions {sorted(tp.partition for tp in assigned)}")
