"""The sink's HTTP API and dashboard, served on the database connection the sink holds.

DuckDB lets one process open a file for writing and nobody else read it, so
while the sink runs this is how analysts read: every view with the filters of
:class:`~gwstream.sink.views.Filters`, budget status, health and metrics, and
the dashboard page.

It runs on aiohttp, which gwstream already ships for its gateway calls: the
API is a dozen GET routes whose answers are a query away, so a framework's
validation and OpenAPI generation would add two dependencies (FastAPI and
uvicorn, with starlette) for little. Queries run in a worker thread on a
connection of their own (a DuckDB cursor), one at a time, beside the writer's.

Routes (all GET):

- ``/api/views``: the views, their descriptions and columns;
- ``/api/views/{name}?tenant=&from=&to=&model=&gateway=&limit=&format=``:
  JSON (``{"view", "columns", "money", "rows"}``, money as exact decimal
  strings), ``csv`` or ``parquet``;
- ``/budget/status?tenant=[&session=]``: spend in today's and this month's
  UTC window against the limit the processor last applied, per tenant; with
  ``session``, that session's turns, tokens and budget;
- ``/healthz``: 200 while the database answers (the reports do);
- ``/readyz``: 200 while the sink ingests: the database and the broker answer;
- ``/metrics``: Prometheus text: rows stored, duplicates, bad records,
  batches, and the consumer lag per partition;
- ``/``: the dashboard (static files shipped in the package).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import duckdb
import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gwstream.errors import SinkError
from gwstream.httpserve import serve
from gwstream.sink.budget_status import session_status, tenant_status
from gwstream.sink.report import csv_text
from gwstream.sink.schema import SCHEMA_VERSION
from gwstream.sink.views import VIEWS, Filters, ViewResult, read_view, write_parquet

log = logging.getLogger(__name__)

_STATIC = "sink/dashboard"
_CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


class SinkStatus(Protocol):
    """What the API reports of the sink running beside it."""

    @property
    def stats(self) -> Any: ...

    def lag(self) -> dict[tuple[str, int], int]: ...

    def assignment(self) -> dict[str, list[int]]: ...

    @property
    def broker_available(self) -> bool: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def result_json(result: ViewResult) -> dict[str, Any]:
    view = VIEWS[result.view]
    return {
        "view": result.view,
        "description": view.description,
        "columns": list(result.columns),
        "money": sorted(view.money),
        "rows": result.rows,
    }


def _error(status: int, message: str) -> web.Response:
    if status >= 500:
        log.warning("sink API answered %d: %s", status, message)
    return web.Response(
        status=status, body=_dumps({"error": message}), content_type="application/json"
    )


def _unavailable(message: str) -> web.HTTPServiceUnavailable:
    """A 503 with the API's JSON error body, raised from under a route."""
    return web.HTTPServiceUnavailable(
        text=_dumps({"error": message}).decode(), content_type="application/json"
    )


