"""An in-flight limit that adapts to keep the event loop responsive.

``runtime.max_in_flight`` bounds how many records are processed at once; most of
that time is spent awaiting gateways, which costs nothing. But when the turns
ready to run need more CPU than one core has, every extra record in flight only
lengthens the event loop's queue: each step of every turn waits behind all the
others (at 200 ms gateway latency and 2,000 in flight, 1.2 s per turn of pure
waiting on this machine), and each record in flight at a crash is a gateway call
paid twice.

So the runtime measures the loop's lag (how late a timer fires, sampled every
``interval_s``) and moves the limit between ``minimum`` and ``maximum``: down by
a fifth when two samples in a row exceed the target (one late timer is
a garbage collection or a long callback, not a queue), up by a tenth when the lag is under
half the target and the limit was what held records back. A slow gateway costs
no CPU, so the loop stays prompt and the limit climbs to ``maximum``; a CPU-bound
load settles where the loop keeps up. Records held back wait in their lanes, in
order, as they would for a free worker. A target of 0 turns adaptation off.
"""

from __future__ import annotations

import asyncio
from collections import deque

from gwstream.runtime.records import RuntimeStats

#: Where the limit starts: high enough for any test's concurrency at once, and a
#: saturated loop brings it down within a few hundred milliseconds.
INITIAL_LIMIT = 512
DECREASE = 0.8
INCREASE = 1.1


class InFlightLimit:
    """A FIFO gate of ``limit`` slots whose size follows the event loop's lag."""

    def __init__(
        self,
        maximum: int,
        target_lag_s: float,
        *,
        minimum: int = 8,
        interval_s: float = 0.025,
        stats: RuntimeStats | None = None,
    ) -> None:
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.target_lag_s = target_lag_s
        self.interval_s = interval_s
        self.adaptive = target_lag_s > 0
        self.limit = float(min(maximum, INITIAL_LIMIT) if self.adaptive else maximum)
        #: Slots taken now.
        self.busy = 0
        #: The last lag measured (seconds) and the highest since the last ``take_peak_lag``.
        self.lag_s = 0.0
        self._peak_lag_s = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._held_back = False
        self._last_lag_s = 0.0
        self._stats = stats or RuntimeStats()
        self._stats.in_flight_limit = int(self.limit)

    async def acquire(self) -> None:
        if self.busy < int(self.limit) and not self._waiters:
            self.busy += 1
            return
        self._held_back = True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut  # release() hands its slot over: busy already counts us
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()
            else:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self.busy -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.busy < int(self.limit):
            fut = self._waiters.popleft()
            if not fut.done():
                self.busy += 1
                fut.set_result(None)

    def observe(self, lag_s: float) -> None:
        """Move the limit after one lag sample (pure; :meth:`run` feeds it)."""
        self.lag_s = lag_s
        self._peak_lag_s = max(self._peak_lag_s, lag_s)
        if not self.adaptive:
            return
        sustained, self._last_lag_s = min(lag_s, self._last_lag_s), lag_s
        if sustained > self.target_lag_s:
            self.limit = max(float(self.minimum), self.limit * DECREASE)
        elif lag_s < self.target_lag_s / 2 and (self._held_back or self._waiters):
            self.limit = min(float(self.maximum), self.limit * INCREASE + 1)
            self._wake()
        self._held_back = False
        self._stats.in_flight_limit = int(self.limit)
        self._stats.loop_lag_s = lag_s

    def take_peak_lag(self) -> float:
        """The highest lag sampled since the last call (for progress lines)."""
        peak, self._peak_lag_s = self._peak_lag_s, 0.0
        return peak

    async def run(self) -> None:
        """Sample the loop's lag until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval_s)
            self.observe(max(0.0, loop.time() - started - self.interval_s))
