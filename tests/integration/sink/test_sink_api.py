"""The sink's HTTP API over real loopback HTTP while the sink consumes from the real broker;
`gwstream report` and `gwstream export` through the API while it runs and from the file after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from tests.conftest import (
    fails_on_a_broker_restarted_empty,
    own_broker_topics,
    stalled,
    wait_for,
)
from tests.unit.sink.test_views import audit, cost, notice
from typer.testing import CliRunner

from gwstream.broker import EmbeddedBroker
from gwstream.cli import app
from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.events import GuardInfo, OutputEvent, cloudevent_headers, session_key
from gwstream.kafkaio import make_producer
from gwstream.sink.consumer import SinkStats
from gwstream.sink.service import run_sink

pytestmark = pytest.mark.integration


def _today() -> datetime:
    """01:00 UTC of the day the test runs: taken when the events are built, not when the
    module is imported (a suite started before midnight reads /budget/status after it)."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def publish(kafka: KafkaSettings, topic: str, events: Sequence[OutputEvent]) -> None:
    producer = make_producer(kafka)
    await producer.start()
    try:
        for event in events:
            await producer.send(
                topic,
                value=event.to_json(),
                key=session_key(event.tenant_id, event.session_id).encode(),
                headers=cloudevent_headers(event),
            )
        await producer.flush()
    finally:
        await producer.stop()


class RunningSink:
    def __init__(self, url: str, stats: list[SinkStats], database: Path) -> None:
        self.url = url
        self.stats = stats
        self.database = database

    @property
    def stored(self) -> int:
        s = self.stats[-1] if self.stats else SinkStats()
        return s.rows_inserted + s.audit_inserted


