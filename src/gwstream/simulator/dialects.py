"""Error bodies, worded the way each vendor words them.

- ``openai`` (OpenAI and Cognigy, whose gateway is OpenAI-style):
  ``{"error": {"message", "type", "param", "code"}}``.
- ``genesys`` (Genesys Cloud's platform errors): ``{"message", "code", "status"}``.
- ``oauth`` (both token endpoints, RFC 6749 section 5.2):
  ``{"error": <code>, "error_description": <message>}``.

Every body is a complete sentence naming what to fix; none ever quotes a token
or secret.
"""

from __future__ import annotations

import orjson

from gwstream.simulator.routes import Dialect

__all__ = ["auth_error_body", "error_body", "fault_body", "openai_error", "stream_error_line"]

_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error"}
_GENESYS_CODES = {
    400: "bad.request",
    401: "authentication.required",
    403: "missing.scope",
    404: "not.found",
    429: "too.many.requests",
}
_GENESYS_AUTH_CODES = {
    "missing_token": "authentication.required",
    "invalid_token": "bad.credentials",
    "token_expired": "token.expired",
    "insufficient_scope": "missing.scope",
}


def openai_error(
    message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})


def error_body(
    dialect: Dialect,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
) -> bytes:
    """A body for an error ``status`` in ``dialect``; ``code`` replaces the dialect's default."""
    if dialect == "genesys":
        default = _GENESYS_CODES.get(status, "internal.server.error" if status >= 500 else "error")
        return orjson.dumps({"message": message, "code": code or default, "status": status})
    if dialect == "oauth":
        default = "invalid_request" if status < 500 else "temporarily_unavailable"
        return orjson.dumps({"error": code or default, "error_description": message})
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return openai_error(message, kind, param=param, code=code)


def fault_body(dialect: Dialect, status: int) -> bytes:
    """The body of an injected fault (429, 5xx or ``fail_status``)."""
    if status == 429:
        message = "Rate limit reached for requests (simulated). Retry after the Retry-After delay."
        if dialect == "openai":
            return openai_error(message, "requests", code="rate_limit_exceeded")
        code = "too.many.requests" if dialect == "genesys" else "rate_limited"
        return error_body(dialect, 429, message, code=code)
    if status >= 500:
        message = f"The server had an error (simulated HTTP {status})."
        if dialect == "openai":
            return openai_error(message, "server_error")
        return error_body(dialect, status, message)
    return error_body(dialect, status, f"Simulated HTTP {status}.")


def auth_error_body(dialect: Dialect, status: int, reason: str, message: str) -> bytes:
    """A 401/403 body; ``reason`` is missing_token, invalid_token, token_expired or
    insufficient_scope (OpenAI dialect ``code``; mapped to Genesys codes)."""
    if dialect == "genesys":
        return error_body(dialect, status, message, code=_GENESYS_AUTH_CODES.get(reason, reason))
    return error_body(dialect, status, message, code=reason)


def stream_error_line(message: str) -> bytes:
    """The JSON object a stream sends in place of its remaining chunks when it fails mid-way."""
    return orjson.dumps(
        {"error": {"message": message, "type": "server_error", "code": "stream_interrupted"}}
    )
