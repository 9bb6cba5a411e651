"""Retries, backoff, Retry-After, deadlines and fallback, shared by every adapter.

What a failure *is* (its kind, its Retry-After, whether the endpoint is down)
is :mod:`gwstream.gateways.failures`; this module decides what to do about it.

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
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from gwstream.errors import (
    ConfigError,
    GatewayCircuitOpen,
    GatewayError,
    GatewayServerError,
    GatewayTimeout,
    GatewayTransportError,
)
from gwstream.gateways.base import ResultOutcome
from gwstream.gateways.breaker import CircuitBreaker, CircuitState

# The classification lives in failures.py (shared with the control plane); these names
# are re-exported here, where the adapters have always found them.
from gwstream.gateways.failures import (
    DEFAULT_FALLBACK_ON_STATUS,
    DEFAULT_RETRY_ON_STATUS,
    RETRYABLE_4XX,
    AttemptFailed,
    classify_status,
    classify_transport_error,
    dropped_stream,
    failure_from_status,
    parse_retry_after,
)

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
            bad = sorted(s for s in statuses if not (s in RETRYABLE_4XX or 500 <= s <= 599))
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
        if self.budget is not None:
            self.budget.deposit()
        call = _CallState(
            self.policy.deadline_s if deadline_s is None else deadline_s,
            self._clock(),
            attempt_timeout_s,
            refresh_auth,
        )
        last_index = len(endpoints) - 1
        for index, endpoint in enumerate(endpoints):
            breaker = breakers.get(endpoint) if breakers else None
            if (
                breaker is not None
                and not breaker.allow()
                and not await breaker.admit(call.left(self._clock()))
            ):
                call.skip_open(endpoint, last=index == last_index)
                continue
            value = await self._on_endpoint(
                attempt, endpoint, breaker, call, can_fall_back=index < last_index
            )
            if value is not _FALL_BACK:
                return Attempted(value, endpoint, call.attempts, index)  # type: ignore[arg-type]
        # Only reachable by falling back from the last endpoint, which the loop prevents.
        raise AssertionError("unreachable: fallback past the last endpoint")

    async def _on_endpoint(
        self,
        attempt: Callable[[str], Awaitable[T]],
        endpoint: str,
        breaker: CircuitBreaker | None,
        call: _CallState,
        *,
        can_fall_back: bool,
    ) -> T | object:
        """Attempts on one endpoint until one succeeds (its value), the call falls back
        (:data:`_FALL_BACK`) or fails (the error is raised)."""
        tries_here = 0
        probing = False  # this call holds a half-open circuit's probe, kept across its retries
        while True:
            if (
                breaker is not None
                and tries_here
                and not probing
                and not breaker.allow()
                and not await breaker.admit(call.left(self._clock()))
            ):
                # Opened while we retried here (by this call or others): move on.
                if not can_fall_back:
                    raise call.final()
                return _FALL_BACK
            # In half-open only probes are let through: an attempt then is one.
            probing = breaker is not None and breaker.state is CircuitState.HALF_OPEN
            timeout_s = call.next_timeout(endpoint, self._clock())
            call.attempts += 1
            tries_here += 1
            try:
                outcome = await _attempt_once(attempt, endpoint, timeout_s)
            except BaseException:
                if breaker is not None:
                    breaker.record_neutral()  # cancelled: a probe's place must not stay taken
                raise
            if not isinstance(outcome, AttemptFailed):
                if breaker is not None:
                    breaker.record_success()
                return outcome
            error = outcome.error
            counts = breaker is not None and is_fallback_eligible(error, self.policy)
            if breaker is not None and not counts:
                breaker.record_neutral()
                probing = False  # its place is free: a retry here is admitted again
            elif breaker is not None and not probing:
                breaker.record_failure()
            error.endpoint, error.attempts = endpoint, call.attempts
            call.last_error = error
            if await call.refreshed_after_401(error):
                continue  # new credentials: the same attempt again, at once
            # A probe's failure reopens the circuit only once its call gives up here: a
            # probe that meets one passing 503 is retried, and the calls waiting on its
            # verdict wait on (they used to fail with it, none of them sent).
            delay = None
            try:
                delay = self._wait_before_retry(call, outcome, tries_here, can_fall_back, endpoint)
            finally:
                if delay is None and counts and probing and breaker is not None:
                    breaker.record_failure()  # the call gives up here: falls back or fails
            if delay is None:
                return _FALL_BACK
            _log.debug("retrying %s in %.3fs after: %s", endpoint, delay, call.last_error)
            try:
                await self._sleep(delay)
            except BaseException:
                if probing and breaker is not None:
                    breaker.record_neutral()  # cancelled while it held the probe
                raise

    def _wait_before_retry(
        self,
        call: _CallState,
        failure: AttemptFailed,
        tries_here: int,
        can_fall_back: bool,
        endpoint: str,
    ) -> float | None:
        """Seconds to wait before retrying ``endpoint``; None: fall back to the next one.
        Raises the call's error when neither may be done."""
        policy = self.policy
        error = call.final()
        fallback = can_fall_back and is_fallback_eligible(error, policy)
        if not is_retryable(error, policy):
            if fallback:
                _log.debug("%s cannot be retried on %s, falling back", error, endpoint)
                return None
            raise error
        if failure.endpoint_down and can_fall_back:
            _log.debug("endpoint %s down, falling back: %s", endpoint, error)
            return None
        delay = plan_retry(
            policy,
            attempts_made=tries_here,
            elapsed_s=self._clock() - call.start,
            deadline_s=call.deadline_s,
            retry_after_s=failure.retry_after_s,
            rand=self._rand,
        )
        if delay is not None and self.budget is not None and not self.budget.try_withdraw():
            _log.debug("retry budget spent; not retrying %s", endpoint)
            delay = None
        if delay is None:
            if fallback:
                _log.debug("giving up on %s, falling back: %s", endpoint, error)
                return None
            raise error
        return delay


