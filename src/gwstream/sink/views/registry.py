"""Every view by name (:data:`VIEWS`), and the one way to read them
(:func:`read_view` / :func:`view_sql`) or to create them, unfiltered, in a database
file (:func:`create_views`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from gwstream.sink.views.audits import AUDIT_VIEWS
from gwstream.sink.views.definition import View
from gwstream.sink.views.filters import NO_FILTERS, Filters, sources
from gwstream.sink.views.reconciliation import RECONCILIATION
from gwstream.sink.views.spend import SPEND_VIEWS
from gwstream.sink.views.usage import USAGE_VIEWS
from gwstream.sink.views.variants import VARIANTS

VIEWS: dict[str, View] = {
    v.name: v for v in (*SPEND_VIEWS, *USAGE_VIEWS, *AUDIT_VIEWS, VARIANTS, RECONCILIATION)
}


@dataclass(frozen=True, slots=True)
class ViewResult:
    view: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def write_parquet(conn: duckdb.DuckDBPyConnection, view: View, filters: Filters, path: str) -> None:
    """Write ``view``'s rows to a Parquet file at ``path``. Sums of integers are HUGEINT in
    DuckDB, which Parquet would get as doubles (2746.0): they go as BIGINT, as CSV shows them."""
    sql, params = view_sql(view, filters)
    rel = conn.sql(sql, params=params)
    columns = [
        f'CAST("{name}" AS BIGINT) AS "{name}"' if str(kind) == "HUGEINT" else f'"{name}"'
        for name, kind in zip(rel.columns, rel.types, strict=True)
    ]
    rel.project(", ".join(columns)).write_parquet(path)


def view_sql(view: View, filters: Filters = NO_FILTERS) -> tuple[str, dict[str, Any]]:
    """The statement reading ``view`` under ``filters``, and its parameters."""
    with_clause, params = sources(
        filters, "produced_at" if view.by_processing_day else "occurred_at"
    )
    sql = (
        f"{with_clause}SELECT {', '.join(view.columns)} FROM (\n{view.query}\n) "
        f"ORDER BY {view.order_by}"
    )
    limit = filters.limit if filters.limit is not None else view.default_limit
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def read_view(
    conn: duckdb.DuckDBPyConnection, name: str, filters: Filters = NO_FILTERS
) -> ViewResult:
    """Rows of the view called ``name`` under ``filters`` (KeyError: no such view)."""
    view = VIEWS[name]
    sql, params = view_sql(view, filters)
    rows = conn.execute(sql, params).fetchall()
    return ViewResult(
        view.name, view.columns, [dict(zip(view.columns, row, strict=True)) for row in rows]
    )


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view, unfiltered, in ``conn``'s database."""
    with_clause, _ = sources(NO_FILTERS)
    for view in VIEWS.values():
        conn.execute(
            f"CREATE OR REPLACE VIEW {view.relation} AS\n{with_clause}SELECT * FROM (\n"
            f"{view.query}\n) ORDER BY {view.order_by}"
        )
