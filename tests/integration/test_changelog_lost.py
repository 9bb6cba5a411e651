"""A changelog the broker lost and recreated with fewer partitions: restore says so, never hangs."""

from __future__ import annotations

import uuid

import pytest

from gwstream import topics
from gwstream.config import KafkaSettings, StateSettings, TopicNames
from gwstream.errors import BrokerError
from gwstream.kafkaio import make_producer, start_client
from gwstream.runtime.changelog import Changelog
from gwstream.runtime.state import StateStore

pytestmark = pytest.mark.integration


async def test_restoring_a_partition_the_changelog_lacks_is_a_broker_error(
    kafka: KafkaSettings,
) -> None:
    # Input and changelog co-partitioned at start (2 each), as topics apply made them.
    names = TopicNames.prefixed(f"lost-{uuid.uuid4().hex[:6]}", partitions=2)
    await topics.apply(kafka, names)
    producer = make_producer(kafka)
    await start_client(producer, kafka)
    changelog = Changelog(kafka, names.sessions, producer, StateSettings())
    try:
        await changelog.start(names.turns)
        # An assignment naming partition 3: the input has more partitions than the changelog
        # now (as after an in-memory broker restarted and auto-created the changelog).
        with pytest.raises(BrokerError, match=r"has 2 partitions, none numbered \[3\]"):
            await changelog.restore({0: StateStore(), 3: StateStore()})
        assert await changelog.restore({0: StateStore(), 1: StateStore()}) >= 0
    finally:
        await changelog.stop()
        await producer.stop()
