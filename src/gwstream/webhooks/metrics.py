"""Prometheus metrics of ``gwstream webhooks`` (``webhooks.metrics_port``), read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gwstream.webhooks.service import WebhookStats


class WebhookCollector(Collector):
    """The webhook sender's totals (:class:`WebhookStats`) and what it holds now."""

    def __init__(self, stats: Callable[[], WebhookStats], in_hand: Callable[[], int]) -> None:
        self._stats = stats
        self._in_hand = in_hand

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        for name, doc, value in (
            ("gwstream_webhooks_events", "Events taken for delivery", s.events),
            ("gwstream_webhooks_delivered", "Webhooks delivered (a 2xx)", s.delivered),
            (
                "gwstream_webhooks_dead_letters",
                "Webhooks given up on, written to the webhooks dead-letter topic",
                s.dead_lettered,
            ),
            ("gwstream_webhooks_retries", "Delivery attempts after a failed one", s.retries),
            (
                "gwstream_webhooks_duplicates",
                "Redelivered records of an event in hand or recently finished (not sent again)",
                s.duplicates,
            ),
            (
                "gwstream_webhooks_bad_records",
                "Records that do not parse (passed over)",
                s.bad_records,
            ),
            ("gwstream_webhooks_commits", "Offset commits", s.commits),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        for name, doc, value in (
            (
                "gwstream_webhooks_in_hand",
                "Events taken and not yet delivered or dead-lettered",
                self._in_hand(),
            ),
            ("gwstream_webhooks_partitions_assigned", "Partitions held", len(s.assigned)),
            ("gwstream_webhooks_paused", "1 while fetching is paused for backpressure", s.paused),
        ):
            yield GaugeMetricFamily(name, doc, value=int(value))
