"""Sessions end to end on the embedded broker with the simulator over HTTP:
history across kill -9 and restart, replay without re-billing, republished turn ids."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import orjson
import pytest
from aiokafka import ConsumerRecord
from tests.conftest import wait_for
from tests.integration.helpers import (
    ProcessorProcess,
    audits,
    distinct_turns,
    make_turns,
    process_turns,
    processor_env,
    settings_for,
    turn_records,
)

from gwstream.app import run_processor
from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import publish, read_topic
from gwstream.runtime import RuntimeStats
from gwstream.runtime.changelog import CONTROL_KEY
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration


async def test_a_conversation_keeps_its_history_across_kill_9_and_a_restart(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    processes: list[ProcessorProcess],
    start_simulator,  # type: ignore[no-untyped-def]
) -> None:
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    turns = make_turns(sessions=6, turns_per_session=4)
    early = [t for t in turns if t.seq < 3]
    env = processor_env(kafka, topic_names, sim.url)
    await publish(kafka, turn_records(topic_names.turns, early))
    first = ProcessorProcess(env, tmp_path / "first.log")
    processes.append(first)
    await read_topic(
        kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(early)
    )
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

    await publish(kafka, turn_records(topic_names.turns, [t for t in turns if t.seq == 3]))
    second = ProcessorProcess(env, tmp_path / "second.log")
    processes.append(second)
    audit = await read_topic(
        kafka, topic_names.audit, until=lambda rs: len(distinct_turns(rs)) == len(turns)
    )
    assert await second.stop(signal.SIGTERM) == 0
    history = {a.turn_id: a.history_messages for a in audits(audit) if not a.replayed}
    # Every turn went with all of its session's earlier turns and answers.
    assert history == {t.turn_id: 2 * t.seq for t in turns}
    assert "restored" in (tmp_path / "second.log").read_text()


async def test_redelivered_turns_are_answered_from_state_and_never_reach_the_gateway_again(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    processes: list[ProcessorProcess],
    start_simulator,  # type: ignore[no-untyped-def]
) -> None:
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    turns = make_turns(sessions=10, turns_per_session=2)
    await publish(kafka, turn_records(topic_names.turns, turns))
    # Never commits before the kill, so every turn is delivered again after it.
    env = processor_env(kafka, topic_names, sim.url, runtime__commit_interval_s="60")
    first = ProcessorProcess(env, tmp_path / "first.log")
    processes.append(first)
    await read_topic(  # every turn's state change is acknowledged
        kafka,
        topic_names.sessions,
        until=lambda rs: sum(r.key != CONTROL_KEY for r in rs) == len(turns),
    )
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    calls = sim.stats.requests
    assert calls == len(turns)

    second = ProcessorProcess(env, tmp_path / "second.log")
    processes.append(second)
    audit = await read_topic(
        kafka,
        topic_names.audit,
        until=lambda rs: sum(_audit_replayed(r) for r in rs) == len(turns),
    )
    responses = await read_topic(
        kafka, topic_names.responses, until=lambda rs: len(rs) == 2 * len(turns)
    )
    assert await second.stop(signal.SIGTERM) == 0
    assert sim.stats.requests == calls  # not one call more
    copies: dict[str, set[bytes]] = {}
    for r in responses:
        copies.setdefault(dict(r.headers)["ce_subject"].decode(), set()).add(r.value or b"")
    assert all(len(values) == 1 for values in copies.values())  # identical payloads
    assert len(copies) == len(turns)
    assert {a.turn_id for a in audits(audit) if a.replayed} == {t.turn_id for t in turns}


def _audit_replayed(record: ConsumerRecord[bytes, bytes]) -> bool:
    return bool(orjson.loads(record.value or b"{}").get("replayed"))


async def test_a_turn_id_published_twice_is_answered_once_with_the_same_answer(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    start_simulator,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gwstream.app")
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    turn = make_turns(sessions=1, turns_per_session=1)[0]
    settings = settings_for(kafka, topic_names, sim.url)
    stop, stats = asyncio.Event(), RuntimeStats()
    task = asyncio.create_task(run_processor(settings, stop, stats=stats))
    try:
        await publish(kafka, turn_records(topic_names.turns, [turn]))
        await wait_for(lambda: stats.processed == 1 or task.done(), timeout=30)
        await publish(kafka, turn_records(topic_names.turns, [turn]))
        responses = await read_topic(kafka, topic_names.responses, until=lambda rs: len(rs) == 2)
    finally:
        stop.set()
        await task
    assert sim.stats.requests == 1
    assert responses[0].value == responses[1].value
    audit = await read_topic(kafka, topic_names.audit, until=lambda rs: len(rs) == 2)
    assert sorted(a.replayed for a in audits(audit)) == [False, True]
    # The summary at stop counts it, beside what the runtime skipped by commit metadata.
    assert "1 turns delivered again were answered from their session's state" in caplog.text


async def test_a_turn_id_another_session_used_is_answered_and_the_reuse_logged(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    start_simulator,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gwstream")
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    first = make_turns(sessions=1, turns_per_session=1)[0]
    other = first.model_copy(
        update={"session_id": f"{first.session_id}-other", "text": "Where is my parcel?"}
    )
    settings = settings_for(kafka, topic_names, sim.url)
    await publish(kafka, turn_records(topic_names.turns, [first]))
    await publish(kafka, turn_records(topic_names.turns, [other]))
    await process_turns(settings, until=lambda s: s.processed == 2)
    assert sim.stats.requests == 2  # both called (and billed): another session's turn
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"used by session {first.key} and now by session {other.key}" in w for w in warnings
    ), warnings
    assert any(w.startswith("1 turns reused the turn id of another session") for w in warnings)


async def test_the_stop_line_counts_the_sessions_held_at_that_moment(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    start_simulator,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gwstream.runtime.processor")
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    turns = make_turns(sessions=7, turns_per_session=1)
    # The stop line is logged after the drain, when the commit loop (which also counts the
    # keys as it goes) has ended: it must count them itself.
    settings = settings_for(kafka, topic_names, sim.url, stats_interval_s=600)
    await publish(kafka, turn_records(topic_names.turns, turns))
    await process_turns(settings, until=lambda s: s.processed == len(turns))
    stopped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stopped:")]
    assert len(stopped) == 1 and "7 records done" in stopped[0]
    assert ", 7 keys with state," in stopped[0], stopped[0]
