"""The processor end to end: embedded broker, simulator over loopback HTTP, real events."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from importlib import resources

import orjson
import pytest
from tests.integration.helpers import (
    distinct_turns,
    make_turns,
    process_turns,
    responses_by_turn,
    settings_for,
    turn_records,
)

from gwstream.config import KafkaSettings, TopicNames
from gwstream.demo import load_sample, republished_in_sample
from gwstream.events import AuditEvent, CostEvent, DeadLetter, event_id
from gwstream.kafkaio import publish, read_topic
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration


@pytest.fixture
async def slow_gateway() -> AsyncIterator[GatewaySimulator]:
    # Wide jitter: a later turn would often finish first if order were not enforced.
    async with GatewaySimulator(
        SimulatorConfig(latency_ms=60, latency_jitter_ms=55, seed=1)
    ) as sim:
        yield sim


async def test_each_session_is_answered_in_order_while_sessions_overlap(
    kafka: KafkaSettings, topic_names: TopicNames, slow_gateway: GatewaySimulator
) -> None:
    turns = make_turns(sessions=24, turns_per_session=6)
    await publish(kafka, turn_records(topic_names.turns, turns))
    settings = settings_for(kafka, topic_names, slow_gateway.url, max_in_flight=64)
    await process_turns(settings, lambda s: s.processed == len(turns))

    records = await read_topic(
        kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(turns)
    )
    by_session: dict[str, list[tuple[int, float, int]]] = defaultdict(
        list
    )  # seq, produced_at, offset
    for r in records:
        ev = orjson.loads(r.value or b"")
        assert ev["status"] == "ok", ev
        by_session[ev["session_id"]].append((ev["seq"], _ts(ev["produced_at"]), r.offset))
    spans = []
    for session, rows in by_session.items():
        by_offset = sorted(rows, key=lambda x: x[2])
        assert [seq for seq, _, _ in by_offset] == list(range(6)), (
            f"{session} answered out of order"
        )
        times = [t for _, t, _ in by_offset]
        assert times == sorted(times), f"{session} produced out of order"
        spans.append((times[0], times[-1]))
    # Sessions ran concurrently: some session started before another had finished.
    spans.sort()
    assert any(b_start < a_end for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert slow_gateway.stats.in_flight_max > 1


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def test_every_turn_gets_response_cost_and_audit_with_deterministic_ids(
    kafka: KafkaSettings, topic_names: TopicNames, slow_gateway: GatewaySimulator
) -> None:
    slow_gateway.update(latency_ms=0, latency_jitter_ms=0)
    turns = make_turns(sessions=5, turns_per_session=3)
    await publish(kafka, turn_records(topic_names.turns, turns))
    await process_turns(
        settings_for(kafka, topic_names, slow_gateway.url), lambda s: s.processed == len(turns)
    )
    n = len(turns)
    costs = await read_topic(kafka, topic_names.costs, until=lambda rs: len(rs) >= n)
    audits = await read_topic(kafka, topic_names.audit, until=lambda rs: len(rs) >= n)
    for r in costs:
        cost = CostEvent.model_validate_json(r.value or b"")
        assert cost.event_id == event_id(cost.turn_id, "cost") == dict(r.headers)["ce_id"].decode()
        assert cost.input_tokens > 0 and cost.output_tokens > 0
        assert cost.usage_source == "gateway"
        assert cost.cost > 0 and cost.currency == "USD"
    for r in audits:
        audit = AuditEvent.model_validate_json(r.value or b"")
        assert audit.outcome == "ok"
        assert "order number" not in (r.value or b"").decode(), "audit must not carry raw text"
    assert {CostEvent.model_validate_json(r.value or b"").turn_id for r in costs} == {
        t.turn_id for t in turns
    }


async def test_a_gateway_that_stays_down_yields_failure_responses_not_silence(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    async with GatewaySimulator(SimulatorConfig(error_5xx_rate=1.0, seed=3)) as sim:
        turns = make_turns(sessions=3, turns_per_session=2)
        await publish(kafka, turn_records(topic_names.turns, turns))
        settings = settings_for(kafka, topic_names, sim.url)
        settings.gateways["default"].max_attempts = 2
        await process_turns(settings, lambda s: s.processed == len(turns))
    records = await read_topic(kafka, topic_names.responses, until=lambda rs: len(rs) >= len(turns))
    got = responses_by_turn(records)
    assert set(got) == {t.turn_id for t in turns}
    assert {ev.status for evs in got.values() for ev in evs} == {"failed"}
    # Server errors, or, once the endpoint's breaker has opened, circuit_open.
    reasons = {ev.reason for evs in got.values() for ev in evs}
    assert reasons <= {"gateway_server_error", "gateway_circuit_open"} and reasons


async def test_every_malformed_sample_record_lands_in_the_dead_letter_topic_with_its_reason(
    kafka: KafkaSettings, topic_names: TopicNames, slow_gateway: GatewaySimulator
) -> None:
    slow_gateway.update(latency_ms=0, latency_jitter_ms=0)
    sample = load_sample()
    republished = republished_in_sample()
    lines = resources.files("gwstream").joinpath("data/sample_turns.jsonl").read_text().splitlines()
    expected = sorted(orjson.loads(line)["why"] for line in lines if '"why"' in line)
    await publish(kafka, [(topic_names.turns, k, v, h) for k, v, h in sample])
    await process_turns(
        settings_for(kafka, topic_names, slow_gateway.url), lambda s: s.processed == len(sample)
    )
    dlq = await read_topic(kafka, topic_names.dlq, until=lambda rs: len(rs) >= len(expected))
    infos = [DeadLetter.from_headers(list(r.headers)) for r in dlq]
    assert sorted(i.reason for i in infos) == expected
    originals = {
        (i.source_partition, i.source_offset): r.value for i, r in zip(infos, dlq, strict=True)
    }
    assert len(originals) == len(expected)
    assert all(v for v in originals.values()), "the original bytes are kept"
    responses = await read_topic(
        kafka,
        topic_names.responses,
        until=lambda rs: len(distinct_turns(rs)) >= len(sample) - len(expected) - republished,
    )
    assert len(distinct_turns(responses)) == len(sample) - len(expected) - republished
