"""A circuit breaker per gateway endpoint and model.

On a multi-model gateway (LiteLLM, an OpenAI-compatible proxy) one model may
fail while the others serve, so each (endpoint, model) pair has its own
breaker: a failing model does not take the endpoint down for every model.

Closed: calls flow; ``failure_threshold`` consecutive failures (5xx, timeouts,
dropped streams, transport errors; not 4xx and not 429, which say nothing
about the endpoint's health) open it. Open: calls are refused at once, so a
dead endpoint costs no time and the next fallback is tried; the outcomes of
calls sent before it opened change nothing (a late answer does not close it,
a late failure does not extend its rest). After
``open_s`` it is half-open: up to ``half_open_probes`` calls probe it; a
success closes it, a failure opens it again. Calls that come while the
probes are out wait for their verdict (:meth:`CircuitBreaker.admit`, within
the call's deadline) rather than fail: after an outage, the first burst of
turns is answered as soon as the probe says the endpoint is back. (The retrier
records a probe's failure only once the probing call gives up on the endpoint:
its retries are the probe's, so one passing error does not fail the waiters.) A probe
that ends without a verdict (a 4xx or a 429, which say nothing about the
endpoint's health, or a cancelled call) frees its place for the next call.
Transitions are logged; the
state is readable through :attr:`CircuitBreaker.state` and :meth:`snapshot`
(and per gateway through ``HttpGateway.breaker_states()``), the seam for a
metrics exporter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

_log = logging.getLogger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5
    open_s: float = 10.0
    half_open_probes: int = 1

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.open_s <= 0 or self.half_open_probes < 1:
            raise ValueError("failure_threshold and half_open_probes must be >= 1, open_s > 0")


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    endpoint: str
    state: CircuitState
    consecutive_failures: int
    times_opened: int
    model: str = ""


class CircuitBreaker:
    """One endpoint's breaker (for one model). Single event loop: no locks needed."""

    __slots__ = (
        "_clock",
        "_failures",
        "_opened_at",
        "_policy",
        "_probes",
        "_settled",
        "_state",
        "_times_opened",
        "endpoint",
        "gateway",
        "model",
    )

    def __init__(
        self,
        endpoint: str,
        policy: BreakerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        gateway: str = "",
        model: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.gateway = gateway
        self.model = model
        self._policy = policy or BreakerPolicy()
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0
        self._times_opened = 0
        #: Set (and replaced) whenever a probe ends: wakes the calls waiting for it.
        self._settled: asyncio.Event | None = None

    @property
    def state(self) -> CircuitState:
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self._policy.open_s
        ):
            self._state = CircuitState.HALF_OPEN
            self._probes = 0
        return self._state

    def allow(self) -> bool:
        """May a call go to this endpoint now? In half-open, counts the probe."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and self._probes < self._policy.half_open_probes:
            self._probes += 1
            return True
        return False

    async def admit(self, timeout_s: float) -> bool:
        """:meth:`allow`, but while half-open with every probe out, wait (at most
        ``timeout_s``) for a probe's verdict instead of refusing: True when the call
        may go (the circuit closed, or a probe's place came free), False when it is
        open or the wait ran out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.allow():
                return True
            left = deadline - time.monotonic()
            if self.state is not CircuitState.HALF_OPEN or left <= 0:
                return False
            if self._settled is None:
                self._settled = asyncio.Event()
            settled = self._settled
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await settled.wait()

    def _wake(self) -> None:
        settled, self._settled = self._settled, None
        if settled is not None:
            settled.set()

    def record_neutral(self) -> None:
        """A call admitted by :meth:`allow` ended without a verdict on the endpoint (a 4xx,
        a 429, a cancellation): a probe's place is free again."""
        if self._state is CircuitState.HALF_OPEN and self._probes > 0:
            self._probes -= 1
            self._wake()

    def record_success(self) -> None:
        if self.state is CircuitState.OPEN:
            return  # a call sent before the circuit opened: its answer does not end the rest
        if self._state is not CircuitState.CLOSED:
            _log.info(
                "circuit for %s %s (model %s) closed: the probe succeeded",
                self.gateway,
                self.endpoint,
                self.model or "any",
            )
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._probes = 0
        self._wake()

    def record_failure(self) -> None:
        state = self.state
        if state is CircuitState.OPEN:
            return  # a call sent before the circuit opened: it would only extend the rest
        self._failures += 1
        if state is CircuitState.HALF_OPEN or self._failures >= self._policy.failure_threshold:
            if state is CircuitState.HALF_OPEN:
                self._times_opened += 1
                _log.warning(
                    "circuit for %s %s (model %s) opened again: the probe failed; resting %.0fs",
                    self.gateway,
                    self.endpoint,
                    self.model or "any",
                    self._policy.open_s,
                )
            else:
                self._times_opened += 1
                _log.warning(
                    "circuit for %s %s (model %s) opened after %d consecutive failures; "
                    "resting %.0fs",
                    self.gateway,
                    self.endpoint,
                    self.model or "any",
                    self._failures,
                    self._policy.open_s,
                )
            self._state = CircuitState.OPEN
            self._opened_at = self._clock()
            self._probes = 0
            self._wake()

    def snapshot(self) -> BreakerSnapshot:
        return BreakerSnapshot(
            self.endpoint, self.state, self._failures, self._times_opened, self.model
        )
