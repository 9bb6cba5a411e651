"""The spend view: every instance's costs, read from the cost topic into the spend ledger.

Each processor instance runs one :class:`SpendView` when any tenant has a
spend limit. It is a plain consumer (no consumer group, so every instance
reads every partition) over the cost topic, started at the first record of
this month (or of today, when no tenant has a monthly limit; a broker that
cannot look offsets up by time, like the embedded one, is read from the
beginning). ``start()`` reads until it has caught up with every partition's
high watermark, as the broker reports it on each fetch (end offsets are not
used: the embedded broker reports them short), logging progress; only then
does the processor take turns, so an instance that restarts knows what was
spent before it admits a call. After that a task tails the topic for as long
as the processor runs.

Only the costs of limited tenants are parsed (the record key names the
tenant); each cost is counted once per turn id, so the records this
instance published itself, already settled in the ledger, and a replay's
republished cost, are not counted twice. A monthly limit needs the cost
topic to retain a month of costs (``gw.costs.v1`` keeps 35 days).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from gwstream.config import KafkaSettings
from gwstream.errors import BrokerError
from gwstream.kafkaio import make_consumer, partitions_of, start_client
from gwstream.pipeline.spend import SpendLedger

log = logging.getLogger(__name__)

_PROGRESS_S = 5.0


class SpendViewError(BrokerError):
    """The spend view could not read the cost topic in time."""


class SpendView:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        ledger: SpendLedger,
        *,
        catch_up_timeout_s: float = 60.0,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._ledger = ledger
        self._timeout = catch_up_timeout_s
        self._tenants = {t.encode() for t in ledger.limits}
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._tail: asyncio.Task[None] | None = None
        #: Records read, costs of limited tenants counted in, and records skipped as unreadable.
        self.read = 0
        self.observed = 0
        self.unreadable = 0

    async def __aenter__(self) -> SpendView:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Read the cost topic up to its end, then keep tailing it in the background."""
        consumer = make_consumer(self._kafka, group_id=None, fetch_max_wait_ms=100)
        await start_client(consumer, self._kafka)
        self._consumer = consumer
        try:
            self._partitions = await partitions_of(consumer, self._topic, self._timeout)
            consumer.assign(self._partitions)
            await self._seek(consumer)
            await self._catch_up(consumer)
        except BaseException:
            await self.aclose()
            raise
        self._tail = asyncio.create_task(self._run_tail(consumer), name="spend-view")

    async def aclose(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
            self._tail = None
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None

    async def _seek(self, consumer: AIOKafkaConsumer) -> None:
        """Start each partition at the first record of the earliest window a limit needs
        (this month's, or today's when no tenant has a monthly limit), an hour early for
        clocks that disagree; from the beginning where the broker cannot look times up."""
        now = datetime.now(UTC)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if any(lim.month is not None for lim in self._ledger.limits.values()):
            start = start.replace(day=1)
        since_ms = int((start - timedelta(hours=1)).timestamp() * 1000)
        try:
            found = await consumer.offsets_for_times({tp: since_ms for tp in self._partitions})
        except KafkaError as exc:
            log.info(
                "spend view: %s cannot look offsets up by time (%s); reading it all",
                self._topic,
                exc,
            )
            await consumer.seek_to_beginning(*self._partitions)
            return
        for tp in self._partitions:
            at = found.get(tp)
            if at is None:  # nothing that recent in this partition
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, at.offset)

    async def _behind(self, consumer: AIOKafkaConsumer) -> list[int]:
        """Partitions not yet read up to the high watermark of their last fetch."""
        behind = []
        for tp in self._partitions:
            high = consumer.highwater(tp)
            if high is None or await consumer.position(tp) < high:
                behind.append(tp.partition)
        return behind

    async def _catch_up(self, consumer: AIOKafkaConsumer) -> None:
        started = time.monotonic()
        deadline = started + self._timeout
        report = started + _PROGRESS_S
        behind = [tp.partition for tp in self._partitions]
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                self._apply(records)
            behind = await self._behind(consumer)
            if not behind:
                break
            now = time.monotonic()
            if now > deadline:
                raise SpendViewError(
                    f"the spend view read {self.read} records of {self._topic} in "
                    f"{self._timeout:g} s and partitions {behind} are still behind; raise "
                    "spend.catch_up_timeout_s or check the broker"
                )
            if now > report:
                report = now + _PROGRESS_S
                log.info(
                    "spend view: %d records of %s read, partitions %s still behind",
                    self.read,
                    self._topic,
                    behind,
                )
        log.info(
            "spend view: caught up with %s in %.2fs (%d records, %d costs of limited tenants)",
            self._topic,
            time.monotonic() - started,
            self.read,
            self.observed,
        )

    async def _run_tail(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # aiokafka reconnects by itself; keep tailing
                log.warning("spend view: reading %s failed (%s); retrying", self._topic, exc)
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                self._apply(records)

    def _apply(self, records: Iterable[ConsumerRecord[bytes, bytes]]) -> None:
        tenants, ledger = self._tenants, self._ledger
        for r in records:
            self.read += 1
            key = r.key
            if key is None or key.partition(b":")[0] not in tenants or r.value is None:
                continue
            try:
                e = orjson.loads(r.value)
                amount = Decimal(e["cost"])
                at = datetime.fromisoformat(e["produced_at"]).timestamp()
                tenant = e["tenant_id"]
                limit = ledger.limited(tenant)
                if limit is None or e.get("currency", "USD") != limit.currency:
                    continue
                ledger.observe(e["turn_id"], tenant, amount, at)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidOperation):
                self.unreadable += 1
                if self.unreadable == 1 or self.unreadable % 1000 == 0:
                    log.warning(
                        "spend view: %d unreadable records in %s (latest at %d/%d) skipped",
                        self.unreadable,
                        self._topic,
                        r.partition,
                        r.offset,
                    )
                continue
            self.observed += 1
