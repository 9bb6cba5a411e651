"""Prometheus metrics and health probes of one service: read from live state at scrape time.

Nothing is updated on the hot path: a collector reads the runtime's counters
and every gateway's circuit breakers when Prometheus scrapes. The registry is
the service's own (no process-global state); the endpoint is opt-in
(``metrics.port`` for the processor, ``webhooks.metrics_port`` for the
webhook sender) and listens on loopback unless its host setting says
otherwise. The same port answers the liveness and readiness probes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gwstream.gateways.base import Gateway
from gwstream.gateways.breaker import CircuitState
from gwstream.httpserve import serve
from gwstream.lifecycle import Service
from gwstream.pipeline.cache import AnswerCache
from gwstream.runtime import RuntimeStats
from gwstream.supervisor import CHILD_ENV

_STATE_VALUE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


class ProcessorCollector(Collector):
    """The processor's runtime counters, circuit breakers and answer cache."""

    def __init__(
        self, stats: RuntimeStats, gateways: Mapping[str, Gateway], cache: AnswerCache | None
    ) -> None:
        self._stats = stats
        self._gateways = gateways
        self._cache = cache

    def collect(self) -> Iterator[Metric]:
        s = self._stats
        for name, doc, value in (
            ("gwstream_turns_fetched", "Input records fetched", s.fetched),
            (
                "gwstream_turns_processed",
                "Input records finished (outputs acknowledged), dead letters included",
                s.processed,
            ),
            (
                "gwstream_dead_letters",
                "Input records sent to the dead-letter topic",
                s.dead_lettered,
            ),
            ("gwstream_outputs", "Output records published", s.outputs),
            ("gwstream_commits", "Offset commits", s.commits),
            ("gwstream_rebalances", "Partition revocations handled", s.rebalances),
            ("gwstream_broker_outages", "Times the broker stopped answering", s.broker_outages),
            (
                "gwstream_misplaced_keys",
                "Times a key arrived on a partition Kafka's default (murmur2) partitioning does "
                "not give it, with no record of it waiting there (a producer partitions otherwise)",
                s.misplaced_keys,
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        for name, doc, value in (
            ("gwstream_in_flight", "Records being processed now", s.in_flight),
            ("gwstream_queued", "Records waiting in session lanes", s.queued),
            (
                "gwstream_in_flight_limit",
                "Records allowed in flight now (adapts to the event loop's lag)",
                s.in_flight_limit,
            ),
            ("gwstream_partitions_assigned", "Input partitions owned", len(s.assigned)),
            (
                "gwstream_broker_available",
                "1 while the broker answers, 0 during an outage (processing paused)",
                int(s.broker_available),
            ),
            (
                "gwstream_partitions_paused",
                "Input partitions paused for backpressure",
                len(s.paused),
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily(
            "gwstream_loop_lag_seconds", "Event-loop lag, last sample", value=s.loop_lag_s
        )
        state = GaugeMetricFamily(
            "gwstream_circuit_state",
            "Circuit breaker per gateway endpoint and model: 0 closed, 1 half-open, 2 open",
            labels=["gateway", "endpoint", "model"],
        )
        opened = CounterMetricFamily(
            "gwstream_circuit_opened",
            "Times an endpoint's circuit opened (per model)",
            labels=["gateway", "endpoint", "model"],
        )
        for gw_name, gateway in self._gateways.items():
            states: Any = getattr(gateway, "breaker_states", None)
            for snap in states() if callable(states) else ():
                labels = [gw_name, snap.endpoint, snap.model]
                state.add_metric(labels, _STATE_VALUE[snap.state])
                opened.add_metric(labels, snap.times_opened)
        yield state
        yield opened
        yield from self._cache_metrics()
        yield from _child_metric()

    def _cache_metrics(self) -> Iterator[Metric]:
        cache = self._cache
        if cache is None:
            return
        c = cache.stats
        for name, doc, value in (
            ("gwstream_cache_hits", "Turns answered from the answer cache", c.hits),
            ("gwstream_cache_misses", "Cache lookups that found no live entry", c.misses),
            ("gwstream_cache_stored", "Answers stored in the cache", c.stored),
            ("gwstream_cache_evicted", "Entries evicted by the size bound (LRU)", c.evicted),
            ("gwstream_cache_expired", "Entries found expired", c.expired),
            (
                "gwstream_cache_coalesced",
                "Misses that waited for the same request in flight",
                c.coalesced,
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily("gwstream_cache_entries", "Entries in the cache", value=len(cache))
        yield GaugeMetricFamily(
            "gwstream_cache_bytes", "Bytes the cached answers take (as bounded)", value=cache.bytes
        )


def _child_metric() -> Iterator[Metric]:
    child = os.environ.get(CHILD_ENV)
    if child is not None:
        info = GaugeMetricFamily(
            "gwstream_child",
            "This process's index under `gwstream run --processes`",
            labels=["child"],
        )
        info.add_metric([child], 1)
        yield info


class Probe(Protocol):
    """What the health endpoints ask of the service."""

    @property
    def failed(self) -> bool:
        """Stopped on a failure: ``/healthz`` answers 503."""
        ...

    def unready_reason(self) -> str | None:
        """Why ``/readyz`` answers 503 now; None: ready."""
        ...


class MetricsServer(Service):
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` for one service on ``host:port``.

    On the service's own event loop (aiohttp), so that an answer from
    ``/healthz`` means the loop runs: a loop stuck for the probe's timeout
    gets the process restarted. ``/healthz`` is 200 until the service has
    stopped on a failure; ``/readyz`` is 200 while ``probe`` names no reason
    not to be (503 otherwise, with the reason as JSON). Port 0 takes a free
    port (:attr:`port` then tells it). ``setting`` and ``host_setting`` name
    the settings an error about the address points at.
    """

    def __init__(
        self,
        collector: Collector,
        *,
        host: str,
        port: int,
        probe: Probe | None = None,
        setting: str = "metrics.port",
        host_setting: str = "metrics.host",
    ) -> None:
        self.host = host
        self.port = port
        self._probe = probe
        self._setting, self._host_setting = setting, host_setting
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner, self.port = await serve(
            app, self.host, self.port, setting=self._setting, host_setting=self._host_setting
        )

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self._registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        if self._probe is not None and self._probe.failed:
            return web.json_response({"status": "failed"}, status=503)
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        reason = self._probe.unready_reason() if self._probe is not None else None
        if reason is None:
            return web.json_response({"ready": True})
        return web.json_response({"ready": False, "reason": reason}, status=503)
