"""The cost database's tables, and the migrations that bring any older file up to date.

Three tables, each keyed by event id (the sink delivers at least once; the
key makes a replay harmless):

- ``cost_events``: one row per turn's cost event;
- ``audit_events``: one row per turn's audit event: the gateway outcome,
  attempts, latency, the guardrails' findings (counts per type, never a
  value), whether the turn was replayed from state or answered from the cache;
- ``budget_notices``: a tenant's spend crossing its soft threshold or limit;

and the vendors' own usage figures that :mod:`gwstream.reconcile` pulls
(``vendor_metrics``, ``vendor_pulls``), for the ``reconciliation`` view.

``gwstream_schema`` records each migration applied (version, description,
when). A file from before it existed gets its version from its columns: no
cost table is version 0, a cost table without ``status`` version 1, one with
it version 2. Opening a file read-write applies the missing migrations in one
transaction (:func:`migrate`); readers that open read-only check the version
(:func:`stored_version`) and ask for a migration when it is behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import duckdb

SCHEMA_TABLE = "gwstream_schema"
COST_TABLE = "cost_events"
AUDIT_TABLE = "audit_events"
NOTICE_TABLE = "budget_notices"

COST_SCALE = 9
MONEY = f"DECIMAL(18,{COST_SCALE})"
#: Largest absolute amount a money column holds.
MAX_MONEY = Decimal(10**9) - Decimal(1).scaleb(-COST_SCALE)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql_type: str
    not_null: bool = True
    since: int = 1
    """The schema version that added the column; later ones go after ``ingested_at``."""
    default: str | None = None
    """SQL default, and what rows stored before the column existed get (None: NULL)."""

    def definition(self, *, key: bool = False) -> str:
        return (
            f"{self.name} {self.sql_type}"
            + (f" DEFAULT {self.default}" if self.default is not None else "")
            + (" NOT NULL" if self.not_null else "")
            + (" PRIMARY KEY" if key else "")
        )


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    """In the order of the rows' fields (the batch files' order)."""
    since: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def create_sql(self) -> str:
        """The table as version :attr:`since` created it (later columns come by ALTER)."""
        first = [
            c.definition(key=c.name == "event_id") for c in self.columns if c.since <= self.since
        ]
        first.append("ingested_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n    " + ",\n    ".join(first) + "\n)"

    def added(self, version: int) -> list[Column]:
        return [c for c in self.columns if c.since == version and version > self.since]


def _c(
    name: str, sql_type: str, *, null: bool = False, since: int = 1, default: str | None = None
) -> Column:
    return Column(name, sql_type, not_null=not null, since=since, default=default)


COSTS = Table(
    COST_TABLE,
    (
        _c("event_id", "VARCHAR"),
        _c("turn_id", "VARCHAR"),
        _c("tenant_id", "VARCHAR"),
        _c("session_id", "VARCHAR"),
        _c("seq", "BIGINT"),
        _c("produced_at", "TIMESTAMPTZ"),
        _c("occurred_at", "TIMESTAMPTZ"),
        _c("gateway", "VARCHAR", null=True),
        _c("request_model", "VARCHAR"),
        _c("input_tokens", "BIGINT"),
        _c("output_tokens", "BIGINT"),
        _c("usage_source", "VARCHAR"),
        _c("tokenizer", "VARCHAR", null=True),
        _c("cost", MONEY),
        _c("currency", "VARCHAR"),
        _c("price_source", "VARCHAR"),
        _c("status", "VARCHAR", null=True, since=2),
        _c("latency_ms", "DOUBLE", since=2, default="0"),
        _c("cached", "BOOLEAN", since=2, default="false"),
        _c("avoided_cost", MONEY, since=2, default="0"),
        _c("use_case", "VARCHAR", null=True, since=2),
        _c("prompt_version", "VARCHAR", null=True, since=2),
        _c("cached_input_tokens", "BIGINT", since=3, default="0"),
        _c("price_version", "VARCHAR", null=True, since=3),
        _c("budget_mode", "VARCHAR", null=True, since=3),
        _c("session_tokens_used", "BIGINT", null=True, since=3),
        _c("session_tokens_left", "BIGINT", null=True, since=3),
        _c("tenant_limit_day", MONEY, null=True, since=3),
        _c("tenant_limit_month", MONEY, null=True, since=3),
    ),
    since=1,
)

AUDITS = Table(
    AUDIT_TABLE,
    (
        _c("event_id", "VARCHAR"),
        _c("turn_id", "VARCHAR"),
        _c("tenant_id", "VARCHAR"),
        _c("session_id", "VARCHAR"),
        _c("seq", "BIGINT"),
        _c("produced_at", "TIMESTAMPTZ"),
        _c("status", "VARCHAR"),
        _c("outcome", "VARCHAR"),
        _c("reason", "VARCHAR", null=True),
        _c("gateway", "VARCHAR", null=True),
        _c("endpoint", "VARCHAR", null=True),
        _c("attempts", "BIGINT"),
        _c("latency_ms", "DOUBLE"),
        _c("replayed", "BOOLEAN"),
        _c("cache", "VARCHAR", null=True),
        _c("use_case", "VARCHAR", null=True),
        _c("prompt_version", "VARCHAR", null=True),
        _c("budget_mode", "VARCHAR", null=True),
        _c("injection_score", "DOUBLE", null=True),
        _c("injection_rule", "VARCHAR", null=True),
        _c("injection_action", "VARCHAR", null=True),
        _c("input_pii", "MAP(VARCHAR, BIGINT)", null=True),
        _c("output_pii", "MAP(VARCHAR, BIGINT)", null=True),
    ),
    since=3,
)

NOTICES = Table(
    NOTICE_TABLE,
    (
        _c("event_id", "VARCHAR"),
        _c("turn_id", "VARCHAR"),
        _c("tenant_id", "VARCHAR"),
        _c("session_id", "VARCHAR"),
        _c("produced_at", "TIMESTAMPTZ"),
        _c("period", "VARCHAR"),
        _c("budget_window", "VARCHAR"),
        _c("level", "VARCHAR"),
        _c("spend", MONEY),
        _c("spend_limit", MONEY),
        _c("threshold", "DOUBLE"),
        _c("currency", "VARCHAR"),
    ),
    since=3,
)

TABLES: tuple[Table, ...] = (COSTS, AUDITS, NOTICES)

VENDOR_TABLE = "vendor_metrics"
PULLS_TABLE = "vendor_pulls"
#: The vendor metrics reconciliation stores (:mod:`gwstream.reconcile`): one row per vendor
#: call, keyed by (vendor, gateway, request_id, call_key); and one row per finished pull.
#: ``pulled_at`` comes last; rows are inserted in this column order.
VENDOR_COLUMNS: tuple[tuple[str, str, bool], ...] = (
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
_VENDOR_DDL = (
    f"CREATE TABLE IF NOT EXISTS {VENDOR_TABLE} (\n    "
    + ",\n    ".join(f"{n} {t}{' NOT NULL' if nn else ''}" for n, t, nn in VENDOR_COLUMNS)
    + ",\n    PRIMARY KEY (vendor, gateway, request_id, call_key)\n)",
    f"""CREATE TABLE IF NOT EXISTS {PULLS_TABLE} (
    vendor VARCHAR NOT NULL,
    gateway VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    pages BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL
)""",
)
#: Statements of a migration beyond the event tables' (created if missing: files where an
#: older gwstream pulled vendor metrics already have them).
_EXTRA: dict[int, tuple[str, ...]] = {3: _VENDOR_DDL}


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "cost_events: one row per cost event"),
    Migration(2, "cost_events: the turn's status, latency, cache and prompt variant"),
    Migration(
        3,
        "cost_events: cached input tokens, price version, budget; audit_events and budget_notices",
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _statements(version: int) -> list[str]:
    out: list[str] = []
    for table in TABLES:
        if table.since == version:
            out.append(table.create_sql())
        for c in table.added(version):
            default = f" DEFAULT {c.default}" if c.default is not None else ""
            out.append(
                f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {c.name} {c.sql_type}{default}"
            )
            if c.not_null:
                out.append(f"ALTER TABLE {table.name} ALTER COLUMN {c.name} SET NOT NULL")
    out.extend(_EXTRA.get(version, ()))
    return out


def _relations(conn: duckdb.DuckDBPyConnection) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {str(name) for (name,) in rows}


def stored_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The schema version of ``conn``'s database (0: no gwstream tables yet)."""
    relations = _relations(conn)
    if SCHEMA_TABLE in relations:
        row = conn.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    if COST_TABLE not in relations:
        return 0
    columns = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?",
        [COST_TABLE],
    ).fetchall()
    return 2 if ("status",) in columns else 1


def migrate(conn: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply the migrations ``conn``'s database lacks, inside the caller's transaction.

    Returns those applied (none when the file is current). A file newer than
    this gwstream raises ValueError: its tables may mean what this code cannot read.
    """
    version = stored_version(conn)
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"the database has schema version {version}; this gwstream knows up to "
            f"{SCHEMA_VERSION}: upgrade gwstream to read it"
        )
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} ("
        "version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
    )
    recorded = {int(v) for (v,) in conn.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchall()}
    applied = []
    for m in MIGRATIONS:
        if m.version > version:
            for statement in _statements(m.version):
                conn.execute(statement)
            applied.append(m)
        if m.version not in recorded:
            conn.execute(
                f"INSERT INTO {SCHEMA_TABLE} (version, description) VALUES (?, ?)",
                [m.version, m.description if m.version > version else m.description + " (found)"],
            )
    return applied


def missing_migrations(version: int) -> Sequence[Migration]:
    return [m for m in MIGRATIONS if m.version > version]
