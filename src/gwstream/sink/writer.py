"""The DuckDB side of the cost sink: schema, views and the batch writer.

The sink delivers at least once, so the same cost event can arrive many times
(a replay after a crash, a rebalance, a producer retry). The table's primary
key is the event id, which the processor derives from the turn id, and every
batch goes in inside one transaction: a batch is stored whole or not at all,
and each event at most once.

Dedupe has two paths because DuckDB (2.0) runs ``INSERT ... ON CONFLICT DO
NOTHING`` as a merge that scans every stored event id: fine for a replay, but
about 60 us per event at 10 million rows. A plain ``INSERT`` checks the
primary-key index instead (about 8 us per event at that size). So a batch is
first inserted plainly; only if it hits a stored id is it rolled back and
inserted again skipping stored ids, and the next batches take that path
directly until one of them turns out free of duplicates again (replays come
in runs).

A batch travels to DuckDB as one JSON document holding a list per column,
which DuckDB parses and unnests itself. That keeps Python's work per event to
a few attribute reads, avoids a pandas or pyarrow dependency, and is several
times faster than binding parameters row by row (see ``bench/sink_bench.py``).

Costs are stored as ``DECIMAL(18,9)``: exact, in units of 10^-9 of the
currency, rounded half-even when an event carries finer fractions. Cost
events carry no conversation text, so none is ever stored here. Reading a
``TIMESTAMPTZ`` into Python needs pytz, which gwstream does not depend on:
queries that return timestamps cast them to text.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import duckdb
import orjson

from gwstream.errors import SinkError
from gwstream.events import CostEvent
from gwstream.lifecycle import Resource

logger = logging.getLogger(__name__)

COST_TABLE = "cost_events"
SPEND_VIEW = "spend_by_tenant_day_model"

COST_SCALE = 9
#: Largest absolute cost a ``DECIMAL(18,9)`` column holds.
MAX_COST = Decimal(10**9) - Decimal(1).scaleb(-COST_SCALE)
_QUANTUM = Decimal(1).scaleb(-COST_SCALE)
# Costs below this in magnitude round (half-even, to COST_SCALE places) to at most MAX_COST.
_COST_LIMIT = MAX_COST + _QUANTUM / 2
_MAX_BIGINT = 2**63 - 1

# (name, SQL type, NOT NULL); the order is the order of the CostEvent fields.
_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("event_id", "VARCHAR", True),
    ("turn_id", "VARCHAR", True),
    ("tenant_id", "VARCHAR", True),
    ("session_id", "VARCHAR", True),
    ("seq", "BIGINT", True),
    ("produced_at", "TIMESTAMPTZ", True),
    ("occurred_at", "TIMESTAMPTZ", True),
    ("gateway", "VARCHAR", False),
    ("request_model", "VARCHAR", True),
    ("input_tokens", "BIGINT", True),
    ("output_tokens", "BIGINT", True),
    ("usage_source", "VARCHAR", True),
    ("tokenizer", "VARCHAR", False),
    ("cost", f"DECIMAL(18,{COST_SCALE})", True),
    ("currency", "VARCHAR", True),
    ("price_source", "VARCHAR", True),
)
_NAMES = tuple(name for name, _, _ in _COLUMNS)
_ROW = operator.attrgetter(*_NAMES)


def _create_table_sql() -> str:
    cols = [
        f"{name} {sql_type}{' NOT NULL' if not_null else ''}"
        + (" PRIMARY KEY" if name == "event_id" else "")
        for name, sql_type, not_null in _COLUMNS
    ]
    cols.append("ingested_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp")
    return f"CREATE TABLE IF NOT EXISTS {COST_TABLE} (\n    " + ",\n    ".join(cols) + "\n)"


def _insert_sql(*, skip_existing: bool) -> str:
    # Decimals travel as strings (exact); everything else in its own type.
    structure = orjson.dumps(
        {
            name: ["VARCHAR" if sql_type.startswith("DECIMAL") else sql_type]
            for name, sql_type, _ in _COLUMNS
        }
    ).decode()
    unnests = ", ".join(
        f"CAST(unnest(j.{name}) AS {sql_type})"
        if sql_type.startswith("DECIMAL")
        else f"unnest(j.{name})"
        for name, sql_type, _ in _COLUMNS
    )
    return (
        f"INSERT INTO {COST_TABLE} ({', '.join(_NAMES)})\n"
        f"SELECT {unnests}\n"
        f"FROM (SELECT json_transform_strict($batch, '{structure}') AS j)"
        + ("\nON CONFLICT DO NOTHING" if skip_existing else "")
    )


#: The spend view's query, also used by reports on a database whose view is missing.
SPEND_QUERY = f"""
SELECT
    tenant_id,
    CAST(timezone('UTC', occurred_at) AS DATE) AS day,
    request_model,
    currency,
    count(*) AS turns,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost) AS cost,
    count(*) FILTER (WHERE price_source = 'unpriced') AS unpriced_turns
