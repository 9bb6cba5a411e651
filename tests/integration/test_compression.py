"""Compressed record batches: platforms' producers compress, and so can gwstream.

librdkafka and the Java client are often set to lz4, zstd or snappy; without
those codecs aiokafka cannot read such a batch at all (UnsupportedCodecError).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

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
from gwstream.kafkaio import publish, read_topic
from gwstream.runtime import RuntimeStats
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway() -> AsyncIterator[GatewaySimulator]:
    async with GatewaySimulator() as sim:
        yield sim


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_turns_in_compressed_batches_are_answered_and_outputs_can_be_compressed(
    codec: str, kafka: KafkaSettings, topic_names: TopicNames, gateway: GatewaySimulator
) -> None:
    turns = make_turns(sessions=4, turns_per_session=3)
    platform = kafka.model_copy(update={"compression_type": codec})
    await publish(platform, turn_records(topic_names.turns, turns))

    settings = settings_for(
        kafka.model_copy(update={"compression_type": codec}), topic_names, gateway.url
    )
    stats = RuntimeStats()
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(settings, stop, stats=stats))
    try:
        await wait_for(lambda: task.done() or stats.processed == len(turns), 60)
    finally:
        stop.set()
        await task
    assert stats.dead_lettered == 0

    records = await read_topic(
        kafka, topic_names.responses, until=lambda rs: len(distinct_turns(rs)) == len(turns)
    )
    answers = responses_by_turn(records)
    assert set(answers) == {t.turn_id for t in turns}
    assert all(r.status == "ok" for rs in answers.values() for r in rs)
