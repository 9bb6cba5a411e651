"""The ``gwstream`` command line.

``app`` and what the commands share live in :mod:`gwstream.cli.shared`; each other
module holds one concern's commands and registers them on ``app`` (or on its command
group) when it is imported, which this package does below.
"""

from __future__ import annotations

import sys

from gwstream.cli.shared import app, err
from gwstream.errors import GwstreamError

# isort: split
# ``gwstream --help`` lists the top-level commands in the order they were registered,
# that is in the order of these imports: keep it (the ``isort: split`` lines stop the
# import sorter from merging and reordering them).
from gwstream.cli import processor  # noqa: F401  demo, run, broker, simulate-gateway

# isort: split
from gwstream.cli import analyst  # noqa: F401  sink, report, export

# isort: split
from gwstream.cli import (  # noqa: F401  webhooks; the others fill their groups
    gateways,
    guardrails,
    topics,
    webhooks,
)

# isort: split
from gwstream.cli import turns  # noqa: F401  send

# isort: split
from gwstream.cli import tail  # noqa: F401  tail

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except GwstreamError as exc:  # configuration errors raised outside _run
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)
