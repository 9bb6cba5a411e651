"""The embedded broker's lifecycle and idempotent topic apply."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from tests.conftest import wait_for

from gwstream import topics
from gwstream.broker import EmbeddedBroker, port_is_free
from gwstream.config import KafkaSettings, TopicNames
from gwstream.errors import TopicError

pytestmark = pytest.mark.integration

_CHILD = """
import asyncio, sys
from gwstream.broker import EmbeddedBroker
async def main():
    broker = EmbeddedBroker()
    await broker.start()
    print(broker.pid, flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc says it is gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_the_broker_dies_with_the_process_that_started_it_even_on_sigkill() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE)  # noqa: ASYNC220
    assert parent.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(parent.stdout.readline), 30)
    broker_pid = int(line)
    assert _alive(broker_pid)
    parent.send_signal(signal.SIGKILL)
    await asyncio.to_thread(parent.wait)
    await wait_for(lambda: not _alive(broker_pid), timeout=10)


async def test_stopping_the_broker_frees_its_port_at_once_with_a_client_still_connected() -> None:
    # Tansu ignores SIGTERM while clients are connected; stop() used to wait 5 s for it.
    broker = EmbeddedBroker()
    await broker.start()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(f"stop-{uuid.uuid4().hex[:8]}", b"v")
        await asyncio.wait_for(broker.stop(), 1.0)
        assert port_is_free(broker.host, broker.port)
    finally:
        await broker.stop()
        await producer.stop()


async def test_topics_apply_is_idempotent(kafka: KafkaSettings) -> None:
    s = uuid.uuid4().hex[:8]
    names = TopicNames.prefixed(f"a-{s}", partitions=3)
    first = await topics.apply(kafka, names)
    second = await topics.apply(kafka, names)
    assert {a.state for a in first.values()} == {"created"}
    assert {a.state for a in second.values()} == {"exists"}
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([names.turns])
    finally:
        await admin.close()
    assert len(described[0]["partitions"]) == 3


async def test_an_input_topic_with_fewer_partitions_than_its_spec_is_an_error(
    kafka: KafkaSettings, topic_names: TopicNames
) -> None:
    wider = topic_names.model_copy(update={"partitions": topic_names.partitions * 2})
    with pytest.raises(TopicError, match="partitions"):
        await topics.apply(kafka, wider)


async def test_a_port_already_in_use_is_refused_with_a_clear_error() -> None:
    import socket

    from gwstream.broker import EmbeddedBroker
    from gwstream.errors import BrokerError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerError, match="already in use"):
            await EmbeddedBroker(port=port).start()


async def test_a_missing_changelog_is_created_with_the_turns_topics_real_partition_count(
    kafka: KafkaSettings,
) -> None:
    s = uuid.uuid4().hex[:8]
    names = TopicNames.prefixed(f"b-{s}", partitions=5)
    await topics.apply(kafka, names)
    later = names.model_copy(update={"sessions": f"b-{s}-sessions2", "partitions": 3})
    assert (await topics.apply(kafka, later))[later.sessions].state == "created"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([later.sessions])
    finally:
        await admin.close()
    assert len(described[0]["partitions"]) == 5


def test_the_broker_command_on_a_taken_port_is_a_usage_error_exit_2() -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "gwstream", "broker", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert f"--port: 127.0.0.1:{port} is already in use" in done.stderr
