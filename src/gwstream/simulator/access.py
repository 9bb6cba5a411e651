"""OAuth2 client credentials for the simulator: token issue, bearer checks, expiry on demand.

Both token endpoints (``cognigy.token``, ``genesys.token``) take a
form-encoded body ``grant_type=client_credentials`` with the client's id
and secret either as form fields (``client_id``, ``client_secret``, seeds
000-002) or as HTTP Basic auth (seed 004); an optional ``scope`` lists
space-separated scopes. The answer is
``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``.

Tokens are random opaque strings bound to the vendor that issued them; they
are never logged nor echoed in an error. :meth:`TokenStore.expire_all` makes
every token issued so far expired at once, so a test can trigger the
refresh-on-401 path without waiting.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from gwstream.simulator.routes import ROUTES, TOKEN_ROUTES, VENDOR_SCOPES, Route, Vendor

__all__ = [
    "AuthFailure",
    "ClientProblem",
    "TokenGrant",
    "TokenStore",
    "check_client",
    "parse_scope",
    "read_client_credentials",
]

_MAX_TOKENS = 100_000


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a bearer token was refused: 401 (missing, invalid, expired) or 403 (scope)."""

    status: int
    reason: str
    message: str
    scope: str | None = None

    def www_authenticate(self) -> str:
        """The RFC 6750 challenge for this failure."""
        if self.reason == "missing_token":
            return 'Bearer realm="gwstream-simulator"'
        if self.reason == "insufficient_scope":
            return f'Bearer error="insufficient_scope", scope="{self.scope}"'
        if self.reason == "token_expired":
            return 'Bearer error="invalid_token", error_description="The access token expired"'
        return 'Bearer error="invalid_token"'


@dataclass(frozen=True, slots=True)
class ClientProblem:
    """Why a token request failed (RFC 6749 section 5.2 ``error`` code and description)."""

    status: int
    error: str
    description: str
    basic: bool = False


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Token:
    vendor: Vendor
    scopes: frozenset[str]
    expires_at: float
    epoch: int


class TokenStore:
    """Issued tokens and their scopes; at most ``max_tokens`` live (oldest forgotten first)."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_tokens: int = _MAX_TOKENS
    ) -> None:
        self._clock = clock
        self._max = max_tokens
        self._tokens: dict[str, _Token] = {}
        self._epoch = 0

    def issue(self, vendor: Vendor, scopes: frozenset[str], ttl_s: int) -> TokenGrant:
        token = "sim-" + secrets.token_urlsafe(32)
        if len(self._tokens) >= self._max:
            del self._tokens[next(iter(self._tokens))]
        self._tokens[token] = _Token(vendor, scopes, self._clock() + ttl_s, self._epoch)
        return TokenGrant(token, ttl_s, scopes)

    def expire_all(self) -> None:
        """Make every token issued so far expired; tokens issued afterwards are unaffected."""
        self._epoch += 1

    def check(
        self, route: Route, authorization: str | None, scope: str, revoked: frozenset[str]
    ) -> AuthFailure | None:
        """None if ``authorization`` carries a live token of the route's vendor with ``scope``."""
        token_path = ROUTES[TOKEN_ROUTES[route.vendor]].path
        if not authorization or not authorization.startswith("Bearer "):
            return AuthFailure(
                401,
                "missing_token",
                f"{route.label} needs 'Authorization: Bearer <access_token>' with a token "
                f"from POST {token_path}.",
            )
        record = self._tokens.get(authorization[7:].strip())
        if record is None or record.vendor != route.vendor:
            return AuthFailure(
                401,
                "invalid_token",
                f"The access token is not one this gateway issued; request one from "
                f"POST {token_path}.",
            )
        if record.epoch != self._epoch or self._clock() >= record.expires_at:
            return AuthFailure(
                401,
                "token_expired",
                f"The access token expired; request a new one from POST {token_path}.",
            )
        if scope in revoked or scope not in record.scopes:
            return AuthFailure(
                403,
                "insufficient_scope",
                f"The access token lacks the scope '{scope}' that {route.label} requires; "
                f"request a token with scope '{scope}'.",
                scope,
            )
        return None


def read_client_credentials(
    authorization: str | None, form: Mapping[str, str]
) -> tuple[str, str] | ClientProblem:
    """The client id and secret from HTTP Basic auth, else from the form fields."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, sep, secret = decoded.partition(":")
        if not sep or not client_id:
            return ClientProblem(
                401, "invalid_client", "The Basic credentials are not base64 'id:secret'.", True
            )
        if "client_id" in form and form["client_id"] != client_id:
            return ClientProblem(
                400,
                "invalid_request",
                "Send client credentials either as Basic auth or as form fields, not both.",
            )
        return client_id, secret
    client_id = form.get("client_id", "")
    secret = form.get("client_secret", "")
    if not client_id or not secret:
        return ClientProblem(
            401,
            "invalid_client",
            "Client authentication is missing: send client_id and client_secret form fields "
            "or HTTP Basic auth.",
        )
    return client_id, secret


def check_client(
    client_id: str, secret: str, clients: Mapping[str, SecretStr], *, basic: bool
) -> ClientProblem | None:
    """None if the pair is a configured client (any non-empty pair when none are configured)."""
    if not clients:
        return None if client_id and secret else _bad_client(basic)
    expected = clients.get(client_id)
    if expected is None or not hmac.compare_digest(
        secret.encode(), expected.get_secret_value().encode()
    ):
        return _bad_client(basic)
    return None


def _bad_client(basic: bool) -> ClientProblem:
    return ClientProblem(
        401,
        "invalid_client",
        "Client authentication failed: unknown client_id or wrong secret.",
        basic,
    )


def parse_scope(
    vendor: Vendor, scope: str | None, revoked: frozenset[str]
) -> frozenset[str] | ClientProblem:
    """The scopes to grant: those requested (all of the vendor's when none are), less revoked."""
    known = VENDOR_SCOPES[vendor]
    requested = frozenset(scope.split()) if scope and scope.strip() else known
    unknown = sorted(requested - known)
    if unknown:
        return ClientProblem(
            400,
            "invalid_scope",
            f"Unknown scope(s) {' '.join(unknown)}; this gateway grants {' '.join(sorted(known))}.",
        )
    return requested - revoked
