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

A batch travels to DuckDB as newline-delimited JSON, one :class:`CostRow`
per line, in a temporary file that ``read_json`` reads within the batch's
transaction. DuckDB's file reader takes about half the time per event of
``json_transform`` over one JSON parameter (the previous way), avoids a
pandas or pyarrow dependency, and is several times faster than binding
parameters row by row (see ``bench/sink_bench.py``). The file is created
next to the database (``mkstemp``: private, never an existing path), removed
after its batch whatever happens, and one a crash leaves behind is removed
when the database is next opened.

Costs are stored as ``DECIMAL(18,9)``: exact, in units of 10^-9 of the
currency, rounded half-even when an event carries finer fractions. Cost
events carry no conversation text, so none is ever stored here. Reading a
``TIMESTAMPTZ`` into Python needs pytz, which gwstream does not depend on:
queries that return timestamps cast them to text.

Columns added since the first schema (the turn's status, latency, cache and
prompt variant) come after ``ingested_at``, in new files as in old ones:
opening a file an older gwstream wrote adds them (``ADD COLUMN IF NOT
EXISTS``), and its rows get the defaults (no status, latency 0, not cached,
nothing avoided, no variant). Reports that cannot migrate (they open files
read-only) read such a file through :func:`cost_source`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TypedDict

import duckdb
import orjson

from gwstream.errors import SinkError
from gwstream.events import CostEvent
from gwstream.lifecycle import Resource

logger = logging.getLogger(__name__)

COST_TABLE = "cost_events"
SPEND_VIEW = "spend_by_tenant_day_model"
VARIANT_VIEW = "variant_comparison"

COST_SCALE = 9
#: Largest absolute cost a ``DECIMAL(18,9)`` column holds.
MAX_COST = Decimal(10**9) - Decimal(1).scaleb(-COST_SCALE)
_QUANTUM = Decimal(1).scaleb(-COST_SCALE)
# Costs below this in magnitude round (half-even, to COST_SCALE places) to at most MAX_COST.
_COST_LIMIT = MAX_COST + _QUANTUM / 2
_MAX_BIGINT = 2**63 - 1
_MONEY = f"DECIMAL(18,{COST_SCALE})"
# Far above any Kafka record; DuckDB's default (16 MiB) would fail a batch on one large event.
_MAX_RECORD_BYTES = 1 << 30
# read_json expands glob patterns, even in a path that exists as written.
_GLOB_CHARS = re.compile(r"[*?\[\]{}]")


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    sql_type: str
    not_null: bool = True
    added: bool = False
    """Added after the first schema: placed after ``ingested_at``, added to old files."""
    default: str | None = None
    """SQL default, and what the rows stored before an added column get (None: NULL)."""

    def definition(self) -> str:
        return (
            f"{self.name} {self.sql_type}"
            + (f" DEFAULT {self.default}" if self.default is not None else "")
            + (" NOT NULL" if self.not_null else "")
            + (" PRIMARY KEY" if self.name == "event_id" else "")
        )


# In the order of the CostEvent fields (the batch document's order).
_COLUMNS: tuple[_Column, ...] = (
    _Column("event_id", "VARCHAR"),
    _Column("turn_id", "VARCHAR"),
    _Column("tenant_id", "VARCHAR"),
    _Column("session_id", "VARCHAR"),
    _Column("seq", "BIGINT"),
    _Column("produced_at", "TIMESTAMPTZ"),
    _Column("occurred_at", "TIMESTAMPTZ"),
    _Column("gateway", "VARCHAR", not_null=False),
    _Column("request_model", "VARCHAR"),
    _Column("input_tokens", "BIGINT"),
    _Column("output_tokens", "BIGINT"),
    _Column("usage_source", "VARCHAR"),
    _Column("tokenizer", "VARCHAR", not_null=False),
    _Column("cost", _MONEY),
    _Column("currency", "VARCHAR"),
    _Column("price_source", "VARCHAR"),
    _Column("status", "VARCHAR", not_null=False, added=True),
    _Column("latency_ms", "DOUBLE", added=True, default="0"),
    _Column("cached", "BOOLEAN", added=True, default="false"),
    _Column("avoided_cost", _MONEY, added=True, default="0"),
    _Column("use_case", "VARCHAR", not_null=False, added=True),
    _Column("prompt_version", "VARCHAR", not_null=False, added=True),
)
_ADDED = tuple(c for c in _COLUMNS if c.added)
_NAMES = tuple(c.name for c in _COLUMNS)


