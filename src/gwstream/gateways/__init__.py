"""Gateway adapters behind one interface, with shared retry, fallback and OAuth machinery.

``build_gateway(protocol, **settings)`` makes the adapter for a protocol
(``openai``, ``cognigy.chat``, ``cognigy.inference``, ``genesys.invoke``,
``genesys.invocations``). The simulator lives in
:mod:`gwstream.simulator` and is imported only by what needs it.
"""

from __future__ import annotations

from gwstream.gateways.adapter import HttpGateway
from gwstream.gateways.auth import ClientCredentialsAuth, CredentialStyle, load_secret
from gwstream.gateways.base import (
    ChatMessage,
    Gateway,
    GatewayRequest,
    GatewayResult,
    ResultOutcome,
    Usage,
    UsageSource,
)
from gwstream.gateways.cognigy import CognigyChatGateway, CognigyInferenceGateway
from gwstream.gateways.factory import PROTOCOLS, build_auth, build_gateway
from gwstream.gateways.genesys import GenesysInvocationsGateway, GenesysInvokeGateway
from gwstream.gateways.openai import OpenAIChatGateway
from gwstream.gateways.resilience import Retrier, RetryPolicy

__all__ = [
    "PROTOCOLS",
    "ChatMessage",
    "ClientCredentialsAuth",
    "CognigyChatGateway",
    "CognigyInferenceGateway",
    "CredentialStyle",
    "Gateway",
    "GatewayRequest",
    "GatewayResult",
    "GenesysInvocationsGateway",
    "GenesysInvokeGateway",
    "HttpGateway",
    "OpenAIChatGateway",
    "ResultOutcome",
    "Retrier",
    "RetryPolicy",
    "Usage",
    "UsageSource",
    "build_auth",
    "build_gateway",
    "load_secret",
]
