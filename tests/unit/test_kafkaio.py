from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner

from gwstream.kafkaio import commit_within, describe, key_partitioner


def test_key_partitioner_matches_kafkas_default_partitioner() -> None:
    parts = list(range(12))
    default = DefaultPartitioner()
    for i in range(500):
        key = f"tenant-{i % 7}:session-{i}".encode()
        assert key_partitioner(key, parts, parts) == default(key, parts, parts)


def test_unkeyed_records_go_to_an_available_partition() -> None:
    assert key_partitioner(None, [0, 1, 2], [2]) == 2


class _StopLetsOutACancellation:
    """A consumer whose stop() ends as aiokafka's does when the broker is gone and a
    fetch-position task was sleeping in its retry backoff: with CancelledError."""

    def __init__(self) -> None:
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True
        raise asyncio.CancelledError


async def test_a_cancellation_let_out_by_the_client_does_not_end_a_clean_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gwstream.config import KafkaSettings
    from gwstream.kafkaio import close_consumer

    consumer = _StopLetsOutACancellation()
    await close_consumer(consumer, KafkaSettings())  # type: ignore[arg-type]
    assert consumer.stopped
    assert "ended early (the broker is away)" in caplog.text


async def test_closing_the_consumer_still_stops_when_we_are_cancelled() -> None:
    from gwstream.config import KafkaSettings
    from gwstream.kafkaio import close_consumer

    async def close() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # a second signal, as the client's stop() runs
        await close_consumer(_StopLetsOutACancellation(), KafkaSettings())  # type: ignore[arg-type]

    with pytest.raises(asyncio.CancelledError):
        await close()


def test_partitions_are_described_per_topic_for_log_lines() -> None:
    tps = {TopicPartition("gw.costs.v1", 2), TopicPartition("gw.audit.v1", 0)}
    tps.add(TopicPartition("gw.costs.v1", 0))
    assert describe(tps) == "gw.audit.v1[0], gw.costs.v1[0, 2]"
    assert describe(set()) == "none"


class _ShieldingCoordinator:
    """Commits the way aiokafka does: the request's own task shielded from the caller."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()

    async def _do_commit_offsets(self) -> None:
        await self.answer.wait()
        raise RuntimeError("request timed out")  # as the broker never answered

    async def commit(self, offsets: object) -> None:
        await asyncio.shield(self._do_commit_offsets())


async def test_a_commit_given_up_on_does_not_leave_an_unread_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    unread: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: unread.append(context))
    caplog.set_level(logging.INFO, logger="gwstream.kafkaio")
    consumer = _ShieldingCoordinator()
    try:
        with pytest.raises(KafkaTimeoutError, match=r"unanswered after 0\.05s"):
            await commit_within(consumer, {}, 0.05)  # type: ignore[arg-type]
        consumer.answer.set()  # the abandoned request fails later
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()  # an unread task error is reported when the task is collected
        assert unread == []
        assert "an offset commit given up on ended later" in caplog.text
    finally:
        loop.set_exception_handler(None)
