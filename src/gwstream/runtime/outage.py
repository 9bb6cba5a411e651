"""Broker outages: noticing them, and waiting for their end.

The processor asks the broker for metadata every ``broker_check_interval_s``;
an answer slower than ``broker_check_timeout_s``, or a publish that fails for
a retriable reason, starts an outage. During it no new record is dispatched
(its outputs could not be published), finished records wait to be sent again,
and readiness is false. The next prompt answer ends it. The webhook service
watches the broker the same way, for its readiness.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

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
    """Whether the broker answers, from a periodic metadata request and what publishing saw.

    The broker is asked every ``interval_s``; an answer slower than ``timeout_s``
    (the processor's defaults) is an outage. ``pause`` and ``resume`` say what the
    service does when an outage starts and ends (for the log); ``on_outage`` counts
    outages.
    """

    def __init__(
        self,
        interval_s: float = 2.0,
        timeout_s: float = 5.0,
        *,
        pause: str = "no new turns start, finished ones wait to be published",
        resume: str = "publishing and dispatch resume",
        on_outage: Callable[[], None] | None = None,
        on_back: Callable[[], None] | None = None,
    ) -> None:
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._pause, self._resume = pause, resume
        self._on_outage = on_outage
        self._on_back = on_back
        self._ok = asyncio.Event()
        self._ok.set()

    @classmethod
    def of(cls, cfg: RuntimeSettings, stats: RuntimeStats) -> BrokerWatch:
        """The processor's watch, by its runtime settings."""

        def away() -> None:
            stats.broker_outages += 1
            stats.broker_available = False

        def back() -> None:
            stats.broker_available = True

        return cls(
            cfg.broker_check_interval_s, cfg.broker_check_timeout_s, on_outage=away, on_back=back
        )

    @property
    def available(self) -> bool:
        return self._ok.is_set()

    async def wait(self) -> None:
        """Return once the broker answers (at once when it does)."""
        if not self._ok.is_set():
            await self._ok.wait()

    def lost(self, exc: BaseException, what: str) -> None:
        """Note an outage: readiness turns false until the broker answers."""
        if self._ok.is_set():
            self._ok.clear()
            if self._on_outage is not None:
                self._on_outage()
            log.warning(
                "broker not answering (%s: %r): %s; resuming when it answers",
                what,
                exc,
                self._pause,
            )

    def back(self) -> None:
        if not self._ok.is_set():
            self._ok.set()
            if self._on_back is not None:
                self._on_back()
            log.warning("broker answers again: %s", self._resume)

    async def ride_out(self, exc: BaseException, what: str, delay_s: float, most_s: float) -> float:
        """Note an outage ``what`` ran into, back off ``delay_s``, and return once the
        broker answers, with the next backoff (doubled, at most ``most_s``)."""
        self.lost(exc, what)
        await asyncio.sleep(delay_s)
        await self.wait()
        return min(delay_s * 2, most_s)

    async def failure(self, probe: Callable[[], Awaitable[object]]) -> BaseException | None:
        """Why ``probe`` (a metadata request) says the broker is away: it failed, or took
        longer than the timeout; None when the broker answered."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await probe()
        except (TimeoutError, KafkaError, OSError) as exc:
            return exc
        return None

    async def run(self, probe: Callable[[], Awaitable[object]]) -> None:
        """Ask the broker for metadata with ``probe`` until cancelled; a slow or failed
        answer is an outage, the next prompt one its end."""
        while True:
            await asyncio.sleep(self._interval_s)
            exc = await self.failure(probe)
            if exc is not None:
                self.lost(exc, "metadata request")
            else:
                self.back()
