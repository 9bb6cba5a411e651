"""The cost sink's Kafka side: consume cost events in batches into DuckDB.

Delivery contract (DESIGN.md, "Cost reports"): a batch's offsets are committed
to Kafka only after its DuckDB transaction committed. A crash between the two
replays the batch, and the writer's dedupe on event id makes the replay
harmless, so the database ends up with every event exactly once.

Batches are parsed, stored and committed one at a time, in order. Parsing and
the DuckDB write run in a worker thread so the event loop keeps the
consumer's heartbeats flowing. (Overlapping the parse of one batch with the
write of the previous one was measured and gained nothing: DuckDB's Python
client keeps re-taking the GIL while it executes, so the two serialise.
Overlapping the fetch of the next batch with the store of this one gained
nothing either: 34k events/s both ways with the earlier JSON batch files,
41-46k against 40-47k with Arrow batches; aiokafka decodes records in
Python, under the same GIL.)

Parsing (the fast path for records the processor wrote, bad records logged and
skipped) is in :mod:`gwstream.sink.parse`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaTimeoutError
from aiokafka.structs import OffsetAndMetadata

from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.kafkaio import (
    check_held,
    close_consumer,
    commit_within,
    describe,
    fetch,
    make_consumer,
    require_partitions,
    start_client,
)
from gwstream.lifecycle import Service
from gwstream.runtime.outage import BrokerWatch
from gwstream.sink.parse import ParsedBatch, Records, parse_batch
from gwstream.sink.schema import AUDIT_TABLE, COST_TABLE, NOTICE_TABLE
from gwstream.sink.writer import CostWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SinkStats:
    """Running totals since the sink started; a fresh snapshot after every batch."""

    events_seen: int = 0
    """Records that parsed as storable cost events (duplicates included)."""
    rows_inserted: int = 0
    """Cost events that were new to the database."""
    duplicates: int = 0
    """Cost events already stored, or repeated within their batch."""
    bad_records: int = 0
    """Records skipped because they do not parse or cannot be stored."""
    batches: int = 0
    """Batches stored and committed."""
    audit_seen: int = 0
    """Audit events and budget notices that parsed (duplicates included)."""
    audit_inserted: int = 0
    """Audit events and budget notices that were new to the database."""
    costs_rounded: int = 0
    """Cost events whose money was finer than 10^-9, stored rounded half-even."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one stored batch did; handed to the ``on_batch`` callback."""

    records: int
    events: int
    inserted: int
    duplicates: int
    bad_records: int
    committed: Mapping[TopicPartition, int]
    """Offsets committed to Kafka (next offset to read) per partition."""
    audit_events: int = 0
    audit_inserted: int = 0
    seconds: float = 0.0
    """Time to store and commit the batch."""


