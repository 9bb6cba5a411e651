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
import json
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from gwstream.simulator.config import SimulatorConfig
from gwstream.simulator.server import serve_forever

_JSON_FIELDS = ("routes", "clients")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gwstream simulate-gateway",
        description="Serve the gateway simulator (OpenAI, Cognigy, Genesys) until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    for name, field in SimulatorConfig.model_fields.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=field.description)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    host, port = args.pop("host"), args.pop("port")
    try:
        for name in _JSON_FIELDS:
            if args.get(name) is not None:
                args[name] = json.loads(args[name])
        config = SimulatorConfig.model_validate({k: v for k, v in args.items() if v is not None})
    except json.JSONDecodeError as exc:
        print(f"invalid simulator option: not JSON: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"invalid simulator option: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve_forever(config, host, port))
    except OSError as exc:
        print(f"cannot serve on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
