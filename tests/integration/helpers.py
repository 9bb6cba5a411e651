"""Building and reading turns for integration tests."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka import ConsumerRecord, TopicPartition

from gwstream.config import GatewaySettings, KafkaSettings, RuntimeSettings, Settings, TopicNames
from gwstream.events import ResponseEvent, TurnEvent, turn_headers
from gwstream.kafkaio import make_consumer

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
