"""``gwstream topics``: apply the topic specs to a cluster, export them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gwstream.cli.shared import ConfigOpt, _require_cluster, _run, _settings, err, topics_app
from gwstream.errors import ConfigError, TopicError


@topics_app.command("apply")
def topics_apply(config: ConfigOpt = None) -> None:
    """Create missing topics, check existing ones and set configs that differ (idempotent).

    Prints one line per topic: its name, created, exists or altered, and any notes
    (configs altered, differences kept, what was not checked). A difference it
    cannot fix (too few partitions, a config the broker will not set) exits 2:
    the configuration or the cluster has to change.
    """
    from gwstream import topics

    settings = _settings(config)
    _require_cluster(settings)

    def show(result: dict[str, topics.Applied]) -> None:
        for name, applied in result.items():
            print("\t".join((name, applied.state, *applied.notes)), flush=True)

    async def main(stop: asyncio.Event) -> None:
        try:
            show(await topics.apply(settings.kafka, settings.topics))
        except topics.TopicsDiffer as exc:
            show(exc.applied)  # what it did and found, before why it exits 2
            raise ConfigError(str(exc)) from None
        except TopicError as exc:
            raise ConfigError(str(exc)) from None

    _run(main)


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
