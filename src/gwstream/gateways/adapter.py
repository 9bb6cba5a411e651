"""What every HTTP gateway adapter shares: the pooled client, credentials, the call skeleton.

An adapter subclasses :class:`HttpGateway` and supplies only what differs:
its ``path``, the scopes its operation needs, :meth:`HttpGateway.build_exchange`
(the JSON body, whether the answer streams, the prompt to count if usage is
missing) and a reader for the answer (:meth:`HttpGateway.parse_reply` for a
buffered body, :meth:`HttpGateway.read_stream` for a stream). The base runs
the call under the shared :class:`~gwstream.gateways.resilience.Retrier`:
bearer tokens from :class:`~gwstream.gateways.auth.ClientCredentialsAuth`
(refreshed once on a 401), a 403 that names the missing scope, Retry-After on
429, fallback on 5xx, timeouts and dropped streams, and usage counted with
tiktoken when the gateway reports none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp
import httpx
import yarl
from pydantic import SecretStr

from gwstream.errors import (
    ConfigError,
    GatewayClientError,
    GatewayError,
    GatewayProtocolError,
    GatewayTransportError,
)
from gwstream.gateways.auth import ClientCredentialsAuth
from gwstream.gateways.base import GatewayRequest, GatewayResult, Usage
from gwstream.gateways.breaker import BreakerPolicy, BreakerSnapshot, CircuitBreaker
from gwstream.gateways.client import (
    build_data_session,
    build_http_client,
    error_detail,
    mask_credentials,
)
from gwstream.gateways.completion import Completion
from gwstream.gateways.failures import (
    AttemptFailed,
    classify_transport_error,
    dropped_stream,
    failure_from_status,
)
from gwstream.gateways.protocols import facts
from gwstream.gateways.resilience import Retrier, RetryPolicy
from gwstream.gateways.scopes import forbidden_error
from gwstream.gateways.settings import safe_url
from gwstream.gateways.streams import MalformedChunk, StreamCut
from gwstream.lifecycle import Service
from gwstream.tokens import MessageLike, TokenCounter, default_counter

__all__ = ["Exchange", "HttpGateway"]

JSON = "application/json"
#: Models with breakers of their own per gateway; calls for further models share one set.
MAX_BREAKER_MODELS = 256


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request as an adapter shapes it: the body, how to read the answer, what to count.

    ``prompt`` is what tiktoken counts as input tokens when the gateway
    reports no usage (the messages as the gateway will see them). A
    streamed answer is read by :meth:`HttpGateway.read_stream`, a buffered
    one by :meth:`HttpGateway.parse_reply`.
    """

    body: bytes
    prompt: Sequence[MessageLike]
    stream: bool = False
    accept: str = "application/json"


def _normalise_base_url(url: str, *, credentials_hint: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"gateway base_url must be an http(s) URL, got {safe_url(url)}")
    if parts.username or parts.password:
        raise ConfigError(f"gateway base_url must not carry credentials; {credentials_hint}")
    if parts.query or parts.fragment:
        raise ConfigError(
            f"gateway base_url must not have a query or fragment, got {safe_url(url)}"
        )
    return url.rstrip("/")


