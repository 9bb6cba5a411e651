"""Budgets end to end on the embedded broker with the simulator over HTTP: session budgets
across kill -9 and a rebalance, the lightweight and exhaustion points, and tenant spend
limits shared by two instances under concurrent load."""

from __future__ import annotations

import asyncio
import json
import math
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from aiokafka import ConsumerRecord
from tests.conftest import wait_for
from tests.integration.helpers import (
    ProcessorProcess,
    audits,
    distinct_turns,
    first_answers,
    make_turns,
    processor_env,
    settings_for,
    turn_records,
)

from gwstream.app import run_processor
from gwstream.config import (
    GatewaySettings,
    KafkaSettings,
    SessionBudgetSettings,
    SpendLimitSettings,
    TenantSettings,
    TopicNames,
)
from gwstream.events import BudgetNotice, CostEvent, event_id
from gwstream.kafkaio import make_consumer, partitions_of, publish, read_topic
from gwstream.pricing import PriceTable
from gwstream.runtime import RuntimeStats
from gwstream.runtime.changelog import CONTROL_KEY
from gwstream.simulator import GatewaySimulator
from gwstream.tokens import default_counter

pytestmark = pytest.mark.integration

TENANT = "tenant-0"


def _events(records: list[ConsumerRecord[bytes, bytes]]) -> list[dict]:  # type: ignore[type-arg]
    return [orjson.loads(r.value or b"") for r in records]


async def test_a_sessions_budget_survives_kill_9_and_a_rebalance_and_is_charged_once_per_turn(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    processes: list[ProcessorProcess],
    start_simulator,  # type: ignore[no-untyped-def]
) -> None:
    sim: GatewaySimulator = await start_simulator(latency_ms=5)
    turns = make_turns(sessions=8, turns_per_session=4, tenants=1)
    tenants = {TENANT: {"budget": {"session_tokens": 1_000_000, "window": "conversation"}}}
    env = processor_env(
        kafka,
        topic_names,
        sim.url,
        tenants=json.dumps(tenants),
        runtime__commit_interval_s="60",  # nothing committed before the kill: all redelivered
    )
    early = [t for t in turns if t.seq < 2]
    await publish(kafka, turn_records(topic_names.turns, early))
    first = ProcessorProcess(env, tmp_path / "first.log")
    processes.append(first)
    await read_topic(  # every early turn's state change (its charge) is acknowledged
        kafka,
        topic_names.sessions,
        until=lambda rs: sum(r.key != CONTROL_KEY for r in rs) == len(early),
    )
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

    env["GWSTREAM_RUNTIME__COMMIT_INTERVAL_S"] = "0.2"
    second = ProcessorProcess(env, tmp_path / "second.log")
    processes.append(second)
    await publish(kafka, turn_records(topic_names.turns, [t for t in turns if t.seq == 2]))
    await read_topic(
        kafka,
        topic_names.responses,
        until=lambda rs: len(distinct_turns(rs)) == len([t for t in turns if t.seq <= 2]),
    )
    third = ProcessorProcess(env, tmp_path / "third.log")  # joins: partitions move to it
    processes.append(third)
    log = tmp_path / "third.log"
    await wait_for(lambda: "restored" in log.read_text(), timeout=60)
    await publish(kafka, turn_records(topic_names.turns, [t for t in turns if t.seq == 3]))
    audit = await read_topic(
        kafka,
        topic_names.audit,
        until=lambda rs: len({a.turn_id for a in audits(rs) if not a.replayed}) == len(turns),
        timeout_s=60,
    )
    responses = await read_topic(
        kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(turns)
    )
    assert await second.stop(signal.SIGTERM) == 0
    assert await third.stop(signal.SIGTERM) == 0

    answers = first_answers(responses)
    assert all(a.status == "ok" for a in answers.values())
    assert sim.stats.requests == len(turns)  # replays never reached the gateway
    originals = {a.turn_id: a for a in audits(audit) if not a.replayed}
    charged: dict[str, int] = defaultdict(int)
    for t in sorted(turns, key=lambda t: t.seq):
        charged[t.session_id] += answers[t.turn_id].input_tokens + answers[t.turn_id].output_tokens
        budget = originals[t.turn_id].budget
        assert budget is not None
        assert budget.session_tokens_used == charged[t.session_id], t.turn_id
        assert budget.session_tokens_left == 1_000_000 - charged[t.session_id]
    for replay in (a for a in audits(audit) if a.replayed):
        assert replay.budget == originals[replay.turn_id].budget