#: What :meth:`Retrier._on_endpoint` returns to say "try the next endpoint".
_FALL_BACK = object()


async def _attempt_once(
    attempt: Callable[[str], Awaitable[T]], endpoint: str, timeout_s: float
) -> T | AttemptFailed:
    """One attempt within ``timeout_s``: its value, or how it failed."""
    try:
        async with asyncio.timeout(timeout_s):
            return await attempt(endpoint)
    except AttemptFailed as failure:
        return failure
    except TimeoutError as exc:
        error = GatewayTimeout(
            f"{endpoint} did not answer within {timeout_s:.3g}s", endpoint=endpoint
        )
        error.__cause__ = exc
        return AttemptFailed(error)


@dataclass(slots=True)
class _CallState:
    """One call's progress across its endpoints and attempts."""

    deadline_s: float
    start: float
    attempt_timeout_s: float
    refresh_auth: Callable[[], Awaitable[bool]] | None
    attempts: int = 0
    auth_refreshed: bool = False
    last_error: GatewayError | None = None

    def final(self) -> GatewayError:
        """The error the call fails with now, its attempt count brought up to date."""
        assert self.last_error is not None
        self.last_error.attempts = self.attempts
        return self.last_error

    def left(self, now: float) -> float:
        """Seconds left before the call's deadline."""
        return self.deadline_s - (now - self.start)

    def skip_open(self, endpoint: str, *, last: bool) -> None:
        """An open breaker skips ``endpoint``; raises when it was the last one."""
        if self.last_error is None or isinstance(self.last_error, GatewayCircuitOpen):
            self.last_error = GatewayCircuitOpen(
                f"circuit open for {endpoint}", endpoint=endpoint, attempts=self.attempts
            )
        if last:
            raise self.final()

    def next_timeout(self, endpoint: str, now: float) -> float:
        """The next attempt's timeout: what is left of the deadline, at most the attempt
        timeout. Raises the call's error (or a timeout) when nothing is left."""
        remaining = self.deadline_s - (now - self.start)
        if remaining <= 0:
            if self.last_error is None:
                self.last_error = GatewayTimeout(
                    f"deadline of {self.deadline_s:g}s passed before calling {endpoint}",
                    endpoint=endpoint,
                )
            raise self.final()
        return min(self.attempt_timeout_s, remaining)

    async def refreshed_after_401(self, error: GatewayError) -> bool:
        """On the call's first 401, refresh the credentials: True to repeat the attempt.

        A token endpoint that fails (503, 429, timeout) makes that the attempt's
        error, retried like any other; a later 401 may refresh again.
        """
        if self.refresh_auth is None or self.auth_refreshed or error.status_code != 401:
            return False
        self.auth_refreshed = True
        try:
            return await self.refresh_auth()
        except GatewayError as refresh_failed:
            refresh_failed.attempts = self.attempts
            self.last_error = refresh_failed
            self.auth_refreshed = False
            return False
