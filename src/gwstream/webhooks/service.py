"""The ``gwstream webhooks`` service: output topics in, signed webhooks out, at least once.

It is a consumer group of its own (``webhooks.group_id``) in a process of
its own, reading what the processor already published: a slow or dead
endpoint can delay webhooks and nothing else (the processor never waits on
it, and its commits do not depend on this group's).

What it reads, per record, deciding by the key's tenant before parsing
anything (records of tenants without a webhook are passed over unread; the
bookkeeping is :mod:`gwstream.webhooks.intake`):

- ``topics.responses``: a turn's response, ``turn.completed`` (status ok) or
  ``turn.failed`` (refused, failed, invalid_output), if the tenant subscribes;
- ``topics.costs``: the same turn's cost, joined by turn id so the body
  carries it. A response waits up to ``webhooks.cost_wait_s`` for its cost
  (the processor publishes both together, to the same partition number, and
  the range assignor gives both partitions to the same member), then goes
  without; ``cost_wait_s: 0`` does not read the costs topic at all;
- ``topics.audit``: budget notices (``ce_type`` says which records are), for
  ``budget.soft_threshold`` and ``budget.exhausted``.

Delivery contract: a record's offset becomes committable only once its
webhook was delivered (a 2xx) or dead-lettered (the dead letter acknowledged
by the broker), or when it needs no webhook; offsets are committed per
partition at the first record not yet finished (as the processor does), on a
timer, on revoke and at shutdown. A crash replays what was not committed, so
a receiver may see an event twice: it dedupes on ``X-Gwstream-Event-Id``.
Within one process, redelivered records of an event in hand or recently
finished are not sent again (``webhooks.dedupe_ids``).

Per-tenant queues and workers (:mod:`gwstream.webhooks.delivery`) keep one
tenant's slow endpoint from holding back the others' deliveries; a tenant
whose queue is full has its new events dead-lettered (``backlog_full``).
The commit point of a partition does wait for its oldest unfinished event,
slow tenant or not, which costs only replays after a crash, and the records
behind it are remembered as offsets. Two bounds keep memory in check, each
pausing fetches until it is half way back: ``webhooks.max_in_hand`` events
taken and not finished, and ``webhooks.max_pending`` records read and not
committable. Only the second couples tenants (records of all tenants wait
behind one stuck event), so it is high by default, and the pause names the
tenant whose event holds the oldest record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from gwstream.config import KafkaSettings, Settings, TopicNames
from gwstream.errors import BrokerError, ConfigError
from gwstream.kafkaio import (
    check_held,
    close_consumer,
    close_producer,
    commit_within,
    fetch,
    make_consumer,
    make_producer,
    require_partitions,
    start_client,
)
from gwstream.lifecycle import Service
from gwstream.runtime.offsets import OffsetTracker
from gwstream.runtime.outage import BrokerWatch
from gwstream.webhooks.deadletter import DeadLetterReason, WebhookDeadLetter
from gwstream.webhooks.delivery import Delivery, Dispatcher, Endpoint, Outcome
from gwstream.webhooks.intake import Intake, Job
from gwstream.webhooks.retry import RandomUniform
from gwstream.webhooks.settings import WebhookServiceSettings, WebhookSettings

__all__ = ["WebhookService", "WebhookStats", "serve", "tenant_webhooks"]

log = logging.getLogger(__name__)

_FETCH_TIMEOUT_MS = 100
_FETCH_MAX_RECORDS = 1_000


@dataclass(frozen=True, slots=True)
class WebhookStats:
    """Totals since the service started (a snapshot)."""

    events: int = 0
    """Events taken for delivery (redelivered records of one event count once)."""
    delivered: int = 0
    dead_lettered: int = 0
    retries: int = 0
    duplicates: int = 0
    """Records of an event already in hand or recently finished: not sent again."""
    with_cost: int = 0
    """Turn webhooks whose body carries the turn's cost."""
    bad_records: int = 0
    """Records that do not parse; logged by position and passed over."""
    commits: int = 0
    assigned: list[int] = field(default_factory=list)
    """Partition numbers held (of every topic read)."""
    paused: bool = False


