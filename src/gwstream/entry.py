"""The ``gwstream`` executable's entry point, light enough to run before anything heavy.

A signal that arrives while the command line is still being imported (half a second
of it) ends the process quietly, as a signal that arrives later does once the
command runs: SIGTERM exits 0 (nothing was started, so nothing is left undone), and
SIGINT exits 130 without a traceback. The command's own handlers replace these.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _before_start(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0 if signum == signal.SIGTERM else 128 + signum)


def main() -> None:
    previous = {sig: signal.signal(sig, _before_start) for sig in (signal.SIGTERM, signal.SIGINT)}
    from gwstream.cli import main as cli

    for sig, handler in previous.items():
        signal.signal(sig, handler)
    try:
        cli()
    except KeyboardInterrupt:  # Ctrl-C outside a running command's own handling
        sys.exit(130)
