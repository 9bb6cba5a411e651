"""The pooled HTTP client every gateway uses, and reading a gateway's error answers.

One :class:`httpx.AsyncClient` per gateway instance carries all its calls,
token requests included, on the httpx-aiohttp transport (see DESIGN.md,
"Gateways": plain httpx collapses at a few hundred calls in flight).
"""

from __future__ import annotations

import http.cookiejar
from typing import Any

import httpx
import httpx_aiohttp
import orjson

__all__ = ["build_http_client", "error_detail"]

_MAX_DETAIL_CHARS = 300


def build_http_client(
    *,
    timeout_s: float,
    connect_timeout_s: float,
    max_connections: int,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """The one pooled client a gateway instance uses for all its calls (token requests too).

    It runs on the httpx-aiohttp transport: plain httpx collapses past ~100
    calls in flight, and thousands are normal here. The pool limit is given to
    the transport (the client ignores ``limits`` once a transport is set).
    ``trust_env`` is off so proxy variables cannot swap in httpx's own
    transport behind our back. Waiting for a pooled connection is unbounded
    here; the Retrier's per-attempt timeout bounds the whole attempt.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.AsyncClient(
        transport=httpx_aiohttp.AiohttpTransport(limits=limits),
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s, pool=None),
        headers=headers,
        cookies=httpx.Cookies(_NoCookies()),
        trust_env=False,
        follow_redirects=False,
    )


class _NoCookies(http.cookiejar.CookieJar):
    """Gateways are stateless APIs: parsing Set-Cookie on every response is wasted CPU
    (httpx runs the stdlib cookie machinery per response, a sizeable share of a call)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


def error_detail(body: bytes) -> str:
    """A gateway's own explanation of an error, from the usual JSON shapes, bounded.

    Reads ``error.message``, ``message``, ``error`` (a string), ``error_description``
    or ``detail``; else the raw text. The caller redacts secrets.
    """
    detail = ""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        candidates = [
            error.get("message") if isinstance(error, dict) else error,
            data.get("message"),
            data.get("error_description"),
            data.get("detail"),
        ]
        detail = next((c for c in candidates if isinstance(c, str) and c), "")
    if not detail:
        detail = body[: 4 * _MAX_DETAIL_CHARS].decode("utf-8", "replace")
    detail = " ".join(detail[: 4 * _MAX_DETAIL_CHARS].split())
    if len(detail) > _MAX_DETAIL_CHARS:
        detail = detail[: _MAX_DETAIL_CHARS - 3] + "..."
    return detail
