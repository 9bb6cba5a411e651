"""How a failed gateway call is classified: one vocabulary for both HTTP planes.

Every failure of a call to a gateway, whether it came over the data plane
(completions on aiohttp) or the control plane (OAuth tokens, vendor metric
pulls on httpx), becomes a :class:`~gwstream.errors.GatewayError` of one
kind (auth, timeout, rate_limited, client_error, server_error, transport,
protocol_error), wrapped in an :class:`AttemptFailed` that says what the
retry machinery needs to know: the server's Retry-After, and whether the
endpoint could not even be reached. :mod:`gwstream.gateways.resilience`
decides what to do about it (retry, fall back, give up); this module only
says what happened, so both planes retry, fall back and trip breakers alike.

Which statuses are worth another attempt, on the same endpoint or the next,
is a policy (:class:`~gwstream.gateways.resilience.RetryPolicy`); the
defaults are here.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Iterator
from datetime import UTC, datetime

import aiohttp
import httpx

from gwstream.errors import (
    GatewayAuthError,
    GatewayClientError,
    GatewayError,
    GatewayProtocolError,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayTransportError,
)

__all__ = [
    "DEFAULT_FALLBACK_ON_STATUS",
    "DEFAULT_RETRY_ON_STATUS",
    "RETRYABLE_4XX",
    "AttemptFailed",
    "classify_status",
    "classify_transport_error",
    "dropped_stream",
    "failure_from_status",
    "parse_retry_after",
]

#: Server errors that say the server cannot ever do this (not implemented, HTTP version
#: not supported): retrying or asking another endpoint of the same gateway is pointless.
_FINAL_5XX = frozenset({501, 505})
_SERVER_ERRORS = frozenset(range(500, 600)) - _FINAL_5XX
#: Every 5xx but 501 and 505 (so 529, Anthropic's "overloaded" that LiteLLM passes
#: through, is retried), and 408 and 429.
DEFAULT_RETRY_ON_STATUS: frozenset[int] = frozenset({408, 429}) | _SERVER_ERRORS
#: What another endpoint may answer when this one answered it: every 5xx but 501 and 505,
#: and 408. (Timeouts and dropped connections always fall back.)
DEFAULT_FALLBACK_ON_STATUS: frozenset[int] = frozenset({408}) | _SERVER_ERRORS
RETRYABLE_4XX = frozenset({408, 429})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait, or None if absent or unreadable.

    Accepts delta-seconds (``"120"``; fractions such as ``"0.5"`` are tolerated)
    and HTTP-dates (``"Wed, 21 Oct 2015 07:28:00 GMT"``), a date in the past
    meaning zero. ``now`` (timezone-aware) is injectable for tests.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with unknown local zone
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


_STATUS_HINTS = {
    401: "check the gateway's API key or credentials",
    403: "the credentials lack permission for this model or endpoint",
    404: "check the gateway base_url and the model name",
    413: "the prompt is too large for the gateway",
}


def classify_status(
    status: int,
    detail: str = "",
    *,
    endpoint: str | None = None,
    attempts: int = 1,
) -> GatewayError:
    """The GatewayError for an unsuccessful HTTP status.

    401/403 -> auth, 408 -> timeout, 429 -> rate_limited, other 4xx ->
    client_error, 5xx -> server_error, anything else (1xx, 3xx) -> protocol_error.
    ``detail`` is the gateway's own explanation; it must already be free of secrets.
    """
    cls: type[GatewayError]
    if status in (401, 403):
        cls = GatewayAuthError
    elif status == 408:
        cls = GatewayTimeout
    elif status == 429:
        cls = GatewayRateLimited
    elif 400 <= status <= 499:
        cls = GatewayClientError
    elif 500 <= status <= 599:
        cls = GatewayServerError
    else:
        cls = GatewayProtocolError
    summary = f"{endpoint or 'gateway'} answered HTTP {status}"
    message = f"{summary}: {detail}" if detail else summary
    hint = _STATUS_HINTS.get(status)
    if hint:
        message += f" ({hint})"
        summary += f" ({hint})"
    return cls(message, endpoint=endpoint, attempts=attempts, status_code=status, summary=summary)


class AttemptFailed(Exception):
    """One attempt failed; raised by an adapter's attempt, consumed by :class:`Retrier`.

    ``retry_after_s`` is the server's Retry-After, if any; ``endpoint_down``
    says the endpoint could not even be connected to, so a fallback is tried
    at once instead of retrying it. Never escapes :meth:`Retrier.call`.
    """

    def __init__(
        self,
        error: GatewayError,
        *,
        retry_after_s: float | None = None,
        endpoint_down: bool = False,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s
        self.endpoint_down = endpoint_down


def failure_from_status(
    status: int,
    *,
    detail: str = "",
    retry_after: str | None = None,
    endpoint: str | None = None,
    now: datetime | None = None,
) -> AttemptFailed:
    """An :class:`AttemptFailed` for an HTTP error status and its Retry-After header."""
    return AttemptFailed(
        classify_status(status, detail, endpoint=endpoint),
        retry_after_s=parse_retry_after(retry_after, now=now),
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_transport_error(exc: Exception, *, endpoint: str | None = None) -> AttemptFailed:
    """An :class:`AttemptFailed` for an exception raised while talking to an endpoint.

    Looks through the cause chain because httpx-aiohttp maps every aiohttp
    connection error, refused connections and server disconnects included, to
    ``httpx.ConnectTimeout``. Refused or unresolvable connections mark the
    endpoint down; real timeouts become GatewayTimeout; the rest
    GatewayTransportError, or GatewayProtocolError for undecodable bodies.
    """
    chain = list(_chain(exc))
    where = endpoint or "gateway"
    reason = type(exc).__name__
    connect_failed = any(
        isinstance(e, ConnectionRefusedError | aiohttp.ClientConnectorError)
        and not isinstance(e, TimeoutError)
        for e in chain
    ) or (
        isinstance(exc, httpx.ConnectError) and not any(isinstance(e, TimeoutError) for e in chain)
    )
    error: GatewayError
    if connect_failed:
        error = GatewayTransportError(f"cannot connect to {where} ({reason})", endpoint=endpoint)
        error.__cause__ = exc
        return AttemptFailed(error, endpoint_down=True)
    timed_out = any(isinstance(e, TimeoutError) for e in chain) or (
        isinstance(exc, httpx.TimeoutException)
        and not any(isinstance(e, aiohttp.ClientError) for e in chain[1:])
    )
    if timed_out:
        error = GatewayTimeout(f"{where} timed out ({reason})", endpoint=endpoint)
    elif isinstance(exc, httpx.TransportError | aiohttp.ClientError | OSError):
        error = GatewayTransportError(
            f"transport error talking to {where} ({reason})", endpoint=endpoint
        )
    else:
        error = GatewayProtocolError(
            f"unreadable answer from {where} ({reason})", endpoint=endpoint
        )
    error.__cause__ = exc
    return AttemptFailed(error)


def dropped_stream(reason: str, *, endpoint: str | None = None) -> AttemptFailed:
    """An :class:`AttemptFailed` for a streamed reply that ended before its terminator.

    A dropped stream is a transport failure: the same endpoint may be retried
    and, once its attempts are spent, the next endpoint is tried. ``reason``
    must not contain reply text.
    """
    where = endpoint or "gateway"
    error = GatewayTransportError(f"stream from {where} was cut: {reason}", endpoint=endpoint)
    return AttemptFailed(error)
