"""The ``gwstream`` command line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from gwstream.config import Settings, load_settings
from gwstream.errors import ConfigError, GwstreamError

if TYPE_CHECKING:
    from gwstream.sink.report import ReportFormat

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="gwstream: a Kafka stream processor between contact-center conversations and LLM gateways.",
)
topics_app = typer.Typer(
    no_args_is_help=True, help="Topic specs: apply them to a cluster, export them."
)
app.add_typer(topics_app, name="topics")
gateways_app = typer.Typer(
    no_args_is_help=True,
    help="Gateways: check their configuration and health, pull vendor metrics.",
)
app.add_typer(gateways_app, name="gateways")
guardrails_app = typer.Typer(
    help="Try the guardrails (injection detection, PII redaction) on your own text.",
    no_args_is_help=True,
)
app.add_typer(guardrails_app, name="guardrails")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML configuration file (or GWSTREAM_CONFIG)."),
]
err = Console(stderr=True, soft_wrap=True)


def _settings(config: Path | None) -> Settings:
    from gwstream.logs import configure
    from gwstream.supervisor import CHILD_ENV

    settings = load_settings(config)
    configure(settings.log_level, settings.log_format, child=os.environ.get(CHILD_ENV))
    return settings


def _run(main: Callable[[asyncio.Event], Awaitable[Any]]) -> Any:
    """Run ``main(stop)`` on a fresh loop; SIGINT/SIGTERM set ``stop`` for a clean drain."""

    async def runner() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await main(stop)

    try:
        return asyncio.run(runner())
    except ConfigError as exc:
        _fail(exc, 2)
    except GwstreamError as exc:  # the broker, a topic, the database: a runtime failure
        _fail(exc, 1)


def _fail(exc: BaseException, code: int) -> NoReturn:
    """Report why the command stops, in the log's format, and exit with ``code``."""
    from gwstream.logs import json_logs

    if json_logs():
        logging.getLogger("gwstream.cli").error("%s", exc, extra={"exit_code": code})
    else:
        err.print(f"[red]error:[/] {exc}")
    raise typer.Exit(code)


def _require_cluster(settings: Settings) -> None:
    if not settings.kafka.bootstrap_servers:
        raise GwstreamError(
            "kafka.bootstrap_servers is empty: set GWSTREAM_KAFKA__BOOTSTRAP_SERVERS=host:port "
            "(for a local try, start `gwstream broker --port 9092` and point it at 127.0.0.1:9092)"
        )


@app.command()
def demo(
    latency_ms: Annotated[float, typer.Option(help="Mean simulated gateway latency.")] = 150.0,
    database: Annotated[Path, typer.Option(help="DuckDB file for the cost report.")] = Path(
        "gwstream-demo.duckdb"
    ),
) -> None:
    """Run everything on the embedded broker and simulator, then print the cost report."""
    from gwstream.demo import run_demo

    logging.basicConfig(level=logging.ERROR)
    code = _run(lambda stop: run_demo(database=database, latency_ms=latency_ms))
    raise typer.Exit(code)


@app.command()
def run(
    config: ConfigOpt = None,
    processes: Annotated[
        str | None,
        typer.Option(
            help="Processor processes in one consumer group, supervised: a number or auto "
            "(the cores available); default runtime.processes."
        ),
    ] = None,
) -> None:
    """Run the turn processor against the configured cluster until SIGTERM/SIGINT."""
    from gwstream.app import run_processor
    from gwstream.supervisor import CHILD_ENV, RestartPolicy, Supervisor

    try:
        settings = _settings(config)
        if processes is not None:
            count = processes if processes == "auto" else _int(processes)
            if isinstance(count, int) and not 1 <= count <= 256:
                raise ValueError(f"--processes must be between 1 and 256, or auto, not {count}")
            runtime = settings.runtime.model_copy(update={"processes": count})
            settings = settings.model_copy(update={"runtime": runtime})
        _require_cluster(settings)
    except (GwstreamError, ValueError) as exc:
        _fail(exc, 2)
    count = settings.runtime.process_count()
    if count == 1 or CHILD_ENV in os.environ:
        _run(lambda stop: run_processor(settings, stop))
        return
    r = settings.runtime
    supervisor = Supervisor(
        count,
        ["run", "--processes", "1", *(["--config", str(config)] if config else [])],
        metrics_port=settings.metrics.port,
        policy=RestartPolicy(r.restart_backoff_s, r.restart_limit, r.restart_window_s),
        drain_timeout_s=r.drain_timeout_s,
    )
    raise typer.Exit(_run(supervisor.run))


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"--processes must be a number or auto, not {value!r}") from None


