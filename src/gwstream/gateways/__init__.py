"""Gateway adapters behind one interface, with shared retry and fallback machinery.

The simulator lives in :mod:`gwstream.gateways.simulator` and is imported
only by what needs it.
"""

from __future__ import annotations

from gwstream.gateways.base import (
    ChatMessage,
    Gateway,
    GatewayRequest,
    GatewayResult,
    ResultOutcome,
    Usage,
    UsageSource,
)
from gwstream.gateways.openai import OpenAIChatGateway
from gwstream.gateways.resilience import Retrier, RetryPolicy

__all__ = [
    "ChatMessage",
    "Gateway",
    "GatewayRequest",
    "GatewayResult",
    "OpenAIChatGateway",
    "ResultOutcome",
    "Retrier",
    "RetryPolicy",
    "Usage",
    "UsageSource",
]
