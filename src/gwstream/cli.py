"""The ``gwstream`` command line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gwstream.config import Settings, load_settings
from gwstream.errors import GwstreamError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="gwstream: a Kafka stream processor between contact-center conversations and LLM gateways.",
)
topics_app = typer.Typer(
    no_args_is_help=True, help="Topic specs: apply them to a cluster, export them."
)
app.add_typer(topics_app, name="topics")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML configuration file (or GWSTREAM_CONFIG)."),
]
err = Console(stderr=True, soft_wrap=True)


def _settings(config: Path | None) -> Settings:
    settings = load_settings(config)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet = max(logging.WARNING, logging.getLevelName(settings.log_level))
    for noisy in ("aiokafka", "httpx"):  # httpx logs every request at INFO
        logging.getLogger(noisy).setLevel(quiet)
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
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


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
def run(config: ConfigOpt = None) -> None:
    """Run the turn processor against the configured cluster until SIGTERM/SIGINT."""
    from gwstream.app import run_processor

    try:
        settings = _settings(config)
        _require_cluster(settings)
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    _run(lambda stop: run_processor(settings, stop))


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 9092,
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


@app.command("simulate-gateway")
def simulate_gateway(
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="0 picks a free port.")] = 8089,
    latency_ms: Annotated[float, typer.Option(min=0, help="Mean added latency.")] = 0.0,
    latency_jitter_ms: Annotated[
        float, typer.Option(min=0, help="Uniform +- around the mean.")
    ] = 0.0,
    error_429_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    retry_after_s: Annotated[float, typer.Option(min=0, help="Retry-After on 429s.")] = 1.0,
    error_5xx_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    hang_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of calls that never answer.")
    ] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the fault and latency draws.")] = None,
) -> None:
    """Serve the OpenAI-compatible gateway simulator on loopback until Ctrl-C.

    Set GWSTREAM_SIMULATOR_API_KEY to make it require that bearer key.
    """
    import os

    from gwstream.gateways.simulator import SimulatorConfig, serve_forever

    cfg = SimulatorConfig(
        latency_ms=latency_ms,
        latency_jitter_ms=latency_jitter_ms,
        error_429_rate=error_429_rate,
        retry_after_s=retry_after_s,
        error_5xx_rate=error_5xx_rate,
        hang_rate=hang_rate,
        seed=seed,
        api_key=os.environ.get("GWSTREAM_SIMULATOR_API_KEY") or None,
    )
    try:
        asyncio.run(serve_forever(cfg, host, port))
    except OSError as exc:
        err.print(f"[red]error:[/] cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(2) from None


@app.command()
def sink(config: ConfigOpt = None) -> None:
    """Consume cost events into the DuckDB file until SIGTERM/SIGINT."""
    from gwstream.sink.consumer import CostSink

    settings = _settings(config)
    _require_cluster(settings)
    kafka = settings.kafka.model_copy(update={"group_id": settings.sink.group_id})

    async def main(stop: asyncio.Event) -> None:
        async with CostSink(kafka, settings.topics, settings.sink) as cost_sink:
            await cost_sink.run(stop)

    _run(main)


@app.command()
def report(
    database: Annotated[
        Path | None, typer.Option(help="DuckDB file (default: sink.database).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    config: ConfigOpt = None,
) -> None:
    """Print spend per tenant, day and model."""
    from gwstream.sink.report import render, spend_report

    if fmt not in ("table", "csv", "json"):
        err.print(f"[red]error:[/] --format must be table, csv or json, not {fmt!r}")
        raise typer.Exit(2)
    try:
        path = database or _settings(config).sink.database
        out = render(spend_report(path), fmt)  # type: ignore[arg-type]
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


def main() -> None:
    try:
        app()
    except GwstreamError as exc:  # configuration errors raised outside _run
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)