FROM {COST_TABLE}
GROUP BY tenant_id, day, request_model, currency
""".strip()

_SCHEMA: tuple[str, ...] = (
    _create_table_sql(),
    f"CREATE OR REPLACE VIEW {SPEND_VIEW} AS\n{SPEND_QUERY}",
)
_INSERT_NEW = _insert_sql(skip_existing=False)
_INSERT_MISSING = _insert_sql(skip_existing=True)


def storage_problem(event: CostEvent) -> str | None:
    """Why ``event`` cannot be stored in the cost table, or None when it can.

    The payload model accepts values the columns cannot hold (a cost of 1e400,
    a token count past 2^63). Such an event would fail its whole batch on
    every retry, so callers set it aside before :meth:`CostWriter.write_batch`.
    """
    if not abs(event.cost) < _COST_LIMIT:
        return f"cost beyond +/-{MAX_COST}"
    if max(event.seq, event.input_tokens, event.output_tokens) > _MAX_BIGINT:
        return "seq or a token count beyond 2^63-1"
    return None


def _batch_document(events: Sequence[CostEvent]) -> str:
    columns: dict[str, Any] = dict(zip(_NAMES, zip(*map(_ROW, events), strict=True), strict=True))
    columns["cost"] = [
        format(cost.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN), "f") for cost in columns["cost"]
    ]
    return orjson.dumps(columns).decode()


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    # A failed COMMIT may already have ended the transaction; the original error matters.
    try:
        conn.execute("ROLLBACK")
    except duckdb.Error:
        logger.debug("rollback after a failed batch found no open transaction")


class CostWriter(Resource):
    """Owns one read-write DuckDB connection to the cost database.

    Construction does nothing; :meth:`open` (or ``with``) creates the file,
    table and views idempotently, :meth:`close` releases the file lock. While
    open, no other process can open the file, not even read-only. One writer
    must not be used by two threads at once.

    ``threads`` caps DuckDB's worker threads for the file. Batch inserts of a
    few thousand rows gain nothing from more: one thread measured about 10%
    faster than two on a 2-core machine, and leaves the other core to the
    Kafka loop.
    """

    def __init__(self, database: Path, *, threads: int = 1) -> None:
        self._database = database
        self._threads = threads
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._expect_duplicates = False

    @property
    def database(self) -> Path:
        return self._database

    def open(self) -> None:
        """Open the file (creating it and its parent folder) and apply the schema."""
        if self._conn is not None:
            return
        try:
            self._database.parent.mkdir(parents=True, exist_ok=True)
            conn = duckdb.connect(str(self._database), config={"threads": self._threads})
        except (OSError, duckdb.Error) as exc:
            raise SinkError(f"cannot open cost database {self._database}: {exc}") from exc
        try:
            conn.execute("SET TimeZone = 'UTC'")
            for statement in _SCHEMA:
                conn.execute(statement)
        except duckdb.Error as exc:
            conn.close()
            raise SinkError(f"cannot apply the cost schema to {self._database}: {exc}") from exc
        self._conn = conn
        logger.debug("opened cost database %s", self._database)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise SinkError(f"cost database {self._database} is not open")
        return self._conn

    def write_batch(self, events: Sequence[CostEvent]) -> int:
        """Store ``events`` in one transaction; return how many rows were new.

        Events whose id is already stored, or appears earlier in ``events``,
        are skipped (the first occurrence wins). Raises ValueError, before
        touching the database, when an event fails :func:`storage_problem`.
        On a database error nothing of the batch is stored.
        """
        unique: dict[str, CostEvent] = {}
        for event in events:
            problem = storage_problem(event)
            if problem is not None:
                raise ValueError(
                    f"event {event.event_id} (turn {event.turn_id}) cannot be stored: {problem}"
                )
            unique.setdefault(event.event_id, event)
        if not unique:
            return 0
        document = _batch_document(list(unique.values()))
        if not self._expect_duplicates:
            try:
                return self._insert(_INSERT_NEW, document)
            except duckdb.ConstraintException:
                logger.debug("batch repeats stored events; storing only the new ones")
        inserted = self._insert(_INSERT_MISSING, document)
        self._expect_duplicates = inserted < len(unique)
        return inserted

    def _insert(self, statement: str, document: str) -> int:
        conn = self._connection()
        conn.execute("BEGIN TRANSACTION")
        try:
            row = conn.execute(statement, {"batch": document}).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        return int(row[0]) if row else 0

    def count(self) -> int:
        """Rows in the cost table."""
        row = self._connection().execute(f"SELECT count(*) FROM {COST_TABLE}").fetchone()
        return int(row[0]) if row else 0