def _utc(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


class WebhookService(Service):
    """Delivers the configured tenants' webhooks from the output topics.

    Use as ``async with WebhookService(...) as service: await service.run(stop)``.
    Entering reads every tenant's secret (a missing one is a ConfigError
    naming its source, before anything connects), joins the group and
    starts the HTTP pool; :meth:`run` delivers until ``stop`` is set, then
    lets deliveries in hand finish for up to ``drain_timeout_s`` and commits;
    leaving closes everything.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: TopicNames,
        settings: WebhookServiceSettings,
        tenants: Mapping[str, WebhookSettings],
        *,
        clock: Callable[[], float] = time.time,
        rand: RandomUniform = random.uniform,
    ) -> None:
        self._kafka = kafka
        self._topics = topics
        self._cfg = settings
        self._tenant_settings = dict(tenants)
        self._clock = clock
        self._rand = rand
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._dispatcher: Dispatcher | None = None
        self._intake: Intake | None = None
        self._parts: dict[TopicPartition, OffsetTracker] = {}
        self._committed: dict[TopicPartition, int] = {}
        #: Every partition of its topics at start: a broker check that finds fewer stops it.
        self._known: list[TopicPartition] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: BaseException | None = None
        self._delivered = 0
        self._dead_lettered = 0
        #: Dead letters since the last progress line, by (tenant, reason): the first of each
        #: is logged on its own, the rest summed up in the next progress line (a tenant
        #: that is down would otherwise write a line per event).
        self._unlogged: dict[tuple[str, str], int] = {}
        self._commits = 0
        self._paused = False
        self._joined = False
        self._broker = BrokerWatch(
            pause="deliveries in hand go on, nothing new is read or committed",
            resume="reading and committing resume",
        )

    @property
    def group_id(self) -> str:
        return self._cfg.group_id

    @property
    def stats(self) -> WebhookStats:
        i = self._intake.stats if self._intake is not None else None
        return WebhookStats(
            events=i.events if i else 0,
            delivered=self._delivered,
            dead_lettered=self._dead_lettered,
            retries=self._dispatcher.stats.retries if self._dispatcher is not None else 0,
            duplicates=i.duplicates if i else 0,
            with_cost=i.with_cost if i else 0,
            bad_records=i.bad_records if i else 0,
            commits=self._commits,
            assigned=sorted({tp.partition for tp in self._parts}),
            paused=self._paused,
        )

    @property
    def failed(self) -> bool:
        """Stopped on a failure (``run`` raises or has raised)."""
        return self._fatal is not None

    def unready_reason(self) -> str | None:
        """Why ``/readyz`` answers 503 (None: started, in the group, not failed)."""
        if self.failed:
            return "stopped on a failure"
        if self._consumer is None:
            return "not started"
        if not self._joined:
            return "joining the group"
        if not self._broker.available:
            return "the broker does not answer"
        return None

    @property
    def in_hand(self) -> int:
        """Events taken and not yet delivered or dead-lettered (waiting costs included)."""
        return self._intake.in_hand if self._intake is not None else 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if not self._tenant_settings:
            raise ConfigError(
                "no tenant has a webhook: give tenants.<id>.webhook a url and a secret "
                "(secret, secret_env or secret_file)"
            )
        endpoints = {
            tenant: Endpoint.of(tenant, s, default_concurrency=self._cfg.per_tenant_concurrency)
            for tenant, s in sorted(self._tenant_settings.items())
        }
        wants_turns = any(ep.events & {"completed", "failed"} for ep in endpoints.values())
        wants_budget = any("budget" in ep.events for ep in endpoints.values())
        costs = self._topics.costs if wants_turns and self._cfg.cost_wait_s > 0 else None
        topics = [self._topics.responses] if wants_turns else []
        topics += [costs] if costs is not None else []
        topics += [self._topics.audit] if wants_budget else []

        self._intake = Intake(
            endpoints,
            responses=self._topics.responses,
            costs=costs,
            cost_wait_s=self._cfg.cost_wait_s,
            dedupe_ids=self._cfg.dedupe_ids,
            send=self._send,
        )
        dispatcher = Dispatcher(
            endpoints,
            concurrency=self._cfg.concurrency,
            max_queued=self._cfg.max_queued_per_tenant,
            on_finished=self._on_finished,
            clock=self._clock,
            rand=self._rand,
        )
        producer = make_producer(self._kafka)
        # Range assignment gives one member partition i of every topic (they have equal
        # counts), so a turn's response and cost meet in the same process.
        consumer = make_consumer(
            self._kafka,
            group_id=self._cfg.group_id,
            partition_assignment_strategy=(RangePartitionAssignor,),
            auto_offset_reset=self._cfg.start_from,
        )
        try:
            await start_client(producer, self._kafka)
            await start_client(consumer, self._kafka)
            # Before subscribing or producing: a broker that creates topics on first use
            # would otherwise create a missing one with its own defaults.
            for topic in (*topics, self._topics.webhooks_dlq):
                found = await require_partitions(consumer, topic)
                if topic in topics:
                    self._known += found
            consumer.subscribe(topics, listener=_Listener(self))
            await dispatcher.start()
        except BaseException:
            await producer.stop()
            await consumer.stop()
            raise
        self._producer, self._consumer, self._dispatcher = producer, consumer, dispatcher
        log.info(
            "webhooks for tenants %s consuming %s as group %s",
            ", ".join(f"{t} ({ep.host})" for t, ep in endpoints.items()),
            ", ".join(topics),
            self._cfg.group_id,
        )

    async def stop(self) -> None:
        """Close the HTTP pool, leave the group, flush the producer. Safe to call twice."""
        if self._intake is not None:
            self._intake.cancel_timers()
        dispatcher, self._dispatcher = self._dispatcher, None
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        try:
            if dispatcher is not None:
                await dispatcher.stop()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            try:
                if consumer is not None:
                    await close_consumer(consumer, self._kafka)
            finally:
                if producer is not None:
                    await close_producer(producer, self._kafka)

    async def run(self, stop: asyncio.Event) -> WebhookStats:
        """Deliver until ``stop`` is set; then drain (bounded), commit and return the totals.

        Raises BrokerError if dead letters cannot be written (their records stay
        uncommitted, so a restart retries them).
        """
        consumer, dispatcher, intake = self._consumer, self._dispatcher, self._intake
        if consumer is None or dispatcher is None or intake is None:
            raise RuntimeError("WebhookService.run() needs a started service (use 'async with')")
        ticker = asyncio.create_task(self._tick(stop), name="webhooks-commit")
        watch = asyncio.create_task(
            self._broker.run(lambda: self._probe(consumer)), name="webhooks-broker-watch"
        )
        try:
            while not stop.is_set() and self._fatal is None:
                self._backpressure(consumer, intake)
                fetched = await fetch(
                    consumer, stop, timeout_ms=_FETCH_TIMEOUT_MS, max_records=_FETCH_MAX_RECORDS
                )
                for tp, records in fetched.items():
                    tracker = self._parts.get(tp)
                    if tracker is None:
                        continue  # revoked since the fetch: its new owner reads them
                    for record in records:
                        intake.take(tracker, record)
        finally:
            ticker.cancel()
            watch.cancel()
            await asyncio.gather(ticker, watch, return_exceptions=True)
            await self._drain(dispatcher, intake)
            await self._commit(dict(self._parts))
            self._log_progress("stopped")
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    async def _probe(self, consumer: AIOKafkaConsumer) -> None:
        """The broker check: a metadata request, which also finds partitions it lost (held,
        or there at start)."""
        try:
            await check_held(
                consumer._client, {*self._known, *self._parts}, "its events would never arrive"
            )
        except BrokerError as exc:
            if self._fatal is None:
                log.error("watching the broker, stopping: %s", exc)
                self._fatal = exc

    # -- sending and finishing ---------------------------------------------------------

    def _send(self, job: Job) -> None:
        assert self._dispatcher is not None and job.delivery is not None
        if not self._dispatcher.submit(job.delivery):
            self._dead_letter(job, "backlog_full")

    def _on_finished(self, delivery: Delivery, outcome: Outcome) -> None:
        intake = self._intake
        job = intake.job_of(delivery) if intake is not None else None
        if intake is None or job is None:
            return
        if outcome == "delivered":
            self._delivered += 1
            intake.finish(job)
        elif outcome == "cancelled":
            intake.drop(job)  # unfinished: its records are replayed
        else:
            self._dead_letter(job, outcome)

    def _dead_letter(self, job: Job, reason: DeadLetterReason) -> None:
        job.state = "dead_lettering"
        task = asyncio.create_task(self._publish_dead_letter(job, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_dead_letter(self, job: Job, reason: DeadLetterReason) -> None:
        assert self._producer is not None and job.delivery is not None
        d, event = job.delivery, job.event
        topic, partition, offset = job.source
        letter = WebhookDeadLetter(
            event_id=d.event_id,
            event_type=job.event_type,
            tenant_id=event.tenant_id,
            session_id=event.session_id,
            turn_id=event.turn_id,
            url_host=job.endpoint.host,
            reason=reason,
            attempts=d.attempts,
            last_status=d.last_status,
            last_error=d.last_error,
            first_attempt_at=_utc(d.first_attempt_at),
            failed_at=datetime.fromtimestamp(self._clock(), UTC),
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
        )
        try:
            sent = await self._producer.send(
                self._topics.webhooks_dlq,
                value=letter.to_json(),
                key=job.key,
                headers=letter.headers(),
            )
            await sent
        except KafkaError as exc:
            if self._fatal is None:
                self._fatal = BrokerError(
                    f"cannot write webhook dead letters to {self._topics.webhooks_dlq} "
                    f"({type(exc).__name__}): check that the topic exists (gwstream topics apply) "
                    "and the broker is up; undelivered events stay uncommitted"
                )
            return
        finally:
            if self._dispatcher is not None:
                self._dispatcher.signal.notify()
        seen = self._unlogged.get((event.tenant_id, reason))
        if seen is None:
            log.warning(
                "webhook %s (%s) for tenant %s at %s dead-lettered: %s after %d attempt(s), "
                "last %s (more of this tenant and reason are summed up in the progress line)",
                d.event_id,
                d.event_type,
                event.tenant_id,
                job.endpoint.host,
                reason,
                d.attempts,
                d.last_error or "none",
            )
        self._unlogged[(event.tenant_id, reason)] = (seen or 0) + (seen is not None)
        self._dead_lettered += 1
        if self._intake is not None:
            self._intake.finish(job)

    # -- commits, backpressure, rebalance, drain ----------------------------------------

    async def _tick(self, stop: asyncio.Event) -> None:
        next_report = time.monotonic() + self._cfg.stats_interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._cfg.commit_interval_s):
                    await stop.wait()
            await self._commit(dict(self._parts))
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + self._cfg.stats_interval_s
                self._log_progress("progress")

    async def _commit(self, parts: Mapping[TopicPartition, OffsetTracker]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, tracker in parts.items():
            offset = tracker.committable()
            if offset is not None and self._committed.get(tp) != offset:
                offsets[tp] = OffsetAndMetadata(offset, "")
        if not offsets:
            return
        try:
            await commit_within(consumer, offsets, self._kafka.request_timeout_ms / 1000)
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance or a moved coordinator: the next tick or the revoke commits
            # again; anything uncommitted is redelivered, never lost.
            log.info("webhooks commit deferred: %r", exc)
            return
        self._committed.update({tp: om.offset for tp, om in offsets.items()})
        self._commits += 1

    def _backpressure(self, consumer: AIOKafkaConsumer, intake: Intake) -> None:
        in_hand = intake.in_hand
        pending = sum(len(t) for t in self._parts.values())
        cfg = self._cfg
        if in_hand >= cfg.max_in_hand or pending >= cfg.max_pending:
            if not self._paused:
                self._paused = True
                fullest = max(self._parts.values(), key=len, default=None)
                log.warning(
                    "webhooks pausing fetches: %d events in hand (max_in_hand %d), %d records "
                    "not yet committable (max_pending %d); the oldest waits for tenant %s",
                    in_hand,
                    cfg.max_in_hand,
                    pending,
                    cfg.max_pending,
                    (intake.holder_of(fullest) if fullest is not None else None) or "none",
                )
            consumer.pause(*consumer.assignment())  # again each time: new assignments too
        elif self._paused and in_hand < cfg.max_in_hand // 2 and pending < cfg.max_pending // 2:
            consumer.resume(*consumer.assignment())
            self._paused = False
            log.info(
                "webhooks resuming fetches: %d events in hand, %d records pending", in_hand, pending
            )

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self._joined = True
        for tp in assigned:
            self._parts.setdefault(tp, OffsetTracker())
        log.info("webhooks assigned partitions %s", self.stats.assigned)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Stop the revoked partitions' work, let attempts under way end, commit, drop them.

        Their events not yet sent are left to the new owner (nothing marks them
        done); an attempt under way may still deliver, and then counts.
        """
        parts = {tp: self._parts.pop(tp) for tp in revoked if tp in self._parts}
        intake, dispatcher = self._intake, self._dispatcher
        if not parts or intake is None:
            return
        gone = set(parts.values())
        sending = intake.release(gone)
        letters = [
            j
            for j in intake.jobs.values()
            if j.state == "dead_lettering" and any(t in gone for t, _ in j.refs)
        ]

        def settled() -> bool:
            return not any(
                j.delivery is not None and j.delivery.in_attempt for j in sending
            ) and not any(intake.jobs.get(j.event.event_id) is j for j in letters)

        if dispatcher is not None:
            await dispatcher.signal.wait_until(settled, self._cfg.drain_timeout_s)
            dispatcher.discard_cancelled()
        intake.released(sending)
        await self._commit(parts)
        for tp in parts:
            self._committed.pop(tp, None)
        log.info("webhooks released partitions %s", sorted({tp.partition for tp in parts}))

    async def _drain(self, dispatcher: Dispatcher, intake: Intake) -> None:
        """At shutdown: send what waits for a cost now, let deliveries finish (bounded), then
        cancel the rest and wait for attempts under way to end."""
        intake.send_waiting()
        if intake.jobs:
            log.info("webhooks draining %d events in hand", len(intake.jobs))
            await dispatcher.signal.wait_until(lambda: not intake.jobs, self._cfg.drain_timeout_s)
        if not intake.jobs:
            return
        jobs = list(intake.jobs.values())
        log.warning(
            "webhooks drain timed out after %.1fs: %d events left undelivered and uncommitted "
            "(the next start delivers them)",
            self._cfg.drain_timeout_s,
            len(jobs),
        )
        sending = [j.delivery for j in jobs if j.delivery is not None]
        for d in sending:
            d.cancel()
        longest = max(j.endpoint.timeout_s for j in jobs)
        await dispatcher.signal.wait_until(
            lambda: (
                not any(d.in_attempt for d in sending)
                and not any(j.state == "dead_lettering" for j in intake.jobs.values())
            ),
            longest + 1.0,
        )

    def _log_progress(self, prefix: str) -> None:
        more = {k: n for k, n in self._unlogged.items() if n}
        self._unlogged.clear()
        if more:
            log.warning(
                "webhooks: %d more dead letters since the last progress line: %s",
                sum(more.values()),
                ", ".join(f"{t} {r} {n}" for (t, r), n in sorted(more.items())),
            )
        s = self.stats
        dispatcher = self._dispatcher
        queued = dispatcher.queued() if dispatcher is not None else {}
        busiest = sorted(((n, t) for t, n in queued.items() if n), reverse=True)[:3]
        log.info(
            "webhooks %s: %d events, %d delivered, %d dead-lettered, %d retries, "
            "%d duplicates skipped, %d bad records, %d waiting for their cost, "
            "%d queued%s, %d sending, partitions %s%s",
            prefix,
            s.events,
            s.delivered,
            s.dead_lettered,
            s.retries,
            s.duplicates,
            s.bad_records,
            self._intake.waiting_for_cost if self._intake is not None else 0,
            sum(queued.values()),
            f" (most: {', '.join(f'{t} {n}' for n, t in busiest)})" if busiest else "",
            dispatcher.busy() if dispatcher is not None else 0,
            s.assigned,
            ", fetching paused" if s.paused else "",
        )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka logs and swallows a listener's exception: stop the service instead."""

    def __init__(self, service: WebhookService) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        try:
            await self._service._on_revoked(set(revoked))
        except Exception as exc:
            log.exception("webhooks failed releasing partitions")
            self._service._fatal = exc

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._service._on_assigned(set(assigned))
        except Exception as exc:
            log.exception("webhooks failed taking partitions")
            self._service._fatal = exc


def tenant_webhooks(settings: Settings) -> dict[str, WebhookSettings]:
    """The tenants that have a webhook, and theirs."""
    return {t: s.webhook for t, s in settings.tenants.items() if s.webhook is not None}


async def serve(settings: Settings, stop: asyncio.Event) -> WebhookStats:
    """The body of ``gwstream webhooks``: run the service until ``stop`` is set."""
    kafka = settings.kafka.model_copy(update={"group_id": settings.webhooks.group_id})
    service = WebhookService(kafka, settings.topics, settings.webhooks, tenant_webhooks(settings))
    async with contextlib.AsyncExitStack() as stack:
        cfg = settings.webhooks
        # The port first: a taken one fails before this member joins the group (and takes
        # partitions from the running ones), and /readyz says 503 while it joins.
        if cfg.metrics_port is not None:
            from gwstream.metrics import MetricsServer
            from gwstream.webhooks.metrics import WebhookCollector

            server = MetricsServer(
                WebhookCollector(lambda: service.stats, lambda: service.in_hand),
                host=cfg.metrics_host,
                port=cfg.metrics_port,
                probe=service,
                setting="webhooks.metrics_port",
                host_setting="webhooks.metrics_host",
            )
            await stack.enter_async_context(server)
            log.info(
                "webhooks metrics on http://%s:%d/metrics (and /healthz, /readyz)",
                cfg.metrics_host,
                server.port,
            )
        await stack.enter_async_context(service)
        return await service.run(stop)
