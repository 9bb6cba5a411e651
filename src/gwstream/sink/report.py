"""Spend reports read from the cost database, rendered as a table, CSV or JSON.

Reports open the database read-only. DuckDB lets one process hold a file for
writing and nobody else read it meanwhile, so a report on the file of a
running sink fails with an error saying so (the HTTP API is the way to read
while the sink runs).

Money stays ``Decimal`` from the database to the output: CSV and JSON carry
costs as plain decimal strings, never floats. Totals are per currency, since
amounts in different currencies do not add up.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
from rich.console import Console
from rich.table import Table

from gwstream.errors import SinkError
from gwstream.sink.writer import COST_TABLE, SPEND_QUERY, SPEND_VIEW

ReportFormat = Literal["table", "csv", "json"]

#: Columns of a spend report row, in output order.
SPEND_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "day",
    "request_model",
    "currency",
    "turns",
    "input_tokens",
    "output_tokens",
    "cost",
    "unpriced_turns",
)
_SUMMED = ("turns", "input_tokens", "output_tokens", "cost", "unpriced_turns")
_NUMERIC = frozenset(_SUMMED)
_TABLE_WIDTH = 160


def _connect_read_only(database: Path) -> duckdb.DuckDBPyConnection:
    if not database.is_file():
        raise SinkError(f"cost database {database} does not exist; run the cost sink first")
    try:
        return duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise SinkError(
            f"cannot open cost database {database} read-only (is a sink holding it, "
            f"or is it not a DuckDB file?): {exc}"
        ) from exc


def _relation_kinds(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Name -> ``BASE TABLE`` or ``VIEW`` for the relations the report needs."""
    rows = conn.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name IN (?, ?)",
        [COST_TABLE, SPEND_VIEW],
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def spend_report(database: Path) -> list[dict[str, Any]]:
    """Spend per tenant, UTC day, model and currency, ordered by tenant, day, model.

    Each row maps :data:`SPEND_COLUMNS` to values: ``day`` a ``date``, counts
    ``int``, ``cost`` a ``Decimal``. Raises :class:`SinkError` naming the file
    when it is missing, locked, not a DuckDB database, or has no cost table.
    """
    conn = _connect_read_only(database)
    try:
        kinds = _relation_kinds(conn)
        if kinds.get(COST_TABLE) != "BASE TABLE":
            raise SinkError(
                f"cost database {database} has no {COST_TABLE} table; "
                "is it a gwstream cost database? Run the cost sink on it first"
            )
        # A database written by an older gwstream may lack the view; its query still works.
        source = SPEND_VIEW if kinds.get(SPEND_VIEW) == "VIEW" else f"({SPEND_QUERY})"
        cursor = conn.execute(
            f"SELECT {', '.join(SPEND_COLUMNS)} FROM {source} "
            "ORDER BY tenant_id, day, request_model, currency"
        )
        return [dict(zip(SPEND_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise SinkError(f"cannot read the spend report from {database}: {exc}") from exc
    finally:
        conn.close()


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            row["currency"], {name: Decimal(0) if name == "cost" else 0 for name in _SUMMED}
        )
        for name in _SUMMED:
            total[name] += row[name]
    return totals


def _render_table(rows: Sequence[Mapping[str, Any]]) -> str:
    table = Table(title="Spend by tenant, day and model (UTC days)")
    for name in SPEND_COLUMNS:
        table.add_column(name, justify="right" if name in _NUMERIC else "left")
    for row in rows:
        table.add_row(*(_text(row[name]) for name in SPEND_COLUMNS))
    totals = _totals(rows)
    if totals:
        table.add_section()
    for currency, total in sorted(totals.items()):
        table.add_row(
            "Total",
            "",
            "",
            currency,
            *(_text(total[name]) for name in _SUMMED),
            style="bold",
        )
    return _plain(table, "No cost events." if not rows else None)


def _plain(table: Table, note: str | None) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=_TABLE_WIDTH, color_system=None, force_terminal=False)
    console.print(table)
    if note:
        console.print(note)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _render_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = SPEND_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(row[name]) for name in columns])
    return buffer.getvalue()


def render_view(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: ReportFormat,
    *,
    title: str,
    empty: str,
) -> str:
    """Render rows of any report view (no totals) as a table, CSV or JSON."""
    if fmt == "csv":
        return _render_csv(rows, columns)
    if fmt == "json":
        return _render_json(rows)
    if fmt != "table":
        raise ValueError(f"unknown report format {fmt!r}; use table, csv or json")
    table = Table(title=title)
    for name in columns:
        numeric = bool(rows) and isinstance(rows[0].get(name), int | float | Decimal)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(_text(row[name]) for name in columns))
    return _plain(table, empty if not rows else None)


def _render_json(rows: Sequence[Mapping[str, Any]]) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, Decimal | date):
            return _text(value)
        raise TypeError(f"cannot encode {type(value).__name__} in a report")

    return json.dumps([dict(row) for row in rows], default=encode, indent=2) + "\n"


def render(rows: Sequence[Mapping[str, Any]], fmt: ReportFormat) -> str:
    """Render spend report rows; costs are exact decimal strings in every format.

    ``table`` is a plain-text table (no colour codes) with a total row per
    currency; ``csv`` has a header row; ``json`` is an array of objects.
    """
    if fmt == "table":
        return _render_table(rows)
    if fmt == "csv":
        return _render_csv(rows)
    if fmt == "json":
        return _render_json(rows)
    raise ValueError(f"unknown report format {fmt!r}; use table, csv or json")