class _Collector(Collector):
    def __init__(self, status: SinkStatus) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        s = self._status.stats
        for name, doc, value in (
            ("gwstream_sink_batches", "Batches stored and committed", s.batches),
            (
                "gwstream_sink_cost_events_stored",
                "Cost events new to the database",
                s.rows_inserted,
            ),
            ("gwstream_sink_cost_duplicates", "Cost events already stored (replays)", s.duplicates),
            (
                "gwstream_sink_audit_events_stored",
                "Audit events and budget notices new to the database",
                s.audit_inserted,
            ),
            (
                "gwstream_sink_audit_duplicates",
                "Audit events and budget notices already stored (replays)",
                s.audit_seen - s.audit_inserted,
            ),
            ("gwstream_sink_bad_records", "Records skipped as unparsable", s.bad_records),
            (
                "gwstream_sink_costs_rounded",
                "Cost events with money finer than 10^-9, stored rounded half-even",
                s.costs_rounded,
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        lag = GaugeMetricFamily(
            "gwstream_sink_lag_records",
            "Records behind the partition's high-water mark at the last fetch",
            labels=["topic", "partition"],
        )
        for (topic, partition), behind in sorted(self._status.lag().items()):
            lag.add_metric([topic, str(partition)], behind)
        yield lag
        yield GaugeMetricFamily(
            "gwstream_sink_broker_available",
            "1 while the broker answers (asked every 2 s), 0 during an outage",
            value=1 if self._status.broker_available else 0,
        )


class SinkApi:
    """The aiohttp application over ``cursor`` (a DuckDB connection for this API alone).

    ``start()`` listens on ``host:port`` (port 0: any free one; :attr:`port`
    tells which), ``stop()`` closes it. The API opens its connection on the
    first request that needs it, so it can listen before the sink opens the
    database (a port already taken then leaves no database file behind);
    until the database is open such requests answer 503.
    """

    def __init__(
        self,
        cursor: Callable[[], duckdb.DuckDBPyConnection],
        status: SinkStatus,
        database: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._cursor_factory = cursor
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._status = status
        self._database = database
        self._host = host
        self._port = port
        self._lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._stopped = False
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_Collector(status))
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/api/views", self._views)
        app.router.add_get("/api/views/{name}", self._view)
        app.router.add_get("/budget/status", self._budget)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{file}", self._static)
        return app

    async def start(self) -> None:
        self._runner, self.port = await serve(
            self.app(),
            self._host,
            self._port,
            setting="sink.api_port",
            host_setting="sink.api_host",
        )
        log.info("sink API and dashboard on http://%s:%s/", self._host, self.port)

    async def stop(self) -> None:
        self._stopped = True
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await asyncio.to_thread(conn.close)

    async def _query(self, work: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        async with self._lock:
            conn = self._conn
            if conn is None:
                if self._stopped:
                    raise _unavailable("the sink is stopping")
                try:
                    conn = self._conn = await asyncio.to_thread(self._cursor_factory)
                except SinkError:
                    raise _unavailable("the sink has not opened the database yet") from None
            return await asyncio.to_thread(work, conn)

    # -- routes ------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            # fetchall, not fetchone: a result left unfinished on this connection would
            # stand in the way of the next Parquet export.
            await self._query(lambda c: c.execute("SELECT 1").fetchall())
        except (duckdb.Error, web.HTTPException) as exc:
            return _error(503, f"database not answering: {exc}")
        body = {
            "status": "ok",
            "database": str(self._database),
            "schema_version": SCHEMA_VERSION,
            "partitions": self._status.assignment(),
            "broker": "answering" if self._status.broker_available else "not answering",
        }
        return web.Response(body=_dumps(body), content_type="application/json")

    async def _readyz(self, request: web.Request) -> web.Response:
        """Ingesting: the database answers, and so does the broker (``/healthz`` stays 200
        during a broker outage, as the reports still answer)."""
        unhealthy = await self._healthz(request)
        if unhealthy.status != 200:
            return unhealthy
        if not self._status.broker_available:
            return web.Response(
                status=503,
                body=_dumps({"ready": False, "reason": "the broker does not answer"}),
                content_type="application/json",
            )
        return web.Response(body=_dumps({"ready": True}), content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self._registry),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    async def _views(self, request: web.Request) -> web.Response:
        body = [
            {
                "name": v.name,
                "relation": v.relation,
                "description": v.description,
                "columns": list(v.columns),
                "money": sorted(v.money),
            }
            for v in VIEWS.values()
        ]
        return web.Response(body=_dumps(body), content_type="application/json")

    async def _view(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in VIEWS:
            return _error(404, f"no view {name!r}; views: {', '.join(VIEWS)}")
        try:
            filters = Filters.from_query(request.query)
        except ValueError as exc:
            return _error(400, str(exc))
        fmt = request.query.get("format", "json")
        if fmt == "parquet":
            return await self._parquet(name, filters)
        if fmt not in ("json", "csv"):
            return _error(400, f"format must be json, csv or parquet, not {fmt!r}")
        try:
            result: ViewResult = await self._query(lambda c: read_view(c, name, filters))
        except duckdb.Error as exc:
            return _error(500, f"reading {name} failed: {exc}")
        if fmt == "csv":
            return web.Response(text=csv_text(result.rows, result.columns), content_type="text/csv")
        return web.Response(body=_dumps(result_json(result)), content_type="application/json")

    async def _parquet(self, name: str, filters: Filters) -> web.StreamResponse:
        fd, path = tempfile.mkstemp(prefix=".gwstream-export-", suffix=".parquet")
        os.close(fd)
        try:
            await self._query(lambda c: write_parquet(c, VIEWS[name], filters, path))
            body = await asyncio.to_thread(Path(path).read_bytes)
        except duckdb.Error as exc:
            return _error(500, f"exporting {name} failed: {exc}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return web.Response(
            body=body,
            content_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'},
        )

    async def _budget(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant") or None
        session = request.query.get("session") or None
        if session is not None and tenant is None:
            return _error(400, "session needs tenant: session ids are per tenant")
        now = datetime.now(UTC)
        try:
            if session is not None:
                assert tenant is not None
                body: Any = await self._query(lambda c: session_status(c, tenant, session))
                if body is None:
                    return _error(404, f"no turns of session {session!r} of tenant {tenant!r}")
            else:
                body = await self._query(lambda c: tenant_status(c, now, tenant))
        except duckdb.Error as exc:
            return _error(500, f"reading budget status failed: {exc}")
        return web.Response(body=_dumps(body), content_type="application/json")

    async def _index(self, request: web.Request) -> web.Response:
        return self._file("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        return self._file(request.match_info["file"])

    def _file(self, name: str) -> web.Response:
        suffix = os.path.splitext(name)[1]
        if "/" in name or name.startswith(".") or suffix not in _CONTENT_TYPES:
            raise web.HTTPNotFound()
        resource = resources.files("gwstream").joinpath(f"{_STATIC}/{name}")
        if not resource.is_file():
            raise web.HTTPNotFound()
        return web.Response(
            body=resource.read_bytes(),
            content_type=_CONTENT_TYPES[suffix],
            headers={"Cache-Control": "no-cache"},
        )
