"""Adapter for OpenAI-compatible chat completions (``POST {base_url}/v1/chat/completions``).

Holds only what is specific to the protocol: the URL, the payload shape and
the reply parsing. Retries, backoff and fallback come from
:mod:`gwstream.gateways.resilience`.

Streaming seam: :meth:`OpenAIChatGateway.complete` returns a whole result
either way, so a request with ``stream=True`` is currently answered with a
buffered call; SSE parsing will slot in as a second attempt function chosen
in :meth:`OpenAIChatGateway._attempt_for`.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import httpx_aiohttp
import orjson
from pydantic import SecretStr

from gwstream.errors import ConfigError, GatewayClientError, GatewayProtocolError
from gwstream.gateways.base import GatewayRequest, GatewayResult, Usage
from gwstream.gateways.resilience import (
    AttemptFailed,
    Retrier,
    RetryPolicy,
    classify_transport_error,
    failure_from_status,
)
from gwstream.lifecycle import Service
from gwstream.tokens import TokenCounter, default_counter

__all__ = [
    "CHAT_COMPLETIONS_PATH",
    "ChatCompletion",
    "OpenAIChatGateway",
    "build_http_client",
    "build_payload",
    "parse_chat_completion",
]

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """The parts of a chat-completion reply gwstream uses.

    Token figures are None when the gateway did not report (valid) usage.
    """

    text: str
    finish_reason: str | None
    model: str | None
    id: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


def build_http_client(
    *,
    timeout_s: float,
    connect_timeout_s: float,
    max_connections: int,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """The one pooled client a gateway instance uses for all its calls.

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


