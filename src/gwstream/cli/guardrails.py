"""``gwstream guardrails``: try injection detection and PII redaction on your own text."""

from __future__ import annotations

import os
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
        # As in `gwstream run`: a tenant without settings of its own gets the defaults.
        known = sorted(settings.tenants)
        if known:
            hint = f"the configured tenants are {', '.join(known)}"
        elif config is not None or os.environ.get("GWSTREAM_CONFIG"):
            hint = "the configuration defines no tenants"
        else:
            hint = "no tenants are configured: pass the configuration file with -c"
        err.print(
            f"[yellow]note:[/] tenant {tenant!r} has no settings of its own, so the default "
            f"policy applies ({hint})"
        )
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
