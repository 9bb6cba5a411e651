"""Sending webhooks: per-tenant queues, bounded concurrency, retries, one HTTP pool.

Each tenant's endpoint has its own FIFO queue and its own workers
(``per_tenant_concurrency``, or the tenant's ``concurrency``); a global
semaphore caps requests in flight over all tenants (``concurrency``) and is
held only for the duration of a request, never during a backoff wait. So a
slow or down endpoint ties up its own workers and nothing else: other
tenants' events keep flowing at their own endpoints' pace. A tenant whose
queue is full has new events refused (:meth:`Dispatcher.submit` returns
False; the service dead-letters them as ``backlog_full``) rather than
letting its backlog grow without bound.

Every attempt is signed afresh (:mod:`gwstream.webhooks.signing`) and
classified by :mod:`gwstream.webhooks.retry`; :class:`Dispatcher` reports
each finished delivery once, through ``on_finished``.

The HTTP client is aiohttp, used directly, as for the gateways' data plane
(:func:`gwstream.gateways.client.build_data_session`), not httpx as for the
control plane. By volume webhooks are data plane: a tenant subscribed to
``completed`` gets one request per turn, thousands a second at full load,
and DESIGN.md measured httpx over its aiohttp transport at 2.3 times
aiohttp's CPU per request, since each request is built once per library.
Nothing here needs httpx's extras (auth flows, its transports): one POST, a
per-attempt timeout, the status, ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import yarl
from pydantic import SecretStr

from gwstream.gateways.failures import parse_retry_after
from gwstream.lifecycle import Service
from gwstream.webhooks.retry import RandomUniform, RetrySchedule, verdict
from gwstream.webhooks.settings import WebhookEventClass, WebhookSettings
from gwstream.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

__all__ = ["Delivery", "Dispatcher", "Endpoint", "FinishCallback", "Outcome", "Signal"]

log = logging.getLogger(__name__)

USER_AGENT = "gwstream-webhooks/1"
_MAX_ANSWER_BYTES = 64 * 1024  # read (and drop) at most this much of an answer

Outcome = Literal["delivered", "rejected", "attempts_exhausted", "cancelled"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A tenant's endpoint, ready to send to (the secret read, the URL parsed)."""

    tenant_id: str
    url: yarl.URL = field(repr=False)  # its path or query may carry a token
    host: str
    secret: SecretStr
    events: frozenset[WebhookEventClass]
    include_text: bool
    timeout_s: float
    concurrency: int
    schedule: RetrySchedule

    @classmethod
    def of(cls, tenant_id: str, settings: WebhookSettings, *, default_concurrency: int) -> Endpoint:
        """Read the tenant's secret (ConfigError naming its source when it cannot be)."""
        return cls(
            tenant_id=tenant_id,
            url=yarl.URL(str(settings.url)),
            host=settings.host,
            secret=settings.signing_secret(tenant_id),
            events=settings.events,
            include_text=settings.include_text,
            timeout_s=settings.timeout_s,
            concurrency=settings.concurrency or default_concurrency,
            schedule=RetrySchedule.of(settings),
        )


class Delivery:
    """One webhook to send, and what its attempts found (mutated by the dispatcher only)."""

    __slots__ = (
        "_wake",
        "attempts",
        "body",
        "cancelled",
        "event_id",
        "event_type",
        "first_attempt_at",
        "in_attempt",
        "last_error",
        "last_status",
        "tenant_id",
    )

    def __init__(self, event_id: str, event_type: str, tenant_id: str, body: bytes) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.tenant_id = tenant_id
        self.body = body
        self.attempts = 0
        self.last_status: int | None = None
        self.last_error: str | None = None
        self.first_attempt_at: float | None = None
        self.in_attempt = False
        self.cancelled = False
        self._wake: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"Delivery({self.event_id}, tenant={self.tenant_id}, attempts={self.attempts})"

    def cancel(self) -> None:
        """Stop at the next chance: before its next attempt, or now if it is waiting to retry.
        An attempt under way is not interrupted (its answer may be a delivery)."""
        self.cancelled = True
        if self._wake is not None:
            self._wake.set()

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True if cancelled meanwhile."""
        if self.cancelled:
            return True
        if self._wake is None:
            self._wake = asyncio.Event()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
        # that arrives just as the event is set, and the worker would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        return self.cancelled


FinishCallback = Callable[[Delivery, Outcome], None]


class Signal:
    """Wakes whoever waits for a condition on the service's state, whenever it may have changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``predicate()`` holds; False if it still does not after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._event.wait()
        return True


@dataclass(slots=True)
class _Lane:
    endpoint: Endpoint
    queue: asyncio.Queue[Delivery]
    busy: int = 0
    workers: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass(slots=True)
class DispatchStats:
    attempts: int = 0
    retries: int = 0
    delivered: int = 0
    rejected: int = 0
    exhausted: int = 0


