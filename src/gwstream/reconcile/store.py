"""The DuckDB side of vendor metrics: the ``vendor_metrics`` table and the ``reconciliation`` view.

Vendor figures live in the cost database next to gwstream's own, so one
query compares them. Every vendor call is one row keyed by
``(vendor, gateway, request_id, call_key)``: ``call_key`` is a digest of the
whole record (:meth:`~gwstream.reconcile.pages.VendorMetric.key`), so
pulling again stores nothing twice, while the several calls of a retried
turn (gwstream resends the turn id as ``X-Request-ID`` on every attempt) are
all kept. Each page goes in inside one transaction. ``vendor_pulls`` records
every finished pull, so the view knows which gateways were pulled even when
their vendor reported nothing.

The view matches ``vendor_metrics.request_id`` to ``cost_events.turn_id``
within a gateway and counts, per gateway and UTC day (gwstream's day of the
turn when it has the turn, else the vendor's day of the first call): turns
in gwstream, requests and calls at the vendor, matched, only in gwstream,
only at the vendor, and the token totals of each side with their
difference. Turns served after a gateway's latest pull show as only in
gwstream until the next pull. Only ids, model names, counts and timings are
stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from gwstream.errors import SinkError
from gwstream.lifecycle import Resource
from gwstream.reconcile.pages import Vendor, VendorMetric
from gwstream.sink.writer import COST_TABLE, CostWriter

__all__ = [
    "PULLS_TABLE",
    "RECONCILIATION_COLUMNS",
    "RECONCILIATION_VIEW",
    "VENDOR_TABLE",
    "VendorMetricsStore",
    "reconciliation_report",
]

logger = logging.getLogger(__name__)

VENDOR_TABLE = "vendor_metrics"
PULLS_TABLE = "vendor_pulls"
RECONCILIATION_VIEW = "reconciliation"

# (name, SQL type, NOT NULL), in insert order; pulled_at is added per batch.
_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("vendor", "VARCHAR", True),
    ("gateway", "VARCHAR", True),
    ("request_id", "VARCHAR", True),
    ("call_key", "VARCHAR", True),
    ("ts", "TIMESTAMPTZ", True),
    ("operation", "VARCHAR", False),
    ("model", "VARCHAR", False),
    ("prompt_tokens", "BIGINT", True),
    ("completion_tokens", "BIGINT", True),
    ("total_tokens", "BIGINT", True),
    ("latency_ms", "DOUBLE", False),
    ("status", "INTEGER", False),
    ("streamed", "BOOLEAN", True),
    ("pulled_at", "TIMESTAMPTZ", True),
)
_NAMES = tuple(name for name, _, _ in _COLUMNS)

_CREATE_VENDOR_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {VENDOR_TABLE} (\n    "
    + ",\n    ".join(f"{n} {t}{' NOT NULL' if nn else ''}" for n, t, nn in _COLUMNS)
    + ",\n    PRIMARY KEY (vendor, gateway, request_id, call_key)\n)"
)
_CREATE_PULLS_TABLE = f"""
CREATE TABLE IF NOT EXISTS {PULLS_TABLE} (
    vendor VARCHAR NOT NULL,
    gateway VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    pages BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL
)
""".strip()

#: Columns of the reconciliation view, in order.
RECONCILIATION_COLUMNS: tuple[str, ...] = (
    "gateway",
    "vendor",
    "day",
    "gwstream_turns",
    "vendor_requests",
    "vendor_calls",
    "matched",
    "only_gwstream",
    "only_gwstream_without_usage",
    "only_vendor",
    "gwstream_input_tokens",
    "gwstream_output_tokens",
    "gwstream_total_tokens",
    "vendor_prompt_tokens",
    "vendor_completion_tokens",
    "vendor_total_tokens",
    "total_tokens_diff",
    "matched_total_tokens_diff",
)

_RECONCILIATION_QUERY = f"""
WITH pulled AS (
    SELECT gateway, min(vendor) AS vendor
    FROM (SELECT gateway, vendor FROM {PULLS_TABLE}
          UNION ALL SELECT gateway, vendor FROM {VENDOR_TABLE})
    GROUP BY gateway
),
ours AS (
    SELECT c.gateway, c.turn_id,
           CAST(timezone('UTC', c.occurred_at) AS DATE) AS day,
           c.input_tokens, c.output_tokens, c.usage_source = 'none' AS no_usage
    FROM {COST_TABLE} AS c JOIN pulled AS p ON c.gateway = p.gateway
),
theirs AS (
    SELECT gateway, request_id,
           CAST(timezone('UTC', min(ts)) AS DATE) AS day,
           count(*) AS calls,
           sum(prompt_tokens) AS prompt_tokens,
           sum(completion_tokens) AS completion_tokens,
           sum(total_tokens) AS total_tokens
    FROM {VENDOR_TABLE}
    GROUP BY gateway, request_id
),
joined AS (
    SELECT coalesce(o.gateway, t.gateway) AS gateway,
           coalesce(o.day, t.day) AS day,
           o.turn_id, t.request_id, o.no_usage,
           o.input_tokens, o.output_tokens, o.input_tokens + o.output_tokens AS our_total,
           t.calls, t.prompt_tokens, t.completion_tokens, t.total_tokens
    FROM ours AS o FULL OUTER JOIN theirs AS t
      ON o.gateway = t.gateway AND o.turn_id = t.request_id
)
SELECT
    j.gateway,
    p.vendor,
    j.day,
    count(j.turn_id) AS gwstream_turns,
    count(j.request_id) AS vendor_requests,
    coalesce(sum(j.calls), 0) AS vendor_calls,
    count(*) FILTER (WHERE j.turn_id IS NOT NULL AND j.request_id IS NOT NULL) AS matched,
    count(*) FILTER (WHERE j.request_id IS NULL) AS only_gwstream,
    count(*) FILTER (WHERE j.request_id IS NULL AND j.no_usage) AS only_gwstream_without_usage,
    count(*) FILTER (WHERE j.turn_id IS NULL) AS only_vendor,
    coalesce(sum(j.input_tokens), 0) AS gwstream_input_tokens,
    coalesce(sum(j.output_tokens), 0) AS gwstream_output_tokens,
    coalesce(sum(j.our_total), 0) AS gwstream_total_tokens,
    coalesce(sum(j.prompt_tokens), 0) AS vendor_prompt_tokens,
    coalesce(sum(j.completion_tokens), 0) AS vendor_completion_tokens,
    coalesce(sum(j.total_tokens), 0) AS vendor_total_tokens,
    coalesce(sum(j.total_tokens), 0) - coalesce(sum(j.our_total), 0) AS total_tokens_diff,
    coalesce(sum(j.total_tokens - j.our_total)
             FILTER (WHERE j.turn_id IS NOT NULL AND j.request_id IS NOT NULL), 0)
        AS matched_total_tokens_diff