class CostRow(TypedDict):
    """One cost event as the batch file carries it: the table's columns, storable as they are.

    Money is a decimal string with at most :data:`COST_SCALE` fractional
    digits (:func:`money_text`), so DuckDB's cast to ``DECIMAL(18,9)`` is
    exact; timestamps are aware datetimes or RFC 3339 strings with an offset.
    Build one with :func:`cost_row`, or check every value as strictly.
    """

    event_id: str
    turn_id: str
    tenant_id: str
    session_id: str
    seq: int
    produced_at: datetime | str
    occurred_at: datetime | str
    gateway: str | None
    request_model: str
    input_tokens: int
    output_tokens: int
    usage_source: str
    tokenizer: str | None
    cost: str
    currency: str
    price_source: str
    status: str | None
    latency_ms: float
    cached: bool
    avoided_cost: str
    use_case: str | None
    prompt_version: str | None


def _create_table_sql() -> str:
    cols = [c.definition() for c in _COLUMNS if not c.added]
    cols.append("ingested_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp")
    cols.extend(c.definition() for c in _ADDED)
    return f"CREATE TABLE IF NOT EXISTS {COST_TABLE} (\n    " + ",\n    ".join(cols) + "\n)"


def _missing(present: Collection[str]) -> list[_Column]:
    """The columns a cost table written by an older gwstream lacks, given those it has."""
    return [c for c in _ADDED if c.name not in present]


def _migration_sql(missing: Sequence[_Column]) -> list[str]:
    statements = []
    for c in missing:
        default = f" DEFAULT {c.default}" if c.default is not None else ""
        statements.append(
            f"ALTER TABLE {COST_TABLE} ADD COLUMN IF NOT EXISTS {c.name} {c.sql_type}{default}"
        )
        if c.not_null:
            statements.append(f"ALTER TABLE {COST_TABLE} ALTER COLUMN {c.name} SET NOT NULL")
    return statements


def stored_columns(conn: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The columns of the cost table in ``conn``'s database (empty when it has none)."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?",
        [COST_TABLE],
    ).fetchall()
    return frozenset(str(name) for (name,) in rows)


def cost_source(present: Collection[str]) -> str:
    """The cost table as a relation with every current column, given those it has.

    The table itself when none is missing; otherwise a subquery giving each
    missing column the value a migration would give old rows. For readers that
    open a file read-only and so cannot migrate it.
    """
    missing = _missing(present)
    if not missing:
        return COST_TABLE
    extra = ", ".join(f"CAST({c.default or 'NULL'} AS {c.sql_type}) AS {c.name}" for c in missing)
    return f"(SELECT *, {extra} FROM {COST_TABLE})"


def _insert_sql(*, skip_existing: bool) -> str:
    # Decimals travel as strings (exact); everything else in its own type.
    types = ", ".join(
        f"'{c.name}': '{'VARCHAR' if c.sql_type == _MONEY else c.sql_type}'" for c in _COLUMNS
    )
    values = ", ".join(
        f"CAST({c.name} AS {c.sql_type})" if c.sql_type == _MONEY else c.name for c in _COLUMNS
    )
    return (
        f"INSERT INTO {COST_TABLE} ({', '.join(_NAMES)})\n"
        f"SELECT {values}\n"
        f"FROM read_json($path, format = 'newline_delimited', records = true, "
        f"maximum_object_size = {_MAX_RECORD_BYTES}, columns = {{{types}}})"
        + ("\nON CONFLICT DO NOTHING" if skip_existing else "")
    )


def spend_query(source: str = COST_TABLE) -> str:
    """The spend view's query over ``source`` (see :func:`cost_source`).

    ``unpriced_turns`` leaves refused turns out: they never reached a model,
    so having no price for it is no gap in the figures. ``cached_turns`` and
    ``avoided_cost`` are what the answer cache saved.
    """
    return f"""
SELECT
    tenant_id,
    CAST(timezone('UTC', occurred_at) AS DATE) AS day,
    request_model,
    currency,
    count(*) AS turns,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost) AS cost,
    count(*) FILTER (
        WHERE price_source = 'unpriced' AND status IS DISTINCT FROM 'refused'
    ) AS unpriced_turns,
    count(*) FILTER (WHERE cached) AS cached_turns,
    sum(avoided_cost) AS avoided_cost
FROM {source}
GROUP BY tenant_id, day, request_model, currency
""".strip()


