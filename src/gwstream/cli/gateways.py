"""``gwstream gateways``: check their configuration and health, pull and reconcile vendor
metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gwstream.cli.shared import (
    ConfigOpt,
    _print_report,
    _run,
    _settings,
    _settings_or_exit,
    err,
    exit_code,
    gateways_app,
    out_console,
)
from gwstream.errors import GwstreamError

if TYPE_CHECKING:
    from gwstream.sink.report import ReportFormat


@gateways_app.command("check")
def gateways_check(
    config: ConfigOpt = None,
    probe: Annotated[
        bool, typer.Option(help="Also call each endpoint (token + a 1-token completion).")
    ] = True,
    timeout_s: Annotated[
        float | None,
        typer.Option(help="Per-endpoint probe timeout (default: each gateway's timeout_s)."),
    ] = None,
) -> None:
    """Validate every gateway as `run` does, then probe the valid ones' endpoints; exit 2 if
    one is invalid, 1 if one has no healthy endpoint."""
    from rich.markup import escape
    from rich.table import Table

    from gwstream.app import load_prices
    from gwstream.gateways.health import check_gateways
    from gwstream.gateways.overview import (
        config_notes,
        invalid_gateways,
        missing_key_hint,
        tenants_table,
    )
    from gwstream.gateways.settings import safe_url

    try:
        settings = _settings(config)
        load_prices(settings)  # a spend limit needs a price for its model
        settings.state.pii_secret()  # as `run` reads it at start
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    invalid = invalid_gateways(settings)
    out = out_console()
    table = Table(title="Gateways" if invalid else "Gateways (configuration valid)")
    for col in ("gateway", "protocol", "model", "endpoints", "auth", "limits"):
        table.add_column(col, overflow="fold")
    for name, gw in settings.gateways.items():
        if gw.oauth is not None:
            auth = f"oauth {gw.oauth.client_id} ({' '.join(gw.scopes())})"
        else:
            auth = "api key" if gw.api_key or gw.api_key_file else "none"
        limits = (
            ", ".join(f"{v} {unit}" for v, unit in ((gw.rpm, "rpm"), (gw.tpm, "tpm")) if v)
            or "unlimited"
        )
        urls = "\n".join(safe_url(u) for u in gw.base_urls)
        table.add_row(name, gw.protocol, gw.model, urls, auth, limits)
    out.print(table)
    if settings.tenants:
        out.print(tenants_table(settings, out.width))
    for message in invalid.values():
        err.print(f"[red]error:[/] {escape(message)}")
    for note in config_notes(settings, config or _config_from_env()):
        err.print(f"[yellow]note:[/] {escape(note)}")
    valid = [name for name in settings.gateways if name not in invalid]
    unhealthy: list[str] = []
    if probe and valid:
        results = _run(lambda stop: check_gateways(settings, timeout_s=timeout_s, only=valid))
        health = Table(title="Endpoint health")
        for col in ("gateway", "endpoint", "status", "latency ms", "detail"):
            health.add_column(col, overflow="fold")
        for r in results:
            status = "[green]ok[/]" if r.ok else f"[red]{r.outcome}[/]"
            health.add_row(r.gateway, r.endpoint, status, f"{r.latency_ms:.0f}", escape(r.detail))
        out.print(health)
        unhealthy = sorted({r.gateway for r in results} - {r.gateway for r in results if r.ok})
        if unhealthy:
            err.print(f"[red]no healthy endpoint for:[/] {', '.join(unhealthy)}")
        refused = {r.gateway for r in results if r.outcome == "auth"}
        for name in sorted(refused & set(unhealthy)):
            hint = missing_key_hint(settings, name)
            if hint:
                err.print(f"[yellow]hint:[/] {escape(hint)}")
    if invalid:
        err.print(f"[red]invalid:[/] {', '.join(invalid)} (`gwstream run` would refuse to start)")
        raise typer.Exit(2)
    if unhealthy:
        raise typer.Exit(1)


@gateways_app.command("pull-metrics")
def gateways_pull_metrics(
    config: ConfigOpt = None,
    database: Annotated[
        Path | None, typer.Option(help="DuckDB file (default: sink.database).")
    ] = None,
    gateway: Annotated[
        list[str] | None, typer.Option("--gateway", "-g", help="Only these gateways (repeatable).")
    ] = None,
) -> None:
    """Pull Cognigy metrics and Genesys telemetry into DuckDB beside gwstream's own costs."""
    from gwstream.reconcile.pull import pull_vendor_metrics

    settings = _settings_or_exit(config)
    path = database or settings.sink.database
    try:
        counts = asyncio.run(pull_vendor_metrics(settings, path, gateways=gateway or None))
    except GwstreamError as exc:
        hint = (
            "; stop `gwstream sink` first (DuckDB allows one writing process)"
            if "lock" in str(exc).lower()
            else ""
        )
        err.print(f"[red]error:[/] {exc}{hint}")
        raise typer.Exit(exit_code(exc)) from None
    if not counts:
        err.print("no Cognigy or Genesys gateway configured: nothing to pull")
    for name, rows in counts.items():
        print(f"{name}\t{rows} new rows")
    print(f"query: gwstream gateways reconcile --database {path}")


@gateways_app.command("reconcile")
def gateways_reconcile(
    database: Annotated[
        Path | None, typer.Option(help="DuckDB file (default: sink.database).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    config: ConfigOpt = None,
) -> None:
    """gwstream's turns and tokens against what the vendors report, per gateway and day."""
    from gwstream.reconcile.pull import RECONCILIATION_COLUMNS, reconciliation_report
    from gwstream.sink.report import render_view

    # The table keeps the columns that answer "do we agree?"; csv/json carry all of them.
    table_columns = (
        "gateway",
        "day",
        "gwstream_turns",
        "vendor_requests",
        "matched",
        "only_gwstream",
        "only_vendor",
        "gwstream_total_tokens",
        "vendor_total_tokens",
        "total_tokens_diff",
    )

    def produce(path: Path, f: ReportFormat) -> str:
        rows = reconciliation_report(path)
        if not rows and f != "table":  # the table says so itself; csv/json stay bare
            err.print(
                "[yellow]note:[/] no vendor metrics pulled yet: run gwstream gateways pull-metrics"
            )
        return render_view(
            rows,
            table_columns if f == "table" else RECONCILIATION_COLUMNS,
            f,
            title="gwstream vs vendor, per gateway and UTC day",
            empty="No vendor metrics pulled yet: run gwstream gateways pull-metrics.",
        )

    _print_report(fmt, database, config, produce)


def _config_from_env() -> Path | None:
    import os

    from gwstream.config import CONFIG_ENV

    named = os.environ.get(CONFIG_ENV)
    return Path(named) if named else None
