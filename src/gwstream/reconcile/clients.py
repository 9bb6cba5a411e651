"""Reading one page of a vendor's metrics over HTTP, through the gateway machinery.

A :class:`MetricsClient` GETs pages from a Cognigy metrics or Genesys
telemetry endpoint with the gateway's OAuth2 client credentials, asking for
the read scope only (``llm.gateway:metrics:read``, ``ai:telemetry:read``; the
seeds' names, overridable). It runs each page under the shared
:class:`~gwstream.gateways.resilience.Retrier`: 429 (with Retry-After), 408
and 5xx are retried, a 401 refreshes the token once, a 403 fails at once
naming the scope to grant. The pooled client comes from
:func:`~gwstream.gateways.client.build_http_client`; the caller owns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import httpx
import orjson

from gwstream.errors import ConfigError, GatewayError, GatewayProtocolError
from gwstream.gateways.auth import ClientCredentialsAuth
from gwstream.gateways.client import error_detail
from gwstream.gateways.factory import build_auth
from gwstream.gateways.failures import (
    AttemptFailed,
    classify_transport_error,
    failure_from_status,
)
from gwstream.gateways.resilience import Retrier, RetryPolicy
from gwstream.gateways.scopes import forbidden_error
from gwstream.gateways.settings import GatewaySettings
from gwstream.reconcile.pages import Vendor

__all__ = [
    "DEFAULT_PAGE_SIZES",
    "METRICS_PATHS",
    "READ_SCOPES",
    "MetricsClient",
]

METRICS_PATHS: Mapping[Vendor, str] = {
    "cognigy": "/api/v1/llm/gateway/metrics",
    "genesys": "/api/v2/ai/llm/gateway/telemetry",
}
READ_SCOPES: Mapping[Vendor, tuple[str, ...]] = {
    "cognigy": ("llm.gateway:metrics:read",),
    "genesys": ("ai:telemetry:read",),
}
_VENDORS: Mapping[str, Vendor] = {"cognigy": "cognigy", "genesys": "genesys"}
#: The page sizes the seeds use (Cognigy accepts up to 1000, Genesys up to 500).
DEFAULT_PAGE_SIZES: Mapping[Vendor, int] = {"cognigy": 100, "genesys": 50}


class MetricsClient:
    """GETs metrics pages from one gateway's first base URL; no I/O until :meth:`page`.

    ``client`` is the pooled HTTP client (shared, owned by the caller); the
    credentials are bound to it. ``scopes`` replaces the vendor's read scope.
    """

    def __init__(
        self,
        name: str,
        gateway: GatewaySettings,
        client: httpx.AsyncClient,
        *,
        scopes: Sequence[str] | None = None,
    ) -> None:
        vendor = _VENDORS.get(gateway.vendor)
        if vendor is None or gateway.oauth is None:
            raise ConfigError(
                f"gateway {name!r} uses protocol {gateway.protocol}, which has no metrics "
                "endpoint; pull only cognigy.* and genesys.* gateways"
            )
        self.name = name
        self.vendor: Vendor = vendor
        self.scopes: tuple[str, ...] = tuple(scopes) if scopes else READ_SCOPES[vendor]
        base = gateway.base_urls[0].rstrip("/")
        self.endpoint = base
        self.url = base + METRICS_PATHS[vendor]
        self.source = f"gateway {name!r} (GET {self.url})"
        oauth = gateway.oauth
        self.auth: ClientCredentialsAuth = build_auth(
            gateway.protocol,
            base,
            client_id=oauth.client_id,
            client_secret=oauth.resolved_secret(),
            token_url=gateway.token_url(),
            scopes=self.scopes,
            credentials_in=oauth.credentials_in,
        )
        self.auth.bind(client)
        self._client = client
        self._timeout_s = gateway.timeout_s
        self._retrier = Retrier(
            RetryPolicy(max_attempts=gateway.max_attempts, deadline_s=gateway.deadline_s)
        )
        self._token: str | None = None

    def __repr__(self) -> str:
        return f"MetricsClient(name={self.name!r}, url={self.url!r}, auth={self.auth!r})"

    async def aclose(self) -> None:
        """Forget the cached token (the HTTP client is the caller's to close)."""
        await self.auth.aclose()

    async def page(self, params: dict[str, str]) -> Mapping[str, Any]:
        """One page as a JSON object; a GatewayError once retries are spent."""
        try:
            attempted = await self._retrier.call(
                lambda _endpoint: self._attempt(params),
                endpoints=(self.endpoint,),
                attempt_timeout_s=self._timeout_s,
                refresh_auth=self._refresh,
            )
        except GatewayError as exc:
            exc.args = (
                f"gateway {self.name!r}, {self.vendor} metrics: {self.auth.redact(str(exc))}",
            )
            raise
        return attempted.value

    async def _refresh(self) -> bool:
        return await self.auth.refresh_after_401(self._token)

    async def _attempt(self, params: dict[str, str]) -> Mapping[str, Any]:
        try:
            token = await self.auth.token()
        except GatewayError as exc:
            raise AttemptFailed(exc) from exc
        self._token = token
        headers = {"Accept": "application/json", "Authorization": "Bearer " + token}
        try:
            response = await self._client.get(self.url, params=params, headers=headers)
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            raise classify_transport_error(exc, endpoint=self.url) from exc
        if not response.is_success:
            raise self._failure(response)
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            error = GatewayProtocolError("answered a page that is not a JSON object")
            error.endpoint = self.url
            raise AttemptFailed(error)
        return data

    def _failure(self, response: httpx.Response) -> AttemptFailed:
        body = response.content
        detail = self.auth.redact(error_detail(body))
        if response.status_code == 403:
            return AttemptFailed(
                forbidden_error(
                    endpoint=self.url,
                    body=body,
                    detail=detail,
                    needed_scopes=self.scopes,
                    www_authenticate=response.headers.get("www-authenticate"),
                    auth=self.auth,
                )
            )
        return failure_from_status(
            response.status_code,
            detail=detail,
            retry_after=response.headers.get("retry-after"),
            endpoint=self.url,
        )
