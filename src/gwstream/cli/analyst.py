"""The analyst's commands: ``sink`` fills the DuckDB file, ``report`` and ``export`` read it."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer

from gwstream.cli.shared import ConfigOpt, _require_cluster, _run, _settings, app, err
from gwstream.errors import ConfigError, GwstreamError

if TYPE_CHECKING:
    from gwstream.sink.views.definition import View


@app.command()
def sink(config: ConfigOpt = None) -> None:
    """Consume cost and audit events into the DuckDB file, serving the API and dashboard."""
    from gwstream.sink.service import run_sink

    settings = _settings(config)
    _require_cluster(settings)
    kafka = settings.kafka.model_copy(update={"group_id": settings.sink.group_id})

    async def main(stop: asyncio.Event) -> None:
        await run_sink(kafka, settings.topics, settings.sink, stop)

    _run(main)


def _check_view(view: str, what: str) -> None:
    from gwstream.sink.views import VIEWS

    if view not in VIEWS:
        err.print(f"[red]error:[/] {what} must be one of {', '.join(VIEWS)}, not {view!r}")
        raise typer.Exit(2)


def _check_source(database: Path | None, url: str | None) -> None:
    """One place to read from, and an address that is one."""
    if database is not None and url is not None:
        err.print("[red]error:[/] give --database or --url, not both")
        raise typer.Exit(2)
    if url is not None and not url.startswith(("http://", "https://")):
        err.print(f"[red]error:[/] --url must be an http:// or https:// address, not {url!r}")
        raise typer.Exit(2)


_T = TypeVar("_T")


def _analyst(config: Path | None, read: Callable[[Any], _T]) -> _T:
    """Run ``read(sink settings)`` for report/export: 2 for configuration errors, else 1."""
    from gwstream.config import load_analyst_settings

    try:
        return read(load_analyst_settings(config).sink)
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from None


TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")]
FromOpt = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="First UTC day (YYYY-MM-DD)."),
]
ToOpt = Annotated[
    datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="Last UTC day, included (YYYY-MM-DD)."),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Only this model.")]
GatewayOpt = Annotated[str | None, typer.Option("--gateway", help="Only this gateway.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="At most this many rows.")]
DatabaseOpt = Annotated[
    Path | None,
    typer.Option(
        help="Read this DuckDB file (default: the running sink's API, else sink.database)."
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="Read from the sink API at this URL (default: sink.api_host/port)."),
]


def _filters(
    tenant: str | None,
    since: datetime | None,
    until: datetime | None,
    model: str | None,
    gateway: str | None,
    limit: int | None,
) -> Any:
    from gwstream.sink.views import Filters

    try:
        return Filters(
            tenant=tenant,
            since=since.date() if since else None,
            until=until.date() if until else None,
            model=model,
            gateway=gateway,
            limit=limit,
        )
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def report(
    view: Annotated[
        str,
        typer.Option(help="Which view (see `gwstream report --list`); spend by default."),
    ] = "spend",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    tenant: TenantOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    model: ModelOpt = None,
    gateway: GatewayOpt = None,
    limit: LimitOpt = None,
    list_views: Annotated[bool, typer.Option("--list", help="List the views and exit.")] = False,
    database: DatabaseOpt = None,
    url: UrlOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print a cost report: from the running sink's API, or from the file when none runs."""
    from gwstream.sink.report import read_anywhere, render_result
    from gwstream.sink.views import VIEWS

    if fmt not in ("table", "csv", "json"):
        err.print(f"[red]error:[/] --format must be table, csv or json, not {fmt!r}")
        raise typer.Exit(2)
    if list_views:
        _list_views(fmt)
        return
    _check_view(view, "--view")
    _check_source(database, url)
    filters = _filters(tenant, since, until, model, gateway, limit)
    result, source = _analyst(
        config,
        lambda sink: read_anywhere(view, filters, database=database, sink=sink, url=url),
    )
    out = render_result(result, fmt)  # type: ignore[arg-type]
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    if fmt == "table" and limit is not None and len(result.rows) >= limit:
        err.print(
            f"[yellow]note:[/] the first {limit} rows (--limit); more may match, and a "
            "total counts only the rows shown"
        )
    narrowed = {k: v for k, v in filters.as_query().items() if k != "limit"}
    if not result.rows and narrowed:
        err.print(f"[yellow]note:[/] {_nothing_matches(VIEWS[view], narrowed)}")
    err.print(f"[dim]read from {source}[/]")


def _nothing_matches(view: View, narrowed: Mapping[str, object]) -> str:
    """What to say when ``view`` has no rows under the filters ``narrowed``."""
    from gwstream.sink.views.audits import AUDIT_VIEWS

    shown = ", ".join(f"{k}={v}" for k, v in narrowed.items())
    said = [f"no rows match {shown}"]
    if narrowed.keys() & {"from", "to"}:
        day = (
            "the day the processor handled the turn"
            if view.by_processing_day or view in AUDIT_VIEWS
            else "the day the turn happened"
        )
        said.append(f"{view.name} dates a turn by {day} (UTC)")
    if narrowed.keys() - {"from", "to"}:
        said.append(
            "names are matched exactly (`--view spend_by_model` without filters lists the "
            "tenants, gateways and models there are)"
        )
    return "; ".join(said)


def _list_views(fmt: str) -> None:
    """Every view's name and description, in ``fmt`` (table, csv or json)."""
    from gwstream.sink.views import VIEWS

    views = [{"name": v.name, "description": v.description} for v in VIEWS.values()]
    if fmt == "json":
        sys.stdout.write(orjson.dumps(views).decode() + "\n")
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, ["name", "description"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(views)
        sys.stdout.write(out.getvalue())
    else:
        for v in views:
            sys.stdout.write(f"{v['name']:<16} {v['description']}\n")


@app.command()
def export(
    view: Annotated[str, typer.Argument(help="Which view (see `gwstream report --list`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The Parquet file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet (the only one)")] = "parquet",
    tenant: TenantOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    model: ModelOpt = None,
    gateway: GatewayOpt = None,
    limit: LimitOpt = None,
    database: DatabaseOpt = None,
    url: UrlOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a view as a Parquet file (DuckDB's writer), for other tools."""
    from gwstream.sink.report import export_anywhere

    if fmt != "parquet":
        err.print(f"[red]error:[/] --format must be parquet, not {fmt!r}")
        raise typer.Exit(2)
    if not output.parent.is_dir() or output.is_dir():
        where = "is a directory" if output.is_dir() else f"{output.parent} is no directory"
        err.print(f"[red]error:[/] --output {output}: {where}")
        raise typer.Exit(2)
    _check_view(view, "VIEW")
    _check_source(database, url)
    filters = _filters(tenant, since, until, model, gateway, limit)
    source = _analyst(
        config,
        lambda sink: export_anywhere(view, filters, output, database=database, sink=sink, url=url),
    )
    from gwstream.sink.report import parquet_rows

    rows = parquet_rows(output)
    noun = "row" if rows == 1 else "rows"
    err.print(f"wrote {rows} {noun} of {view} to {output} as Parquet (read from {source})")
    if output.suffix.lower() != ".parquet":
        err.print(f"[yellow]note:[/] {output.name} holds Parquet whatever its name says")
