"""Broker outages: noticing them, and waiting for their end.

The processor asks the broker for metadata every ``broker_check_interval_s``;
an answer slower than ``broker_check_timeout_s``, or a publish that fails for
a retriable reason, starts an outage. During it no new record is dispatched
(its outputs could not be published), finished records wait to be sent again,
and readiness is false. The next prompt answer ends it.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from gwstream.config import RuntimeSettings
from gwstream.runtime.records import RuntimeStats

log = logging.getLogger(__name__)


def retriable(exc: BaseException) -> bool:
    """Whether ``exc`` means the broker is away or busy (send again later), not a bad record.

    aiokafka marks the errors of an unreachable or changing cluster retriable; a batch
    that waited past its timeout fails with KafkaTimeoutError, which it does not mark.
    """
    return isinstance(exc, KafkaTimeoutError) or bool(getattr(exc, "retriable", False))


class BrokerWatch:
    """Whether the broker answers, from a periodic metadata request and what publishing saw."""

    def __init__(self, cfg: RuntimeSettings, stats: RuntimeStats) -> None:
        self._cfg = cfg
        self._stats = stats
        self._ok = asyncio.Event()
        self._ok.set()

    @property
    def available(self) -> bool:
        return self._ok.is_set()

    async def wait(self) -> None:
        """Return once the broker answers (at once when it does)."""
        if not self._ok.is_set():
            await self._ok.wait()

    def lost(self, exc: BaseException, what: str) -> None:
        """Note an outage: dispatch pauses and readiness turns false until the broker answers."""
        if self._ok.is_set():
            self._ok.clear()
            self._stats.broker_outages += 1
            log.warning(
                "broker not answering (%s: %r): no new turns start, finished ones wait to be "
                "published; resuming when it answers",
                what,
                exc,
            )

    def back(self) -> None:
        if not self._ok.is_set():
            self._ok.set()
            log.warning("broker answers again: publishing and dispatch resume")

    async def run(self, producer: AIOKafkaProducer) -> None:
        """Ask the broker for metadata until cancelled; a slow or failed answer is an outage,
        the next prompt one its end."""
        while True:
            await asyncio.sleep(self._cfg.broker_check_interval_s)
            try:
                async with asyncio.timeout(self._cfg.broker_check_timeout_s):
                    await producer.client.fetch_all_metadata()
            except (TimeoutError, KafkaError, OSError) as exc:
                self.lost(exc, "metadata request")
            else:
                self.back()