BatchCallback = Callable[[BatchResult, SinkStats], None]


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets a revocation wait until the batch being stored is committed.

    Without it, a rebalance in the middle of a DuckDB write would make the
    batch's offset commit fail, and the new owner would re-read it.
    """

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            if revoked:
                logger.info("cost sink releasing partitions %s", describe(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        logger.info("cost sink assigned partitions %s", describe(assigned))


class CostSink(Service):
    """Consumes the cost and audit topics into the database with group ``sink.group_id``.

    Use as ``async with CostSink(...) as sink: await sink.run(stop)``. Entering
    reaches the broker, checks the topics exist, awaits ``before_open`` (the
    API binds its port there) and opens (locks) the database; :meth:`run` joins the group and stores batches until ``stop`` is
    set, then finishes the batch in hand; leaving stops the consumer (leaving
    the group) and closes the database. ``on_batch`` is called after each
    stored batch (from the event loop; keep it quick). A progress line is
    logged every ``sink.stats_interval_s`` and a summary at the end.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: TopicNames,
        sink: SinkSettings,
        *,
        on_batch: BatchCallback | None = None,
        before_open: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._kafka = kafka
        self._before_open = before_open
        self._topic = topics.costs
        self._audit_topic = topics.audit if sink.audit else None
        self._settings = sink
        self._on_batch = on_batch
        self._writer = CostWriter(sink.database)
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._stats = SinkStats()
        self._committed: dict[TopicPartition, int] = {}
        #: Every partition of its topics at start: a broker check that finds fewer stops it.
        self._known: list[TopicPartition] = []
        self._broker = BrokerWatch(
            pause="nothing new is stored (reports still answer)", resume="storing resumes"
        )

    @property
    def stats(self) -> SinkStats:
        return self._stats

    @property
    def broker_available(self) -> bool:
        """Whether the broker answered the last metadata request (asked every 2 s)."""
        return self._broker.available

    @property
    def writer(self) -> CostWriter:
        """The database writer (the HTTP API reads through its cursors)."""
        return self._writer

    def assignment(self) -> dict[str, list[int]]:
        """Partitions owned now, by topic."""
        owned: dict[str, list[int]] = {}
        if self._consumer is not None:
            for tp in sorted(self._consumer.assignment()):
                owned.setdefault(tp.topic, []).append(tp.partition)
        return owned

    def lag(self) -> dict[tuple[str, int], int]:
        """Records behind the latest fetched high-water mark, per owned partition.

        From what the broker reported with the last fetch of each partition
        (no extra request); partitions not fetched yet are left out.
        """
        consumer = self._consumer
        if consumer is None:
            return {}
        out: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            committed = self._committed.get(tp)
            if high is not None and committed is not None:
                out[tp.topic, tp.partition] = max(0, high - committed)
        return out

    @property
    def group_id(self) -> str:
        return self._settings.group_id

    @property
    def topics(self) -> list[str]:
        """The topics consumed: the cost topic, and the audit topic unless ``sink.audit`` is off."""
        return [self._topic] + ([self._audit_topic] if self._audit_topic else [])

    async def start(self) -> None:
        """Reach the broker, check the topics exist, open the database; join no group yet.

        The group is joined by :meth:`run`, so whatever its caller sets up in
        between (the HTTP API's port) fails before any member of the group
        notices: a second sink on a held database or a used port disturbs no
        running one. A topic the cluster does not list is an error, not
        something to subscribe to: a broker with auto.create.topics.enable
        would create it with its defaults (the cost topic's retention too short).
        """
        # Kafka first: a sink that cannot reach the broker leaves no empty database behind.
        consumer = make_consumer(self._kafka, group_id=self._settings.group_id)
        await start_client(consumer, self._kafka)  # no subscription: no group traffic
        try:
            for topic in self.topics:
                self._known += await require_partitions(consumer, topic)
            if self._before_open is not None:
                await self._before_open()
            await asyncio.to_thread(self._writer.open)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer

    def _join(self, consumer: AIOKafkaConsumer) -> None:
        if consumer.subscription():
            return
        consumer.subscribe(self.topics, listener=_WaitForBatch(self._lock))
        logger.info(
            "cost sink consuming %s as group %s into %s",
            " and ".join(self.topics),
            self._settings.group_id,
            self._settings.database,
        )

    async def stop(self) -> None:
        """Wait for the batch in flight, leave the group, close the database."""
        try:
            await self._finish_pending()
        finally:
            consumer, self._consumer = self._consumer, None
            try:
                if consumer is not None:
                    await close_consumer(consumer, self._kafka)
            finally:
                await asyncio.to_thread(self._writer.close)

    async def run(self, stop: asyncio.Event) -> SinkStats:
        """Store batches until ``stop`` is set; return the final stats.

        ``stop`` is checked between fetches, so stopping takes at most
        ``batch_timeout_ms`` plus the time to store the batch in hand. A
        database error ends the run with that error, its batch uncommitted.
        """
        if self._consumer is None:
            raise RuntimeError("CostSink.run() needs a started sink (use 'async with')")
        consumer = self._consumer
        self._join(consumer)
        interval = self._settings.stats_interval_s
        next_report = time.monotonic() + interval
        watch = asyncio.create_task(
            self._broker.run(lambda: self._probe(consumer)), name="sink-broker-watch"
        )
        try:
            while not stop.is_set() and not watch.done():
                fetched = await fetch(
                    consumer,
                    stop,
                    timeout_ms=self._settings.batch_timeout_ms,
                    max_records=self._settings.batch_size,
                )
                if fetched:
                    self._pending = asyncio.create_task(self._store(fetched))
                    await self._finish_pending()
                if time.monotonic() >= next_report:
                    next_report = time.monotonic() + interval
                    self._log_progress("cost sink progress")
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            await self._finish_pending()
        if not watch.cancelled() and (lost := watch.exception()) is not None:
            raise lost
        self._log_progress("cost sink stopping")
        return self._stats

    async def _probe(self, consumer: AIOKafkaConsumer) -> None:
        """The broker check: a metadata request, which also finds partitions it lost (held,
        or there at start: a member that rejoined after the broker restarted empty may hold
        only what the broker re-created with its defaults)."""
        await check_held(
            consumer._client,
            {*self._known, *consumer.assignment()},
            "its events would never arrive",
        )

    def _log_progress(self, prefix: str) -> None:
        s = self._stats
        lag = self.lag()
        logger.info(
            "%s: %d batches stored and committed; cost events %d new, %d duplicates; audit "
            "events and notices %d new, %d duplicates; %d bad records skipped; partitions %s; "
            "lag %s",
            prefix,
            s.batches,
            s.rows_inserted,
            s.duplicates,
            s.audit_inserted,
            s.audit_seen - s.audit_inserted,
            s.bad_records,
            "; ".join(f"{t} {p}" for t, p in self.assignment().items()) or "none",
            f"{sum(lag.values())} records" if lag else "unknown",
        )

    async def _finish_pending(self) -> None:
        """Wait for the batch being stored, even when the waiter is cancelled.

        Shielded because a DuckDB write cannot be interrupted: cancelling its
        task would let :meth:`stop` close the database under the worker thread.
        """
        pending = self._pending
        if pending is None:
            return
        try:
            await asyncio.shield(pending)
        finally:
            if pending.done():
                self._pending = None

    def _parse_and_write(self, fetched: Records) -> tuple[ParsedBatch, dict[str, int]]:
        batch = parse_batch(fetched, self._audit_topic)
        inserted = self._writer.write(batch.batch) if len(batch.batch) else {}
        return batch, inserted

    async def _store(self, fetched: Records) -> None:
        started = time.perf_counter()
        async with self._lock:
            batch, inserted = await asyncio.to_thread(self._parse_and_write, fetched)
            committed = await self._commit(batch.offsets)
        costs = inserted.get(COST_TABLE, 0)
        audits = len(batch.batch.audits) + len(batch.batch.notices)
        audit_new = inserted.get(AUDIT_TABLE, 0) + inserted.get(NOTICE_TABLE, 0)
        result = BatchResult(
            records=batch.records,
            events=batch.cost_events,
            inserted=costs,
            duplicates=batch.cost_events - costs,
            bad_records=batch.bad_records,
            committed=committed,
            audit_events=audits,
            audit_inserted=audit_new,
            seconds=time.perf_counter() - started,
        )
        s = self._stats
        self._stats = replace(
            s,
            events_seen=s.events_seen + result.events,
            rows_inserted=s.rows_inserted + result.inserted,
            duplicates=s.duplicates + result.duplicates,
            bad_records=s.bad_records + result.bad_records,
            batches=s.batches + 1,
            audit_seen=s.audit_seen + audits,
            audit_inserted=s.audit_inserted + audit_new,
            costs_rounded=s.costs_rounded + batch.rounded,
        )
        if batch.rounded and not s.costs_rounded:
            logger.warning(
                "%d cost event(s) in this batch carry money finer than the table's 10^-9: "
                "stored rounded half-even (a report's sum can differ from the events' exact "
                "total by up to half of 10^-9 per event); counted as costs_rounded",
                batch.rounded,
            )
        self._committed.update(committed)
        if self._on_batch is not None:
            try:
                self._on_batch(result, self._stats)
            except Exception:
                logger.exception("cost sink on_batch callback failed; the sink continues")

    async def _commit(self, offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Commit ``offsets`` of partitions still ours; return what was committed.

        A partition revoked since its records were fetched belongs to another
        member now, which re-reads those records; the dedupe absorbs them.
        """
        consumer = self._consumer
        if consumer is None or not offsets:
            return {}
        assigned = consumer.assignment()
        owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if len(owned) < len(offsets):
            logger.info(
                "cost sink not committing revoked partitions %s; their new owner re-reads them",
                sorted(set(offsets) - set(owned)),
            )
        if not owned:
            return {}
        try:
            await commit_within(
                consumer,
                {tp: OffsetAndMetadata(o, "") for tp, o in owned.items()},
                self._kafka.request_timeout_ms / 1000,
            )
        except (CommitFailedError, IllegalStateError) as exc:
            logger.warning("cost sink offset commit failed after a rebalance: %s", exc)
            return {}
        except KafkaTimeoutError as exc:
            logger.warning(
                "cost sink offset commit gave up (%s): the batch stays stored, and "
                "is read again (and skipped as duplicates) after a restart",
                exc,
            )
            return {}
        return owned