async def test_the_lightweight_switch_and_budget_exhausted_happen_at_the_configured_points(
    kafka: KafkaSettings, topic_names: TopicNames, start_simulator
) -> None:  # type: ignore[no-untyped-def]
    sim: GatewaySimulator = await start_simulator(latency_ms=2)
    tokens, below, max_tokens = 2_000, 800, 40
    turns = make_turns(sessions=3, turns_per_session=14, tenants=1)
    settings = settings_for(kafka, topic_names, sim.url, max_in_flight=8).model_copy(
        update={
            "gateways": {"default": GatewaySettings(base_urls=[sim.url], max_tokens=max_tokens)},
            "tenants": {
                TENANT: TenantSettings(
                    budget=SessionBudgetSettings(
                        session_tokens=tokens, window="24h", lightweight_below=below
                    )
                )
            },
        }
    )
    await publish(kafka, turn_records(topic_names.turns, turns))
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(settings, stop))
    try:
        audit = await read_topic(
            kafka, topic_names.audit, until=lambda rs: len(distinct_turns(rs)) == len(turns)
        )
        responses = await read_topic(
            kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(turns)
        )
    finally:
        stop.set()
        await task
    answers = first_answers(responses)
    audit_of = {a.turn_id: a for a in audits(audit)}
    counter = default_counter()
    for session in {t.session_id for t in turns}:
        used, modes, statuses = 0, [], []
        for t in sorted((t for t in turns if t.session_id == session), key=lambda t: t.seq):
            left = tokens - used
            a, r = audit_of[t.turn_id], answers[t.turn_id]
            assert a.budget is not None
            mode = "lightweight" if left < below else "standard"
            assert a.budget.mode == mode, (t.turn_id, left)
            system = (
                settings.lightweight_system_prompt
                if mode == "lightweight"
                else settings.system_prompt
            )
            # the least a turn needs: its instruction, its text and the reserved output
            least = (
                counter.count_messages(
                    [{"role": "system", "content": system}, {"role": "user", "content": t.text}]
                )
                + max_tokens
            )
            if left < least:
                assert (r.status, r.reason) == ("refused", "budget_exhausted"), t.turn_id
            else:
                assert r.status == "ok", (t.turn_id, r.reason)
                used += r.input_tokens + r.output_tokens
                assert r.input_tokens + max_tokens <= left  # it fitted what was left
            assert a.budget.session_tokens_used == used <= tokens
            modes.append(mode)
            statuses.append(r.status)
        assert "lightweight" in modes and modes.index("lightweight") > 0
        assert statuses[-1] == "refused" and statuses[0] == "ok"


# -- tenant spend limits across instances ------------------------------------------------------


