"""Building gateways: from their typed configuration, or by protocol name and keywords.

:func:`gateway_from_settings` is how ``gwstream run`` and ``gateways check``
build a gateway: from its :class:`~gwstream.gateways.settings.GatewaySettings`,
with every argument typed (mypy checks the wiring) and the protocol's facts
(token path, credential style, scopes, answer forms) from
:mod:`gwstream.gateways.protocols`, which the settings were validated against.

``build_gateway(protocol, **kwargs)`` serves code and tests that build an
adapter by hand:

Protocols: ``openai``, ``cognigy.chat``, ``cognigy.inference``,
``genesys.invoke``, ``genesys.invocations``. Keyword arguments are the
adapter's own (``name``, ``base_url``/``base_urls``, ``default_model``,
``timeout_s``, ``connect_timeout_s``, ``max_connections``, ``retry``,
``token_counter``, and ``api_key`` or ``auth``). Instead of a ready ``auth``,
the OAuth settings may be given flat (``client_id``, ``client_secret`` /
``client_secret_env`` / ``client_secret_file``, ``token_url``, ``scopes``,
``credentials_in`` (``form`` or ``basic``), ``refresh_margin_s``); the vendor's defaults fill the
rest: its token path on the first base URL, its credential style, and the
scopes the protocol needs.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gwstream.errors import ConfigError
from gwstream.gateways.adapter import HttpGateway
from gwstream.gateways.auth import ClientCredentialsAuth
from gwstream.gateways.breaker import BreakerPolicy
from gwstream.gateways.cognigy import CognigyChatGateway, CognigyInferenceGateway
from gwstream.gateways.failures import DEFAULT_FALLBACK_ON_STATUS, DEFAULT_RETRY_ON_STATUS
from gwstream.gateways.genesys import GenesysInvocationsGateway, GenesysInvokeGateway
from gwstream.gateways.openai import OpenAIChatGateway
from gwstream.gateways.protocols import facts
from gwstream.gateways.resilience import Retrier, RetryBudget, RetryPolicy
from gwstream.gateways.settings import GatewaySettings

__all__ = ["PROTOCOLS", "build_auth", "build_gateway", "gateway_from_settings"]

PROTOCOLS: Mapping[str, type[HttpGateway]] = MappingProxyType(
    {
        cls.protocol: cls
        for cls in (
            OpenAIChatGateway,
            CognigyChatGateway,
            CognigyInferenceGateway,
            GenesysInvokeGateway,
            GenesysInvocationsGateway,
        )
    }
)

_AUTH_KEYS = (
    "client_id",
    "client_secret",
    "client_secret_env",
    "client_secret_file",
    "token_url",
    "scopes",
    "credentials_in",
    "refresh_margin_s",
)


def build_auth(protocol: str, base_url: str, **settings: Any) -> ClientCredentialsAuth:
    """Client credentials for ``protocol`` from flat settings, with the vendor's defaults."""
    cls = _adapter(protocol)
    f = facts(protocol)
    token_url = settings.pop("token_url", None)
    style = settings.pop("credentials_in", None) or f.credentials_in
    if token_url is None and f.token_path is not None:
        token_url = base_url.rstrip("/") + f.token_path
    if token_url is None:
        raise ConfigError(f"protocol {protocol!r}: OAuth client credentials need a token_url")
    settings.setdefault("scopes", cls.needed_scopes)
    return ClientCredentialsAuth(token_url=token_url, style=style or "form", **settings)


def build_gateway(protocol: str, **kwargs: Any) -> HttpGateway:
    """The adapter for ``protocol``, built from keyword settings (see the module doc)."""
    cls = _adapter(protocol)
    auth_settings = {k: kwargs.pop(k) for k in _AUTH_KEYS if k in kwargs}
    accepted = {
        name
        for klass in cls.__mro__
        if issubclass(klass, HttpGateway)
        for name, param in inspect.signature(klass.__init__).parameters.items()
        if name != "self" and param.kind is param.KEYWORD_ONLY
    }
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ConfigError(
            f"protocol {protocol!r} does not take {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(accepted | set(_AUTH_KEYS)))}"
        )
    if auth_settings:
        if kwargs.get("auth") is not None:
            raise ConfigError(f"protocol {protocol!r}: give auth or client_id/..., not both")
        urls = kwargs.get("base_urls") or [kwargs.get("base_url")]
        if not urls or not isinstance(urls[0], str):
            raise ConfigError(f"protocol {protocol!r}: base_url or base_urls is required")
        kwargs["auth"] = build_auth(protocol, urls[0], **auth_settings)
    return cls(**kwargs)


def _adapter(protocol: str) -> type[HttpGateway]:
    cls = PROTOCOLS.get(protocol)
    if cls is None:
        raise ConfigError(
            f"unknown gateway protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}"
        )
    return cls


def gateway_from_settings(
    name: str,
    gw: GatewaySettings,
    *,
    base_urls: list[str] | None = None,
    retry: RetryPolicy | None = None,
    timeout_s: float | None = None,
) -> HttpGateway:
    """The gateway ``gateways.<name>`` configures (``base_urls``, ``retry`` and
    ``timeout_s`` replace its own, for a health probe of one endpoint).

    Reads secret files; a ConfigError names the gateway. Does no network I/O.
    """
    try:
        return _from_settings(name, gw, base_urls, retry, timeout_s)
    except ConfigError as exc:
        raise ConfigError(f"gateways.{name}: {exc}") from None


def _from_settings(
    name: str,
    gw: GatewaySettings,
    base_urls: list[str] | None,
    retry: RetryPolicy | None,
    timeout_s: float | None,
) -> HttpGateway:
    f = facts(gw.protocol)
    auth: ClientCredentialsAuth | None = None
    if gw.oauth is not None:
        token_url = gw.token_url()
        assert token_url is not None  # oauth is accepted only where a token endpoint is
        auth = ClientCredentialsAuth(
            token_url=token_url,
            client_id=gw.oauth.client_id,
            client_secret=gw.oauth.resolved_secret(),
            scopes=tuple(gw.scopes()),
            style=gw.oauth.credentials_in or f.credentials_in or "form",
        )
    policy = retry or RetryPolicy(
        max_attempts=gw.max_attempts,
        deadline_s=gw.deadline_s,
        retry_on_status=_statuses(gw.retry_on_status, DEFAULT_RETRY_ON_STATUS),
        fallback_on_status=_statuses(gw.fallback_on_status, DEFAULT_FALLBACK_ON_STATUS),
    )
    gateway = _adapter(gw.protocol)(
        name=name,
        base_urls=base_urls or list(gw.base_urls),
        default_model=gw.model,
        timeout_s=timeout_s or gw.timeout_s,
        max_connections=gw.max_connections,
        retry=Retrier(policy, budget=RetryBudget(gw.retry_budget)),
        breaker=BreakerPolicy(failure_threshold=gw.breaker_failures, open_s=gw.breaker_open_s),
        stream=gw.stream,
        api_key=None if auth is not None else gw.resolved_api_key(),
        auth=auth,
    )
    if isinstance(gateway, GenesysInvocationsGateway):
        gateway.prompt_id = gw.prompt_id  # required by the settings for this protocol
    return gateway


def _statuses(configured: list[int] | None, default: frozenset[int]) -> frozenset[int]:
    return default if configured is None else frozenset(configured)
