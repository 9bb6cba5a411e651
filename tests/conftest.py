"""Shared fixtures: one real broker per test session, fresh topics per test.

The broker is, in order of preference:
- an external cluster named by ``GWSTREAM_TEST_BOOTSTRAP`` (host:port);
- Apache Kafka in a testcontainers container when ``GWSTREAM_TEST_BROKER=kafka``
  (needs Docker and ``pip install -e .[docker]``);
- otherwise the embedded Tansu broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from gwstream import topics
from gwstream.broker import EmbeddedBroker
from gwstream.config import KafkaSettings, TopicNames
from gwstream.simulator import GatewaySimulator, SimulatorConfig


@dataclass(frozen=True)
class BrokerUnderTest:
    bootstrap: str
    embedded: bool


def _kafka_settings(broker: BrokerUnderTest) -> KafkaSettings:
    # Short session timeouts: Tansu holds each JoinGroup for about half of it.
    # Apache Kafka refuses anything under group.min.session.timeout.ms (6 s).
    session, heartbeat = (2_000, 500) if broker.embedded else (6_000, 1_000)
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
    )


@pytest.fixture(scope="session")
def broker_under_test() -> Iterator[BrokerUnderTest]:
    external = os.environ.get("GWSTREAM_TEST_BOOTSTRAP")
    if external:
        yield BrokerUnderTest(external, embedded=False)
        return
    if os.environ.get("GWSTREAM_TEST_BROKER") == "kafka":
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield BrokerUnderTest(container.get_bootstrap_server(), embedded=False)
        return
    loop = asyncio.new_event_loop()
    broker = EmbeddedBroker()
    loop.run_until_complete(broker.start())
    try:
        yield BrokerUnderTest(broker.bootstrap_servers, embedded=True)
    finally:
        loop.run_until_complete(broker.stop())
        loop.close()


@pytest.fixture
def kafka(broker_under_test: BrokerUnderTest) -> KafkaSettings:
    """Client settings for the session's broker, with a fresh consumer group name."""
    return _kafka_settings(broker_under_test)


@pytest_asyncio.fixture
async def topic_names(kafka: KafkaSettings) -> TopicNames:
    """Fresh topics for one test, created on the broker (4 partitions)."""
    suffix = uuid.uuid4().hex[:8]
    names = TopicNames.prefixed(f"t-{suffix}", partitions=4)
    await topics.apply(kafka, names)
    return names


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 30.0, interval: float = 0.02
) -> None:
    """Wait until ``predicate`` holds, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value: Any = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest_asyncio.fixture
async def start_simulator() -> AsyncIterator[Callable[..., Awaitable[GatewaySimulator]]]:
    """Start gateway simulators with the given config fields; all stop after the test."""
    started: list[GatewaySimulator] = []

    async def start(**config: Any) -> GatewaySimulator:
        simulator = GatewaySimulator(SimulatorConfig(**config))
        await simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        await simulator.stop()


@pytest_asyncio.fixture
async def embedded_broker() -> AsyncIterator[EmbeddedBroker]:
    """A broker of the test's own, for tests that must stop it."""
    async with EmbeddedBroker() as broker:
        yield broker


def own_broker_settings(broker: EmbeddedBroker, group_id: str) -> KafkaSettings:
    """Client settings for a test's own broker, with timeouts short enough to see an outage."""
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers,
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
        request_timeout_ms=3_000,
        group_id=group_id,
    )


@contextlib.contextmanager
def stalled(broker: EmbeddedBroker) -> Iterator[None]:
    """The broker stopped (SIGSTOP) for the block, continued (SIGCONT) however it ends."""
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(broker.pid, signal.SIGCONT)


async def own_broker_topics(
    broker: EmbeddedBroker, prefix: str, partitions: int
) -> tuple[KafkaSettings, TopicNames]:
    """Client settings for a test's own broker (:func:`own_broker_settings`) and fresh
    topics created on it."""
    kafka = own_broker_settings(broker, "unused")
    names = TopicNames.prefixed(f"{prefix}-{uuid.uuid4().hex[:8]}", partitions=partitions)
    await topics.apply(kafka, names)
    return kafka, names


async def fails_on_a_broker_restarted_empty(
    broker: EmbeddedBroker, task: asyncio.Task[Any]
) -> None:
    """Restart ``broker`` (in memory, it comes back without topics) and wait for ``task``,
    a service that held partitions of 8-partition topics, to fail saying so: the broker
    re-creates topics with 4 partitions, and fetching the rest would never deliver."""
    await broker.stop()
    again = EmbeddedBroker(port=broker.port)
    await again.start()
    try:
        with pytest.raises(Exception, match="lost or recreated its topics"):
            await asyncio.wait_for(task, 90)
    finally:
        await again.stop()
