"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from tests.integration.helpers import ProcessorProcess

from gwstream.config import KafkaSettings
from gwstream.kafkaio import make_producer


@pytest.fixture
def processes() -> Iterator[list[ProcessorProcess]]:
    """`gwstream run` subprocesses started by a test; killed after it."""
    started: list[ProcessorProcess] = []
    yield started
    for p in started:
        p.close()


@pytest.fixture
async def producer(kafka: KafkaSettings) -> AsyncIterator[object]:
    """A started producer on the test broker."""
    p = make_producer(kafka)
    await p.start()
    yield p
    await p.stop()
