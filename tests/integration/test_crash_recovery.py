"""At-least-once across a crash: SIGKILL a real processor process mid-stream and restart it."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.integration.helpers import (
    ProcessorProcess,
    committed_total,
    distinct_turns,
    make_turns,
    processor_env,
    responses_by_turn,
    turn_records,
)

from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import publish, read_topic
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration


async def test_sigkill_mid_stream_then_restart_answers_every_turn_with_stable_ids(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path, processes: list[ProcessorProcess]
) -> None:
    turns = make_turns(sessions=40, turns_per_session=8)
    async with GatewaySimulator(
        SimulatorConfig(latency_ms=40, latency_jitter_ms=20, seed=5)
    ) as sim:
        await publish(kafka, turn_records(topic_names.turns, turns))
        env = processor_env(kafka, topic_names, sim.url)

        first = ProcessorProcess(env, tmp_path / "first.log")
        processes.append(first)
        await wait_for(lambda: sim.stats.requests >= len(turns) // 3, timeout=60)
        first.proc.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(first.proc.wait) == -signal.SIGKILL
        answered_before_restart = sim.stats.requests
        assert answered_before_restart < len(turns), "the crash must happen mid-stream"

        second = ProcessorProcess(env, tmp_path / "second.log")
        processes.append(second)
        records = await read_topic(
            kafka,
            topic_names.responses,
            until=lambda rs: len(distinct_turns(rs)) == len(turns),
            timeout_s=90,
        )
        second.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.proc.wait) == 0, (
            tmp_path / "second.log"
        ).read_text()[-2000:]
        # SIGTERM drained and committed everything it had finished: here, all of it.
        assert await committed_total(kafka, topic_names.turns, topic_names.partitions) == len(turns)

    by_turn = responses_by_turn(records)
    assert set(by_turn) == {t.turn_id for t in turns}
    for turn_id, events in by_turn.items():
        assert len({e.event_id for e in events}) == 1, (
            f"duplicates of {turn_id} carry different ids"
        )
        assert all(e.status == "ok" for e in events)
    # Session order holds across the crash: each session's first answers come in seq order.
    for s in {t.session_id for t in turns}:
        ours = [r for r in records if r.key and r.key.decode().endswith(f":{s}")]
        seqs = [json.loads(r.value or b"")["seq"] for r in sorted(ours, key=lambda r: r.offset)]
        first_seen = list(dict.fromkeys(seqs))
        assert first_seen == sorted(first_seen), f"session {s} answered out of order: {seqs}"


async def test_sigterm_with_a_slow_gateway_drains_within_the_bound_and_exits_0(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path, processes: list[ProcessorProcess]
) -> None:
    turns = make_turns(sessions=30, turns_per_session=4)
    drain_s = 3.0
    async with GatewaySimulator(
        SimulatorConfig(latency_ms=700, latency_jitter_ms=200, seed=9)
    ) as sim:
        await publish(kafka, turn_records(topic_names.turns, turns))
        env = processor_env(
            kafka, topic_names, sim.url, RUNTIME__DRAIN_TIMEOUT_S=str(drain_s), LOG_FORMAT="json"
        )
        first = ProcessorProcess(env, tmp_path / "first.log")
        processes.append(first)
        # Calls in flight at the gateway: SIGTERM lands mid-call.
        await wait_for(lambda: sim.stats.requests >= 20 and sim.stats.in_flight > 0, timeout=60)
        started = asyncio.get_running_loop().time()
        first.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(first.proc.wait)
        took = asyncio.get_running_loop().time() - started
        log = (tmp_path / "first.log").read_text()
        assert code == 0, log[-2000:]
        # The drain bound, plus closing the clients (the group leave and the last commit).
        assert took < drain_s + 5, f"SIGTERM took {took:.1f}s with drain_timeout_s={drain_s}"
        assert "Future exception was never retrieved" not in log
        # JSON logs: one object a line, ids as fields, never a turn's text.
        lines = [json.loads(line) for line in log.splitlines() if line.strip()]
        assert any("drain" in doc["message"] or "stopped" in doc["message"] for doc in lines)
        assert all({"ts", "level", "logger", "message"} <= set(doc) for doc in lines)
        assert "Question " not in log and "order number" not in log

        second = ProcessorProcess(env, tmp_path / "second.log")
        processes.append(second)
        records = await read_topic(
            kafka,
            topic_names.responses,
            until=lambda rs: len(distinct_turns(rs)) == len(turns),
            timeout_s=120,
        )
        second.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.proc.wait) == 0

    by_turn = responses_by_turn(records)
    assert set(by_turn) == {t.turn_id for t in turns}
    for turn_id, events in by_turn.items():
        assert len({e.event_id for e in events}) == 1, f"{turn_id} answered with different ids"
