"""``build_gateway(protocol, **kwargs)``: one adapter per protocol name, for configuration.

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
from gwstream.gateways.auth import (
    COGNIGY_TOKEN_PATH,
    GENESYS_TOKEN_PATH,
    ClientCredentialsAuth,
)
from gwstream.gateways.cognigy import CognigyChatGateway, CognigyInferenceGateway
from gwstream.gateways.genesys import GenesysInvocationsGateway, GenesysInvokeGateway
from gwstream.gateways.openai import OpenAIChatGateway

__all__ = ["PROTOCOLS", "build_auth", "build_gateway"]

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

_VENDOR_TOKEN = {"cognigy": (COGNIGY_TOKEN_PATH, "form"), "genesys": (GENESYS_TOKEN_PATH, "basic")}
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
    token_url = settings.pop("token_url", None)
    style = settings.pop("credentials_in", None)
    if cls.vendor is not None:
        path, default_style = _VENDOR_TOKEN[cls.vendor]
        token_url = token_url or base_url.rstrip("/") + path
        style = style or default_style
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