class Dispatcher(Service):
    """Delivers webhooks to their tenants' endpoints; reports each one finished once.

    ``on_finished(delivery, outcome)`` runs on the event loop right after the
    last attempt (keep it quick). ``clock`` (Unix seconds) stamps signatures;
    ``rand`` draws the backoff jitter.
    """

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        *,
        concurrency: int,
        max_queued: int,
        on_finished: FinishCallback,
        clock: Callable[[], float] = time.time,
        rand: RandomUniform = random.uniform,
    ) -> None:
        self._endpoints = dict(endpoints)
        self._concurrency = concurrency
        self._max_queued = max_queued
        self._on_finished = on_finished
        self._clock = clock
        self._rand = rand
        self._lanes: dict[str, _Lane] = {}
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self.signal = Signal()
        self.stats = DispatchStats()

    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self._concurrency)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            raise_for_status=False,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )
        for tenant, endpoint in self._endpoints.items():
            lane = _Lane(endpoint, asyncio.Queue())
            lane.workers = [
                asyncio.create_task(self._work(lane), name=f"webhook-{tenant}-{n}")
                for n in range(endpoint.concurrency)
            ]
            self._lanes[tenant] = lane

    async def stop(self) -> None:
        """Cancel the workers (an unfinished delivery is never reported) and close the pool."""
        pending = {t for lane in self._lanes.values() for t in lane.workers}
        while pending:  # again if a worker let a cancellation pass: it must not hang stop()
            for t in pending:
                t.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        self._lanes.clear()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def submit(self, delivery: Delivery) -> bool:
        """Queue a delivery for its tenant; False when that tenant's queue is full."""
        lane = self._lanes[delivery.tenant_id]
        if lane.queue.qsize() >= self._max_queued:
            return False
        lane.queue.put_nowait(delivery)
        return True

    def discard_cancelled(self) -> int:
        """Drop cancelled deliveries still queued (never reported); return how many."""
        dropped = 0
        for lane in self._lanes.values():
            kept: list[Delivery] = []
            while not lane.queue.empty():
                d = lane.queue.get_nowait()
                if d.cancelled:
                    dropped += 1
                else:
                    kept.append(d)
            for d in kept:
                lane.queue.put_nowait(d)
        return dropped

    def queued(self) -> dict[str, int]:
        """Deliveries waiting per tenant (not started yet)."""
        return {t: lane.queue.qsize() for t, lane in self._lanes.items()}

    def busy(self) -> int:
        """Deliveries started and not finished (attempting, or waiting to retry)."""
        return sum(lane.busy for lane in self._lanes.values())

    async def _work(self, lane: _Lane) -> None:
        while True:
            delivery = await lane.queue.get()
            lane.busy += 1
            try:
                outcome = await self._deliver(lane.endpoint, delivery)
            except Exception:
                # A bug, not the endpoint's doing: keep the worker, and dead-letter the
                # event so that it shows and its partition's commits go on.
                log.exception("webhook delivery of %s failed unexpectedly", delivery.event_id)
                delivery.last_status, delivery.last_error = None, "internal_error"
                outcome = "attempts_exhausted"
            finally:
                lane.busy -= 1
            if outcome == "delivered":
                self.stats.delivered += 1
            elif outcome == "rejected":
                self.stats.rejected += 1
            elif outcome == "attempts_exhausted":
                self.stats.exhausted += 1
            try:
                self._on_finished(delivery, outcome)
            except Exception:
                log.exception("webhook on_finished callback failed for %s", delivery.event_id)
            self.signal.notify()

    async def _deliver(self, ep: Endpoint, d: Delivery) -> Outcome:
        while not d.cancelled:
            status, retry_after = await self._attempt(ep, d)
            if status is not None:
                answer = verdict(status)
                if answer == "delivered":
                    return "delivered"
                if answer == "reject":
                    log.warning(
                        "webhook %s to tenant %s (%s) rejected with HTTP %d: not retried",
                        d.event_id,
                        ep.tenant_id,
                        ep.host,
                        status,
                    )
                    return "rejected"
            wait = ep.schedule.delay(d.attempts, retry_after_s=retry_after, rand=self._rand)
            if wait is None:
                return "attempts_exhausted"
            self.stats.retries += 1
            if await d._pause(wait):
                break
        return "cancelled"

    async def _attempt(self, ep: Endpoint, d: Delivery) -> tuple[int | None, float | None]:
        """One signed POST: (status, Retry-After seconds), or (None, None) with ``last_error`` set."""
        assert self._session is not None and self._slots is not None
        async with self._slots:
            now = self._clock()
            if d.first_attempt_at is None:
                d.first_attempt_at = now
            d.attempts += 1
            self.stats.attempts += 1
            headers = {
                SIGNATURE_HEADER: signature_header(
                    ep.secret.get_secret_value().encode(), int(now), d.body
                ),
                EVENT_ID_HEADER: d.event_id,
                EVENT_TYPE_HEADER: d.event_type,
            }
            d.in_attempt = True
            try:
                async with self._session.post(
                    ep.url,
                    data=d.body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=ep.timeout_s),
                    allow_redirects=False,
                ) as response:
                    await _discard(response)
                    status = response.status
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
            except TimeoutError:
                d.last_status, d.last_error = None, "timeout"
                return None, None
            except (aiohttp.ClientError, OSError) as exc:
                d.last_status, d.last_error = None, "connection_error"
                log.debug("webhook to %s: %s", ep.host, type(exc).__name__)
                return None, None
            finally:
                d.in_attempt = False
                self.signal.notify()
        d.last_status = status
        d.last_error = None if 200 <= status <= 299 else f"http_{status}"
        return status, retry_after


async def _discard(response: aiohttp.ClientResponse) -> None:
    """Read a small answer to its end (so the connection is reused); give up on a large one."""
    read = 0
    while read <= _MAX_ANSWER_BYTES:
        chunk = await response.content.readany()
        if not chunk:
            return
        read += len(chunk)
