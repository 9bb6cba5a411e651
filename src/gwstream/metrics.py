"""Prometheus metrics of one processor: read from live state at scrape time.

Nothing is updated on the hot path: a collector reads the runtime's counters
and every gateway's circuit breakers when Prometheus scrapes. The registry is
the processor's own (no process-global state); the endpoint is opt-in
(``metrics.port``) and listens on loopback unless ``metrics.host`` says
otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gwstream.gateways.base import Gateway
from gwstream.gateways.breaker import CircuitState
from gwstream.lifecycle import Service
from gwstream.pipeline.cache import AnswerCache
from gwstream.runtime import RuntimeStats
from gwstream.supervisor import CHILD_ENV

_STATE_VALUE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


class _Collector(Collector):
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
                "Input records finished (outputs acknowledged)",
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
        child = os.environ.get(CHILD_ENV)
        if child is not None:
            info = GaugeMetricFamily(
                "gwstream_child",
                "This process's index under `gwstream run --processes`",
                labels=["child"],
            )
            info.add_metric([child], 1)
            yield info

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


class MetricsServer(Service):
    """Serve ``/metrics`` for one processor on ``host:port`` (a background thread)."""

    def __init__(
        self,
        stats: RuntimeStats,
        gateways: Mapping[str, Gateway],
        *,
        host: str,
        port: int,
        cache: AnswerCache | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._stats = stats
        self._gateways = gateways
        self._cache = cache
        self._server: Any = None

    async def start(self) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self._stats, self._gateways, self._cache))
        self._server, _thread = start_http_server(self.port, addr=self.host, registry=registry)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
