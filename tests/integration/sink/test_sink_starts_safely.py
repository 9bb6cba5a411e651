"""`gwstream sink` fails before it touches Kafka's groups or topics when it cannot run:
topics missing (none auto-created), its database held, or its API port taken."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from tests.conftest import wait_for

from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.sink.service import run_sink

pytestmark = pytest.mark.integration

ROLES = ("turns", "responses", "costs", "audit", "dlq", "sessions", "webhooks_dlq")


@dataclass(frozen=True)
class Exited:
    code: int
    stderr: str
    seconds: float


async def gwstream_sink(
    kafka: KafkaSettings, names: TopicNames, database: Path, *, group: str, api_port: int
) -> Exited:
    """Run `gwstream sink` in a process of its own until it exits (asyncio's subprocess:
    the event loop, and any sink running on it, keeps going meanwhile)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env.update(
        {
            "GWSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "GWSTREAM_KAFKA__SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
            "GWSTREAM_KAFKA__HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
            "GWSTREAM_SINK__DATABASE": str(database),
            "GWSTREAM_SINK__GROUP_ID": group,
            "GWSTREAM_SINK__API_PORT": str(api_port),
            **{f"GWSTREAM_TOPICS__{r.upper()}": getattr(names, r) for r in ROLES},
        }
    )
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gwstream",
        "sink",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("gwstream sink did not exit within 60 s") from None
    assert process.returncode is not None
    return Exited(process.returncode, err.decode(), time.monotonic() - started)


async def test_a_sink_started_before_the_topics_exist_fails_naming_one_and_creates_none(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    names = TopicNames.prefixed(f"n-{uuid.uuid4().hex[:8]}", partitions=4)
    database = tmp_path / "costs.duckdb"

    done = await gwstream_sink(kafka, names, database, group=f"g-{names.costs}", api_port=0)

    assert done.code == 1, done.stderr
    assert f"topic {names.costs} does not exist: run `gwstream topics apply`" in done.stderr
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        listed = set(await admin.list_topics())
    finally:
        await admin.close()
    assert not {names.costs, names.audit} & listed
    assert not database.exists()
    # The topics are checked before anything is bound or opened.
    assert "sink API and dashboard on" not in done.stderr


@dataclass(frozen=True)
class FirstSink:
    url: str
    port: int
    database: Path
    group: str

    async def partitions(self) -> dict[str, list[int]]:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            partitions: dict[str, list[int]] = (await client.get("/healthz")).json()["partitions"]
            return partitions


@contextlib.asynccontextmanager
async def first_sink(
    kafka: KafkaSettings, names: TopicNames, database: Path
) -> AsyncIterator[FirstSink]:
    """A sink running in this process, once it owns every partition of its two topics."""
    stop = asyncio.Event()
    api: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    settings = SinkSettings(
        database=database, api_port=0, batch_timeout_ms=50, group_id=f"sink-{names.costs}"
    )
    task = asyncio.create_task(run_sink(kafka, names, settings, stop, api_started=api))
    done, _ = await asyncio.wait({task, api}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    port = api.result()
    sink = FirstSink(f"http://127.0.0.1:{port}", port, database, settings.group_id)
    owned = {names.costs: [0, 1, 2, 3], names.audit: [0, 1, 2, 3]}

    async def owns_all() -> bool:
        return await sink.partitions() == owned

    try:
        await wait_for(owns_all, timeout=30)
        yield sink
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def rebalance_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "gwstream.sink.consumer"
        and ("assigned partitions" in r.getMessage() or "releasing partitions" in r.getMessage())
    ]


@pytest.mark.parametrize("held", ["database", "api_port"])
async def test_a_second_sink_on_a_held_database_or_port_fails_fast_without_joining_the_group(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    held: str,
) -> None:
    caplog.set_level(logging.INFO, logger="gwstream.sink.consumer")
    async with first_sink(kafka, topic_names, tmp_path / "first.duckdb") as first:
        before = rebalance_lines(caplog)
        owned = await first.partitions()

        second = await gwstream_sink(
            kafka,
            topic_names,
            first.database if held == "database" else tmp_path / "second.duckdb",
            group=first.group,
            api_port=first.port if held == "api_port" else 0,
        )

        if held == "database":
            assert second.code == 1, second.stderr
            assert f"cannot open cost database {first.database}" in second.stderr
        else:
            assert second.code == 2, second.stderr
            assert f"sink.api_port: cannot listen on 127.0.0.1:{first.port}" in second.stderr
            # It listens before it opens the database: nothing left behind to clean up.
            assert not (tmp_path / "second.duckdb").exists()
        # A process's start (imports) takes about a second here; joining the group took
        # 6-8 s with the default session timeout.
        assert second.seconds < 5, second
        assert rebalance_lines(caplog) == before
        assert await first.partitions() == owned
