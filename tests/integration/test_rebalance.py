"""A second instance joins mid-stream: partitions move with their session state, nothing is
lost, sessions stay in order and keep their history."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from tests.conftest import wait_for
from tests.integration.helpers import (
    distinct_turns,
    make_turns,
    responses_by_turn,
    settings_for,
    turn_records,
)

from gwstream.app import run_processor
from gwstream.config import KafkaSettings, TopicNames
from gwstream.events import AuditEvent
from gwstream.kafkaio import publish, read_topic
from gwstream.runtime import RuntimeStats
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration


async def test_a_joining_instance_takes_partitions_and_every_turn_is_answered_in_session_order(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    turns = make_turns(sessions=32, turns_per_session=10)
    async with GatewaySimulator(
        # Slow enough that A is still busy when B has joined, even on a loaded machine.
        SimulatorConfig(latency_ms=60, latency_jitter_ms=50, seed=9)
    ) as sim:
        await publish(kafka, turn_records(topic_names.turns, turns))
        settings = settings_for(kafka, topic_names, sim.url, max_in_flight=8)
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        stats_a, stats_b = RuntimeStats(), RuntimeStats()
        a = asyncio.create_task(run_processor(settings, stop_a, stats=stats_a))
        try:
            await wait_for(lambda: stats_a.processed >= 40 or a.done(), timeout=60)
            assert stats_a.processed < len(turns), "B must join mid-stream"
            b = asyncio.create_task(run_processor(settings, stop_b, stats=stats_b))
            try:
                await wait_for(lambda: stats_b.processed > 0 or b.done(), timeout=60)
                records = await read_topic(
                    kafka,
                    topic_names.responses,
                    until=lambda rs: len(distinct_turns(rs)) == len(turns),
                    timeout_s=90,
                )
                audit = await read_topic(
                    kafka,
                    topic_names.audit,
                    until=lambda rs: len(distinct_turns(rs)) == len(turns),
                    timeout_s=30,
                )
            finally:
                stop_b.set()
                await b
        finally:
            stop_a.set()
            await a
    assert stats_a.rebalances >= 1
    assert stats_b.processed > 0 and stats_a.processed > 0
    by_turn = responses_by_turn(records)
    assert set(by_turn) == {t.turn_id for t in turns}
    assert all(len({e.event_id for e in evs}) == 1 for evs in by_turn.values())
    for s in {t.session_id for t in turns}:
        ours = sorted(
            (r for r in records if (r.key or b"").endswith(f":{s}".encode())),
            key=lambda r: r.offset,
        )
        first_seen = list(dict.fromkeys(orjson.loads(r.value or b"")["seq"] for r in ours))
        assert first_seen == sorted(first_seen), f"session {s} answered out of order"
    # The state moved with the partitions: every turn went with its whole history.
    history = {
        a.turn_id: a.history_messages
        for a in (AuditEvent.model_validate_json(r.value or b"") for r in audit)
    }
    assert history == {t.turn_id: 2 * t.seq for t in turns}
