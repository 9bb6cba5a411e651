"""``gwstream topics``: apply the topic specs to a cluster, export them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gwstream.cli.shared import ConfigOpt, _require_cluster, _run, _settings, err, topics_app


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
