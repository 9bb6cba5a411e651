"""Compressed record batches: platforms' producers compress, and so can gwstream.

librdkafka and the Java client are often set to lz4, zstd or snappy; without
those codecs aiokafka cannot read such a batch at all (UnsupportedCodecError).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from tests.integration import helpers

from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import publish, read_topic
from gwstream.simulator import GatewaySimulator

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_turns_in_compressed_batches_are_answered_and_outputs_can_be_compressed(
    codec: str,
    kafka: KafkaSettings,
    topic_names: TopicNames,
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    gateway = await start_simulator()
    turns = helpers.make_turns(sessions=4, turns_per_session=3)
    compressed = kafka.model_copy(update={"compression_type": codec})
    await publish(compressed, helpers.turn_records(topic_names.turns, turns))

    settings = helpers.settings_for(compressed, topic_names, gateway.url)
    stats = await helpers.process_turns(settings, lambda s: s.processed == len(turns))
    assert stats.dead_lettered == 0

    records = await read_topic(
        kafka,
        topic_names.responses,
        until=lambda rs: len(helpers.distinct_turns(rs)) == len(turns),
    )
    answers = helpers.responses_by_turn(records)
    assert set(answers) == {t.turn_id for t in turns}
    assert all(r.status == "ok" for rs in answers.values() for r in rs)