async def _tail_arrivals(kafka: KafkaSettings, topic: str, arrivals: list[float]) -> None:
    """Record, for each cost record, how long after its production a fresh reader sees it:
    the cost topic's propagation delay as a spend view meets it."""
    consumer = make_consumer(kafka, group_id=None, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        parts = await partitions_of(consumer, topic, 10)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            now = time.time()
            for records in batches.values():
                for r in records:
                    produced = datetime.fromisoformat(orjson.loads(r.value or b"")["produced_at"])
                    arrivals.append(now - produced.timestamp())
    finally:
        await consumer.stop()


async def _spend_run(
    kafka: KafkaSettings,
    names: TopicNames,
    sim: GatewaySimulator,
    *,
    instances: int,
    limit: Decimal,
    in_flight: int,
    max_tokens: int,
) -> tuple[Decimal, Decimal, list[float], list[dict], list[dict]]:  # type: ignore[type-arg]
    """Run ``instances`` processors sharing one tenant's daily limit over one burst of turns;
    return what the tenant spent (distinct cost events), the largest worst case of a call,
    the propagation delays seen, the responses, and the budget notices."""
    turns = make_turns(sessions=48, turns_per_session=4, tenants=1)
    settings = settings_for(kafka, names, sim.url, max_in_flight=in_flight).model_copy(
        update={
            "gateways": {"default": GatewaySettings(base_urls=[sim.url], max_tokens=max_tokens)},
            "tenants": {TENANT: TenantSettings(spend=SpendLimitSettings(daily=limit))},
        }
    )
    stops = [asyncio.Event() for _ in range(instances)]
    stats = [RuntimeStats() for _ in range(instances)]
    tasks = [
        asyncio.create_task(run_processor(settings, stop, stats=st))
        for stop, st in zip(stops, stats, strict=True)
    ]
    arrivals: list[float] = []
    tail = asyncio.create_task(_tail_arrivals(kafka, names.costs, arrivals))
    try:
        # every instance holds partitions before the burst, so they all admit concurrently
        await wait_for(
            lambda: (
                any(t.done() for t in tasks)
                or (
                    all(st.assigned for st in stats)
                    and sum(len(st.assigned) for st in stats) == names.partitions
                )
            ),
            timeout=60,
        )
        await publish(kafka, turn_records(names.turns, turns))
        responses = await read_topic(
            kafka, names.responses, until=lambda rs: len(distinct_turns(rs)) == len(turns)
        )
        costs = await read_topic(
            kafka, names.costs, until=lambda rs: len(distinct_turns(rs)) == len(turns)
        )
        audit = await read_topic(
            kafka, names.audit, until=lambda rs: len(distinct_turns(rs)) >= len(turns)
        )
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)
        tail.cancel()
        await asyncio.gather(tail, return_exceptions=True)
    assert all(st.processed for st in stats), "every instance took turns"
    by_id = {e["event_id"]: e for e in _events(costs)}
    spent = sum((Decimal(e["cost"]) for e in by_id.values()), Decimal(0))
    price = PriceTable.load().price("gpt-4o-mini")
    assert price is not None
    c_max = (
        max(e["input_tokens"] for e in by_id.values()) * price.input_per_token
        + max_tokens * price.output_per_token
    )
    notices = [
        orjson.loads(r.value or b"")
        for r in audit
        if dict(r.headers)["ce_type"] == BudgetNotice.ce_type.encode()
    ]
    return spent, c_max, arrivals, _events(responses), notices


async def test_two_instances_sharing_a_daily_limit_overshoot_it_by_no_more_than_the_bound(
    kafka: KafkaSettings, topic_names: TopicNames, start_simulator
) -> None:  # type: ignore[no-untyped-def]
    latency, jitter = 40.0, 20.0
    sim: GatewaySimulator = await start_simulator(
        latency_ms=latency, latency_jitter_ms=jitter, seed=3
    )
    limit, in_flight, n = Decimal("0.004"), 16, 2
    spent, c_max, arrivals, responses, notices = await _spend_run(
        kafka, topic_names, sim, instances=n, limit=limit, in_flight=in_flight, max_tokens=64
    )
    refused = [r for r in responses if r["reason"] == "tenant_budget_exhausted"]
    assert refused and any(r["status"] == "ok" for r in responses)
    d = max(arrivals)
    t_min = (latency - jitter) / 1000
    bound = (n - 1) * in_flight * c_max * (2 + math.floor(d / t_min))  # README "Budgets"
    overshoot = max(Decimal(0), spent - limit)
    print(
        f"\n{n} instances, {in_flight} calls in flight each, daily limit {limit} USD: "
        f"spent {spent} USD, overshoot {overshoot} USD "
        f"({overshoot / c_max:.2f} worst-case calls); bound {bound:.6f} USD "
        f"(c_max {c_max}, d {d * 1000:.0f} ms, t_min {t_min * 1000:.0f} ms)"
    )
    assert overshoot <= bound
    levels = {(x["period"], x["level"]) for x in notices}
    assert ("day", "exhausted") in levels
    assert (("day", "soft_threshold") in levels) == (spent >= limit * Decimal("0.8"))
    assert len({x["event_id"] for x in notices}) == len(levels)  # one event whoever noticed


