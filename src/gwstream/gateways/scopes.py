"""Reading a gateway's 403: which OAuth scope the credentials lack.

A 403 is permanent (retrying cannot grant a scope), so its error must name
the scope to grant. Gateways say it in different places: the RFC 6750
challenge header, a JSON field, or only in a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from gwstream.errors import GatewayAuthError
from gwstream.gateways.auth import ClientCredentialsAuth

__all__ = ["forbidden_error", "scopes_named"]

_SCOPE_KEYS = (
    "missing_scope",
    "missingScope",
    "missing_scopes",
    "missingScopes",
    "required_scope",
    "requiredScope",
    "required_scopes",
    "requiredScopes",
    "scope",
    "scopes",
)
_CHALLENGE_SCOPE = re.compile(r'scope="([^"]*)"')
_QUOTED_SCOPE = re.compile(r"['\"`]([A-Za-z][\w.:/-]*[:.][\w.:/-]*\w)['\"`]")
_BARE_SCOPE = re.compile(
    r"\b[A-Za-z][\w-]*(?:[:.][\w-]+)+:[\w-]+\b|\b[a-z][\w-]*\.[a-z][\w-]*[.:][\w.:-]*\w"
)


def scopes_named(body: bytes, detail: str, www_authenticate: str | None = None) -> list[str]:
    """The scopes a 403 names, most authoritative first: the RFC 6750 challenge
    (``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``), a
    scope field in the JSON body (top level or under ``error``), scope-shaped
    quoted words in the message, else scope-shaped bare words."""
    if www_authenticate:
        match = _CHALLENGE_SCOPE.search(www_authenticate)
        if match and match.group(1).split():
            return match.group(1).split()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    sources: list[dict[str, Any]] = []
    if isinstance(data, dict):
        sources.append(data)
        for key in ("error", "details"):
            nested = data.get(key)
            if isinstance(nested, dict):
                sources.append(nested)
    for source in sources:
        for key in _SCOPE_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.split()
            if isinstance(value, list):
                found = [v for v in value if isinstance(v, str) and v]
                if found:
                    return found
    for pattern in (_QUOTED_SCOPE, _BARE_SCOPE):
        words = list(dict.fromkeys(pattern.findall(detail)))
        if words:
            return words
    return []


def forbidden_error(
    *,
    endpoint: str,
    body: bytes,
    detail: str,
    needed_scopes: Sequence[str],
    www_authenticate: str | None = None,
    auth: ClientCredentialsAuth | None = None,
) -> GatewayAuthError:
    """The permanent GatewayAuthError for a gateway's 403, naming the scope to grant.

    The scope comes from the answer when it names one (see
    :func:`scopes_named`), else from the scopes this gateway's operation
    needs (less those the token endpoint said it granted, when it said).
    """
    scopes = scopes_named(body, detail, www_authenticate)
    if not scopes:
        granted = auth.granted_scopes() if auth is not None else None
        scopes = [s for s in needed_scopes if granted is None or s not in granted]
        scopes = scopes or list(needed_scopes)
    who = f"OAuth client {auth.client_id!r}" if auth is not None else "the credentials"
    named = " ".join(scopes) if scopes else "(unknown)"
    summary = f"{endpoint} answered HTTP 403: {who} lacks scope {named!r}; grant it and retry"
    message = f"{summary} (gateway said: {detail})" if detail else summary
    return GatewayAuthError(message, endpoint=endpoint, status_code=403, summary=summary)
