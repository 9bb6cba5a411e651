"""The processor's commands: ``demo``, ``run``, ``broker`` and ``simulate-gateway``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated

import typer

from gwstream.cli.shared import ConfigOpt, _fail, _require_cluster, _run, _settings, app, err
from gwstream.errors import GwstreamError


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
    from gwstream.supervisor import CHILD_ENV, RestartPolicy, Supervisor, shared_pii_key

    try:
        settings = _settings(config)
        if processes is not None:
            count = "auto" if processes.lower() == "auto" else _int(processes)
            if isinstance(count, int) and not 1 <= count <= 256:
                raise ValueError(f"--processes must be between 1 and 256, or auto, not {count}")
            runtime = settings.runtime.model_copy(update={"processes": count})
            settings = settings.model_copy(update={"runtime": runtime})
        _require_cluster(settings)
    except (GwstreamError, ValueError) as exc:
        _fail(exc, 2)
    count = settings.runtime.process_count()
    if CHILD_ENV in os.environ:
        _run(lambda stop: _as_child(run_processor(settings, stop), stop))
        return
    if count == 1:
        _run(lambda stop: run_processor(settings, stop))
        return
    r = settings.runtime
    supervisor = Supervisor(
        count,
        ["run", "--processes", "1", *(["--config", str(config)] if config else [])],
        env={**os.environ, **shared_pii_key(settings.state)},
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


async def _as_child(main: Awaitable[None], stop: asyncio.Event) -> None:
    """Run a supervised child's ``main``; should the supervisor die (SIGKILL, a crash), stop
    as on SIGTERM rather than run on as an orphan the next supervisor knows nothing of."""
    from gwstream.supervisor import PARENT_ENV

    # The supervisor's pid as it said, not getppid(): it may have died before this ran.
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())

    async def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _PARENT_CHECK_S)
            if os.getppid() != parent and not stop.is_set():
                logging.getLogger("gwstream.cli").warning(
                    "the supervisor (pid %d) is gone: stopping cleanly", parent
                )
                stop.set()

    watcher = asyncio.create_task(watch(), name="gwstream-parent-watch")
    try:
        await main
    finally:
        watcher.cancel()


#: How often a supervised child checks that its supervisor is alive.
_PARENT_CHECK_S = 1.0


@app.command()
def broker(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 9092,
) -> None:
    """Run the embedded Tansu broker in the foreground (in-memory; for development)."""
    from gwstream.broker import EmbeddedBroker, port_is_free

    if port and not port_is_free("127.0.0.1", port):
        # A usage error, as for the sink's api_port: the command line asks for a taken port.
        err.print(
            f"[red]error:[/] --port: 127.0.0.1:{port} is already in use; pick another port "
            "(0 picks a free one)"
        )
        raise typer.Exit(2)

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