async def test_one_instance_never_spends_past_its_daily_limit(
    kafka: KafkaSettings, topic_names: TopicNames, start_simulator
) -> None:  # type: ignore[no-untyped-def]
    sim: GatewaySimulator = await start_simulator(latency_ms=40, latency_jitter_ms=20, seed=4)
    limit = Decimal("0.004")
    spent, c_max, _, responses, _ = await _spend_run(
        kafka, topic_names, sim, instances=1, limit=limit, in_flight=32, max_tokens=64
    )
    assert any(r["reason"] == "tenant_budget_exhausted" for r in responses)
    print(f"\n1 instance, daily limit {limit} USD: spent {spent} USD (c_max {c_max})")
    assert spent <= limit


async def test_an_instance_starts_knowing_what_was_spent_and_refuses_past_the_limit(
    kafka: KafkaSettings, topic_names: TopicNames, start_simulator
) -> None:  # type: ignore[no-untyped-def]
    sim: GatewaySimulator = await start_simulator(latency_ms=2)
    now = datetime.now(UTC)

    def cost(turn_id: str, tenant: str, amount: str, at: datetime) -> CostEvent:
        return CostEvent(
            event_id=event_id(turn_id, CostEvent.kind),
            turn_id=turn_id,
            tenant_id=tenant,
            session_id="earlier",
            seq=0,
            produced_at=at,
            occurred_at=at,
            request_model="gpt-4o-mini",
            input_tokens=10,
            output_tokens=10,
            usage_source="gateway",
            cost=Decimal(amount),
            price_source="bundled",
        )

    earlier = [
        cost("before-1", TENANT, "0.00199", now),  # today, by an instance since gone
        cost("before-2", TENANT, "0.002", now),
        cost("before-2", TENANT, "0.002", now),  # the same cost, redelivered
        cost("last-month", TENANT, "1.00", now - timedelta(days=40)),
        cost("other", "tenant-9", "5.00", now),  # a tenant without limits
    ]
    await publish(
        kafka,
        [(topic_names.costs, f"{c.tenant_id}:earlier".encode(), c.to_json(), []) for c in earlier],
    )
    turns = make_turns(sessions=3, turns_per_session=1, tenants=1)
    settings = settings_for(kafka, topic_names, sim.url).model_copy(
        update={
            "gateways": {"default": GatewaySettings(base_urls=[sim.url], max_tokens=64)},
            "tenants": {
                TENANT: TenantSettings(
                    spend=SpendLimitSettings(daily=Decimal("0.004"), monthly=Decimal("0.5"))
                )
            },
        }
    )
    await publish(kafka, turn_records(topic_names.turns, turns))
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(settings, stop))
    try:
        responses = await read_topic(
            kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(turns)
        )
    finally:
        stop.set()
        await task
    answers = first_answers(responses).values()
    assert {(r.status, r.reason) for r in answers} == {("refused", "tenant_budget_exhausted")}
    assert sim.stats.requests == 0
    for r in answers:  # today's spend was read back; last month's and the other tenant's not
        assert r.budget is not None
        assert (r.budget.tenant_spend_day, r.budget.tenant_spend_month) == (
            Decimal("0.00399"),
            Decimal("0.00399"),
        )
