"""The DuckDB side of the sink: the batch writer of the cost, audit and notice tables.

The sink delivers at least once, so the same event can arrive many times
(a replay after a crash, a rebalance, a producer retry). Each table's primary
key is the event id, which the processor derives from the turn id, and every
batch (its rows of every table) goes in inside one transaction: a batch is
stored whole or not at all, and each event at most once. The tables and their
migrations are in :mod:`gwstream.sink.schema`, the views in
:mod:`gwstream.sink.views`.

Dedupe has two paths because DuckDB (2.0) runs ``INSERT ... ON CONFLICT DO
NOTHING`` as a merge that scans every stored event id: fine for a replay, but
about 60 us per event at 10 million rows. A plain ``INSERT`` checks the
primary-key index instead (about 8 us per event at that size). So a batch is
first inserted plainly; only if it hits a stored id is it rolled back and
inserted again skipping stored ids, and the next batches take that path
directly until one of them turns out free of duplicates again (replays come
in runs).

A batch travels to DuckDB as one Arrow table per table (pyarrow: each column
built in one call from the rows), registered on the writer's connection and
inserted with one ``INSERT ... SELECT`` inside the batch's transaction. That
takes half the time per event of the newline-delimited JSON files that
``read_json`` read before (118,000 against 59,000 events/s for the writer
alone on 100,000 events), and needs no file: batch files an earlier gwstream
left beside the database after a crash are removed when it is next opened.

Costs are stored as ``DECIMAL(18,9)``: exact, in units of 10^-9 of the
currency, rounded half-even when an event carries finer fractions. Cost
events carry no conversation text, so none is ever stored here. Reading a
``TIMESTAMPTZ`` into Python needs pytz, which gwstream does not depend on:
queries that return timestamps cast them to text.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from gwstream.errors import SinkError
from gwstream.events import CostEvent
from gwstream.lifecycle import Resource
from gwstream.sink import schema
from gwstream.sink.rows import Batch, CostRow, cost_row, storage_problem
from gwstream.sink.schema import (
    COST_SCALE,
    COST_TABLE,
    COSTS,
    MONEY,
    Table,
)
from gwstream.sink.views import create_views

logger = logging.getLogger(__name__)

__all__ = ["COST_SCALE", "COST_TABLE", "CostWriter", "arrow_schema"]


def _arrow_type(sql_type: str) -> pa.DataType:
    if sql_type == MONEY:
        return pa.string()  # a decimal string: cast exactly in SQL
    return {
        "VARCHAR": pa.string(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "DOUBLE": pa.float64(),
        "BOOLEAN": pa.bool_(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "MAP(VARCHAR, BIGINT)": pa.map_(pa.string(), pa.int64()),
    }[sql_type]


_ARROW: dict[str, pa.Schema] = {
    t.name: pa.schema([(c.name, _arrow_type(c.sql_type)) for c in t.columns]) for t in schema.TABLES
}


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow form a batch of ``table`` takes: its columns in order, money as decimal text."""
    return _ARROW[table.name]


