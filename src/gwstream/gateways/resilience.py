"""Retries, backoff, Retry-After, deadlines and fallback, shared by every adapter.

An adapter supplies one *attempt*: an async function that makes a single HTTP
call to one endpoint and either returns a value or raises
:class:`AttemptFailed` carrying the classified :class:`~gwstream.errors.GatewayError`
(helpers below classify HTTP statuses and transport exceptions).
:class:`Retrier` runs attempts under a :class:`RetryPolicy`:

- exponential backoff with full jitter, ``uniform(0, min(max_delay, base * 2**n))``;
- a server's ``Retry-After`` (delta-seconds or HTTP-date) replaces the backoff,
  plus up to ``base_delay_s`` of jitter so clients told the same instant spread out;
- one total deadline per call; a wait that would end past it is not taken and
  the call fails with the error it has;
- statuses outside ``retry_on_status`` are not retried on the same endpoint
  (by default every 5xx but 501 and 505 is, with 408 and 429): 4xx other
  than 408/429 never are (a 401 is retried once, and only if the adapter
  can refresh its credentials);
- after an endpoint's attempts are spent on a status of ``fallback_on_status``
  (by default every 5xx but 501 and 505, and 408), a timeout or a transport
  error, the next endpoint is tried; an endpoint that refuses connections is
  left at once.

Decisions are pure functions (:func:`backoff_delay`, :func:`parse_retry_after`,
:func:`plan_retry`, :func:`classify_status`) taking their random source and
clock as arguments, so they are tested without sleeping.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

import aiohttp
import httpx

from gwstream.errors import (
    ConfigError,
    GatewayAuthError,
    GatewayCircuitOpen,
    GatewayClientError,
    GatewayError,
    GatewayProtocolError,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayTransportError,
)
from gwstream.gateways.base import ResultOutcome
from gwstream.gateways.breaker import CircuitBreaker

__all__ = [
    "DEFAULT_FALLBACK_ON_STATUS",
    "DEFAULT_RETRY_ON_STATUS",
    "AttemptFailed",
    "Attempted",
    "RandomUniform",
    "Retrier",
    "RetryPolicy",
    "backoff_delay",
    "classify_status",
    "classify_transport_error",
    "dropped_stream",
    "failure_from_status",
    "is_fallback_eligible",
    "is_retryable",
    "parse_retry_after",
    "plan_retry",
]


_log = logging.getLogger(__name__)

T = TypeVar("T")

RandomUniform = Callable[[float, float], float]
"""``random.uniform``-shaped source of jitter: ``(low, high) -> low <= x <= high``."""

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
_RETRYABLE_4XX = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one call tries before it fails.

    ``max_attempts`` counts attempts per endpoint (the first one included);
    ``deadline_s`` bounds the whole call, every endpoint, attempt and wait
    included.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.05
    max_delay_s: float = 5.0
    deadline_s: float = 30.0
    retry_on_status: frozenset[int] = field(default=DEFAULT_RETRY_ON_STATUS)
    fallback_on_status: frozenset[int] = field(default=DEFAULT_FALLBACK_ON_STATUS)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"retry max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ConfigError(
                f"retry delays must be >= 0, got base_delay_s={self.base_delay_s}, "
                f"max_delay_s={self.max_delay_s}"
            )
        if self.deadline_s <= 0:
            raise ConfigError(f"retry deadline_s must be > 0, got {self.deadline_s}")
        for name in ("retry_on_status", "fallback_on_status"):
            statuses = getattr(self, name)
            bad = sorted(s for s in statuses if not (s in _RETRYABLE_4XX or 500 <= s <= 599))
            if bad:
                raise ConfigError(f"{name} may hold only 408, 429 and 5xx statuses; remove {bad}")
            # Accept any iterable of ints from config files, store an immutable set.
            object.__setattr__(self, name, frozenset(statuses))


class RetryBudget:
    """A gateway-wide cap on retries, so a failing gateway is not hit max_attempts times harder.

    Every call deposits ``ratio`` of a retry; a retry withdraws one. A floor of
    ``min_per_s`` retries a second keeps low-traffic gateways retrying. The
    balance is capped at ``min_per_s * window_s``. With the defaults, retries
    add at most about 20% to a gateway's traffic once failures are sustained.
    One event loop: no locks.
    """

    __slots__ = ("_balance", "_cap", "_clock", "_min_per_s", "_ratio", "_stamp", "refused")

    def __init__(
        self,
        ratio: float = 0.2,
        *,
        min_per_s: float = 10.0,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ratio < 0 or min_per_s < 0 or window_s <= 0:
            raise ConfigError("retry budget: ratio and min_per_s must be >= 0, window_s > 0")
        self._ratio = ratio
        self._min_per_s = min_per_s
        self._cap = max(1.0, min_per_s * window_s)
        self._clock = clock
        self._stamp = clock()
        self._balance = self._cap
        self.refused = 0

    def _refill(self, extra: float = 0.0) -> None:
        now = self._clock()
        gained = (now - self._stamp) * self._min_per_s + extra
        self._stamp = now
        self._balance = min(self._cap, self._balance + gained)

    def deposit(self) -> None:
        self._refill(self._ratio)

    def try_withdraw(self) -> bool:
        self._refill()
        if self._balance >= 1.0 - 1e-9:  # tenths of a retry add up inexactly in floats
            self._balance -= 1.0
            return True
        self.refused += 1
        return False


def backoff_delay(policy: RetryPolicy, retry_number: int, *, rand: RandomUniform) -> float:
    """Full-jitter backoff before retry ``retry_number`` (0 for the first retry)."""
    exponent = min(max(retry_number, 0), 60)  # 2**60 * base overflows any sane cap
    ceiling = min(policy.max_delay_s, policy.base_delay_s * 2.0**exponent)
    return rand(0.0, ceiling)


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


def plan_retry(
    policy: RetryPolicy,
    *,
    attempts_made: int,
    elapsed_s: float,
    deadline_s: float,
    retry_after_s: float | None,
    rand: RandomUniform,
) -> float | None:
    """Seconds to wait before the next attempt on the same endpoint, or None to stop.

    ``attempts_made`` counts attempts already made on this endpoint. Stops when
    they reach ``policy.max_attempts`` or when the wait would end at or past
    ``deadline_s`` (measured, like ``elapsed_s``, from the start of the call).
    """
    if attempts_made >= policy.max_attempts:
        return None
    if retry_after_s is not None:
        delay = retry_after_s + rand(0.0, policy.base_delay_s)
    else:
        delay = backoff_delay(policy, attempts_made - 1, rand=rand)
    if elapsed_s + delay >= deadline_s:
        return None
    return delay


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
    message = f"{endpoint or 'gateway'} answered HTTP {status}"
    if detail:
        message += f": {detail}"
    hint = _STATUS_HINTS.get(status)
    if hint:
        message += f" ({hint})"
    return cls(message, endpoint=endpoint, attempts=attempts, status_code=status)


def is_retryable(error: GatewayError, policy: RetryPolicy) -> bool:
    """Whether another attempt on the same endpoint may succeed."""
    if error.status_code is not None:
        return error.status_code in policy.retry_on_status
    return isinstance(error, GatewayTimeout | GatewayTransportError)


def is_fallback_eligible(error: GatewayError, policy: RetryPolicy | None = None) -> bool:
    """Whether a different endpoint may succeed where this one failed (and whether the
    failure counts against the endpoint's circuit breaker)."""
    if error.status_code is not None:
        statuses = policy.fallback_on_status if policy is not None else DEFAULT_FALLBACK_ON_STATUS
        return error.status_code in statuses
    return isinstance(error, GatewayServerError | GatewayTimeout | GatewayTransportError)


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


@dataclass(frozen=True, slots=True)
class Attempted(Generic[T]):
    """What :meth:`Retrier.call` returns: the value and how it was obtained."""

    value: T
    endpoint: str
    attempts: int
    endpoint_index: int

    @property
    def outcome(self) -> ResultOutcome:
        if self.endpoint_index > 0:
            return "fallback_ok"
        return "ok" if self.attempts == 1 else "retried_ok"


class Retrier:
    """Runs attempts under a :class:`RetryPolicy` across fallback endpoints.

    Holds no per-call state, so one instance serves every concurrent call of a
    gateway. ``clock`` (monotonic seconds), ``sleep`` and ``rand`` are
    injectable so tests can observe the waits or make jitter deterministic.
    """

    __slots__ = ("_clock", "_rand", "_sleep", "budget", "policy")

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rand: RandomUniform = random.uniform,
        budget: RetryBudget | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._rand = rand

    def __repr__(self) -> str:
        return f"Retrier({self.policy!r})"

    async def call(
        self,
        attempt: Callable[[str], Awaitable[T]],
        *,
        endpoints: Sequence[str],
        attempt_timeout_s: float,
        deadline_s: float | None = None,
        refresh_auth: Callable[[], Awaitable[bool]] | None = None,
        breakers: Mapping[str, CircuitBreaker] | None = None,
    ) -> Attempted[T]:
        """Call ``attempt(endpoint)`` until it succeeds or the policy gives up.

        Each attempt is bounded by ``attempt_timeout_s`` and by what is left of
        the deadline (``deadline_s`` or the policy's). ``refresh_auth``, when
        given, is awaited once on a 401; if it returns True the attempt is
        repeated at once. On final failure raises the last GatewayError with
        ``endpoint`` and ``attempts`` (across all endpoints) filled in.
        ``breakers`` (per endpoint): an open breaker skips its endpoint; when
        every endpoint is skipped the call fails at once as ``circuit_open``.
        Server errors, timeouts and dropped connections count against a
        breaker; client errors, 401/403 and 429 do not.
        """
        if not endpoints:
            raise ConfigError("a gateway needs at least one endpoint")
        policy = self.policy
        budget = policy.deadline_s if deadline_s is None else deadline_s
        if self.budget is not None:
            self.budget.deposit()
        start = self._clock()
        attempts = 0
        auth_refreshed = False
        last_error: GatewayError | None = None
        last_index = len(endpoints) - 1

        for index, endpoint in enumerate(endpoints):
            breaker = breakers.get(endpoint) if breakers else None
            if breaker is not None and not breaker.allow():
                if last_error is None or isinstance(last_error, GatewayCircuitOpen):
                    last_error = GatewayCircuitOpen(
                        f"circuit open for {endpoint}", endpoint=endpoint, attempts=attempts
                    )
                if index == last_index:
                    last_error.attempts = attempts
                    raise last_error
                continue
            tries_here = 0
            while True:
                if breaker is not None and tries_here and not breaker.allow():
                    # Opened while we retried here (by this call or others): move on.
                    if index == last_index:
                        assert last_error is not None
                        last_error.attempts = attempts
                        raise last_error
                    break
                remaining = budget - (self._clock() - start)
                if remaining <= 0:
                    if last_error is None:
                        last_error = GatewayTimeout(
                            f"deadline of {budget:g}s passed before calling {endpoint}",
                            endpoint=endpoint,
                        )
                    last_error.attempts = attempts
                    raise last_error
                attempts += 1
                tries_here += 1
                timeout_s = min(attempt_timeout_s, remaining)
                endpoint_down = False
                retry_after_s: float | None = None
                try:
                    async with asyncio.timeout(timeout_s):
                        value = await attempt(endpoint)
                except AttemptFailed as failure:
                    error = failure.error
                    retry_after_s = failure.retry_after_s
                    endpoint_down = failure.endpoint_down
                except TimeoutError as exc:
                    error = GatewayTimeout(
                        f"{endpoint} did not answer within {timeout_s:.3g}s", endpoint=endpoint
                    )
                    error.__cause__ = exc
                else:
                    if breaker is not None:
                        breaker.record_success()
                    return Attempted(value, endpoint, attempts, index)

                if breaker is not None and is_fallback_eligible(error, policy):
                    breaker.record_failure()
                error.endpoint = endpoint
                error.attempts = attempts
                last_error = error
                if refresh_auth is not None and not auth_refreshed and error.status_code == 401:
                    auth_refreshed = True
                    try:
                        if await refresh_auth():
                            continue
                    except GatewayError as refresh_failed:
                        # The token endpoint failed (503, 429, timeout): that is this
                        # attempt's error, retried like any other; a later 401 may
                        # refresh again.
                        refresh_failed.attempts = attempts
                        error = last_error = refresh_failed
                        auth_refreshed = False
                fallback = index < last_index and is_fallback_eligible(error, policy)
                if not is_retryable(error, policy):
                    if fallback:
                        _log.debug("%s cannot be retried on %s, falling back", error, endpoint)
                        break
                    raise error
                if endpoint_down and index < last_index:
                    _log.debug("endpoint %s down, falling back: %s", endpoint, error)
                    break
                delay = plan_retry(
                    policy,
                    attempts_made=tries_here,
                    elapsed_s=self._clock() - start,
                    deadline_s=budget,
                    retry_after_s=retry_after_s,
                    rand=self._rand,
                )
                if delay is not None and self.budget is not None and not self.budget.try_withdraw():
                    _log.debug("retry budget spent; not retrying %s", endpoint)
                    delay = None
                if delay is None:
                    if fallback:
                        _log.debug("giving up on %s, falling back: %s", endpoint, error)
                        break
                    raise error
                _log.debug("retrying %s in %.3fs after: %s", endpoint, delay, error)
                await self._sleep(delay)

        # Only reachable by falling back from the last endpoint, which the loop prevents.
        raise AssertionError("unreachable: fallback past the last endpoint")
