"""The simulator's route table: names, methods, paths, vendors and required scopes.

Route names are the keys of :attr:`SimulatorConfig.routes` and of the
per-route stats; they are part of the simulator's public contract.

Scopes, where the seeds disagree, follow one reading: **each endpoint needs
the scope that the seed describing that endpoint names**, so every seed's
client works unchanged against the simulator:

- Cognigy chat (seed 000) needs ``llm.gateway:invoke``; Cognigy streaming
  inference (seed 001) needs ``llm.gateway.inference``; the metrics endpoint
  (seed 000) needs ``llm.gateway:metrics:read``.
- Genesys invoke (seed 002) needs ``ai:llm:gateway:use``, and a streaming
  invoke also ``ai:llm:gateway:stream``; invocations (seed 004) need
  ``ai:gateway:write``; telemetry (seed 004) needs ``ai:telemetry:read``.

A token endpoint grants any subset of its vendor's known scopes (every scope
the seeds name for that vendor); a token request without ``scope`` gets them
all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "COGNIGY_CHAT",
    "COGNIGY_INFERENCE",
    "COGNIGY_METRICS",
    "COGNIGY_SCOPES",
    "COGNIGY_TOKEN",
    "GENESYS_INVOCATIONS",
    "GENESYS_INVOKE",
    "GENESYS_SCOPES",
    "GENESYS_STREAM_SCOPE",
    "GENESYS_TELEMETRY",
    "GENESYS_TOKEN",
    "OPENAI_CHAT",
    "ROUTES",
    "ROUTE_NAMES",
    "TOKEN_ROUTES",
    "VENDOR_SCOPES",
    "Dialect",
    "Route",
    "Vendor",
]

Vendor = Literal["openai", "cognigy", "genesys"]
Dialect = Literal["openai", "genesys", "oauth"]
"""How a route words its error bodies (see :mod:`.dialects`)."""

OPENAI_CHAT = "openai.chat"
COGNIGY_TOKEN = "cognigy.token"
COGNIGY_CHAT = "cognigy.chat"
COGNIGY_INFERENCE = "cognigy.inference"
COGNIGY_METRICS = "cognigy.metrics"
GENESYS_TOKEN = "genesys.token"
GENESYS_INVOKE = "genesys.invoke"
GENESYS_INVOCATIONS = "genesys.invocations"
GENESYS_TELEMETRY = "genesys.telemetry"

GENESYS_STREAM_SCOPE = "ai:llm:gateway:stream"

COGNIGY_SCOPES = frozenset(
    {
        "llm.gateway:invoke",
        "llm.gateway.inference",
        "llm.gateway:metrics:read",
        # seed 003 (gateway provisioning): known, granted on request, used by no route here
        "gateway:write",
        "model:read",
        "provider:read",
        "audit:write",
    }
)
GENESYS_SCOPES = frozenset(
    {
        "ai:llm:gateway:use",
        GENESYS_STREAM_SCOPE,
        "ai:gateway:write",
        "ai:telemetry:read",
        # seed 004 (prompt management): known, granted on request, used by no route here
        "ai:prompt:read",
        "ai:prompt:write",
    }
)


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint. ``scope`` is what its bearer token must carry (None: no OAuth token)."""

    name: str
    method: Literal["GET", "POST"]
    path: str
    vendor: Vendor
    dialect: Dialect
    scope: str | None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


ROUTES: Mapping[str, Route] = MappingProxyType(
    {
        route.name: route
        for route in (
            Route(OPENAI_CHAT, "POST", "/v1/chat/completions", "openai", "openai", None),
            Route(COGNIGY_TOKEN, "POST", "/api/v1/auth/token", "cognigy", "oauth", None),
            Route(
                COGNIGY_CHAT,
                "POST",
                "/api/v1/llm/gateway/chat",
                "cognigy",
                "openai",
                "llm.gateway:invoke",
            ),
            Route(
                COGNIGY_INFERENCE,
                "POST",
                "/api/v1/llm/gateway/inference",
                "cognigy",
                "openai",
                "llm.gateway.inference",
            ),
            Route(
                COGNIGY_METRICS,
                "GET",
                "/api/v1/llm/gateway/metrics",
                "cognigy",
                "openai",
                "llm.gateway:metrics:read",
            ),
            Route(GENESYS_TOKEN, "POST", "/login/oauth2/token", "genesys", "oauth", None),
            Route(
                GENESYS_INVOKE,
                "POST",
                "/api/v2/ai/llm/gateway/invoke",
                "genesys",
                "genesys",
                "ai:llm:gateway:use",
            ),
            Route(
                GENESYS_INVOCATIONS,
                "POST",
                "/api/v2/ai/llm/gateway/invocations",
                "genesys",
                "genesys",
                "ai:gateway:write",
            ),
            Route(
                GENESYS_TELEMETRY,
                "GET",
                "/api/v2/ai/llm/gateway/telemetry",
                "genesys",
                "genesys",
                "ai:telemetry:read",
            ),
        )
    }
)
ROUTE_NAMES = frozenset(ROUTES)

TOKEN_ROUTES: Mapping[Vendor, str] = MappingProxyType(
    {"cognigy": COGNIGY_TOKEN, "genesys": GENESYS_TOKEN}
)
"""The token endpoint of each OAuth vendor."""

VENDOR_SCOPES: Mapping[Vendor, frozenset[str]] = MappingProxyType(
    {"cognigy": COGNIGY_SCOPES, "genesys": GENESYS_SCOPES}
)
