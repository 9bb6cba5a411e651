"""A gateway simulator for the demo, benchmarks and tests, served over real HTTP.

Speaks the OpenAI-compatible chat-completions contract with realistic token
usage, configurable latency and injected faults (429 with Retry-After, 5xx,
hangs). Run it in the foreground with ``python -m gwstream.gateways.simulator``.
"""

from __future__ import annotations

from gwstream.gateways.simulator.config import SimulatorConfig
from gwstream.gateways.simulator.server import GatewaySimulator, SimulatorStats, serve_forever

__all__ = ["GatewaySimulator", "SimulatorConfig", "SimulatorStats", "serve_forever"]
