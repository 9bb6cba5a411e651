"""A broker that stops answering mid-run (SIGSTOP) for longer than the producer's timeouts,
then continues (SIGCONT): the processor stays up, pauses, reports not ready, resumes by
itself, and every turn is answered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from tests.conftest import (
    fails_on_a_broker_restarted_empty,
    own_broker_settings,
    own_broker_topics,
    stalled,
    wait_for,
)
from tests.integration.helpers import (
    distinct_turns,
    make_turns,
    responses_by_turn,
    settings_for,
    turn_records,
)

from gwstream import topics
from gwstream.app import run_processor
from gwstream.broker import EmbeddedBroker, free_port
from gwstream.config import KafkaSettings, MetricsSettings, Settings, TopicNames
from gwstream.kafkaio import publish, read_topic
from gwstream.runtime import RuntimeStats
from gwstream.runtime.changelog import Changelog
from gwstream.simulator import GatewaySimulator, SimulatorConfig

pytestmark = pytest.mark.integration

OUTAGE_S = 8.0  # well past the producer's request timeout


def _quick_to_notice(kafka: KafkaSettings, names: TopicNames, gateway_url: str) -> Settings:
    """Settings whose broker check notices an outage, and its end, within a second."""
    return settings_for(
        kafka,
        names,
        gateway_url,
        max_in_flight=32,
        broker_check_interval_s=0.5,
        broker_check_timeout_s=1.0,
    )


async def _ready(url: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/readyz")).status_code
    except httpx.HTTPError:
        return 0


async def _broker_gauge(url: str) -> str | None:
    """The value of ``gwstream_broker_available`` on the processor's /metrics."""
    async with httpx.AsyncClient(timeout=2) as client:
        text = (await client.get(f"{url}/metrics")).text
    found = re.search(r"^gwstream_broker_available (\S+)$", text, re.M)
    return found.group(1) if found else None


async def test_the_processor_rides_out_a_stalled_broker(
    embedded_broker: EmbeddedBroker, tmp_path: object
) -> None:
    kafka = own_broker_settings(embedded_broker, "outage")
    names = TopicNames(
        turns="o-turns",
        responses="o-responses",
        costs="o-costs",
        audit="o-audit",
        dlq="o-dlq",
        sessions="o-sessions",
        webhooks_dlq="o-webhooks-dlq",
        partitions=4,
    )
    await topics.apply(kafka, names)
    turns = make_turns(sessions=40, turns_per_session=10)
    await publish(kafka, turn_records(names.turns, turns))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with GatewaySimulator(SimulatorConfig(latency_ms=30)) as sim:
        settings = _quick_to_notice(kafka, names, sim.url).model_copy(
            update={"metrics": MetricsSettings(port=port)}
        )
        stats = RuntimeStats()
        stop = asyncio.Event()
        task = asyncio.create_task(run_processor(settings, stop, stats=stats))
        try:
            await wait_for(lambda: task.done() or stats.processed >= 60, timeout=60)
            assert not task.done()
            assert await _ready(url) == 200

            with stalled(embedded_broker):
                began = time.monotonic()
                await wait_for(lambda: _is(_ready(url), 503), timeout=30)
                assert await _broker_gauge(url) == "0.0"  # an operator's alert sees it too
                processed_at_pause = stats.processed
                await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - began)))  # outage
                assert not task.done(), "the processor stopped during the outage"
                assert stats.processed - processed_at_pause <= settings.runtime.max_in_flight

            await wait_for(lambda: task.done() or _is(_ready(url), 200), timeout=60)
            assert not task.done()
            assert await _broker_gauge(url) == "1.0"
            responses = await read_topic(
                kafka,
                names.responses,
                until=lambda rs: len(distinct_turns(rs)) >= len(turns),
                timeout_s=120,
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)  # a clean stop: re-raises a failure
    assert distinct_turns(responses) == {t.turn_id for t in turns}
    assert stats.broker_outages >= 1
    assert stats.dead_lettered == 0


async def _is(status: object, expected: int) -> bool:
    return await status == expected  # type: ignore[misc]


@dataclass
class _Running:
    stats: RuntimeStats
    stop: asyncio.Event
    task: asyncio.Task[object]


@contextlib.asynccontextmanager
async def _processing(
    broker: EmbeddedBroker, name: str, partitions: int
) -> AsyncIterator[_Running]:
    """A processor on ``broker``'s fresh topics, holding all their partitions; cancelled
    after the block unless it ended."""
    kafka = own_broker_settings(broker, name)
    names = TopicNames.prefixed(name, partitions=partitions)
    await topics.apply(kafka, names)
    async with GatewaySimulator(SimulatorConfig(latency_ms=1)) as sim:
        settings = settings_for(kafka, names, sim.url, broker_check_interval_s=0.5)
        stats, stop = RuntimeStats(), asyncio.Event()
        running = _Running(
            stats, stop, asyncio.create_task(run_processor(settings, stop, stats=stats))
        )
        try:
            await wait_for(
                lambda: running.task.done() or len(running.stats.assigned) == partitions,
                timeout=60,
            )
            assert not running.task.done()
            yield running
        finally:
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)


