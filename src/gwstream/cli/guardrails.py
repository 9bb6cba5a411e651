"""``gwstream guardrails``: try injection detection and PII redaction on your own text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gwstream.cli.shared import ConfigOpt, _settings_or_exit, err, guardrails_app


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

    settings = _settings_or_exit(config)
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