_Z = 1.96
"""Two-sided 95% quantile of the normal distribution."""


def _wilson_margin(rate: str, n: str) -> str:
    """SQL for the 95% margin of ``rate`` (a share of ``n`` trials), from the Wilson score
    interval: half its width plus the distance from its centre to ``rate``, so that
    ``rate +/- margin`` covers the whole interval, which is not centred on the rate."""
    z2 = _Z * _Z
    shrink = f"(1 + {z2} / {n})"
    centre = f"(({rate} + {z2} / (2 * {n})) / {shrink})"
    half = f"({_Z} * sqrt({rate} * (1 - {rate}) / {n} + {z2} / (4 * {n} * {n})) / {shrink})"
    return f"round({half} + abs({centre} - {rate}), 6)"


#: A turn the gateway answered: a call was made and billed (not a cache hit, not refused
#: or failed). Older events without a status count when they have tokens.
_ANSWERED = (
    "NOT cached AND (status IN ('ok', 'invalid_output') OR (status IS NULL AND input_tokens > 0))"
)


def variant_query(source: str = COST_TABLE) -> str:
    """The variant comparison view's query over ``source`` (see :func:`cost_source`).

    One row per tenant, prompt use case, prompt version and currency; turns
    without versioned prompts form the row whose use case and version are
    NULL. Every ``*_margin`` column is the half-width of a 95% interval, so
    ``value +/- margin`` is the interval and two variants differ, roughly,
    only when their intervals do not overlap:

    - ``cost_per_turn`` (the exact sum divided by the turns in floating
      point, rounded to 10^-9) with
      ``cost_sd``, the sample standard deviation of a turn's cost, and
      ``cost_per_turn_margin`` = 1.96 * sd / sqrt(turns), the normal
      approximation (too narrow below some 30 turns; NULL for one turn).
      Cached and refused turns count with what they cost (usually 0), like
      the tokens in ``input_tokens_per_turn`` and ``output_tokens_per_turn``:
      what a variant costs all in.
    - ``answers``: turns the gateway answered (ok or invalid_output, not from
      the cache), and per answer ``input_tokens_per_answer``,
      ``output_tokens_per_answer``, ``cost_per_answer`` and its margin: what
      a variant's prompt costs per call, apart from cache luck and refusals.
    - ``cache_hit_rate`` (cached turns out of all turns), ``refusal_rate``
      (refused) and ``failure_rate`` (failed or invalid_output: no usable
      answer other than a refusal), the last two out of the turns with a
      status (ok + refused + failed + invalid_output; events of gwstream
      versions before statuses were recorded have none). Their margins come
      from the Wilson score interval, which stays honest for small counts
      and rates near 0 or 1, where the normal approximation claims a width
      of 0; a margin is the larger distance from the rate to a bound of the
      Wilson interval, so ``rate +/- margin`` contains it.
    - ``latency_ms_mean``, ``latency_ms_p50`` and ``latency_ms_p95``
      (``quantile_cont``, interpolated), over the turns with a status (older
      events carry no latency).

    Rates and margins are rounded to 6 places, averages of tokens and
    latencies to 3.
    """
    return f"""
WITH counted AS (
    SELECT
        tenant_id,
        use_case,
        prompt_version,
        currency,
        count(*) AS turns,
        count(*) FILTER (WHERE status = 'ok') AS ok,
        count(*) FILTER (WHERE status = 'refused') AS refused,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE status = 'invalid_output') AS invalid_output,
        count(*) FILTER (WHERE cached) AS cached,
        NULLIF(count(status), 0) AS rated_turns,
        count(*) FILTER (WHERE {_ANSWERED}) AS answers,
        avg(input_tokens) FILTER (WHERE {_ANSWERED}) AS input_tokens_per_answer,
        avg(output_tokens) FILTER (WHERE {_ANSWERED}) AS output_tokens_per_answer,
        sum(cost) FILTER (WHERE {_ANSWERED}) AS answer_cost,
        stddev_samp(cost) FILTER (WHERE {_ANSWERED}) AS answer_cost_sd,
        avg(input_tokens) AS input_tokens_per_turn,
        avg(output_tokens) AS output_tokens_per_turn,
        sum(cost) AS cost,
        stddev_samp(cost) AS cost_sd,
        avg(latency_ms) FILTER (WHERE status IS NOT NULL) AS latency_ms_mean,
        quantile_cont(latency_ms, 0.5) FILTER (WHERE status IS NOT NULL) AS latency_ms_p50,
        quantile_cont(latency_ms, 0.95) FILTER (WHERE status IS NOT NULL) AS latency_ms_p95
    FROM {source}
    GROUP BY tenant_id, use_case, prompt_version, currency
),
rated AS (
    SELECT
        *,
        cached / turns AS cache_hit_rate,
        refused / rated_turns AS refusal_rate,
        (failed + invalid_output) / rated_turns AS failure_rate
    FROM counted
)
SELECT
    tenant_id,
    use_case,
    prompt_version,
    currency,
    turns,
    ok,
    refused,
    failed,
    invalid_output,
    cached,
    round(input_tokens_per_turn, 3) AS input_tokens_per_turn,
    round(output_tokens_per_turn, 3) AS output_tokens_per_turn,
    CAST(cost / turns AS DECIMAL(38,{COST_SCALE})) AS cost_per_turn,
    CAST(cost_sd AS DECIMAL(38,{COST_SCALE})) AS cost_sd,
    CAST({_Z} * cost_sd / sqrt(turns) AS DECIMAL(38,{COST_SCALE})) AS cost_per_turn_margin,
    answers,
    round(input_tokens_per_answer, 3) AS input_tokens_per_answer,
    round(output_tokens_per_answer, 3) AS output_tokens_per_answer,
    CAST(answer_cost / NULLIF(answers, 0) AS DECIMAL(38,{COST_SCALE})) AS cost_per_answer,
    CAST(
        {_Z} * answer_cost_sd / sqrt(NULLIF(answers, 0)) AS DECIMAL(38,{COST_SCALE})
    ) AS cost_per_answer_margin,
    round(cache_hit_rate, 6) AS cache_hit_rate,
    {_wilson_margin("cache_hit_rate", "turns")} AS cache_hit_rate_margin,
    round(refusal_rate, 6) AS refusal_rate,
    {_wilson_margin("refusal_rate", "rated_turns")} AS refusal_rate_margin,
    round(failure_rate, 6) AS failure_rate,
    {_wilson_margin("failure_rate", "rated_turns")} AS failure_rate_margin,
    round(latency_ms_mean, 3) AS latency_ms_mean,
    round(latency_ms_p50, 3) AS latency_ms_p50,
    round(latency_ms_p95, 3) AS latency_ms_p95
FROM rated
ORDER BY tenant_id, use_case NULLS LAST, prompt_version NULLS LAST, currency
""".strip()


