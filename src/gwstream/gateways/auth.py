"""OAuth2 client-credentials tokens for the Cognigy and Genesys gateways.

One :class:`ClientCredentialsAuth` per gateway. It posts to the vendor's token
endpoint through the gateway's own pooled client (:meth:`~ClientCredentialsAuth.bind`),
caches the bearer token and refreshes it ahead of expiry. Refreshes are
single-flight: however many calls find the token stale at once, they all
await one token request. :meth:`~ClientCredentialsAuth.refresh_after_401`
is the Retrier's ``refresh_auth`` hook: it refreshes only if the token the
gateway rejected is still the cached one, so a burst of 401s costs one
request too.

The two vendors differ in where the token lives and how the client
authenticates (the seed tutorials show both): Cognigy posts ``client_id``
and ``client_secret`` as form fields to ``/api/v1/auth/token``; Genesys sends
them as HTTP Basic credentials to ``/login/oauth2/token``.

The client secret and the tokens never appear in a repr, a log line or an
exception message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import aiohttp
import httpx
import orjson
from pydantic import SecretStr

from gwstream.errors import (
    ConfigError,
    GatewayAuthError,
    GatewayError,
    GatewayProtocolError,
)
from gwstream.gateways.client import mask_credentials
from gwstream.gateways.failures import classify_status, classify_transport_error
from gwstream.gateways.protocols import COGNIGY_TOKEN_PATH, GENESYS_TOKEN_PATH
from gwstream.secrets import load_secret

__all__ = [
    "COGNIGY_TOKEN_PATH",
    "GENESYS_TOKEN_PATH",
    "ClientCredentialsAuth",
    "CredentialStyle",
    "load_secret",
]

_log = logging.getLogger(__name__)


CredentialStyle = Literal["form", "basic"]
"""``form``: client_id/client_secret as form fields; ``basic``: an HTTP Basic header."""

_MAX_DETAIL_CHARS = 300
_DEFAULT_TTL_S = 300.0  # when a token answer omits expires_in
_FAILED_REFRESH_HOLD_S = 5.0  # after a failed refresh-ahead, keep the valid token this long


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float
    refresh_at: float
    granted_scopes: tuple[str, ...] | None


class ClientCredentialsAuth:
    """Bearer tokens from an OAuth2 client-credentials grant, cached and single-flight.

    ``refresh_margin_s`` is how long before expiry a token is replaced (capped
    at half its lifetime, so short-lived tokens are not refreshed on every
    call). If a refresh ahead of expiry fails, the still-valid token keeps
    being used for a few seconds before the next try; once expired, callers
    get the token endpoint's error.

    No I/O in the constructor; :meth:`bind` attaches the gateway's pooled
    client (the gateway does it). ``clock`` (monotonic seconds) is injectable
    for tests. ``token_requests`` counts requests made to the token endpoint.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr | None = None,
        client_secret_env: str | None = None,
        client_secret_file: str | Path | None = None,
        scopes: Sequence[str] = (),
        style: CredentialStyle = "form",
        refresh_margin_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(token_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"token_url must be an http(s) URL, got {token_url!r}")
        if parts.username or parts.password:
            raise ConfigError("token_url must not carry credentials; pass client_secret instead")
        if not client_id:
            raise ConfigError("client_id is empty")
        if style not in ("form", "basic"):
            raise ConfigError(f"credential style must be 'form' or 'basic', got {style!r}")
        if not math.isfinite(refresh_margin_s) or refresh_margin_s < 0:
            raise ConfigError(f"refresh_margin_s must be >= 0, got {refresh_margin_s}")
        if isinstance(scopes, str):
            scopes = scopes.split()
        self.token_url = token_url
        self.client_id = client_id
        self.scopes: tuple[str, ...] = tuple(scopes)
        self.style: CredentialStyle = style
        self.refresh_margin_s = refresh_margin_s
        self.token_requests = 0
        self._secret = load_secret(
            client_secret, env=client_secret_env, file=client_secret_file, what="client_secret"
        )
        self._clock = clock
        self._url = httpx.URL(token_url)
        self._client: httpx.AsyncClient | None = None
        self._cached: _Token | None = None
        self._inflight: asyncio.Task[_Token] | None = None
        self._hold_until = -math.inf

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"scopes={self.scopes!r}, style={self.style!r})"
        )

    @classmethod
    def cognigy(cls, base_url: str, **kwargs: Any) -> ClientCredentialsAuth:
        """Credentials for a Cognigy tenant: form fields to ``{base_url}/api/v1/auth/token``."""
        kwargs.setdefault("style", "form")
        return cls(token_url=base_url.rstrip("/") + COGNIGY_TOKEN_PATH, **kwargs)

    @classmethod
    def genesys(cls, base_url: str, **kwargs: Any) -> ClientCredentialsAuth:
        """Credentials for a Genesys org: HTTP Basic to ``{base_url}/login/oauth2/token``."""
        kwargs.setdefault("style", "basic")
        return cls(token_url=base_url.rstrip("/") + GENESYS_TOKEN_PATH, **kwargs)

    # -- lifecycle ----------------------------------------------------------------------

    def bind(self, client: httpx.AsyncClient) -> None:
        """Use ``client`` (the gateway's pooled client) for token requests."""
        if self._client is not None and self._client is not client and not self._client.is_closed:
            raise ConfigError(
                f"the credentials of client {self.client_id!r} are already used by another "
                "gateway; give each gateway its own ClientCredentialsAuth"
            )
        self._client = client

    async def aclose(self) -> None:
        """Abandon any token request in flight and forget the cached token."""
        task, self._inflight = self._inflight, None
        self._cached = None
        self._client = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, GatewayError):
                await task

    # -- tokens -------------------------------------------------------------------------

    async def token(self) -> str:
        """A bearer token valid now; fetched (once, however many callers) when stale."""
        cached = self._cached
        now = self._clock()
        if cached is not None and (
            now < cached.refresh_at or (now < cached.expires_at and now < self._hold_until)
        ):
            return cached.value
        try:
            return (await self._refresh()).value
        except GatewayError as exc:
            if cached is None or self._cached is not cached or self._clock() >= cached.expires_at:
                raise
            self._hold_until = self._clock() + _FAILED_REFRESH_HOLD_S
            _log.warning(
                "refreshing the token for client %r failed; using the current one until it "
                "expires: %s",
                self.client_id,
                exc,
            )
            return cached.value

    async def refresh_after_401(self, stale_token: str | None) -> bool:
        """After a gateway rejected ``stale_token`` with 401: make sure a newer token is cached.

        Requests a token only if ``stale_token`` is still the cached one (and
        no request is already in flight), so concurrent 401s share one
        request. Returns True when a different token is ready to retry with;
        raises the token endpoint's GatewayError if the refresh fails.
        """
        cached = self._cached
        if self._inflight is None:
            if cached is not None and cached.value != stale_token:
                return True
            self._cached = None  # the gateway rejected it: hand it out no more
        await self._refresh()
        return True

    def granted_scopes(self) -> tuple[str, ...] | None:
        """Scopes the token endpoint said it granted with the cached token, if it said."""
        return self._cached.granted_scopes if self._cached is not None else None

    def redact(self, text: str) -> str:
        """``text`` with the client secret and the cached token masked, as written and as
        requests carry them (URL-encoded in a form, base64 in a Basic header), and any
        credential-shaped value besides (:func:`mask_credentials`)."""
        secret = self._secret.get_secret_value()
        forms = [secret, self._cached and self._cached.value]
        if secret:
            forms += [quote_plus(secret), quote(secret, safe="")]
            for user, password in (
                (self.client_id, secret),
                (quote_plus(self.client_id), quote_plus(secret)),
            ):
                forms.append(base64.b64encode(f"{user}:{password}".encode()).decode())
        for form in forms:
            if form and form in text:
                text = text.replace(form, "***")
        return mask_credentials(text)

    async def _refresh(self) -> _Token:
        task = self._inflight
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch())
            task.add_done_callback(self._settled)
            self._inflight = task
        # Shielded: a caller timing out must not cancel the request the others await.
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Task[_Token]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not reported as lost

    async def _fetch(self) -> _Token:
        client = self._client
        if client is None:
            raise RuntimeError(
                f"the credentials of client {self.client_id!r} are not bound to a gateway's "
                "HTTP client; pass them to a gateway (auth=...)"
            )
        secret = self._secret.get_secret_value()
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if self.style == "form":
            form["client_id"] = self.client_id
            form["client_secret"] = secret
        else:
            pair = f"{self.client_id}:{secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self.token_requests += 1
        started = self._clock()
        try:
            response = await client.post(self._url, content=urlencode(form), headers=headers)
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            raise classify_transport_error(exc, endpoint=self.token_url).error from None
        if response.status_code != 200:
            raise self._rejection(response)
        token = self._parse(response.content, started)
        self._cached = token
        self._hold_until = -math.inf
        return token

    def _parse(self, body: bytes, started: float) -> _Token:
        where = f"token endpoint {self.token_url}"
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise GatewayProtocolError(
                f"{where} answered non-JSON", endpoint=self.token_url
            ) from None
        if not isinstance(data, dict):
            raise GatewayProtocolError(f"{where} answered a non-object", endpoint=self.token_url)
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise GatewayProtocolError(f"{where} answered no access_token", endpoint=self.token_url)
        kind = data.get("token_type", "bearer")
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise GatewayProtocolError(
                f"{where} issued a {kind!r} token; only bearer tokens are supported",
                endpoint=self.token_url,
            )
        ttl = data.get("expires_in", _DEFAULT_TTL_S)
        if isinstance(ttl, str) and ttl.isdigit():
            ttl = int(ttl)
        if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not ttl > 0:
            raise GatewayProtocolError(
                f"{where} answered an invalid expires_in", endpoint=self.token_url
            )
        granted = data.get("scope")
        expires_at = started + float(ttl)
        margin = min(self.refresh_margin_s, float(ttl) / 2)
        return _Token(
            value=value,
            expires_at=expires_at,
            refresh_at=expires_at - margin,
            granted_scopes=tuple(granted.split()) if isinstance(granted, str) else None,
        )

    def _rejection(self, response: httpx.Response) -> GatewayError:
        status = response.status_code
        code, detail = _oauth_error(response.content)
        detail = _bounded(self.redact(detail or response.text))
        url = self.token_url
        suffix = f": {detail}" if detail else ""
        if status == 401 or code in ("invalid_client", "unauthorized_client"):
            fix = f"check client_id {self.client_id!r} and its secret"
            return GatewayAuthError(
                f"client credentials rejected by {url} (HTTP {status}){suffix}; {fix}",
                endpoint=url,
                summary=f"client credentials rejected by {url} (HTTP {status}); {fix}",
            )
        if status == 403 or code == "invalid_scope":
            wanted = " ".join(self.scopes) or "(none requested)"
            refused = f"{url} refused to grant scope(s) {wanted!r} to client {self.client_id!r}"
            return GatewayAuthError(
                f"{refused} (HTTP {status}){suffix}",
                endpoint=url,
                summary=f"{refused} (HTTP {status})",
            )
        error = classify_status(status, detail, endpoint=url)
        hint = "; check oauth.token_url" if status == 404 else ""
        error.args = (f"token endpoint {url} answered HTTP {status}{suffix}{hint}",)
        error.summary = f"token endpoint {url} answered HTTP {status}{hint}"
        return error


def _oauth_error(body: bytes) -> tuple[str | None, str]:
    """``(error code, description)`` of an OAuth or vendor error body (RFC 6749 5.2 and kin)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    error = data.get("error")
    code = error if isinstance(error, str) else None
    nested = error if isinstance(error, dict) else {}
    for key in ("error_description", "message", "description"):
        for source in (data, nested):
            text = source.get(key)
            if isinstance(text, str) and text:
                return code, text
    return code, code or ""


def _bounded(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_DETAIL_CHARS:
        text = text[: _MAX_DETAIL_CHARS - 3] + "..."
    return text
