"""Storing vendor metrics in the cost database, and reading the ``reconciliation`` view.

The tables (``vendor_metrics``, ``vendor_pulls``) are part of the cost
database's schema (:mod:`gwstream.sink.schema`) and the view one of the
analysts' views (:mod:`gwstream.sink.views`), so the sink, its HTTP API,
``gwstream report --view reconciliation`` and this module read it one way.
Writes go through the same :class:`~gwstream.sink.writer.CostWriter`
connection that opens, migrates and holds the file.

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
from gwstream.sink.report import read_report
from gwstream.sink.schema import PULLS_TABLE, VENDOR_COLUMNS, VENDOR_TABLE
from gwstream.sink.views import RECONCILIATION_COLUMNS
from gwstream.sink.writer import CostWriter

__all__ = [
    "PULLS_TABLE",
    "RECONCILIATION_COLUMNS",
    "VENDOR_TABLE",
    "VendorMetricsStore",
    "reconciliation_report",
]

logger = logging.getLogger(__name__)

_NAMES = tuple(name for name, _, _ in VENDOR_COLUMNS)
_STRUCTURE = orjson.dumps({name: [sql_type] for name, sql_type, _ in VENDOR_COLUMNS}).decode()
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
        self._writer = CostWriter(database)
        self._open = False
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            if not self._open:
                self._writer.open()  # creates or migrates the file, vendor tables included
                self._open = True

    def close(self) -> None:
        with self._lock:
            self._writer.close()
            self._open = False

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
            if not self._open:
                raise SinkError(f"cost database {self._database} is not open")
            try:
                return self._writer.execute_write(statement, parameters)
            except duckdb.Error as exc:
                raise SinkError(f"cannot write vendor metrics to {self._database}: {exc}") from exc


#: reconcile reads the file itself; the same view is served by a running sink's API.
_IF_HELD = "read the same rows through it with `gwstream report --view reconciliation`"


def reconciliation_report(database: Path) -> list[dict[str, Any]]:
    """The reconciliation view's rows, ordered by gateway and day (see :mod:`gwstream.sink.views`).

    Each row maps :data:`RECONCILIATION_COLUMNS` to values: ``day`` a
    ``date``, the rest ``int`` (the difference columns may be negative:
    vendor minus gwstream). Raises :class:`SinkError` naming the file when it
    is missing or held by a running sink; a file without vendor metrics has no
    rows (as ``report --view reconciliation`` shows it).
    """
    return read_report(database, "reconciliation", if_held=_IF_HELD).rows
