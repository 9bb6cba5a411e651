"""Building and reading turns for integration tests."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import ConsumerRecord, TopicPartition

from gwstream.config import GatewaySettings, KafkaSettings, RuntimeSettings, Settings, TopicNames
from gwstream.events import AuditEvent, ResponseEvent, TurnEvent, turn_headers
from gwstream.kafkaio import make_consumer
from gwstream.runtime import Processor, RuntimeStats

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def make_turns(sessions: int, turns_per_session: int, *, tenants: int = 3) -> list[TurnEvent]:
    """Turns interleaved across sessions the way a platform publishes them."""
    out = []
    for seq in range(turns_per_session):
        for s in range(sessions):
            tenant = f"tenant-{s % tenants}"
            out.append(
                TurnEvent(
                    turn_id=f"{tenant}-s{s}-{seq}",
                    tenant_id=tenant,
                    session_id=f"s{s}",
                    seq=seq,
                    occurred_at=T0 + timedelta(seconds=s * 60 + seq * 5),
                    text=f"Question {seq} from session {s}: where is my order number {1000 + s}?",
                )
            )
    return out


def turn_records(
    topic: str, turns: list[TurnEvent]
) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    return [(topic, t.key.encode(), t.to_json(), turn_headers(t)) for t in turns]


def settings_for(
    kafka: KafkaSettings, names: TopicNames, gateway_url: str, **runtime: object
) -> Settings:
    return Settings(
        kafka=kafka,
        topics=names,
        gateways={
            "default": GatewaySettings(base_urls=[gateway_url], timeout_s=10, max_attempts=5)
        },
        runtime=RuntimeSettings(commit_interval_s=0.2, drain_timeout_s=5, **runtime),  # type: ignore[arg-type]
    )


def responses_by_turn(
    records: list[ConsumerRecord[bytes, bytes]],
) -> dict[str, list[ResponseEvent]]:
    out: dict[str, list[ResponseEvent]] = defaultdict(list)
    for r in records:
        ev = ResponseEvent.model_validate(orjson.loads(r.value or b""))
        out[ev.turn_id].append(ev)
    return out


def audits(records: list[ConsumerRecord[bytes, bytes]]) -> list[AuditEvent]:
    """The audit events among the audit topic's records (budget notices left out)."""
    return [
        AuditEvent.model_validate_json(r.value or b"")
        for r in records
        if dict(r.headers).get("ce_type") == AuditEvent.ce_type.encode()
    ]


def first_answers(records: list[ConsumerRecord[bytes, bytes]]) -> dict[str, ResponseEvent]:
    """Each turn's first response."""
    out: dict[str, ResponseEvent] = {}
    for r in records:
        ev = ResponseEvent.model_validate_json(r.value or b"")
        out.setdefault(ev.turn_id, ev)
    return out


def distinct_turns(records: list[ConsumerRecord[bytes, bytes]]) -> set[str]:
    return {dict(r.headers)["ce_subject"].decode() for r in records}


async def committed_total(kafka: KafkaSettings, topic: str, partitions: int) -> int:
    """Sum of the group's committed offsets over ``topic``'s partitions."""
    consumer = make_consumer(kafka, group_id=kafka.group_id)
    await consumer.start()
    try:
        # Name the partitions: aiokafka cannot decode Tansu's all-partitions OffsetFetch.
        return sum(
            [await consumer.committed(TopicPartition(topic, p)) or 0 for p in range(partitions)]
        )
    finally:
        await consumer.stop()


def processor_env(
    kafka: KafkaSettings, names: TopicNames, url: str, **settings: str
) -> dict[str, str]:
    """Environment for a `gwstream run` subprocess on these topics and this gateway."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env.update(
        {
            "GWSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "GWSTREAM_KAFKA__GROUP_ID": kafka.group_id,
            "GWSTREAM_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "GWSTREAM_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
            "GWSTREAM_TOPICS__TURNS": names.turns,
            "GWSTREAM_TOPICS__RESPONSES": names.responses,
            "GWSTREAM_TOPICS__COSTS": names.costs,
            "GWSTREAM_TOPICS__AUDIT": names.audit,
            "GWSTREAM_TOPICS__DLQ": names.dlq,
            "GWSTREAM_TOPICS__SESSIONS": names.sessions,
            "GWSTREAM_GATEWAYS": json.dumps({"default": {"base_urls": [url], "timeout_s": 10}}),
            "GWSTREAM_RUNTIME__MAX_IN_FLIGHT": "16",
            "GWSTREAM_RUNTIME__COMMIT_INTERVAL_S": "0.2",
            "GWSTREAM_LOG_LEVEL": "INFO",
        }
    )
    env.update({f"GWSTREAM_{k.upper()}": v for k, v in settings.items()})
    return env


class ProcessorProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gwstream", "run"],
            env=env,
            stdout=self._log,
            stderr=self._log,
        )

    async def stop(self, sig: int) -> int:
        """Send ``sig`` and wait for the process to end; its return code."""
        self.proc.send_signal(sig)
        return await asyncio.to_thread(self.proc.wait)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


async def run_processor_until(
    processor: Processor[Any], until: Callable[[], bool], timeout: float = 30
) -> None:
    """Run ``processor`` until ``until()`` holds (or it stops), then stop it and re-raise
    whatever it failed with."""
    from tests.conftest import wait_for

    stop = asyncio.Event()
    async with processor:
        task = asyncio.create_task(processor.run(stop))
        try:
            await wait_for(lambda: until() or task.done(), timeout)
        finally:
            stop.set()
            await task


async def process_turns(
    settings: Settings, until: Callable[[RuntimeStats], bool], timeout: float = 60
) -> RuntimeStats:
    """Run the processor of ``settings`` in-process until ``until(stats)`` holds (or it
    stops by itself), then stop it and re-raise whatever it failed with."""
    from tests.conftest import wait_for

    from gwstream.app import run_processor

    stats = RuntimeStats()
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(settings, stop, stats=stats))
    try:
        await wait_for(lambda: task.done() or until(stats), timeout)
    finally:
        stop.set()
        await task
    return stats