@app.command()
def broker(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 9092,
) -> None:
    """Run the embedded Tansu broker in the foreground (in-memory; for development)."""
    from gwstream.broker import EmbeddedBroker

    async def main(stop: asyncio.Event) -> None:
        async with EmbeddedBroker(port=port) as b:
            print(
                f"embedded broker listening on {b.bootstrap_servers} (Ctrl-C stops it)", flush=True
            )
            waiter = asyncio.create_task(b.wait())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()

    _run(main)


@app.command(
    "simulate-gateway",
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": [],
    },
    add_help_option=False,
)
def simulate_gateway(ctx: typer.Context) -> None:
    """Serve the gateway simulator (OpenAI, Cognigy, Genesys) on loopback; --help lists its options.

    Port 8089 unless --port is given. GWSTREAM_SIMULATOR_API_KEY, when set,
    is the bearer key its OpenAI-compatible route requires.
    """
    import os

    from gwstream.simulator.__main__ import main as simulator_main

    args = list(ctx.args)
    if not any(a == "--port" or a.startswith("--port=") for a in args):
        args = ["--port", "8089", *args]
    key = os.environ.get("GWSTREAM_SIMULATOR_API_KEY")
    if key and not any(a.startswith("--api-key") for a in args):
        args += ["--api-key", key]
    raise typer.Exit(simulator_main(args))


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

    if list_views:
        for v in VIEWS.values():
            sys.stdout.write(f"{v.name:<16} {v.description}\n")
        return
    if fmt not in ("table", "csv", "json"):
        err.print(f"[red]error:[/] --format must be table, csv or json, not {fmt!r}")
        raise typer.Exit(2)
    _check_view(view, "--view")
    filters = _filters(tenant, since, until, model, gateway, limit)
    result, source = _analyst(
        config,
        lambda sink: read_anywhere(view, filters, database=database, sink=sink, url=url),
    )
    out = render_result(result, fmt)  # type: ignore[arg-type]
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    err.print(f"[dim]read from {source}[/]")


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
    _check_view(view, "VIEW")
    filters = _filters(tenant, since, until, model, gateway, limit)
    source = _analyst(
        config,
        lambda sink: export_anywhere(view, filters, output, database=database, sink=sink, url=url),
    )
    from gwstream.sink.report import parquet_rows

    rows = parquet_rows(output)
    err.print(f"wrote {rows} rows of {view} to {output} as Parquet (read from {source})")
    if output.suffix.lower() != ".parquet":
        err.print(f"[yellow]note:[/] {output.name} holds Parquet whatever its name says")


def _print_report(
    fmt: str,
    database: Path | None,
    config: Path | None,
    produce: Callable[[Path, ReportFormat], str],
) -> None:
    """Shared by the report commands: check --format, find the database, print or explain."""
    if fmt not in ("table", "csv", "json"):
        err.print(f"[red]error:[/] --format must be table, csv or json, not {fmt!r}")
        raise typer.Exit(2)
    try:
        path = database or _settings(config).sink.database
        out = produce(path, fmt)  # type: ignore[arg-type]
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    sys.stdout.write(out if out.endswith("\n") else out + "\n")


