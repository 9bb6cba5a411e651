"""`gwstream run --processes 2` on the embedded broker with the simulator over HTTP: two
children share the consumer group, a child killed with SIGKILL is restarted and nothing is
lost, SIGTERM drains them all, and children that keep dying stop the supervisor with 1.
A terminal's Ctrl-C (SIGINT to the whole process group) drains once; a second signal stops
everything at once; children never outlive their supervisor."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.integration.helpers import distinct_turns, make_turns, processor_env, turn_records

from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import publish, read_topic
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration


class Supervised:
    """`gwstream run --processes N` as a subprocess, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, processes: int) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gwstream", "run", "--processes", str(processes)],
            env=env,
            stdout=self._out,
            stderr=self._out,
            start_new_session=True,  # a process group of its own, as a terminal gives it
        )

    def text(self) -> str:
        return self.log.read_text()

    def child_pids(self) -> dict[int, int]:
        """The latest pid of each child, from the supervisor's log."""
        return {
            int(i): int(p) for i, p in re.findall(r"child (\d+) started \(pid (\d+)\)", self.text())
        }

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.child_pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._out.close()


@pytest.fixture
def supervised() -> Iterator[list[Supervised]]:
    started: list[Supervised] = []
    yield started
    for s in started:
        s.close()


async def _exit_code(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    await wait_for(lambda: proc.poll() is not None, timeout=timeout)
    return proc.returncode


async def test_two_children_share_the_group_and_a_killed_one_is_restarted(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    supervised: list[Supervised],
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    sim = await start_simulator(latency_ms=5)
    env = processor_env(kafka, topic_names, sim.url, runtime__restart_backoff_s="0.2")
    run = Supervised(env, tmp_path / "run.log", processes=2)
    supervised.append(run)
    turns = make_turns(sessions=24, turns_per_session=4)
    first = [t for t in turns if t.seq < 2]
    await publish(kafka, turn_records(topic_names.turns, first))
    await read_topic(
        kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(first)
    )
    # Both children joined and took partitions: their log lines name them.
    await wait_for(lambda: len(run.child_pids()) == 2, timeout=30)
    text = run.text()
    assert re.search(r"INFO child 0 gwstream", text) and re.search(r"INFO child 1 gwstream", text)

    old = run.child_pids()[1]
    os.kill(old, signal.SIGKILL)
    await wait_for(lambda: run.child_pids().get(1, old) != old, timeout=30)
    assert "child 1 exited -9 (SIGKILL); restarting it in 0.2s" in run.text()

    rest = [t for t in turns if t.seq >= 2]
    await publish(kafka, turn_records(topic_names.turns, rest))
    responses = await read_topic(
        kafka,
        topic_names.responses,
        until=lambda rs: len(distinct_turns(rs)) == len(turns),
        timeout_s=90,
    )
    assert distinct_turns(responses) == {t.turn_id for t in turns}  # nothing lost

    run.proc.send_signal(signal.SIGTERM)
    assert await _exit_code(run.proc) == 0
    assert "supervisor: all 2 children stopped; exit code 0" in run.text()
    for pid in run.child_pids().values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_children_that_keep_dying_stop_the_supervisor_with_1(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    supervised: list[Supervised],
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    sim = await start_simulator()
    env = processor_env(
        kafka,
        topic_names,
        sim.url,
        runtime__restart_backoff_s="0.1",
        runtime__restart_limit="2",
    )
    run = Supervised(env, tmp_path / "run.log", processes=2)
    supervised.append(run)
    for restarts in range(3):
        await wait_for(lambda: len(run.child_pids()) == 2 or run.proc.poll() is not None, 30)
        killed = run.child_pids()[0]
        os.kill(killed, signal.SIGKILL)
        if restarts < 2:
            await wait_for(
                lambda k=killed: run.child_pids()[0] != k or run.proc.poll() is not None,  # type: ignore[misc]
                timeout=30,
            )
    assert await _exit_code(run.proc) == 1
    assert "children keep failing, stopping" in run.text()
    for pid in run.child_pids().values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_ctrl_c_at_a_terminal_drains_once_and_exits_0(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    supervised: list[Supervised],
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    sim = await start_simulator(latency_ms=5)
    run = Supervised(processor_env(kafka, topic_names, sim.url), tmp_path / "run.log", 2)
    supervised.append(run)
    await wait_for(lambda: "assigned partitions" in run.text(), timeout=60)
    os.killpg(run.proc.pid, signal.SIGINT)  # what a terminal does: every process in its group
    assert await _exit_code(run.proc) == 0, run.text()[-3000:]
    assert "again: stopping at once" not in run.text()
    for pid in run.child_pids().values():
        assert _gone(pid)


async def test_a_process_manager_that_signals_every_process_gets_one_drain_and_exit_0(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    supervised: list[Supervised],
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    # systemd's default KillMode=control-group: SIGTERM to the supervisor and to each
    # child (which the supervisor forwards to again): a child gets it twice.
    sim = await start_simulator(latency_ms=5)
    run = Supervised(processor_env(kafka, topic_names, sim.url), tmp_path / "run.log", 2)
    supervised.append(run)
    await wait_for(lambda: len(run.child_pids()) == 2, timeout=60)
    await wait_for(lambda: run.text().count("assigned partitions") >= 2, timeout=60)
    for pid in [run.proc.pid, *run.child_pids().values()]:
        os.kill(pid, signal.SIGTERM)
    assert await _exit_code(run.proc) == 0, run.text()[-3000:]
    assert "stopping at once" not in run.text()  # (before the fix: 130, then exit 1)


async def test_children_stop_by_themselves_when_their_supervisor_is_killed(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    supervised: list[Supervised],
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    sim = await start_simulator(latency_ms=5)
    run = Supervised(processor_env(kafka, topic_names, sim.url), tmp_path / "run.log", 2)
    supervised.append(run)
    await wait_for(lambda: len(run.child_pids()) == 2, timeout=60)
    children = list(run.child_pids().values())
    run.proc.kill()
    assert await _exit_code(run.proc) == -signal.SIGKILL
    await wait_for(lambda: all(_gone(pid) for pid in children), timeout=30)
    assert "the supervisor (pid" in run.text() and "is gone: stopping cleanly" in run.text()


async def test_a_second_signal_stops_the_supervisor_and_its_children_at_once_with_130(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    supervised: list[Supervised],
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    sim = await start_simulator(latency_ms=20_000)  # calls that outlast any test
    env = processor_env(kafka, topic_names, sim.url, RUNTIME__DRAIN_TIMEOUT_S="60")
    run = Supervised(env, tmp_path / "run.log", 2)
    supervised.append(run)
    await publish(
        kafka, turn_records(topic_names.turns, make_turns(sessions=8, turns_per_session=1))
    )
    await wait_for(lambda: sim.stats.in_flight > 0 and len(run.child_pids()) == 2, timeout=60)
    children = list(run.child_pids().values())
    run.proc.send_signal(signal.SIGTERM)
    await wait_for(lambda: run.text().count("SIGTERM: stopping cleanly") >= 3, timeout=30)
    run.proc.send_signal(signal.SIGTERM)
    assert await _exit_code(run.proc, timeout=30) == 130, run.text()[-3000:]
    assert all(_gone(pid) for pid in children)  # none left draining as an orphan
