"""`gwstream gateways check`: is every configured gateway usable right now?

Configuration is validated first (load_settings does that). Then each
endpoint of each gateway is probed on its own: OAuth gateways fetch a token
(proving the client credentials and scopes), and a one-token completion goes
through the real adapter, so a probe exercises exactly the path turns take.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from gwstream.config import Settings
from gwstream.errors import ConfigError, GatewayError
from gwstream.gateways.base import ChatMessage, GatewayRequest
from gwstream.gateways.resilience import RetryPolicy


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    gateway: str
    protocol: str
    endpoint: str
    ok: bool
    outcome: str  # ok, or the failure's classification (auth, timeout, server_error, ...)
    latency_ms: float
    detail: str


async def probe_endpoint(
    settings: Settings, name: str, endpoint: str, timeout_s: float
) -> EndpointHealth:
    from gwstream.gateways.factory import gateway_from_settings

    gw_settings = settings.gateways[name]
    try:
        gateway = gateway_from_settings(
            name,
            gw_settings,
            base_urls=[endpoint],
            # A few attempts: one 429 must not make a healthy endpoint look down.
            retry=RetryPolicy(max_attempts=3, deadline_s=timeout_s),
            timeout_s=timeout_s,
        )
    except ConfigError as exc:
        return EndpointHealth(name, gw_settings.protocol, endpoint, False, "config", 0.0, str(exc))
    started = time.perf_counter()
    try:
        async with gateway:
            result = await gateway.complete(
                GatewayRequest(
                    (ChatMessage("user", "ping"),),
                    gw_settings.model,
                    f"gwstream-health-{uuid.uuid4().hex[:12]}",
                    max_tokens=1,
                    deadline_s=timeout_s,
                )
            )
    except GatewayError as exc:
        latency = (time.perf_counter() - started) * 1000
        return EndpointHealth(
            name, gw_settings.protocol, endpoint, False, exc.outcome, latency, str(exc)[:500]
        )
    latency = (time.perf_counter() - started) * 1000
    detail = f"model {result.response_model or gw_settings.model}, usage from {result.usage.source}"
    return EndpointHealth(name, gw_settings.protocol, endpoint, True, "ok", latency, detail)


async def check_gateways(
    settings: Settings, *, timeout_s: float | None = None, only: Collection[str] | None = None
) -> list[EndpointHealth]:
    """Probe every endpoint of every configured gateway (or of those in ``only``),
    concurrently, within ``timeout_s`` each (None: the gateway's own ``timeout_s``, as
    ``gwstream run`` calls it)."""
    probes = [
        probe_endpoint(settings, name, endpoint, gw.timeout_s if timeout_s is None else timeout_s)
        for name, gw in settings.gateways.items()
        if only is None or name in only
        for endpoint in gw.base_urls
    ]
    return list(await asyncio.gather(*probes))
