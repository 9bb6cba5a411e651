"""Reports read from the cost database, rendered as a table, CSV or JSON.

Two reports: spend per tenant, day and model (with what the answer cache
saved), and the comparison of prompt variants (:data:`VARIANT_COLUMNS`, whose
intervals :func:`~gwstream.sink.writer.variant_query` defines).

Reports read the file read-only when no sink holds it; DuckDB lets one
process hold a file for writing and nobody else read it meanwhile, so while
a sink runs, reports go through its HTTP API (:mod:`gwstream.sink.api`,
:mod:`gwstream.sink.client`). A file an older gwstream wrote is migrated
first, as a sink would on start.

Money stays ``Decimal`` from the database to the output: CSV and JSON carry
costs as plain decimal strings, never floats. Totals are per currency, since
amounts in different currencies do not add up.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
from rich.console import Console
from rich.table import Table

from gwstream.config import SinkSettings
from gwstream.errors import SinkError
from gwstream.sink.client import api_url, fetch_parquet, fetch_view
from gwstream.sink.schema import COST_TABLE, SCHEMA_VERSION, stored_version
from gwstream.sink.views import (
    NO_FILTERS,
    VARIANT_COLUMNS,
    VIEWS,
    Filters,
    ViewResult,
    read_view,
    write_parquet,
)
from gwstream.sink.writer import CostWriter

ReportFormat = Literal["table", "csv", "json"]

_NO_ROWS = "No cost events. (None are stored yet, or none match the filters.)"

#: Columns of a spend report row, in output order.
SPEND_COLUMNS: tuple[str, ...] = VIEWS["spend"].columns
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
# Eighteen columns, five of them two lines high: narrower folds the figures.
_VARIANTS_TABLE_WIDTH = 240

VARIANTS_NOTE = (
    "Costs: value ± a 95% interval (normal approximation); rates: the value over its "
    "95% Wilson interval, low-high. Per turn: "
    "everything, cache hits and refusals included; per answer: the turns the gateway "
    "answered. "
    "Two variants differ, roughly, only if their intervals do not overlap; "
    "few turns make wide intervals."
)


#: What to do when a running sink holds the file, for a command that can read its API.
READ_THROUGH_API = "leave out --database to read through its API"


def open_read_only(database: Path, *, if_held: str = READ_THROUGH_API) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``database``, migrated first if an older gwstream wrote it.

    Raises :class:`SinkError` naming the file when it is missing, held by a
    running sink (read through its HTTP API then), not a DuckDB database, or
    has no cost table.
    """
    if not database.is_file():
        raise SinkError(
            f"cost database {database} does not exist: run the cost sink first, or name "
            "another file with --database (sink.database)"
        )
    conn = _connect(database, if_held)
    try:
        version = stored_version(conn)
    except duckdb.Error as exc:
        conn.close()
        raise SinkError(f"cannot read cost database {database}: {exc}") from exc
    if version == 0:
        conn.close()
        raise SinkError(
            f"cost database {database} has no {COST_TABLE} table; "
            "is it a gwstream cost database? Run the cost sink on it first"
        )
    if version < SCHEMA_VERSION:
        # Nobody holds the file (we could open it), so bring it up to date, as a sink would.
        conn.close()
        writer = CostWriter(database)
        writer.open()
        writer.close()
        conn = _connect(database, if_held)
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def _connect(database: Path, if_held: str) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise SinkError(
            f"cannot open cost database {database} read-only (is a sink holding it? then "
            f"{if_held}; or is it not a DuckDB file?): {exc}"
        ) from exc


def read_report(
    database: Path, view: str, filters: Filters = NO_FILTERS, *, if_held: str = READ_THROUGH_API
) -> ViewResult:
    """The rows of ``view`` (a name of :data:`~gwstream.sink.views.VIEWS`) from the file."""
    if view not in VIEWS:
        raise SinkError(f"no report view {view!r}; views: {', '.join(VIEWS)}")
    conn = open_read_only(database, if_held=if_held)
    try:
        return read_view(conn, view, filters)
    except duckdb.Error as exc:
        raise SinkError(f"cannot read the {view} view from {database}: {exc}") from exc
    finally:
        conn.close()


