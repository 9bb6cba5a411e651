"""SIGTERM must stop `gwstream run` however far it got: a group join the broker holds open
(a dead member it still waits for) must not keep the process past its drain bound, and a
second signal during a long drain stops it at once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.integration.helpers import (
    ProcessorProcess,
    make_turns,
    processor_env,
    turn_records,
)

from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import publish
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration


async def test_sigterm_during_a_join_held_open_by_a_dead_member_exits_0_promptly(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path, processes: list[ProcessorProcess]
) -> None:
    turns = make_turns(sessions=8, turns_per_session=2)
    async with GatewaySimulator(SimulatorConfig(latency_ms=5, seed=3)) as sim:
        await publish(kafka, turn_records(topic_names.turns, turns))
        # A long session timeout: the group waits that long for a member that died.
        env = processor_env(
            kafka,
            topic_names,
            sim.url,
            KAFKA__SESSION_TIMEOUT_MS="60000",
            KAFKA__HEARTBEAT_INTERVAL_MS="1000",
            RUNTIME__DRAIN_TIMEOUT_S="2",
        )
        first = ProcessorProcess(env, tmp_path / "first.log")
        processes.append(first)
        await wait_for(lambda: sim.stats.requests >= 1, timeout=60)
        assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

        log = tmp_path / "second.log"
        second = ProcessorProcess(env, log)
        processes.append(second)
        await wait_for(lambda: log.exists() and "processor:" in log.read_text(), timeout=60)
        requests = sim.stats.requests
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = await second.stop(signal.SIGTERM)
        took = loop.time() - started
        text = log.read_text()
        assert code == 0, text[-2000:]
        # Far below the 60 s the broker would hold the join for the dead member.
        assert took < 15, f"SIGTERM took {took:.1f}s while joining\n{text[-2000:]}"
        assert sim.stats.requests == requests, "the stopped instance must not have processed"
        assert "Traceback" not in text


async def test_a_second_signal_during_a_long_drain_stops_at_once_with_130(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path, processes: list[ProcessorProcess]
) -> None:
    turns = make_turns(sessions=8, turns_per_session=2)
    async with GatewaySimulator(SimulatorConfig(latency_ms=20_000, seed=3)) as sim:
        await publish(kafka, turn_records(topic_names.turns, turns))
        env = processor_env(kafka, topic_names, sim.url, RUNTIME__DRAIN_TIMEOUT_S="60")
        log = tmp_path / "run.log"
        run = ProcessorProcess(env, log)
        processes.append(run)
        await wait_for(lambda: sim.stats.in_flight > 0, timeout=60)
        run.proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: "SIGTERM: stopping cleanly" in log.read_text(), timeout=30)
        assert run.proc.poll() is None, "still draining: the calls take 20 s"
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = await run.stop(signal.SIGINT)
        took = loop.time() - started
        text = log.read_text()
        assert code == 130, text[-2000:]
        assert took < 10, f"the second signal took {took:.1f}s"
        assert "SIGINT again: stopping at once" in text
