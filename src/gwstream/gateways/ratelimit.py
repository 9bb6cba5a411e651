"""Per-tenant and per-gateway rate limits: requests and tokens per minute.

A limit delays a call rather than failing it when the wait fits in what is
left of the call's deadline; only a wait past the deadline fails it, as
``rate_limited``. Buckets refill continuously (``per_minute / 60`` a second)
up to a burst of one minute's allowance. Several buckets (tenant requests,
tenant tokens, gateway requests, gateway tokens) are reserved together or
not at all. Token reservations use an estimate (prompt tokens + max output
tokens); :meth:`Reservation.settle` gives back what the call did not use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gwstream.errors import GatewayRateLimited


class Bucket:
    """A continuous-refill token bucket; its level may go negative (queued callers)."""

    __slots__ = ("_clock", "_level", "_rate", "_stamp", "capacity", "name")

    def __init__(
        self, name: str, per_minute: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"{name}: a limit per minute must be > 0")
        self.name = name
        self.capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._level = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` would be covered, without taking it."""
        self._refill()
        missing = amount - self._level
        return max(0.0, missing / self._rate)

    def take(self, amount: float) -> None:
        self._refill()
        self._level -= amount

    def give_back(self, amount: float) -> None:
        self._refill()
        self._level = min(self.capacity, self._level + amount)


@dataclass(slots=True)
class Reservation:
    """What was taken from which buckets; settle it with the real token count."""

    token_buckets: Sequence[Bucket]
    reserved_tokens: int

    def settle(self, used_tokens: int) -> None:
        unused = self.reserved_tokens - used_tokens
        if unused > 0:
            for b in self.token_buckets:
                b.give_back(unused)
        self.reserved_tokens = used_tokens


async def acquire(
    request_buckets: Sequence[Bucket],
    token_buckets: Sequence[Bucket],
    tokens: int,
    *,
    max_wait_s: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Reservation:
    """Reserve one request and ``tokens`` from every bucket, waiting up to ``max_wait_s``.

    Raises GatewayRateLimited naming the limit when the wait would be longer.
    A reservation is taken at once (so later callers queue behind it) and the
    caller then sleeps out its wait.
    """
    waits = [(b.wait_for(1), b) for b in request_buckets] + [
        (b.wait_for(tokens), b) for b in token_buckets
    ]
    wait, worst = max(waits, key=lambda w: w[0], default=(0.0, None))
    if wait > max_wait_s:
        name = worst.name if worst is not None else "rate limit"
        raise GatewayRateLimited(
            f"{name} exhausted: a slot frees in {wait:.1f}s, past the call's deadline"
        )
    for b in request_buckets:
        b.take(1)
    for b in token_buckets:
        b.take(tokens)
    if wait > 0:
        await sleep(wait)
    return Reservation(token_buckets, tokens)


@dataclass(frozen=True, slots=True)
class Limit:
    rpm: int | None = None
    tpm: int | None = None


class RateLimits:
    """The buckets of every gateway and tenant that has limits, created on first use."""

    def __init__(
        self,
        gateways: dict[str, Limit],
        tenants: dict[str, Limit],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {("gateway", k): v for k, v in gateways.items()} | {
            ("tenant", k): v for k, v in tenants.items()
        }
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], Bucket] = {}

    def counts_tokens(self, gateway: str, tenant: str) -> bool:
        """Whether a call needs a token estimate (some tokens-per-minute limit applies)."""
        return any(
            (lim := self._limits.get(k)) is not None and lim.tpm is not None
            for k in (("gateway", gateway), ("tenant", tenant))
        )

    def _bucket(self, kind: str, name: str, unit: str, per_minute: int) -> Bucket:
        key = (kind, name, unit)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = Bucket(
                f"{kind} {name} {unit}/min", per_minute, clock=self._clock
            )
        return b

    async def acquire(
        self, gateway: str, tenant: str, tokens: int, *, max_wait_s: float
    ) -> Reservation:
        requests: list[Bucket] = []
        token_buckets: list[Bucket] = []
        for kind, name in (("gateway", gateway), ("tenant", tenant)):
            lim = self._limits.get((kind, name))
            if lim is None:
                continue
            if lim.rpm is not None:
                requests.append(self._bucket(kind, name, "requests", lim.rpm))
            if lim.tpm is not None:
                token_buckets.append(self._bucket(kind, name, "tokens", lim.tpm))
        if not requests and not token_buckets:
            return Reservation((), 0)
        return await acquire(requests, token_buckets, tokens, max_wait_s=max_wait_s)