def spend_report(database: Path, filters: Filters = NO_FILTERS) -> list[dict[str, Any]]:
    """Spend per tenant, UTC day, model and currency, ordered by tenant, day, model.

    Each row maps :data:`SPEND_COLUMNS` to values: ``day`` a ``date``, counts
    ``int``, ``cost`` and ``avoided_cost`` ``Decimal``. Raises
    :class:`SinkError` like :func:`open_read_only`.
    """
    return read_report(database, "spend", filters).rows


def variant_report(database: Path, filters: Filters = NO_FILTERS) -> list[dict[str, Any]]:
    """The prompt variants side by side, ordered by tenant, use case, version, currency.

    Each row maps :data:`VARIANT_COLUMNS` to values: counts ``int``; the cost
    columns ``Decimal`` (spread and margin None for a single turn); averages,
    rates, margins and latencies ``float`` (those of refusals, failures and
    latencies None where no turn has a status). Turns without versioned
    prompts make the rows whose ``use_case`` and ``prompt_version`` are None,
    after the others. Raises :class:`SinkError` like :func:`spend_report`.
    """
    return read_report(database, "variants", filters).rows


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # Positional, as a spreadsheet reads it: 5e-06 is written 0.000005.
        text = repr(value)
        return format(value, ".15f").rstrip("0").rstrip(".") if "e" in text else text
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
    return _plain(table, _NO_ROWS if not rows else None)


def _plain(table: Table, note: str | None, *, width: int = _TABLE_WIDTH) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(table)
    if note:
        console.print(note)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = SPEND_COLUMNS) -> str:
    """Rows as CSV with a header; money as exact decimal strings, dates ISO, None empty."""
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
        return csv_text(rows, columns)
    if fmt == "json":
        return _render_json(rows)
    if fmt != "table":
        raise ValueError(f"unknown report format {fmt!r}; use table, csv or json")
    table = Table(title=title)
    for name in columns:
        numeric = bool(rows) and isinstance(rows[0].get(name), int | float | Decimal)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    cells = [[_text(row[name]) for name in columns] for row in rows]
    for line in cells:
        table.add_row(*line)
    # As wide as the widest cells need (a figure folded over two lines misleads), at least
    # the usual width; a pager or a wide terminal shows it whole.
    need = sum(
        max([len(name), *(len(line[i]) for line in cells)]) + 3 for i, name in enumerate(columns)
    )
    return _plain(table, empty if not rows else None, width=max(_TABLE_WIDTH, need + 1))


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
        return csv_text(rows)
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


def _between(value: Any, low: Any, high: Any) -> str:
    """A rate with its interval, which is not centred on it (Wilson)."""
    if value is None:
        return ""
    return f"{_percent(value)}\n{_percent(low)}-{_percent(high)}"


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
                _between(row[name], row[f"{name}_low"], row[f"{name}_high"])
                for _, name in _VARIANT_RATES
            ),
            _number(row["latency_ms_p50"]),
            _number(row["latency_ms_p95"]),
        )
    return _plain(table, VARIANTS_NOTE if rows else _NO_ROWS, width=_VARIANTS_TABLE_WIDTH)


def render_variants(rows: Sequence[Mapping[str, Any]], fmt: ReportFormat) -> str:
    """Render variant comparison rows (:func:`variant_report`).

    ``csv`` and ``json`` carry every column of :data:`VARIANT_COLUMNS`, costs
    as exact decimal strings and missing values empty or null; ``table`` shows
    costs with their margin (``value ± margin``), rates in percent over their
    interval (``low-high``), and a
    line under it on reading the intervals.
    """
    if fmt == "table":
        return _render_variants_table(rows)
    if fmt == "csv":
        return csv_text(rows, VARIANT_COLUMNS)
    if fmt == "json":
        return _render_json(rows)
    raise ValueError(f"unknown report format {fmt!r}; use table, csv or json")


