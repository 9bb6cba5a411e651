"""The ``gwstream`` app, its command groups, and what every command shares: the
``--config`` option, the stderr console, loading settings, running a coroutine until
SIGTERM/SIGINT, and failing with the right exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"gwstream {version('gwstream')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    pass  # the options of `gwstream` itself (its help is the app's)


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

#: Columns for tables on a stdout that is not a terminal (a pipe, a CI log): rich assumes 80,
#: and folds an endpoint's URL in the middle.
PIPED_WIDTH = 200


def out_console() -> Console:
    """Standard output for tables: the terminal's width, or :data:`PIPED_WIDTH` when piped."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH)


_log = logging.getLogger("gwstream.cli")


def _settings(config: Path | None) -> Settings:
    from gwstream.logs import configure
    from gwstream.supervisor import CHILD_ENV

    settings = load_settings(config)
    configure(settings.log_level, settings.log_format, child=os.environ.get(CHILD_ENV))
    return settings


def _settings_or_exit(config: Path | None) -> Settings:
    """:func:`_settings`, or the error printed and exit code 2 (a configuration error)."""
    try:
        return _settings(config)
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _run(main: Callable[[asyncio.Event], Awaitable[Any]]) -> Any:
    """Run ``main(stop)`` on a fresh loop; SIGINT/SIGTERM set ``stop`` for a clean drain."""

    from gwstream.logs import stopping
    from gwstream.supervisor import CHILD_ENV, HURRY_SIGNAL

    supervised = CHILD_ENV in os.environ

    async def runner() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def at_once(sig: signal.Signals) -> None:
            _log.warning(
                "%s: stopping at once; work not finished is done again on the next start",
                sig.name if sig is HURRY_SIGNAL else f"{sig.name} again",
            )
            stop.set()
            if task is not None:
                task.cancel()

        def on_signal(sig: signal.Signals) -> None:
            if not stop.is_set():
                _log.info("%s: stopping cleanly (a second signal stops at once)", sig.name)
                stopping()
                stop.set()
            elif supervised:
                # The same request, twice: the supervisor forwarded what a process manager
                # also sent the whole group. The supervisor's second signal is HURRY_SIGNAL.
                _log.info("%s again: already stopping cleanly", sig.name)
            else:
                at_once(sig)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        if supervised:
            loop.add_signal_handler(HURRY_SIGNAL, at_once, HURRY_SIGNAL)
        return await main(stop)

    try:
        return asyncio.run(runner())
    except asyncio.CancelledError:  # a second signal
        raise typer.Exit(130) from None
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
        from gwstream.supervisor import CHILD_ENV

        child = os.environ.get(CHILD_ENV)  # a supervised child: say which
        who = f"child {child} " if child is not None else ""
        err.print(f"[red]{who}error:[/] {exc}", highlight=False)
    raise typer.Exit(code)


def _require_cluster(settings: Settings) -> None:
    if not settings.kafka.bootstrap_servers:
        raise GwstreamError(
            "kafka.bootstrap_servers is empty: set GWSTREAM_KAFKA__BOOTSTRAP_SERVERS=host:port "
            "(for a local try, start `gwstream broker --port 9092` and point it at 127.0.0.1:9092)"
        )


def exit_code(exc: GwstreamError) -> int:
    """2 for what the configuration or the command line got wrong; 1 for the rest (data
    that cannot be read, a file another process holds, a broker or gateway that fails)."""
    return 2 if isinstance(exc, ConfigError) else 1


def _print_report(
    fmt: str,
    database: Path | None,
    config: Path | None,
    produce: Callable[[Path, ReportFormat], str],
) -> None:
    """Shared by the report commands: check --format, find the database, print or explain.

    Only the analyst's part of the configuration is read (as ``report`` does),
    so gateway secrets need not be at hand to read the file.
    """
    from gwstream.config import load_analyst_settings

    if fmt not in ("table", "csv", "json"):
        err.print(f"[red]error:[/] --format must be table, csv or json, not {fmt!r}")
        raise typer.Exit(2)
    try:
        path = database or load_analyst_settings(config).sink.database
        out = produce(path, fmt)  # type: ignore[arg-type]
    except GwstreamError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(exit_code(exc)) from None
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
