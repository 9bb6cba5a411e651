"""``python -m gwstream.simulator``: serve the simulator in the foreground.

Every :class:`SimulatorConfig` field is a flag (``--latency-ms 200``,
``--error-429-rate 0.05``); values are validated by the config model.
``--routes`` and ``--clients`` take JSON objects
(``--routes '{"cognigy.inference": {"cut_stream_rate": 0.1}}'``),
``--revoked-scopes`` a space- or comma-separated list.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from gwstream.problems import Problem, problems
from gwstream.simulator.config import SimulatorConfig
from gwstream.simulator.server import serve_forever

_JSON_FIELDS = ("routes", "clients")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise _BadOptions([f"--port: must be a whole number, not {text!r}"]) from None
    if not 0 <= port <= 65535:
        raise _BadOptions([f"--port: must be between 0 and 65535, not {port}"])
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gwstream simulate-gateway",
        description="Serve the gateway simulator (OpenAI, Cognigy, Genesys) until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="0", help="0 picks a free port")
    for name, field in SimulatorConfig.model_fields.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=field.description)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    host = args.pop("host")
    try:
        port = _port(args.pop("port"))
        config = _config({k: v for k, v in args.items() if v is not None})
    except _BadOptions as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve_forever(config, host, port))
    except OSError as exc:
        # A taken port is a usage error, as for `gwstream broker --port`: the option asks
        # for something this machine cannot give.
        option = "--port" if exc.errno == errno.EADDRINUSE else "--host"
        print(
            f"error: {option}: cannot serve on {host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    return 0


class _BadOptions(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _option(name: str | int) -> str:
    return "--" + str(name).replace("_", "-")


def _config(given: dict[str, Any]) -> SimulatorConfig:
    """The config the options describe; :class:`_BadOptions` has one line per bad option,
    naming it (``--latency-ms: must be >= 0``), never echoing a value."""
    lines = []
    for name in _JSON_FIELDS:
        if name in given:
            try:
                given[name] = json.loads(given[name])
            except json.JSONDecodeError as exc:
                lines.append(f"{_option(name)}: not JSON ({exc.msg}, column {exc.colno})")
    if lines:
        raise _BadOptions(lines)
    try:
        return SimulatorConfig.model_validate(given)
    except ValidationError as exc:
        raise _BadOptions([_describe(p) for p in problems(SimulatorConfig, exc)]) from None


def _describe(problem: Problem) -> str:
    """``--latency-ms: must be >= 0``; inside a JSON option, the keys that lead to the value."""
    head, *inner = problem.path or ("options",)
    message = problem.message
    if problem.type == "extra_forbidden" and inner:
        message = "no such setting"
        if problem.suggestion is not None:
            message += f"; did you mean {problem.suggestion}?"
        elif problem.known:
            message += f"; known: {', '.join(problem.known)}"
    where = ": ".join([_option(head), *(str(p) for p in inner)])
    return f"{where}: {message}"


if __name__ == "__main__":
    sys.exit(main())