def build_payload(request: GatewayRequest, model: str) -> dict[str, Any]:
    """The JSON body for a non-streaming chat-completion call."""
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.system is not None:
        messages.insert(0, {"role": "system", "content": request.system})
    payload: dict[str, Any] = {"model": model, "messages": messages, "stream": False}
    if request.max_tokens is not None:
        payload["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    return payload


def _token_count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_chat_completion(body: bytes) -> ChatCompletion:
    """Parse a chat-completion reply; raise GatewayProtocolError if it breaks the contract.

    Requires a JSON object with a non-empty ``choices`` list whose first entry
    has a ``message`` object; ``content`` may be null (read as ""). Usage is
    optional and ignored unless both token figures are non-negative integers.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayProtocolError(f"reply is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise GatewayProtocolError("reply is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise GatewayProtocolError("reply has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise GatewayProtocolError("reply choice has no message object")
    content = message.get("content")
    if content is None:
        content = ""
    elif not isinstance(content, str):
        raise GatewayProtocolError("reply message content is not a string")
    prompt_tokens = completion_tokens = None
    usage = data.get("usage")
    if isinstance(usage, dict):
        prompt_tokens = _token_count(usage.get("prompt_tokens"))
        completion_tokens = _token_count(usage.get("completion_tokens"))
        if prompt_tokens is None or completion_tokens is None:
            prompt_tokens = completion_tokens = None
    return ChatCompletion(
        text=content,
        finish_reason=_optional_str(choices[0].get("finish_reason")),
        model=_optional_str(data.get("model")),
        id=_optional_str(data.get("id")),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def _normalise_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"gateway base_url must be an http(s) URL, got {url!r}")
    if parts.username or parts.password:
        raise ConfigError("gateway base_url must not carry credentials; pass api_key instead")
    if parts.query or parts.fragment:
        raise ConfigError(f"gateway base_url must not have a query or fragment, got {url!r}")
    base = url.rstrip("/")
    if base.endswith("/v1"):
        raise ConfigError(
            f"gateway base_url must not end in /v1 ({url!r}); the adapter appends "
            f"{CHAT_COMPLETIONS_PATH}"
        )
    return base


class OpenAIChatGateway(Service):
    """An OpenAI-compatible chat-completions gateway with retries and fallback.

    ``base_urls`` are tried in order: the next one is used when the previous
    one's attempts are spent on 5xx, timeouts or transport errors, or at once
    when it refuses connections. ``api_key`` is sent as a bearer token and
    never appears in repr, logs or error messages.

    No I/O happens in the constructor. The pooled HTTP client is created by
    :meth:`start` (or ``async with``), or lazily by the first call;
    :meth:`aclose` closes it for good.
    """

    def __init__(
        self,
        *,
        name: str = "openai",
        base_url: str | None = None,
        base_urls: Sequence[str] | None = None,
        api_key: str | SecretStr | None = None,
        default_model: str | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 1000,
        retry: RetryPolicy | Retrier | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        if (base_url is None) == (base_urls is None):
            raise ConfigError(f"gateway {name!r}: give exactly one of base_url or base_urls")
        urls = [base_url] if base_url is not None else list(base_urls or ())
        if not urls:
            raise ConfigError(f"gateway {name!r}: base_urls is empty")
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise ConfigError(f"gateway {name!r}: timeout_s and connect_timeout_s must be > 0")
        if max_connections < 1:
            raise ConfigError(f"gateway {name!r}: max_connections must be >= 1")
        self.name = name
        self.endpoints: tuple[str, ...] = tuple(_normalise_base_url(u) for u in urls)
        self.default_model = default_model
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_connections = max_connections
        self.retrier = retry if isinstance(retry, Retrier) else Retrier(retry)
        self.token_counter = token_counter or default_counter()
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._api_key = secret or None
        # Parsed once: httpx re-parses a str URL on every request (~15 us).
        self._urls = {base: httpx.URL(base + CHAT_COMPLETIONS_PATH) for base in self.endpoints}
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return (
            f"OpenAIChatGateway(name={self.name!r}, endpoints={self.endpoints!r}, "
            f"default_model={self.default_model!r}, api_key={key})"
        )

    async def start(self) -> None:
        """Create the pooled client and load the tokenizer off the event loop."""
        self._ensure_client()
        await asyncio.to_thread(self.token_counter.load)

    async def stop(self) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections; the gateway cannot be used afterwards."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None:
            if self._closed:
                raise RuntimeError(f"gateway {self.name!r} is closed")
            headers = {"Accept": "application/json", "Content-Type": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._client = build_http_client(
                timeout_s=self.timeout_s,
                connect_timeout_s=self.connect_timeout_s,
                max_connections=self.max_connections,
                headers=headers,
            )
        return self._client

    async def complete(self, request: GatewayRequest) -> GatewayResult:
        """Ask for one completion; raise a GatewayError subclass on final failure."""
        started = time.monotonic()
        model = request.model or self.default_model
        if not model:
            raise GatewayClientError(
                f"gateway {self.name!r}: no model; set GatewayRequest.model or default_model",
                attempts=0,
            )
        payload = build_payload(request, model)
        attempted = await self.retrier.call(
            self._attempt_for(request, orjson.dumps(payload)),
            endpoints=self.endpoints,
            attempt_timeout_s=self.timeout_s,
            deadline_s=request.deadline_s,
        )
        reply = attempted.value
        if reply.prompt_tokens is not None and reply.completion_tokens is not None:
            usage = Usage(reply.prompt_tokens, reply.completion_tokens, "gateway", None)
        else:
            counter = self.token_counter
            usage = Usage(
                counter.count_messages(payload["messages"]),
                counter.count(reply.text),
                "tiktoken",
                counter.encoding_name,
            )
        return GatewayResult(
            text=reply.text,
            usage=usage,
            finish_reason=reply.finish_reason,
            response_model=reply.model,
            response_id=reply.id,
            endpoint=attempted.endpoint,
            attempts=attempted.attempts,
            latency_s=time.monotonic() - started,
            outcome=attempted.outcome,
        )

    def _attempt_for(self, request: GatewayRequest, body: bytes) -> _BufferedAttempt:
        """The single-attempt function for this request (the streaming seam)."""
        return _BufferedAttempt(self, body, {"X-Request-ID": request.request_id})

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text

    def _error_detail(self, response: httpx.Response) -> str:
        """The gateway's explanation of an error status, secret-free and bounded."""
        detail = ""
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            detail = response.text[: 4 * _MAX_DETAIL_CHARS]
        else:
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            detail = message if isinstance(message, str) else response.text[: 4 * _MAX_DETAIL_CHARS]
        detail = self._redact(" ".join(detail.split()))
        if len(detail) > _MAX_DETAIL_CHARS:
            detail = detail[: _MAX_DETAIL_CHARS - 3] + "..."
        return detail


class _BufferedAttempt:
    """One non-streaming POST to one endpoint, as the Retrier's attempt function."""

    __slots__ = ("_body", "_gateway", "_headers")

    def __init__(self, gateway: OpenAIChatGateway, body: bytes, headers: dict[str, str]) -> None:
        self._gateway = gateway
        self._body = body
        self._headers = headers

    async def __call__(self, endpoint: str) -> ChatCompletion:
        gateway = self._gateway
        client = gateway._ensure_client()
        try:
            response = await client.post(
                gateway._urls[endpoint], content=self._body, headers=self._headers
            )
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            raise classify_transport_error(exc, endpoint=endpoint) from exc
        if not response.is_success:
            raise failure_from_status(
                response.status_code,
                detail=gateway._error_detail(response),
                retry_after=response.headers.get("retry-after"),
                endpoint=endpoint,
            )
        try:
            return parse_chat_completion(response.content)
        except GatewayProtocolError as exc:
            raise AttemptFailed(exc) from exc