class HttpGateway(Service):
    """Base of the HTTP adapters: endpoints, one pooled client, credentials, retries, usage.

    ``base_urls`` are tried in order: the next one is used when the previous
    one's attempts are spent on 5xx, timeouts, transport errors or dropped
    streams, or at once when it refuses connections. Credentials are either
    ``auth`` (OAuth2 client credentials, bound to this gateway's client) or a
    static ``api_key`` sent as a bearer token; neither appears in repr, logs
    or error messages.

    ``timeout_s`` bounds one whole attempt, a streamed answer's reading
    included; ``retry`` (a policy or a ready Retrier) bounds the call;
    ``default_model`` serves requests that name none; ``stream``, for
    protocols with both forms, streams every request (a request may also ask
    with ``GatewayRequest.stream``); ``token_counter`` counts usage a gateway
    does not report.

    No I/O happens in the constructor. The pooled HTTP client is created by
    :meth:`start` (or ``async with``), or lazily by the first call;
    :meth:`aclose` closes it (and the ``auth`` provider's cache) for good.
    """

    protocol: ClassVar[str]
    path: ClassVar[str]
    needed_scopes: ClassVar[tuple[str, ...]] = ()
    """Scopes the operation needs: requested by default, named when a 403 names none."""
    vendor: ClassVar[str | None] = None
    """The OAuth vendor (``cognigy``, ``genesys``) whose credentials the adapter needs."""
    stream_forms: ClassVar[tuple[bool, ...]] = (False,)
    """The answer forms the protocol has: buffered (False), streamed (True) or both."""
    stream_default: ClassVar[bool] = False
    """Whether a protocol with both forms streams when neither request nor config asks."""

    def __init_subclass__(cls, protocol: str | None = None, **kwargs: Any) -> None:
        """``class X(HttpGateway, protocol="name")``: the class attributes above come from
        the protocol's facts (:mod:`gwstream.gateways.protocols`), written down once."""
        super().__init_subclass__(**kwargs)
        if protocol is None:
            return
        f = facts(protocol)
        cls.protocol, cls.path, cls.needed_scopes = f.name, f.path, f.scopes
        cls.vendor = f.vendor if f.oauth else None
        cls.stream_forms, cls.stream_default = f.stream_forms, f.stream_default

    def __init__(
        self,
        *,
        name: str | None = None,
        base_url: str | None = None,
        base_urls: Sequence[str] | None = None,
        auth: ClientCredentialsAuth | None = None,
        api_key: str | SecretStr | None = None,
        default_model: str | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 1000,
        retry: RetryPolicy | Retrier | None = None,
        token_counter: TokenCounter | None = None,
        stream: bool | None = None,
        breaker: BreakerPolicy | None = None,
    ) -> None:
        name = name or self.protocol
        if (base_url is None) == (base_urls is None):
            raise ConfigError(f"gateway {name!r}: give exactly one of base_url or base_urls")
        urls = [base_url] if base_url is not None else list(base_urls or ())
        if not urls:
            raise ConfigError(f"gateway {name!r}: base_urls is empty")
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise ConfigError(f"gateway {name!r}: timeout_s and connect_timeout_s must be > 0")
        if max_connections < 1:
            raise ConfigError(f"gateway {name!r}: max_connections must be >= 1")
        if auth is not None and api_key:
            raise ConfigError(f"gateway {name!r}: give api_key or auth, not both")
        if self.vendor is not None and auth is None:
            raise ConfigError(
                f"gateway {name!r} ({self.protocol}) needs OAuth client credentials: pass "
                f"auth=ClientCredentialsAuth.{self.vendor}(base_url, client_id=..., ...)"
            )
        if stream is not None and stream not in self.stream_forms:
            form = "streamed" if stream else "buffered"
            raise ConfigError(
                f"gateway {name!r}: protocol {self.protocol} has no {form} form; drop stream"
            )
        hint = "pass api_key instead" if auth is None else "pass auth instead"
        self.name = name
        self.endpoints: tuple[str, ...] = tuple(
            self._check_base_url(_normalise_base_url(u, credentials_hint=hint)) for u in urls
        )
        self.auth = auth
        self.stream = self.stream_default if stream is None else stream
        self.default_model = default_model
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_connections = max_connections
        self.retrier = retry if isinstance(retry, Retrier) else Retrier(retry)
        self._breaker_policy = breaker
        # model -> endpoint -> breaker, made on a model's first call.
        self._breakers: dict[str, dict[str, CircuitBreaker]] = {}
        self.token_counter = token_counter or default_counter()
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._api_key = secret or None
        # Parsed once, not on every request.
        self._urls = {base: yarl.URL(base + self.path) for base in self.endpoints}
        self._client: httpx.AsyncClient | None = None  # the control plane (OAuth tokens)
        self._session: aiohttp.ClientSession | None = None  # the data plane (completions)
        self._closed = False

    def _check_base_url(self, base: str) -> str:
        """Adapter hook: reject base URLs that would double the path; return the URL."""
        return base

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return (
            f"{type(self).__name__}(name={self.name!r}, endpoints={self.endpoints!r}, "
            f"default_model={self.default_model!r}, api_key={key}, auth={self.auth!r})"
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Create the pooled clients and load the tokenizer off the event loop."""
        self._ensure_session()
        await asyncio.to_thread(self.token_counter.load)

    async def stop(self) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections; the gateway cannot be used afterwards."""
        self._closed = True
        client, self._client = self._client, None
        session, self._session = self._session, None
        if self.auth is not None:
            await self.auth.aclose()
        if client is not None:
            await client.aclose()
        if session is not None:
            await session.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        """The data plane's pooled session (and, with OAuth, the control plane's client)."""
        if self._session is None:
            if self._closed:
                raise RuntimeError(f"gateway {self.name!r} is closed")
            headers = {"Accept": JSON, "Content-Type": JSON}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._session = build_data_session(
                timeout_s=self.timeout_s,
                connect_timeout_s=self.connect_timeout_s,
                max_connections=self.max_connections,
                headers=headers,
            )
            if self.auth is not None and self._client is None:
                # Token requests are few: httpx, with its own small pool.
                self._client = build_http_client(
                    timeout_s=self.timeout_s,
                    connect_timeout_s=self.connect_timeout_s,
                    max_connections=min(self.max_connections, 16),
                    headers={"Accept": JSON},
                )
                self.auth.bind(self._client)
        return self._session

    # -- adapter hooks ------------------------------------------------------------------

    def streams(self, request: GatewayRequest) -> bool:
        """Whether ``request`` is answered as a stream: the protocol's only form, else when
        the request or the gateway's ``stream`` setting asks for it."""
        if len(self.stream_forms) == 1:
            return self.stream_forms[0]
        return request.stream or self.stream

    def build_exchange(self, request: GatewayRequest, model: str) -> Exchange:
        """The body to send for ``request`` and whether its answer streams."""
        raise NotImplementedError

    def parse_reply(self, body: bytes) -> Completion:
        """Read a buffered answer; raise GatewayProtocolError if it breaks the contract."""
        raise NotImplementedError

    async def read_stream(self, chunks: AsyncIterator[bytes], endpoint: str) -> Completion:
        """Read a streamed answer. Raise StreamCut if it ends before its terminator,
        MalformedChunk for bad framing, or a GatewayError for an error the stream reports."""
        raise NotImplementedError

    # -- the call -----------------------------------------------------------------------

    def breakers(self, model: str) -> dict[str, CircuitBreaker]:
        """The breakers of ``model``'s calls, by endpoint.

        Models beyond :data:`MAX_BREAKER_MODELS` (a gateway that accepts any
        model name from turns) share one set, so memory stays bounded.
        """
        found = self._breakers.get(model)
        if found is None:
            if len(self._breakers) >= MAX_BREAKER_MODELS:
                model = "*"
                found = self._breakers.get(model)
            if found is None:
                found = self._breakers[model] = {
                    e: CircuitBreaker(e, self._breaker_policy, gateway=self.name, model=model)
                    for e in self.endpoints
                }
        return found

    def breaker_states(self) -> list[BreakerSnapshot]:
        """Each endpoint's circuit state per model called, for metrics and `gateways check`."""
        return [b.snapshot() for per_model in self._breakers.values() for b in per_model.values()]

    async def complete(self, request: GatewayRequest) -> GatewayResult:
        """Ask for one completion; raise a GatewayError subclass on final failure."""
        started = time.monotonic()
        model = request.model or self.default_model
        if not model:
            raise GatewayClientError(
                f"gateway {self.name!r}: no model; set GatewayRequest.model or default_model",
                attempts=0,
            )
        exchange = self.build_exchange(request, model)
        call = _Call(self, exchange, request.request_id)
        attempted = await self.retrier.call(
            call.attempt,
            endpoints=self.endpoints,
            attempt_timeout_s=self.timeout_s,
            deadline_s=request.deadline_s,
            refresh_auth=call.refresh_auth if self.auth is not None else None,
            breakers=self.breakers(model),
        )
        reply = attempted.value
        return GatewayResult(
            text=reply.text,
            usage=self._usage(reply, exchange),
            finish_reason=reply.finish_reason,
            response_model=reply.model,
            response_id=reply.id,
            endpoint=attempted.endpoint,
            attempts=attempted.attempts,
            latency_s=time.monotonic() - started,
            outcome=attempted.outcome,
        )

    def _usage(self, reply: Completion, exchange: Exchange) -> Usage:
        if reply.prompt_tokens is not None and reply.completion_tokens is not None:
            return Usage(
                reply.prompt_tokens,
                reply.completion_tokens,
                "gateway",
                None,
                reply.cached_prompt_tokens,
            )
        counter = self.token_counter
        return Usage(
            counter.count_messages(exchange.prompt),
            counter.count(reply.text),
            "tiktoken",
            counter.encoding_name,
        )

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        if self.auth is not None:
            text = self.auth.redact(text)
        return mask_credentials(text)

    def _failure(
        self, status: int, headers: Mapping[str, str], body: bytes, endpoint: str
    ) -> AttemptFailed:
        """The AttemptFailed for an unsuccessful status (403 names the missing scope)."""
        detail = self._redact(error_detail(body))
        if status == 403:
            return AttemptFailed(
                forbidden_error(
                    endpoint=endpoint,
                    body=body,
                    detail=detail,
                    needed_scopes=self.needed_scopes,
                    www_authenticate=headers.get("www-authenticate"),
                    auth=self.auth,
                )
            )
        return failure_from_status(
            status, detail=detail, retry_after=headers.get("retry-after"), endpoint=endpoint
        )


class _Call:
    """One ``complete`` call's state across its attempts: the prepared request and the
    bearer token the latest attempt sent (so a 401 refreshes only a stale token)."""

    __slots__ = ("attempts", "exchange", "gateway", "headers", "token")

    def __init__(self, gateway: HttpGateway, exchange: Exchange, request_id: str) -> None:
        self.gateway = gateway
        self.exchange = exchange
        self.headers = {"X-Request-ID": request_id, "Accept": exchange.accept}
        self.token: str | None = None
        self.attempts = 0

    async def refresh_auth(self) -> bool:
        auth = self.gateway.auth
        assert auth is not None
        try:
            return await auth.refresh_after_401(self.token)
        except GatewayError as exc:
            exc.attempts = self.attempts
            raise

    async def attempt(self, endpoint: str) -> Completion:
        self.attempts += 1
        gateway = self.gateway
        session = gateway._ensure_session()
        headers = self.headers
        if gateway.auth is not None:
            try:
                self.token = await gateway.auth.token()
            except GatewayError as exc:
                raise AttemptFailed(exc) from exc
            headers = {**headers, "Authorization": "Bearer " + self.token}
        url = gateway._urls[endpoint]
        body = self.exchange.body
        try:
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                if not 200 <= status < 300:
                    raise gateway._failure(
                        status, response.headers, await response.read(), endpoint
                    )
                if self.exchange.stream:
                    return await self._read_stream(response, endpoint)
                content = await response.read()
        except (aiohttp.ClientError, OSError) as exc:
            raise classify_transport_error(exc, endpoint=endpoint) from exc
        try:
            return gateway.parse_reply(content)
        except GatewayProtocolError as exc:
            exc.endpoint = endpoint
            raise AttemptFailed(exc) from exc

    async def _read_stream(self, response: aiohttp.ClientResponse, endpoint: str) -> Completion:
        try:
            return await self.gateway.read_stream(response.content.iter_any(), endpoint)
        except (aiohttp.ClientError, OSError) as exc:
            failure = classify_transport_error(exc, endpoint=endpoint)
            if isinstance(failure.error, GatewayTransportError):
                # The body broke off after a 200: say so, not just "transport error".
                failure = dropped_stream(
                    f"the connection closed mid-stream ({type(exc).__name__})", endpoint=endpoint
                )
            raise failure from exc
        except StreamCut as exc:
            raise dropped_stream(str(exc), endpoint=endpoint) from None
        except MalformedChunk as exc:
            # Like a stream cut short: the same endpoint, then the next, may do better.
            raise dropped_stream(f"malformed chunk ({exc})", endpoint=endpoint) from None
        except GatewayError as exc:
            exc.endpoint = endpoint
            exc.args = (self.gateway._redact(str(exc)),)
            raise AttemptFailed(exc) from None
