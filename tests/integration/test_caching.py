"""Caching and prompt experiments end to end on the embedded broker, with the simulator over
HTTP and the cost sink into a real DuckDB file: hits never reach the gateway and are never
shared between tenants, their cost events carry the avoided cost into the report, and a
session keeps its prompt variant across a restart with the weights changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import wait_for
from tests.integration.helpers import T0, audits, distinct_turns, settings_for, turn_records

from gwstream.app import run_processor
from gwstream.config import KafkaSettings, Settings, SinkSettings, TopicNames
from gwstream.events import CostEvent, ResponseEvent, TurnEvent
from gwstream.kafkaio import publish, read_topic
from gwstream.simulator import GatewaySimulator
from gwstream.sink.consumer import CostSink
from gwstream.sink.report import spend_report

pytestmark = pytest.mark.integration

HOURS = "What are your opening hours?"


def _turn(tenant: str, session: str, text: str, seq: int = 0) -> TurnEvent:
    return TurnEvent(
        turn_id=f"{tenant}-{session}-{seq}",
        tenant_id=tenant,
        session_id=session,
        seq=seq,
        occurred_at=T0,
        text=text,
    )


class Running:
    """A processor running in this process on ``settings`` until stopped."""

    def __init__(self, settings: Settings) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_processor(settings, self.stop))

    async def close(self) -> None:
        self.stop.set()
        await self.task


async def _answers(
    kafka: KafkaSettings, topic: str, n: int, timeout_s: float = 60
) -> dict[str, ResponseEvent]:
    records = await read_topic(
        kafka, topic, until=lambda rs: len(distinct_turns(rs)) >= n, timeout_s=timeout_s
    )
    out: dict[str, ResponseEvent] = {}
    for r in records:
        ev = ResponseEvent.model_validate_json(r.value or b"")
        out.setdefault(ev.turn_id, ev)
    return out


async def _sink_into(kafka: KafkaSettings, names: TopicNames, database: Path, rows: int) -> None:
    sink = CostSink(
        kafka.model_copy(update={"group_id": f"{kafka.group_id}-sink"}),
        names,
        SinkSettings(database=database, batch_timeout_ms=100),
    )
    stop = asyncio.Event()
    async with sink:
        task = asyncio.create_task(sink.run(stop))
        try:
            await wait_for(lambda: sink.stats.rows_inserted >= rows or task.done(), 60)
        finally:
            stop.set()
            await task


async def test_repeats_are_answered_from_the_tenants_own_cache_and_the_savings_reach_the_report(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gwstream.app")
    sim = await start_simulator(latency_ms=5)
    settings = settings_for(kafka, topic_names, sim.url).model_copy(
        update={
            "tenants": Settings(tenants={"acme": {"cache": {"intent": True}}, "globex": {}}).tenants
        }
    )
    running = Running(settings)
    try:
        # The first asker of each tenant reaches the gateway: globex asks after acme's
        # answer is cached, and still does not get it.
        await publish(kafka, turn_records(topic_names.turns, [_turn("acme", "a1", HOURS)]))
        await _answers(kafka, topic_names.responses, 1)
        await publish(kafka, turn_records(topic_names.turns, [_turn("globex", "g1", HOURS)]))
        await _answers(kafka, topic_names.responses, 2)
        assert sim.stats.requests == 2

        repeats = [
            _turn("acme", "a2", HOURS),  # the same request: exact
            _turn("acme", "a3", "what are your opening hours"),  # the same intent
            _turn("globex", "g2", HOURS),  # globex's own entry
        ]
        await publish(kafka, turn_records(topic_names.turns, repeats))
        answers = await _answers(kafka, topic_names.responses, 5)
        assert sim.stats.requests == 2  # no hit reached the simulator
    finally:
        await running.close()

    assert "answer cache: 3 turns answered from it" in caplog.text  # logged at the stop
    first, hit = answers["acme-a1-0"], answers["acme-a2-0"]
    assert not first.cached and first.input_tokens > 0
    for turn_id in ("acme-a2-0", "acme-a3-0", "globex-g2-0"):
        a = answers[turn_id]
        assert (a.status, a.cached, a.input_tokens, a.output_tokens) == ("ok", True, 0, 0)
    assert hit.text == first.text
    assert answers["globex-g2-0"].text == answers["globex-g1-0"].text

    audit = {
        a.turn_id: a
        for a in audits(await read_topic(kafka, topic_names.audit, until=lambda rs: len(rs) >= 5))
    }
    assert [audit[t].cache for t in ("acme-a1-0", "acme-a2-0", "acme-a3-0", "globex-g2-0")] == [
        None,
        "exact",
        "intent",
        "exact",
    ]
    assert audit["acme-a2-0"].outcome == "cached"

    costs = {
        c.turn_id: c
        for c in (
            CostEvent.model_validate_json(r.value or b"")
            for r in await read_topic(kafka, topic_names.costs, until=lambda rs: len(rs) >= 5)
        )
    }
    assert costs["acme-a1-0"].cost > 0 and not costs["acme-a1-0"].cached
    for turn_id, original in (
        ("acme-a2-0", "acme-a1-0"),
        ("acme-a3-0", "acme-a1-0"),
        ("globex-g2-0", "globex-g1-0"),
    ):
        c = costs[turn_id]
        assert (c.cached, c.cost, c.status) == (True, Decimal(0), "ok")
        assert c.avoided_cost == costs[original].cost

    database = tmp_path / "costs.duckdb"
    await _sink_into(kafka, topic_names, database, rows=5)
    report = {(r["tenant_id"], str(r["day"])): r for r in spend_report(database)}
    acme, globex = report[("acme", "2026-11-20")], report[("globex", "2026-11-20")]
    assert (acme["turns"], acme["cached_turns"]) == (3, 2)
    assert acme["avoided_cost"] == 2 * costs["acme-a1-0"].cost
    assert acme["cost"] == costs["acme-a1-0"].cost
    assert (globex["turns"], globex["cached_turns"]) == (2, 1)
    assert globex["avoided_cost"] == costs["globex-g1-0"].cost


SPLIT: dict[str, Any] = {
    "support": {
        "versions": {
            "v1": {"system": "You help ${brand} customers."},
            "v2": {
                "system": "You are ${brand}'s friendly agent.",
                "examples": [{"user": "Hi", "assistant": "Hello! How can I help?"}],
            },
        },
        "split": {"v1": 0.5, "v2": 0.5},
        "variables": {"brand": "Acme"},
    }
}


async def test_a_session_keeps_its_variant_across_a_restart_with_changed_weights(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    sim = await start_simulator(latency_ms=5)
    base = settings_for(kafka, topic_names, sim.url)

    def with_split(split: dict[str, float]) -> Settings:
        prompts = {"support": {**SPLIT["support"], "split": split}}
        tenants = Settings(tenants={"acme": {"prompts": prompts}}).tenants
        return base.model_copy(update={"tenants": tenants})

    sessions = [f"s{i}" for i in range(40)]
    first = [
        _turn("acme", s, f"Question one of {s}?").model_copy(
            update={"metadata": {"use_case": "support"}}
        )
        for s in sessions
    ]
    second = [
        _turn("acme", s, f"Question two of {s}?", seq=1).model_copy(
            update={"metadata": {"use_case": "support"}}
        )
        for s in sessions
    ]
    running = Running(with_split({"v1": 0.5, "v2": 0.5}))
    try:
        await publish(kafka, turn_records(topic_names.turns, first))
        before = await _answers(kafka, topic_names.responses, len(first))
    finally:
        await running.close()
    chosen = {a.session_id: a.prompt_version for a in before.values()}
    assert set(chosen.values()) == {"v1", "v2"}  # both variants are in use

    # A restart with every new session going to v1: running sessions keep theirs.
    running = Running(with_split({"v1": 1.0, "v2": 0.0}))
    try:
        await publish(kafka, turn_records(topic_names.turns, second))
        after = await _answers(kafka, topic_names.responses, len(first) + len(second))
    finally:
        await running.close()
    for t in second:
        assert after[t.turn_id].prompt_version == chosen[t.session_id], t.session_id
        assert after[t.turn_id].use_case == "support"

    costs = [
        orjson.loads(r.value or b"")
        for r in await read_topic(
            kafka, topic_names.costs, until=lambda rs: len(rs) >= len(first) + len(second)
        )
    ]
    assert {(c["use_case"], c["prompt_version"]) for c in costs} == {
        ("support", "v1"),
        ("support", "v2"),
    }
    database = tmp_path / "costs.duckdb"
    await _sink_into(kafka, topic_names, database, rows=len(first) + len(second))
    from gwstream.sink.report import variant_report

    rows = {r["prompt_version"]: r for r in variant_report(database)}
    expected = {v: 2 * sum(1 for c in chosen.values() if c == v) for v in ("v1", "v2")}
    assert {v: rows[v]["turns"] for v in ("v1", "v2")} == expected