def render_result(result: ViewResult, fmt: ReportFormat) -> str:
    """Render any view's rows: spend with totals, variants with margins, others plainly."""
    if result.view == "spend":
        return render(result.rows, fmt)
    if result.view == "variants":
        return render_variants(result.rows, fmt)
    view = VIEWS[result.view]
    return render_view(result.rows, result.columns, fmt, title=view.description, empty="No rows.")


def read_anywhere(
    view: str,
    filters: Filters,
    *,
    database: Path | None,
    sink: SinkSettings,
    url: str | None = None,
) -> tuple[ViewResult, str]:
    """``view``'s rows, and where they came from: the running sink's API, else the file.

    ``database`` given: the file, always. ``url`` given: that API, always.
    Otherwise the API at ``sink.api_host:api_port`` when a sink answers
    there, else ``sink.database``.
    """
    if view not in VIEWS:
        raise SinkError(f"no report view {view!r}; views: {', '.join(VIEWS)}")
    fetched = _from_api(database, sink, url, lambda at: fetch_view(at, view, filters))
    if fetched is not None:
        return fetched
    hint = _if_held(database, sink)
    database = database or sink.database
    return read_report(database, view, filters, if_held=hint), str(database)


def _if_held(database: Path | None, sink: SinkSettings) -> str:
    """What to do when a sink holds the file a report (or export) was about to read."""
    if database is not None:
        return READ_THROUGH_API
    at = api_url(sink)
    if at is None:
        return (
            "its API is off (sink.api_port is empty): give the sink an api_port to read "
            "through it, or stop the sink"
        )
    return f"no sink answered at {at}: pass --url with the address of the one holding it"


_T = TypeVar("_T")


def _from_api(
    database: Path | None, sink: SinkSettings, url: str | None, fetch: Callable[[str], _T | None]
) -> tuple[_T, str] | None:
    """What ``fetch`` got from the running sink's API, and its address; None: read the file.

    ``database`` given: the file, always. ``url`` given: that API, always (no sink
    answering there is an error). Otherwise the API at ``sink.api_host:api_port`` when a
    sink answers there.
    """
    if database is not None:
        return None
    target = url or api_url(sink)
    if target is None:
        return None
    got = fetch(target)
    if got is not None:
        return got, target
    if url is not None:
        raise SinkError(f"no sink answers at {url}")
    return None


def parquet_rows(path: Path) -> int:
    """Rows in the Parquet file at ``path``."""
    with duckdb.connect() as conn:
        row = conn.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(path)}).fetchone()
    return int(row[0]) if row else 0


def export_anywhere(
    view: str,
    filters: Filters,
    output: Path,
    *,
    database: Path | None,
    sink: SinkSettings,
    url: str | None = None,
) -> str:
    """Write ``view`` as Parquet to ``output`` (DuckDB's writer); return where it was read."""
    if view not in VIEWS:
        raise SinkError(f"no view {view!r}; views: {', '.join(VIEWS)}")
    fetched = _from_api(database, sink, url, lambda at: fetch_parquet(at, view, filters))
    if fetched is not None:
        body, target = fetched
        _write_atomically(output, body)
        return target
    hint = _if_held(database, sink)
    database = database or sink.database
    conn = open_read_only(database, if_held=hint)
    try:
        partial = output.with_name(f".{output.name}.partial")
        write_parquet(conn, VIEWS[view], filters, str(partial))
        os.replace(partial, output)
    except duckdb.Error as exc:
        raise SinkError(f"cannot export {view} from {database}: {exc}") from exc
    finally:
        conn.close()
    return str(database)


def _write_atomically(output: Path, body: bytes) -> None:
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_bytes(body)
        os.replace(partial, output)
    except OSError as exc:
        raise SinkError(f"cannot write {output}: {exc.strerror}") from exc