@topics_app.command("apply")
def topics_apply(config: ConfigOpt = None) -> None:
    """Create missing topics and check existing ones (idempotent)."""
    from gwstream import topics

    settings = _settings(config)
    _require_cluster(settings)

    async def main(stop: asyncio.Event) -> dict[str, str]:
        return await topics.apply(settings.kafka, settings.topics)

    for name, state in _run(main).items():
        print(f"{name}\t{state}")


@topics_app.command("export")
def topics_export(
    directory: Annotated[Path, typer.Argument(help="Where to write the specs and schemas.")] = Path(
        "topics"
    ),
) -> None:
    """Write each topic's spec and payload JSON Schema (what topics/ in the repo holds)."""
    from gwstream import topics

    try:
        written = topics.export(directory)
    except OSError as exc:
        err.print(f"[red]error:[/] cannot write topic specs to {directory}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    for path in written:
        print(path)


@gateways_app.command("check")
def gateways_check(
    config: ConfigOpt = None,
    probe: Annotated[
        bool, typer.Option(help="Also call each endpoint (token + a 1-token completion).")
    ] = True,
    timeout_s: Annotated[float, typer.Option(help="Per-endpoint probe timeout.")] = 10.0,
) -> None:
    """Validate every gateway as `run` does, then probe the valid ones' endpoints; exit 2 if
    one is invalid, 1 if one has no healthy endpoint."""
    from rich.markup import escape
    from rich.table import Table

    from gwstream.app import load_prices
    from gwstream.gateways.health import check_gateways
    from gwstream.gateways.overview import invalid_gateways, missing_key_hint, tenants_table

    try:
        settings = _settings(config)
        load_prices(settings)  # a spend limit needs a price for its model
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    invalid = invalid_gateways(settings)
    out = Console(soft_wrap=True)
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
        table.add_row(name, gw.protocol, gw.model, "\n".join(gw.base_urls), auth, limits)
    out.print(table)
    if settings.tenants:
        out.print(tenants_table(settings, out.width))
    for message in invalid.values():
        err.print(f"[red]error:[/] {escape(message)}")
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


@guardrails_app.command("scan")
def guardrails_scan(
    file: Annotated[
        str, typer.Argument(help='JSON lines {"id": ..., "text": ...}; - for stdin.')
    ] = "-",
    tenant: Annotated[
        str | None, typer.Option(help="Apply this tenant's policy (default: the default policy).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """One JSON line per input: id, flagged, score, rule, entities (type, start, end)."""
    from gwstream.guardrails.scan import ScanError, scan_lines

    try:
        settings = _settings(config)
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if tenant is not None and tenant not in settings.tenants:
        err.print(
            f"[red]error:[/] --tenant {tenant!r} is not one of tenants: {sorted(settings.tenants)}"
        )
        raise typer.Exit(2)
    policy = settings.guardrails_for(tenant or "")
    try:
        source = sys.stdin.buffer if file == "-" else Path(file).open("rb")
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from None
    out = sys.stdout.buffer
    try:
        with source:
            for line in scan_lines(source, policy):
                out.write(line + b"\n")
    except ScanError as exc:
        err.print(f"[red]error:[/] {file}: {exc}")
        raise typer.Exit(2) from None
    out.flush()


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

    try:
        settings = _settings(config)
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
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
        raise typer.Exit(2) from None
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
        return render_view(
            reconciliation_report(path),
            table_columns if f == "table" else RECONCILIATION_COLUMNS,
            f,
            title="gwstream vs vendor, per gateway and UTC day",
            empty="No vendor metrics pulled yet: run gwstream gateways pull-metrics.",
        )

    _print_report(fmt, database, config, produce)


@app.command()
def webhooks(config: ConfigOpt = None) -> None:
    """Send the tenants' webhooks from the output topics until SIGTERM/SIGINT."""
    from gwstream.webhooks.service import serve

    settings = _settings(config)
    _require_cluster(settings)
    _run(lambda stop: serve(settings, stop))


def main() -> None:
    try:
        app()
    except GwstreamError as exc:  # configuration errors raised outside _run
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)