_VIEWS: tuple[str, ...] = (
    f"CREATE OR REPLACE VIEW {SPEND_VIEW} AS\n{spend_query()}",
    f"CREATE OR REPLACE VIEW {VARIANT_VIEW} AS\n{variant_query()}",
)
_INSERT_NEW = _insert_sql(skip_existing=False)
_INSERT_MISSING = _insert_sql(skip_existing=True)


def storage_problem(event: CostEvent) -> str | None:
    """Why ``event`` cannot be stored in the cost table, or None when it can.

    The payload model accepts values the columns cannot hold (a cost of 1e400,
    a token count past 2^63, an infinite latency). Such an event would fail its
    whole batch on every retry, so callers set it aside before
    :meth:`CostWriter.write_batch`.
    """
    if not abs(event.cost) < _COST_LIMIT:
        return f"cost beyond +/-{MAX_COST}"
    if not abs(event.avoided_cost) < _COST_LIMIT:
        return f"avoided_cost beyond +/-{MAX_COST}"
    if max(event.seq, event.input_tokens, event.output_tokens) > _MAX_BIGINT:
        return "seq or a token count beyond 2^63-1"
    if not math.isfinite(event.latency_ms):
        return "latency_ms not a finite number"
    return None


def money_text(amount: Decimal) -> str:
    """``amount`` as the column stores it: rounded half-even to 10^-9, in plain notation."""
    return format(amount.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN), "f") if amount else "0"


def cost_row(event: CostEvent) -> CostRow:
    """The row of an event that passed :func:`storage_problem`."""
    return CostRow(
        event_id=event.event_id,
        turn_id=event.turn_id,
        tenant_id=event.tenant_id,
        session_id=event.session_id,
        seq=event.seq,
        produced_at=event.produced_at,
        occurred_at=event.occurred_at,
        gateway=event.gateway,
        request_model=event.request_model,
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        usage_source=event.usage_source,
        tokenizer=event.tokenizer,
        cost=money_text(event.cost),
        currency=event.currency,
        price_source=event.price_source,
        status=event.status,
        latency_ms=event.latency_ms,
        cached=event.cached,
        avoided_cost=money_text(event.avoided_cost),
        use_case=event.use_case,
        prompt_version=event.prompt_version,
    )


