"""The pooled HTTP clients every gateway uses, and reading a gateway's error answers.

Two planes (see DESIGN.md, "Gateways"):

- the **data plane**, completion calls (thousands in flight), goes over one
  pooled :class:`aiohttp.ClientSession` per gateway (:func:`build_data_session`):
  httpx over its aiohttp transport builds every request and response twice,
  once per library, and cost 2.3 times the CPU per call;
- the **control plane** (OAuth token requests, vendor metric pulls) uses one
  :class:`httpx.AsyncClient` on the httpx-aiohttp transport
  (:func:`build_http_client`; plain httpx collapses at a few hundred calls in
  flight), where its API serves and the volume is small.

Both report failures through the same classification
(:mod:`gwstream.gateways.resilience`), so retries, Retry-After, fallbacks and
breakers behave the same on either.
"""

from __future__ import annotations

import http.cookiejar
import re
from typing import Any

import aiohttp
import httpx
import httpx_aiohttp
import orjson

__all__ = ["build_data_session", "build_http_client", "error_detail"]

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


def build_data_session(
    *,
    timeout_s: float,
    connect_timeout_s: float,
    max_connections: int,
    headers: dict[str, str] | None = None,
) -> aiohttp.ClientSession:
    """The pooled session a gateway's completion calls go over (call inside the loop).

    ``max_connections`` bounds the pool (any number of hosts); ``timeout_s``
    bounds each read of the body (a stream may take longer in all, as long
    as it keeps sending), and the Retrier's per-attempt timeout bounds the
    whole attempt. No cookies, no environment proxies, no redirects.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=0),
        headers=headers,
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout_s, sock_read=timeout_s
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        raise_for_status=False,
    )


class _NoCookies(http.cookiejar.CookieJar):
    """Gateways are stateless APIs: parsing Set-Cookie on every response is wasted CPU
    (httpx runs the stdlib cookie machinery per response, a sizeable share of a call)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


# A credential in the shapes requests and error bodies carry it: an Authorization value,
# and a secret, token, key or password given as a form field, query parameter or JSON member.
_CREDENTIAL = re.compile(
    r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/._~=-]{6,}"
    r"|\b(client_secret|secret|password|passwd|api_key|apikey|access_token|refresh_token|token)"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\s&\"',}]+"
)


def mask_credentials(text: str) -> str:
    """``text`` with every credential-shaped value masked (``Basic ***``,
    ``client_secret=***``): an error body may echo the request that carried them."""
    return _CREDENTIAL.sub(_masked, text) if text else text


def _masked(m: re.Match[str]) -> str:
    return f"{m.group(1)} ***" if m.group(1) else f"{m.group(2)}{m.group(3)}***"


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
    return mask_credentials(detail)
