"""Publishing what a record produced: its outputs and its key's state change, acknowledged.

:class:`Publisher` is the processor's way out. A record's state change goes
first and its outputs after; all are awaited, even after one failed. A broker
that is away is waited out (the record stays uncommitted and its records are
sent again once it answers); any other failure stops the processor
(:class:`Fatal`). Dead letters are built here too, with the scrubber applied
to their value.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gwstream.config import RuntimeSettings
from gwstream.errors import PoisonRecord, ProcessingHalted
from gwstream.events import DeadLetter, utcnow
from gwstream.runtime.changelog import Changelog
from gwstream.runtime.lanes import Partition
from gwstream.runtime.outage import BrokerWatch, retriable
from gwstream.runtime.records import InRecord, OutRecord, RuntimeStats

log = logging.getLogger(__name__)

#: Header on a dead letter whose value was changed by the scrubber (PII replaced).
SCRUBBED_HEADER = "gw_scrubbed"

#: A key's state change: its partition, the key, the new value (None: deleted).
Change = tuple[Partition, bytes, bytes | None]


class Fatal(ProcessingHalted):
    """A failure after which continuing could lose data (e.g. the producer failed)."""


class Publisher:
    """Sends records through ``producer`` and state changes through ``changelog``."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        changelog: Changelog | None,
        *,
        dlq_topic: str,
        settings: RuntimeSettings,
        stats: RuntimeStats,
        broker: BrokerWatch,
        halt: Callable[[BaseException, str], None],
        scrub: Callable[[Sequence[bytes]], list[bytes]] | None = None,
    ) -> None:
        self._producer = producer
        self._changelog = changelog
        self._dlq = dlq_topic
        self._cfg = settings
        self._stats = stats
        self._broker = broker
        #: Stops the processor (its ``run`` raises) after a failure that risks loss.
        self._halt = halt
        #: Applied to a dead letter's value, key and header values together (the guardrails
        #: replace PII in them).
        self._scrub = scrub

    def dead_letter(self, rec: InRecord, poison: PoisonRecord) -> OutRecord:
        self._stats.dead_lettered += 1
        info = DeadLetter(
            reason=poison.reason,
            detail=poison.detail[:1000],
            source_topic=rec.topic,
            source_partition=rec.partition,
            source_offset=rec.offset,
            failed_at=utcnow(),
        )
        log.warning(
            "dead-lettered %s[%d]@%d: %s",
            rec.topic,
            rec.partition,
            rec.offset,
            poison.reason,
            extra={"partition": rec.partition, "offset": rec.offset},
        )
        value, key, copied = rec.value or b"", rec.key, list(rec.headers)
        scrub = self._scrub
        changed = False
        if scrub is not None:
            # The key and the record's own headers too, names and values (a platform may
            # have put an e-mail address in a session id, or anything in a header),
            # numbered as one record.
            names = [k.encode("utf-8", "surrogateescape") for k, _ in copied]
            parts = [value, key or b"", *(v or b"" for _, v in copied), *names]
            scrubbed = scrub(parts)
            changed = scrubbed != parts
            value, new_key, *rest = scrubbed
            key = new_key if key is not None else None
            values, new_names = rest[: len(copied)], rest[len(copied) :]
            copied = [
                (name.decode("utf-8", "surrogateescape"), new if v else v)
                for (_, v), new, name in zip(copied, values, new_names, strict=True)
            ]
        headers = [*copied, *info.headers()]
        if changed:
            headers.append((SCRUBBED_HEADER, b"true"))
        return OutRecord(self._dlq, key, value, headers)

    async def publish(
        self,
        outputs: Sequence[OutRecord],
        change: Change | None,
    ) -> None:
        """Send the state change and the outputs; wait for the broker to acknowledge all.

        The change goes first, so that outputs a consumer has seen almost never
        belong to a turn whose state a crash would lose (such a turn would be
        answered again by the gateway instead of from state).
        """
        if change is not None:
            part, key, value = change
            assert part.store is not None and self._changelog is not None
            part.store.apply(key, value, time.time())
        pending: list[OutRecord | None] = [None] if change is not None else []
        pending.extend(outputs)
        delay = self._cfg.publish_retry_backoff_s
        while True:
            failures = await self._send(pending, change)
            if not failures:
                break
            fatal = next((e for _, e in failures if not retriable(e)), None)
            if fatal is not None:
                self._halt(fatal, "publishing failed")
                raise Fatal(str(fatal)) from fatal
            # The broker is away: keep these records (the turn stays uncommitted) and
            # send them again once it answers. Re-sending may duplicate a record the
            # broker did take: the usual at-least-once, deduplicated by event id.
            delay = await self._broker.ride_out(
                failures[0][1], "publishing", delay, self._cfg.publish_retry_backoff_max_s
            )
            pending = [r for r, _ in failures]
        self._stats.outputs += len(outputs)

    async def _send(
        self,
        records: Sequence[OutRecord | None],
        change: Change | None,
    ) -> list[tuple[OutRecord | None, BaseException]]:
        """Send ``records`` (None: the state change) and wait for every acknowledgement;
        the records that failed, with why."""
        producer = self._producer
        futures: list[asyncio.Future[Any]] = []
        sent: list[OutRecord | None] = []
        failures: list[tuple[OutRecord | None, BaseException]] = []
        for r in records:
            try:
                if r is None:
                    assert change is not None and self._changelog is not None
                    part, key, value = change
                    futures.append(await self._changelog.send(part.tp.partition, key, value))
                else:
                    futures.append(
                        await producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                    )
                sent.append(r)
            except KafkaError as exc:
                failures.append((r, exc))
        # Every send that was made is awaited, even after one failed. One at a time, not
        # with gather: a turn's records are acknowledged together, so the first wait
        # wakes this task once they are, and the others are done by then (gather would
        # add a callback per record and a second trip through the event loop's queue).
        unexpected: BaseException | None = None
        for i, (r, future) in enumerate(zip(sent, futures, strict=True)):
            try:
                await future
            except KafkaError as exc:
                failures.append((r, exc))
            except asyncio.CancelledError:
                for rest in futures[i + 1 :]:
                    rest.cancel()
                raise
            except Exception as exc:
                unexpected = unexpected or exc
        if unexpected is not None:
            raise unexpected
        return failures