def _when(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _arrow_batch(table: Table, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """``rows`` as one Arrow table of ``table``'s columns, each built in one call."""
    arrays = []
    for c, f in zip(table.columns, _ARROW[table.name], strict=True):
        values: list[Any] = [r[c.name] for r in rows]
        if c.sql_type == "TIMESTAMPTZ":
            values = [_when(v) for v in values]
        elif c.sql_type.startswith("MAP("):
            values = [None if v is None else list(v.items()) for v in values]
        arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=_ARROW[table.name])


def _first_per_id(data: pa.Table) -> pa.Table:
    """``data`` without the rows whose event id an earlier row has (the first one wins)."""
    ids = data["event_id"]
    if pc.count_distinct(ids).as_py() == data.num_rows:
        return data  # the usual case, checked without leaving Arrow
    first: dict[str, int] = {}
    for i, value in enumerate(ids.to_pylist()):
        first.setdefault(value, i)
    return data.take(list(first.values()))


def _insert_sql(table: Table, *, skip_existing: bool) -> str:
    values = ", ".join(
        f"CAST({c.name} AS {c.sql_type})" if c.sql_type == MONEY else c.name for c in table.columns
    )
    return (
        f"INSERT INTO {table.name} ({', '.join(table.names)})\n"
        f"SELECT {values}\n"
        f"FROM {_relation(table)}" + ("\nON CONFLICT DO NOTHING" if skip_existing else "")
    )


def _relation(table: Table) -> str:
    """The name a batch of ``table`` is registered under on the writer's connection."""
    return f"gwstream_batch_{table.name}"


_INSERT: dict[tuple[str, bool], str] = {
    (t.name, skip): _insert_sql(t, skip_existing=skip)
    for t in schema.TABLES
    for skip in (False, True)
}


def rollback(conn: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure; a failed COMMIT may already have ended the transaction."""
    try:
        conn.execute("ROLLBACK")
    except duckdb.Error:
        logger.debug("rollback after a failed batch found no open transaction")


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: committed when it ends, rolled back when it raises."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def apply_schema(conn: duckdb.DuckDBPyConnection) -> list[schema.Migration]:
    """Migrate ``conn``'s database and (re)create the views, all or nothing."""
    with transaction(conn):
        applied = schema.migrate(conn)
        create_views(conn)
    return applied


class CostWriter(Resource):
    """Owns one read-write DuckDB connection to the cost database.

    Construction does nothing; :meth:`open` (or ``with``) creates the file,
    applies the migrations it lacks and (re)creates the views; :meth:`close`
    releases the file lock. While open, no other process can open the file,
    not even read-only: the sink's HTTP API reads through :meth:`cursor`. One
    writer must not be used by two threads at once; each cursor is a
    connection of its own for one other thread.

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
        # Names the batch files of this database apart from any other's in the folder.
        self._batch_prefix = "." + re.sub(r"[^A-Za-z0-9._-]", "_", database.name) + ".batch-"

    @property
    def database(self) -> Path:
        return self._database

    def open(self) -> None:
        """Open the file (creating it, in a folder that exists) and apply the schema."""
        if self._conn is not None:
            return
        folder = self._database.parent
        if not folder.is_dir():
            # A mistyped path would otherwise start a second database, splitting the costs
            # between two files (and, with the same group id, the partitions between sinks).
            raise SinkError(
                f"cannot open cost database {self._database}: the folder {folder} does not "
                "exist (check sink.database, or create the folder first)"
            )
        if not self._database.exists():
            logger.info("creating the cost database %s (no file there yet)", self._database)
        try:
            conn = duckdb.connect(str(self._database), config={"threads": self._threads})
        except (OSError, duckdb.Error) as exc:
            raise SinkError(f"cannot open cost database {self._database}: {exc}") from exc
        try:
            conn.execute("SET TimeZone = 'UTC'")
            applied = apply_schema(conn)
        except (duckdb.Error, ValueError) as exc:
            conn.close()
            raise SinkError(f"cannot apply the cost schema to {self._database}: {exc}") from exc
        self._conn = conn
        for m in applied:
            logger.info(
                "cost database %s: applied schema migration %d (%s)",
                self._database,
                m.version,
                m.description,
            )
        self._remove_stale_batch_files()
        logger.debug("opened cost database %s", self._database)

    def _remove_stale_batch_files(self) -> None:
        """Remove the NDJSON batch files a crashed writer of an earlier gwstream (which
        passed batches through files) left beside this database (we hold its lock now)."""
        folder = self._database.resolve().parent
        for name in os.listdir(folder):
            if name.startswith(self._batch_prefix) and name.endswith(".ndjson"):
                with contextlib.suppress(OSError):
                    (folder / name).unlink()
                logger.info("removed the stale cost batch file %s", folder / name)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise SinkError(f"cost database {self._database} is not open")
        return self._conn

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the open database, for reading from another thread."""
        cursor = self._connection().cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def write_batch(self, events: Sequence[CostEvent]) -> int:
        """Store cost ``events`` in one transaction; return how many rows were new.

        Events whose id is already stored, or appears earlier in ``events``,
        are skipped (the first occurrence wins). Raises ValueError, before
        touching the database, when an event fails :func:`storage_problem`.
        On a database error nothing of the batch is stored.
        """
        rows = []
        for event in events:
            problem = storage_problem(event)
            if problem is not None:
                raise ValueError(
                    f"event {event.event_id} (turn {event.turn_id}) cannot be stored: {problem}"
                )
            rows.append(cost_row(event))
        return self.write_rows(rows)

    def write_rows(self, rows: Sequence[CostRow]) -> int:
        """Store cost ``rows`` in one transaction; return how many were new.

        Like :meth:`write_batch`, for rows built by :func:`cost_row` or checked
        as strictly (the sink's parser does that without building events).
        """
        return self.write(Batch(costs=list(rows)))[COST_TABLE]

    def write(self, batch: Batch) -> dict[str, int]:
        """Store every row of ``batch`` in one transaction; return the new rows per table."""
        tables: list[tuple[Table, pa.Table]] = []
        for table, rows in batch.by_table():
            parts = list(batch.cost_tables) if table is COSTS else []
            if rows:
                parts.append(_arrow_batch(table, rows))
            if parts:
                tables.append((table, _first_per_id(pa.concat_tables(parts))))
        inserted = {t.name: 0 for t in schema.TABLES}
        if not tables:
            return inserted
        conn = self._connection()
        for table, data in tables:
            conn.register(_relation(table), data)
        try:
            if not self._expect_duplicates:
                try:
                    return inserted | self._insert(tables, skip_existing=False)
                except duckdb.ConstraintException:
                    logger.debug("batch repeats stored events; storing only the new ones")
            new = self._insert(tables, skip_existing=True)
        finally:
            for table, _ in tables:
                conn.unregister(_relation(table))
        self._expect_duplicates = any(new[t.name] < d.num_rows for t, d in tables)
        return inserted | new

    def _insert(
        self, tables: Sequence[tuple[Table, pa.Table]], *, skip_existing: bool
    ) -> dict[str, int]:
        new: dict[str, int] = {}
        with transaction(self._connection()) as conn:
            for table, _ in tables:
                rows = conn.execute(_INSERT[table.name, skip_existing]).fetchall()
                new[table.name] = int(rows[0][0]) if rows else 0
        return new

    def execute_write(self, statement: str, parameters: object = None) -> int:
        """Run one write ``statement`` in a transaction of its own; the count it returns.

        For the other writers of the database (vendor metrics), so that one
        connection holds the file.
        """
        with transaction(self._connection()) as conn:
            rows = conn.execute(statement, parameters).fetchall()
        return int(rows[0][0]) if rows else 0

    def count(self, table: str = COST_TABLE) -> int:
        """Rows in ``table`` (the cost table by default)."""
        if table not in {t.name for t in schema.TABLES}:
            raise ValueError(f"unknown table {table!r}")
        rows = self._connection().execute(f"SELECT count(*) FROM {table}").fetchall()
        return int(rows[0][0]) if rows else 0
