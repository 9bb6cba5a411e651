"""Reports read from the cost database, rendered as a table, CSV or JSON.

Two reports: spend per tenant, day and model (with what the answer cache
saved), and the comparison of prompt variants (:data:`VARIANT_COLUMNS`, whose
intervals :func:`~gwstream.sink.writer.variant_query` defines).

Reports open the database read-only. DuckDB lets one process hold a file for
writing and nobody else read it meanwhile, so a report on the file of a
running sink fails with an error saying so (the HTTP API is the way to read
while the sink runs).

Money stays ``Decimal`` from the database to the output: CSV and JSON carry
costs as plain decimal strings, never floats. Totals are per currency, since
amounts in different currencies do not add up. A file an older gwstream wrote
(without the columns added since) is read as it is: the missing columns count
with their defaults, as they will once a sink migrates the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
from rich.console import Console
from rich.table import Table

from gwstream.errors import SinkError
from gwstream.sink.writer import (
    COST_TABLE,
    SPEND_VIEW,
    VARIANT_VIEW,
    cost_source,
    spend_query,
    stored_columns,
    variant_query,
)

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
    "cached_turns",
    "avoided_cost",
)
_SUMMED = (
    "turns",
    "input_tokens",
    "output_tokens",
    "cost",
    "unpriced_turns",
    "cached_turns",
    "avoided_cost",
)
_MONEY = frozenset({"cost", "avoided_cost"})
_NUMERIC = frozenset(_SUMMED)
_TABLE_WIDTH = 160
# Eighteen columns, two of them "value ± margin": narrower folds the figures.
_VARIANTS_TABLE_WIDTH = 240

#: Columns of a variant comparison row, in output order (every ``*_margin`` is
#: the half-width of a 95% interval; see :func:`~gwstream.sink.writer.variant_query`).
VARIANT_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "use_case",
    "prompt_version",
    "currency",
    "turns",
    "ok",
    "refused",
    "failed",
    "invalid_output",
    "cached",
    "input_tokens_per_turn",
    "output_tokens_per_turn",
    "cost_per_turn",
    "cost_sd",
    "cost_per_turn_margin",
    "answers",
    "input_tokens_per_answer",
    "output_tokens_per_answer",
    "cost_per_answer",
    "cost_per_answer_margin",
    "cache_hit_rate",
    "cache_hit_rate_margin",
    "refusal_rate",
    "refusal_rate_margin",
    "failure_rate",
    "failure_rate_margin",
    "latency_ms_mean",
    "latency_ms_p50",
    "latency_ms_p95",
)
VARIANTS_NOTE = (
    "Each ± is a 95% interval (costs: normal approximation; rates: Wilson). Per turn: "
    "everything, cache hits and refusals included; per answer: the turns the gateway "
    "answered. "
    "Two variants differ, roughly, only if their intervals do not overlap; "
    "few turns make wide intervals."
)


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
    """Name -> ``BASE TABLE`` or ``VIEW`` for the relations the reports read."""
    rows = conn.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name IN (?, ?, ?)",
        [COST_TABLE, SPEND_VIEW, VARIANT_VIEW],
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _read(
    database: Path,
    *,
    what: str,
    view: str,
    query: Callable[[str], str],
    columns: Sequence[str],
    order_by: str,
) -> list[dict[str, Any]]:
    """Rows of ``view``, or of ``query`` where the view is missing or the file is older."""
    conn = _connect_read_only(database)
    try:
        kinds = _relation_kinds(conn)
        if kinds.get(COST_TABLE) != "BASE TABLE":
            raise SinkError(
                f"cost database {database} has no {COST_TABLE} table; "
                "is it a gwstream cost database? Run the cost sink on it first"
            )
        # The writer migrates the table and replaces the views whenever it opens a file,
        # so a table with every current column has current views. A file an older
        # gwstream left has older views, or none: its rows are read through the query.
        source = cost_source(stored_columns(conn))
        current = source == COST_TABLE and kinds.get(view) == "VIEW"
        relation = view if current else f"({query(source)})"
        cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {relation} ORDER BY {order_by}")
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise SinkError(f"cannot read the {what} from {database}: {exc}") from exc
    finally:
        conn.close()


def spend_report(database: Path) -> list[dict[str, Any]]:
    """Spend per tenant, UTC day, model and currency, ordered by tenant, day, model.

    Each row maps :data:`SPEND_COLUMNS` to values: ``day`` a ``date``, counts
    ``int``, ``cost`` and ``avoided_cost`` ``Decimal``. Raises
    :class:`SinkError` naming the file when it is missing, locked, not a DuckDB
    database, or has no cost table.
    """
    return _read(
        database,
        what="spend report",
        view=SPEND_VIEW,
        query=spend_query,
        columns=SPEND_COLUMNS,
        order_by="tenant_id, day, request_model, currency",
    )


def variant_report(database: Path) -> list[dict[str, Any]]:
    """The prompt variants side by side, ordered by tenant, use case, version, currency.

    Each row maps :data:`VARIANT_COLUMNS` to values: counts ``int``; the cost
    columns ``Decimal`` (spread and margin None for a single turn); averages,
    rates, margins and latencies ``float`` (those of refusals, failures and
    latencies None where no turn has a status). Turns without versioned
    prompts make the rows whose ``use_case`` and ``prompt_version`` are None,
    after the others. Raises :class:`SinkError` like :func:`spend_report`.
    """
    return _read(
        database,
        what="variant comparison",
        view=VARIANT_VIEW,
        query=variant_query,
        columns=VARIANT_COLUMNS,
        order_by="tenant_id, use_case NULLS LAST, prompt_version NULLS LAST, currency",
    )


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
            row["currency"], {name: Decimal(0) if name in _MONEY else 0 for name in _SUMMED}
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


def _plain(table: Table, note: str | None, *, width: int = _TABLE_WIDTH) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
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


# The variants table: what CSV and JSON hold, each value with its margin under it.
_VARIANT_COUNTS = (
    ("turns", "turns"),
    ("ok", "ok"),
    ("refused", "refused"),
    ("failed", "failed"),
    ("invalid", "invalid_output"),
    ("cached", "cached"),
)
_VARIANT_RATES = (
    ("cache hit", "cache_hit_rate"),
    ("refusal", "refusal_rate"),
    ("failure", "failure_rate"),
)


def _plus_minus(value: Any, margin: Any, text: Callable[[Any], str]) -> str:
    if value is None:
        return ""
    return f"{text(value)}\n± {'n/a' if margin is None else text(margin)}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _render_variants_table(rows: Sequence[Mapping[str, Any]]) -> str:
    table = Table(title="Prompt variants per tenant and use case (95% intervals)")
    for header in ("tenant", "use case", "version", "currency"):
        table.add_column(header, overflow="fold")
    for header, _ in _VARIANT_COUNTS:
        table.add_column(header, justify="right")
    for header in ("cost/turn", "answers", "in tokens\n/answer", "out tokens\n/answer"):
        table.add_column(header, justify="right")
    table.add_column("cost/answer", justify="right")
    for header, _ in _VARIANT_RATES:
        table.add_column(header, justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    for row in rows:
        table.add_row(
            row["tenant_id"],
            row["use_case"] or "(none)",
            row["prompt_version"] or "(none)",
            row["currency"],
            *(str(row[name]) for _, name in _VARIANT_COUNTS),
            _plus_minus(row["cost_per_turn"], row["cost_per_turn_margin"], _text),
            str(row["answers"]),
            _number(row["input_tokens_per_answer"]),
            _number(row["output_tokens_per_answer"]),
            _plus_minus(row["cost_per_answer"], row["cost_per_answer_margin"], _text),
            *(
                _plus_minus(row[name], row[f"{name}_margin"], _percent)
                for _, name in _VARIANT_RATES
            ),
            _number(row["latency_ms_p50"]),
            _number(row["latency_ms_p95"]),
        )
    return _plain(table, VARIANTS_NOTE if rows else "No cost events.", width=_VARIANTS_TABLE_WIDTH)


def render_variants(rows: Sequence[Mapping[str, Any]], fmt: ReportFormat) -> str:
    """Render variant comparison rows (:func:`variant_report`).

    ``csv`` and ``json`` carry every column of :data:`VARIANT_COLUMNS`, costs
    as exact decimal strings and missing values empty or null; ``table`` shows
    each figure with its margin (``value ± margin``, rates in percent) and a
    line under it on reading the intervals.
    """
    if fmt == "table":
        return _render_variants_table(rows)
    if fmt == "csv":
        return _render_csv(rows, VARIANT_COLUMNS)
    if fmt == "json":
        return _render_json(rows)
    raise ValueError(f"unknown report format {fmt!r}; use table, csv or json")