def _batch_file_folder(database: Path) -> Path:
    """Where batch files go: next to the database, else the system's temporary folder."""
    for folder in (database.resolve().parent, Path(tempfile.gettempdir()).resolve()):
        if not _GLOB_CHARS.search(str(folder)):
            return folder
    raise SinkError(
        f"cannot place the cost sink's batch files: neither the folder of {database} nor the "
        f"temporary folder {tempfile.gettempdir()} is free of the characters * ? [ ] {{ }}; "
        "move the database or set TMPDIR"
    )


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    # A failed COMMIT may already have ended the transaction; the original error matters.
    try:
        conn.execute("ROLLBACK")
    except duckdb.Error:
        logger.debug("rollback after a failed batch found no open transaction")


class CostWriter(Resource):
    """Owns one read-write DuckDB connection to the cost database.

    Construction does nothing; :meth:`open` (or ``with``) creates the file,
    table and views idempotently, migrating a table an older gwstream created;
    :meth:`close` releases the file lock. While open, no other process can
    open the file, not even read-only. One writer must not be used by two
    threads at once.

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
        self._batch_folder: Path | None = None
        # Names the batch files of this database apart from any other's in the folder.
        self._batch_prefix = "." + re.sub(r"[^A-Za-z0-9._-]", "_", database.name) + ".batch-"

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
            self._apply_schema(conn)
        except duckdb.Error as exc:
            conn.close()
            raise SinkError(f"cannot apply the cost schema to {self._database}: {exc}") from exc
        try:
            self._batch_folder = _batch_file_folder(self._database)
        except SinkError:
            conn.close()
            raise
        self._conn = conn
        self._remove_stale_batch_files()
        logger.debug("opened cost database %s", self._database)

    def _apply_schema(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Create or migrate the table, then (re)create the views, all or nothing."""
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(_create_table_sql())
            missing = _missing(stored_columns(conn))
            for statement in _migration_sql(missing):
                conn.execute(statement)
            for statement in _VIEWS:
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        if missing:
            logger.info(
                "cost database %s: added the columns %s (it was written by an older gwstream)",
                self._database,
                ", ".join(c.name for c in missing),
            )

    def _remove_stale_batch_files(self) -> None:
        """Remove batch files a crashed writer of this database left (we hold its lock now)."""
        folder = self._batch_folder
        if folder is None or folder != self._database.resolve().parent:
            return  # the shared temporary folder: leave other files alone
        for name in os.listdir(folder):
            if name.startswith(self._batch_prefix) and name.endswith(".ndjson"):
                with contextlib.suppress(OSError):
                    (folder / name).unlink()
                logger.info("removed the stale cost batch file %s", folder / name)

    @contextlib.contextmanager
    def _batch_file(self, content: bytes) -> Iterator[str]:
        """A private file holding ``content`` for the duration of the block, then removed."""
        fd, name = tempfile.mkstemp(
            prefix=self._batch_prefix, suffix=".ndjson", dir=self._batch_folder
        )
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            yield name
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

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
        """Store ``rows`` in one transaction; return how many were new.

        Like :meth:`write_batch`, for rows built by :func:`cost_row` or checked
        as strictly (the sink's parser does that without building events).
        """
        unique: dict[str, CostRow] = {}
        for row in rows:
            unique.setdefault(row["event_id"], row)
        if not unique:
            return 0
        content = b"\n".join(map(orjson.dumps, unique.values()))
        self._connection()
        with self._batch_file(content) as path:
            if not self._expect_duplicates:
                try:
                    return self._insert(_INSERT_NEW, path)
                except duckdb.ConstraintException:
                    logger.debug("batch repeats stored events; storing only the new ones")
            inserted = self._insert(_INSERT_MISSING, path)
        self._expect_duplicates = inserted < len(unique)
        return inserted

    def _insert(self, statement: str, path: str) -> int:
        conn = self._connection()
        conn.execute("BEGIN TRANSACTION")
        try:
            row = conn.execute(statement, {"path": path}).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        return int(row[0]) if row else 0

    def count(self) -> int:
        """Rows in the cost table."""
        row = self._connection().execute(f"SELECT count(*) FROM {COST_TABLE}").fetchone()
        return int(row[0]) if row else 0