FROM joined AS j JOIN pulled AS p ON j.gateway = p.gateway
GROUP BY j.gateway, p.vendor, j.day
""".strip()

_SCHEMA: tuple[str, ...] = (
    _CREATE_VENDOR_TABLE,
    _CREATE_PULLS_TABLE,
    f"CREATE OR REPLACE VIEW {RECONCILIATION_VIEW} AS\n{_RECONCILIATION_QUERY}",
)

_STRUCTURE = orjson.dumps({name: [sql_type] for name, sql_type, _ in _COLUMNS}).decode()
_INSERT = (
    f"INSERT INTO {VENDOR_TABLE} ({', '.join(_NAMES)})\n"
    f"SELECT {', '.join(f'unnest(j.{name})' for name in _NAMES)}\n"
    f"FROM (SELECT json_transform_strict($batch, '{_STRUCTURE}') AS j)\n"
    "ON CONFLICT DO NOTHING"
)


class VendorMetricsStore(Resource):
    """One read-write connection to the cost database for a metrics pull.

    :meth:`open` first applies the cost schema (through :class:`CostWriter`,
    so the view works on a fresh file), then this module's. Like the sink,
    it needs the file to itself: a running sink holds it. Methods may be
    called from worker threads (``asyncio.to_thread``); they take turns, so a
    :meth:`close` issued after a cancelled write waits for that write.
    """

    def __init__(self, database: Path) -> None:
        self._database = database
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            self._open()

    def _open(self) -> None:
        if self._conn is not None:
            return
        with CostWriter(self._database):
            pass  # creates the file, cost_events and its views if missing
        try:
            conn = duckdb.connect(str(self._database), config={"threads": 1})
        except duckdb.Error as exc:
            raise SinkError(f"cannot open cost database {self._database}: {exc}") from exc
        try:
            conn.execute("SET TimeZone = 'UTC'")
            for statement in _SCHEMA:
                conn.execute(statement)
        except duckdb.Error as exc:
            conn.close()
            raise SinkError(
                f"cannot apply the vendor metrics schema to {self._database}: {exc}"
            ) from exc
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise SinkError(f"cost database {self._database} is not open")
        return self._conn

    def insert(
        self, vendor: Vendor, gateway: str, rows: Sequence[VendorMetric], pulled_at: datetime
    ) -> int:
        """Store ``rows`` in one transaction, skipping calls already stored; return how
        many were new."""
        unique = {row.key(): row for row in rows}
        if not unique:
            return 0
        records = [
            (
                vendor,
                gateway,
                row.request_id,
                key,
                row.ts,
                row.operation,
                row.model,
                row.prompt_tokens,
                row.completion_tokens,
                row.total_tokens,
                row.latency_ms,
                row.status,
                row.streamed,
                pulled_at,
            )
            for key, row in unique.items()
        ]
        columns = dict(zip(_NAMES, zip(*records, strict=True), strict=True))
        return self._write(_INSERT, {"batch": orjson.dumps(columns).decode()})

    def record_pull(
        self,
        vendor: Vendor,
        gateway: str,
        *,
        started_at: datetime,
        finished_at: datetime,
        pages: int,
        rows_read: int,
        rows_inserted: int,
    ) -> None:
        """Note a finished pull (the view reconciles every gateway ever pulled)."""
        self._write(
            f"INSERT INTO {PULLS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [vendor, gateway, started_at, finished_at, pages, rows_read, rows_inserted],
        )

    def _write(self, statement: str, parameters: object) -> int:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN TRANSACTION")
            try:
                row = conn.execute(statement, parameters).fetchone()
                conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    conn.execute("ROLLBACK")
                except duckdb.Error:
                    logger.debug("rollback after a failed write found no open transaction")
                if isinstance(exc, duckdb.Error):
                    raise SinkError(
                        f"cannot write vendor metrics to {self._database}: {exc}"
                    ) from exc
                raise
            return int(row[0]) if row else 0


def reconciliation_report(database: Path) -> list[dict[str, Any]]:
    """The reconciliation view's rows, ordered by gateway and day, read read-only.

    Each row maps :data:`RECONCILIATION_COLUMNS` to values: ``day`` a
    ``date``, the rest ``int`` (the difference columns may be negative:
    vendor minus gwstream). Raises :class:`SinkError` naming the file when it
    is missing, held by a running sink, or has never had metrics pulled into it.
    """
    if not database.is_file():
        raise SinkError(f"cost database {database} does not exist; pull vendor metrics first")
    try:
        conn = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise SinkError(
            f"cannot open cost database {database} read-only (is a sink holding it, "
            f"or is it not a DuckDB file?): {exc}"
        ) from exc
    try:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_name = ? AND table_type = 'VIEW'",
            [RECONCILIATION_VIEW],
        ).fetchone()
        if not found or not found[0]:
            raise SinkError(
                f"cost database {database} has no {RECONCILIATION_VIEW} view; "
                "pull vendor metrics into it first (gwstream gateways pull-metrics)"
            )
        cursor = conn.execute(
            f"SELECT {', '.join(RECONCILIATION_COLUMNS)} FROM {RECONCILIATION_VIEW} "
            "ORDER BY gateway, day"
        )
        return [dict(zip(RECONCILIATION_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise SinkError(f"cannot read the reconciliation from {database}: {exc}") from exc
    finally:
        conn.close()