async def test_a_processor_whose_broker_restarted_empty_stops_with_an_error_saying_so(
    embedded_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    # An in-memory broker that restarts has no topics; the members' stale metadata can
    # still hand out partitions of the old topics, which would never deliver.
    async with _processing(embedded_broker, "restarted", 8) as running:
        await fails_on_a_broker_restarted_empty(embedded_broker, running.task)


async def test_a_broker_back_without_the_topics_is_not_reported_as_back(
    embedded_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gwstream.runtime.outage")
    async with _processing(embedded_broker, "back-empty", 8) as running:
        await embedded_broker.stop()
        await wait_for(lambda: running.stats.broker_outages >= 1, timeout=30)
        again = EmbeddedBroker(port=embedded_broker.port)
        await again.start()
        try:
            # It stops on the lost topics, or earlier: a rebalance while the broker was down
            # (the group coordinator marked dead) fails to take partitions it cannot read.
            with pytest.raises(
                Exception, match=r"lost or recreated its topics|Unable to get cluster metadata"
            ):
                await asyncio.wait_for(running.task, 90)
        finally:
            await again.stop()
    # Stopping on that error, it does not go on to say that the broker is back.
    assert not [r for r in caplog.records if "broker answers again" in r.getMessage()]


async def test_sigterm_while_the_broker_is_down_is_still_a_clean_stop(
    embedded_broker: EmbeddedBroker,
) -> None:
    # (The race where aiokafka's stop() lets out a cancellation is in the unit tests.)
    async with _processing(embedded_broker, "down", 4) as running:
        await embedded_broker.stop()
        await wait_for(lambda: running.stats.broker_outages >= 1, timeout=30)
        running.stop.set()
        await asyncio.wait_for(running.task, 60)  # returns: neither cancelled nor failed


async def test_a_stop_while_the_broker_is_stalled_does_not_wait_out_the_producer(
    embedded_broker: EmbeddedBroker,
) -> None:
    # An operator's drill: SIGTERM with the broker stalled took 84 s, the producer's close
    # waiting its requests' timeouts, past any grace period. Its close is bounded now, and
    # what it held is uncommitted (processed again by the next owner).
    kafka = own_broker_settings(embedded_broker, "stalled-stop").model_copy(
        update={"request_timeout_ms": 120_000, "close_timeout_s": 1.0}
    )
    names = TopicNames.prefixed("stalled-stop", partitions=4)
    await topics.apply(kafka, names)
    await publish(kafka, turn_records(names.turns, make_turns(sessions=40, turns_per_session=10)))
    async with GatewaySimulator(SimulatorConfig(latency_ms=30)) as sim:
        settings = _quick_to_notice(kafka, names, sim.url).model_copy(
            update={
                "runtime": _quick_to_notice(kafka, names, sim.url).runtime.model_copy(
                    update={"drain_timeout_s": 1.0}
                )
            }
        )
        stats, stop = RuntimeStats(), asyncio.Event()
        task = asyncio.create_task(run_processor(settings, stop, stats=stats))
        try:
            await wait_for(lambda: task.done() or stats.processed >= 40, timeout=60)
            assert not task.done()
            with stalled(embedded_broker):
                await wait_for(lambda: stats.broker_outages >= 1, timeout=30)
                stop.set()
                # well inside the producer's 120 s request timeout
                await asyncio.wait_for(asyncio.shield(task), 30)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_restore_cut_short_by_a_lost_broker_is_read_again_once_it_answers(
    embedded_broker: EmbeddedBroker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A rebalance can hand partitions over just before a broker goes down: the new owner's
    # restore then fails with a connection error. It must wait for the broker and read the
    # state again, not stop (it used to exit 1, "taking partitions"). A stalled broker only
    # delays a restore, and the embedded broker restarted comes back empty, so the first
    # restore here fails as a restarting broker's connection would, then the broker stalls
    # for a while (the processor's broker check sees it away, then back).
    kafka, names = await own_broker_topics(embedded_broker, "restall", partitions=4)
    turns = make_turns(sessions=20, turns_per_session=3)
    first, later = turns[:40], turns[40:]  # two turns of each session, then the third
    await publish(kafka, turn_records(names.turns, first))
    async with GatewaySimulator(SimulatorConfig(latency_ms=5)) as sim:
        settings = _quick_to_notice(kafka, names, sim.url)
        stats, stop = RuntimeStats(), asyncio.Event()
        task = asyncio.create_task(run_processor(settings, stop, stats=stats))
        await wait_for(lambda: task.done() or stats.processed >= len(first), timeout=60)
        stop.set()
        await task
        await publish(kafka, turn_records(names.turns, later))

        restore = Changelog.restore
        restores = 0

        async def restore_as_the_broker_goes(self: Changelog, stores: Any) -> int:
            nonlocal restores
            restores += 1
            if restores == 1:
                assert embedded_broker.pid is not None
                os.kill(embedded_broker.pid, signal.SIGSTOP)
                asyncio.get_running_loop().call_later(
                    3.0, os.kill, embedded_broker.pid, signal.SIGCONT
                )
                raise KafkaConnectionError("connection refused (the broker is restarting)")
            return await restore(self, stores)

        monkeypatch.setattr(Changelog, "restore", restore_as_the_broker_goes)
        stats, stop = RuntimeStats(), asyncio.Event()
        task = asyncio.create_task(run_processor(settings, stop, stats=stats))
        try:
            await wait_for(lambda: task.done() or stats.processed >= len(later), timeout=120)
            assert not task.done(), task.exception()
        finally:
            stop.set()
            await task
    assert restores >= 2
    assert "broker not answering (restoring partitions" in caplog.text
    assert stats.restored_keys >= 20  # every session's state, read again
    wanted = {t.turn_id for t in turns}
    records = await read_topic(
        kafka, names.responses, until=lambda rs: wanted <= responses_by_turn(rs).keys()
    )
    assert wanted <= responses_by_turn(records).keys()
