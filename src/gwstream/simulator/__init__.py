"""A gateway simulator for the demo, benchmarks and tests, served over real HTTP.

One loopback server speaks every gateway contract gwstream has an adapter
for: OpenAI-compatible chat completions (plain and streamed), NICE Cognigy
(OAuth token, chat, streaming inference, paginated metrics) and Genesys Cloud
(OAuth token, invoke plain and SSE, invocations, cursor-paginated
telemetry), with real token usage, configurable latency and per-route faults
(429 with Retry-After, 5xx, hangs, cut and malformed streams, token expiry,
revoked scopes). Run it in the foreground with
``python -m gwstream.simulator``.
"""

from __future__ import annotations

from gwstream.simulator.config import DEFAULT_CLIENTS, RouteFaults, SimulatorConfig
from gwstream.simulator.routes import ROUTE_NAMES, ROUTES, Route
from gwstream.simulator.server import GatewaySimulator, serve_forever
from gwstream.simulator.stats import RouteStats, SimulatorStats

__all__ = [
    "DEFAULT_CLIENTS",
    "ROUTES",
    "ROUTE_NAMES",
    "GatewaySimulator",
    "Route",
    "RouteFaults",
    "RouteStats",
    "SimulatorConfig",
    "SimulatorStats",
    "serve_forever",
]
