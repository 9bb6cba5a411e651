"""Prometheus /metrics of a running processor, scraped over loopback HTTP."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from tests.conftest import wait_for
from tests.integration.helpers import make_turns, turn_records

from gwstream.app import run_processor
from gwstream.broker import free_port
from gwstream.config import KafkaSettings, RuntimeSettings, Settings, TopicNames
from gwstream.kafkaio import publish
from gwstream.runtime import RuntimeStats
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration


async def test_metrics_show_progress_and_each_endpoints_circuit_state(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    turns = make_turns(sessions=4, turns_per_session=3)
    port = free_port()
    async with (
        GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0, seed=1)) as down,
        GatewaySimulator(SimulatorConfig()) as up,
    ):
        settings = Settings(
            kafka=kafka,
            topics=topic_names,
            runtime=RuntimeSettings(commit_interval_s=0.2),
            gateways={
                "default": {
                    "base_urls": [down.url, up.url],
                    "max_attempts": 1,
                    "breaker_failures": 1,
                    "breaker_open_s": 600,
                }
            },
            metrics={"port": port},
        )
        await publish(kafka, turn_records(topic_names.turns, turns))
        stats = RuntimeStats()
        stop = asyncio.Event()
        task = asyncio.create_task(run_processor(settings, stop, stats=stats))
        try:
            await wait_for(lambda: task.done() or stats.processed == len(turns), timeout=60)
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
        finally:
            stop.set()
            await task
    assert re.search(rf"^gwstream_turns_processed_total {len(turns)}\.0$", text, re.M)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    assert re.search(r"^gwstream_in_flight_limit \d+\.0$", text, re.M)
    assert re.search(r"^gwstream_dead_letters_total 0\.0$", text, re.M)
    down_state = re.search(
        rf'^gwstream_circuit_state\{{[^}}]*endpoint="{re.escape(down.url)}[^"]*"[^}}]*\}} (\S+)$',
        text,
        re.M,
    )
    up_state = re.search(
        rf'^gwstream_circuit_state\{{[^}}]*endpoint="{re.escape(up.url)}[^"]*"[^}}]*\}} (\S+)$',
        text,
        re.M,
    )
    assert down_state and float(down_state.group(1)) == 2.0, text
    assert up_state and float(up_state.group(1)) == 0.0, text
    # Every turn is a distinct request: looked up once, missed, and (answered) stored.
    assert re.search(r"^gwstream_cache_hits_total 0\.0$", text, re.M)
    assert re.search(rf"^gwstream_cache_misses_total {len(turns)}\.0$", text, re.M)
    stored = re.search(r"^gwstream_cache_stored_total (\S+)$", text, re.M)
    entries = re.search(r"^gwstream_cache_entries (\S+)$", text, re.M)
    assert stored and entries and float(stored.group(1)) == float(entries.group(1)) > 0