@contextlib.asynccontextmanager
async def running_sink(
    kafka: KafkaSettings, names: TopicNames, database: Path
) -> AsyncIterator[RunningSink]:
    stop = asyncio.Event()
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    stats: list[SinkStats] = []
    settings = SinkSettings(
        database=database, api_port=0, batch_timeout_ms=50, group_id=f"sink-{names.costs}"
    )
    task = asyncio.create_task(
        run_sink(
            kafka,
            names,
            settings,
            stop,
            on_batch=lambda _r, s: stats.append(s),
            api_started=started,
        )
    )
    done, _ = await asyncio.wait({task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    port = started.result()
    try:
        yield RunningSink(f"http://127.0.0.1:{port}", stats, database)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def events() -> tuple[list[Any], list[Any]]:
    today = _today()
    costs = [
        cost("t1", today, "0.25", session="s1", model="m-a"),
        cost("t2", today, "0.125", session="s2", model="m-b", gateway="genesys"),
        cost("t3", today, "0", session="s2", cached=True, avoided="0.5"),
        cost("t4", today, "0.000000001", tenant="bravo", session="x1"),
    ]
    audits = [
        audit("t1", today, guard=GuardInfo(pii={"EMAIL": 1})),
        audit("t2", today, gateway="genesys", latency=250),
        audit("t3", today, outcome="cached", latency=0),
        audit("t4", today, tenant="bravo", session="x1"),
        notice("acme", today, "day", today.strftime("%Y-%m-%d"), "soft_threshold"),
    ]
    return costs, audits


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


async def test_the_api_serves_every_view_with_filters_while_the_sink_consumes(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> None:
    database = tmp_path / "costs.duckdb"
    costs, audits = events()
    async with running_sink(kafka, topic_names, database) as sink:
        await publish(kafka, topic_names.costs, costs)
        await publish(kafka, topic_names.audit, audits)
        await wait_for(lambda: sink.stored >= len(costs) + len(audits), timeout=30)
        async with httpx.AsyncClient(base_url=sink.url, timeout=10) as client:
            health = (await client.get("/healthz")).json()
            assert health["status"] == "ok"
            listed = {v["name"] for v in (await client.get("/api/views")).json()}
            assert {"spend", "spend_daily", "outcomes", "guardrails", "variants"} <= listed
            for name in listed:  # every view answers
                r = await client.get(f"/api/views/{name}")
                assert r.status_code == 200, (name, r.text)

            spend = (await client.get("/api/views/spend_daily")).json()
            by_tenant = {r["tenant_id"]: r for r in spend["rows"]}
            assert by_tenant["acme"]["cost"] == "0.375000000"  # exact, as a string
            assert by_tenant["acme"]["avoided_cost"] == "0.500000000"
            assert by_tenant["bravo"]["cost"] == "0.000000001"
            assert "cost" in spend["money"]

            only_b = (await client.get("/api/views/spend_by_model", params={"model": "m-b"})).json()
            assert [(r["request_model"], r["cost"]) for r in only_b["rows"]] == [
                ("m-b", "0.125000000")
            ]
            genesys = (
                await client.get("/api/views/outcomes", params={"gateway": "genesys"})
            ).json()
            assert [r["turns"] for r in genesys["rows"]] == [1]
            pii = (await client.get("/api/views/guardrails", params={"tenant": "acme"})).json()
            assert [(r["finding"], r["findings"]) for r in pii["rows"]] == [("EMAIL", 1)]

            csv_text = (await client.get("/api/views/top_sessions", params={"format": "csv"})).text
            assert csv_text.splitlines()[0].startswith("tenant_id,session_id,currency,turns")

            bad = await client.get("/api/views/spend", params={"from": "last week"})
            assert bad.status_code == 400 and "from must be a date" in bad.json()["error"]
            assert (await client.get("/api/views/nope")).status_code == 404
            twice = await client.get("/api/views/spend?tenant=acme&tenant=bravo")
            assert twice.status_code == 400 and "tenant came more than once" in twice.text

            status = (await client.get("/budget/status", params={"tenant": "acme"})).json()
            assert status[0]["day"]["spend"] == "0.375000000"
            assert status[0]["day"]["state"] == "unlimited"  # no limit on these events
            session = (
                await client.get("/budget/status", params={"tenant": "acme", "session": "s2"})
            ).json()
            assert (session["turns"], session["cost"]) == (2, "0.125000000")
            assert (await client.get("/budget/status", params={"session": "s2"})).status_code == 400

            # Two audit events delivered again (a replay): stored once, counted as duplicates.
            await publish(kafka, topic_names.audit, audits[:2])
            await wait_for(lambda: sink.stats[-1].audit_seen >= len(audits) + 2, timeout=30)
            metrics = (await client.get("/metrics")).text
            assert "gwstream_sink_cost_events_stored_total 4.0" in metrics
            assert "gwstream_sink_audit_duplicates_total 2.0" in metrics
            assert "gwstream_sink_lag_records" in metrics

            # A probe or a status query just before an export leaves nothing in its way.
            for before in ("/healthz", "/budget/status?tenant=acme&session=s2", "/metrics"):
                assert (await client.get(before)).status_code == 200
                r = await client.get("/api/views/spend_by_model", params={"format": "parquet"})
                assert r.status_code == 200 and r.content[:4] == b"PAR1", (before, r.text[:200])

        # The CLI reads through the API while the sink holds the file (in a thread: the
        # sink's API answers on this test's event loop).
        shown = await asyncio.to_thread(
            cli, "report", "--view", "spend_daily", "--url", sink.url, "--format", "json"
        )
        assert shown.exit_code == 0, shown.output
        assert '"cost": "0.375000000"' in shown.stdout
        parquet = tmp_path / "by_model.parquet"
        exported = await asyncio.to_thread(
            cli, "export", "spend_by_model", "-o", str(parquet), "--url", sink.url
        )
        assert exported.exit_code == 0, exported.output
        # And a direct read of the held file fails, saying why.
        held = await asyncio.to_thread(cli, "report", "--database", str(database))
        assert held.exit_code == 1 and "read-only" in held.output

    with duckdb.connect() as conn:
        back = conn.execute(
            f"SELECT request_model, cost FROM '{parquet}' ORDER BY request_model"
        ).fetchall()
    assert (("m-b", Decimal("0.125")) in back) and len(back) == 4  # acme: 3 models; bravo: 1
    with duckdb.connect() as conn:
        kinds = dict(
            conn.execute(f"SELECT column_name, column_type FROM (DESCRIBE '{parquet}')").fetchall()
        )
    assert kinds["input_tokens"] == "BIGINT", kinds  # a sum, not a double (2746.0)

    # Stopped: the same report from the file, the same numbers.
    from_file = cli("report", "--view", "spend_daily", "--database", str(database), "-f", "json")
    assert from_file.exit_code == 0, from_file.output
    assert '"cost": "0.375000000"' in from_file.stdout
    offline = tmp_path / "variants.parquet"
    exported = cli("export", "variants", "-o", str(offline), "--database", str(database))
    assert exported.exit_code == 0, exported.output
    with duckdb.connect() as conn:
        assert conn.execute(f"SELECT sum(turns) FROM '{offline}'").fetchone() == (4,)


async def test_readyz_follows_the_broker_while_the_reports_keep_answering(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    kafka, names = await own_broker_topics(embedded_broker, "s", partitions=4)
    async with running_sink(kafka, names, tmp_path / "costs.duckdb") as sink:
        async with httpx.AsyncClient(base_url=sink.url, timeout=2) as client:

            async def status(path: str) -> int:
                with contextlib.suppress(httpx.TransportError):
                    return (await client.get(path)).status_code
                return 0

            await wait_for(lambda: _is(status("/readyz"), 200))
            with stalled(embedded_broker):
                await wait_for(lambda: _is(status("/readyz"), 503), timeout=30)
                assert await status("/healthz") == 200
                assert await status("/api/views/spend") == 200  # analysts still read
            await wait_for(lambda: _is(status("/readyz"), 200), timeout=60)


async def _is(status: Any, expected: int) -> bool:
    return bool(await status == expected)


async def test_a_sink_whose_broker_restarted_empty_stops_with_an_error_saying_so(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    kafka, names = await own_broker_topics(embedded_broker, "s", partitions=8)
    settings = SinkSettings(
        database=tmp_path / "costs.duckdb",
        api_port=0,  # not the default port, which a sink the operator runs may hold
        batch_timeout_ms=50,
        group_id=f"sink-{names.costs}",
    )
    stats: list[SinkStats] = []
    sink = asyncio.create_task(
        run_sink(kafka, names, settings, asyncio.Event(), on_batch=lambda _r, s: stats.append(s))
    )
    try:
        await publish(kafka, names.costs, events()[0])
        await wait_for(lambda: sink.done() or (bool(stats) and stats[-1].rows_inserted == 4))
        assert not sink.done(), sink
        # Fetching partitions that no longer exist would store nothing, quietly.
        await fails_on_a_broker_restarted_empty(embedded_broker, sink)
    finally:
        sink.cancel()
        await asyncio.gather(sink, return_exceptions=True)
