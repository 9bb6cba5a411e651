"""The sink's API listens before the sink opens its database (so a taken port stops the sink
before it creates a file): until then it answers 503 with its JSON error body, then serves."""

from __future__ import annotations

from pathlib import Path

import httpx

from gwstream.sink.api import SinkApi
from gwstream.sink.consumer import SinkStats
from gwstream.sink.writer import CostWriter


class _Idle:
    """A sink that has consumed nothing."""

    stats = SinkStats()
    broker_available = True

    def lag(self) -> dict[tuple[str, int], int]:
        return {}

    def assignment(self) -> dict[str, list[int]]:
        return {}


async def test_views_answer_503_until_the_database_is_open_then_rows(tmp_path: Path) -> None:
    database = tmp_path / "costs.duckdb"
    writer = CostWriter(database)
    api = SinkApi(writer.cursor, _Idle(), database, port=0)
    await api.start()
    try:
        assert not database.exists()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}") as client:
            early = await client.get("/api/views/spend")
            assert early.status_code == 503
            assert early.json() == {"error": "the sink has not opened the database yet"}
            with writer:
                served = await client.get("/api/views/spend")
                assert served.status_code == 200, served.text
                assert served.json()["rows"] == []
    finally:
        await api.stop()


async def test_readyz_says_whether_the_sink_ingests_while_healthz_says_the_reports_answer(
    tmp_path: Path,
) -> None:
    database = tmp_path / "costs.duckdb"
    writer = CostWriter(database)
    status = _Idle()
    api = SinkApi(writer.cursor, status, database, port=0)
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}") as client:
            assert (await client.get("/readyz")).status_code == 503  # no database yet
            with writer:
                assert (await client.get("/readyz")).json() == {"ready": True}
                status.broker_available = False
                stalled = await client.get("/readyz")
                assert (stalled.status_code, stalled.json()["reason"]) == (
                    503,
                    "the broker does not answer",
                )
                health = await client.get("/healthz")
                assert (health.status_code, health.json()["broker"]) == (200, "not answering")
                metrics = (await client.get("/metrics")).text
                assert "gwstream_sink_broker_available 0.0" in metrics
    finally:
        await api.stop()
