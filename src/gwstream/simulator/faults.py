"""Fault injection: each route's effective knobs, compiled once per config for the hot path."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from dataclasses import dataclass
from email.utils import formatdate

from aiohttp import web

from gwstream.simulator.config import SimulatorConfig
from gwstream.simulator.dialects import fault_body
from gwstream.simulator.routes import OPENAI_CHAT, ROUTES, Dialect

__all__ = ["RoutePlan", "StreamFaults", "compile_plans"]

_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class StreamFaults:
    """What goes wrong with one streaming answer (see :mod:`.streams`)."""

    cut: bool = False
    error: bool = False
    malformed: bool = False


_NO_STREAM_FAULTS = StreamFaults()


class RoutePlan:
    """One route's fault settings (global knobs merged with its override) and its state.

    State is the route's ``fail_first_n`` countdown and its random stream; both
    restart whenever a config is applied.
    """

    __slots__ = (
        "cached_prompt_share",
        "cut_stream_rate",
        "dialect",
        "error_5xx_body",
        "error_5xx_rate",
        "error_5xx_status",
        "error_429_rate",
        "fail_body",
        "fail_status",
        "failures_left",
        "hang_rate",
        "hang_s",
        "include_usage",
        "jitter_s",
        "latency_s",
        "malformed_chunk_rate",
        "rate_limit_body",
        "retry_after_http_date",
        "retry_after_s",
        "rng",
        "stream_error_rate",
    )

    def __init__(self, route: str, config: SimulatorConfig) -> None:
        override = config.routes.get(route)
        merged = config.model_dump(include=set(_KNOBS))
        if override is not None:
            merged.update(override.model_dump(exclude_none=True))
        self.dialect: Dialect = ROUTES[route].dialect
        self.latency_s: float = merged["latency_ms"] / 1000.0
        self.jitter_s: float = merged["latency_jitter_ms"] / 1000.0
        self.error_429_rate: float = merged["error_429_rate"]
        self.retry_after_s: float = merged["retry_after_s"]
        self.retry_after_http_date: bool = merged["retry_after_http_date"]
        self.error_5xx_rate: float = merged["error_5xx_rate"]
        self.error_5xx_status: int = merged["error_5xx_status"]
        self.hang_rate: float = merged["hang_rate"]
        self.hang_s: float = merged["hang_s"]
        self.failures_left: int = merged["fail_first_n"]
        self.fail_status: int = merged["fail_status"]
        self.cut_stream_rate: float = merged["cut_stream_rate"]
        self.stream_error_rate: float = merged["stream_error_rate"]
        self.malformed_chunk_rate: float = merged["malformed_chunk_rate"]
        self.include_usage: bool = merged["include_usage"]
        self.cached_prompt_share: float = merged["cached_prompt_share"]
        self.rate_limit_body = fault_body(self.dialect, 429)
        self.error_5xx_body = fault_body(self.dialect, self.error_5xx_status)
        self.fail_body = fault_body(self.dialect, self.fail_status)
        # openai.chat keeps the seed's own stream (its draws predate per-route plans);
        # every other route gets an independent, equally reproducible one.
        if config.seed is None:
            self.rng = random.Random()
        elif route == OPENAI_CHAT:
            self.rng = random.Random(config.seed)
        else:
            self.rng = random.Random(f"{config.seed}/{route}")

    async def inject(self, closing: asyncio.Event) -> web.Response | None:
        """This request's fault answer, or None once the route's latency has passed.

        ``fail_first_n`` answers at once; a hang waits for ``hang_s`` (or the
        simulator's stop); 429 and 5xx come after the usual latency.
        """
        if self.failures_left > 0:
            self.failures_left -= 1
            return self.fault(self.fail_status, self.fail_body)
        rng = self.rng
        if self.hang_rate and rng.random() < self.hang_rate:
            return await self._hang(closing)
        if self.error_429_rate and rng.random() < self.error_429_rate:
            await self.delay()
            return self.fault(429, self.rate_limit_body)
        if self.error_5xx_rate and rng.random() < self.error_5xx_rate:
            await self.delay()
            return self.fault(self.error_5xx_status, self.error_5xx_body)
        await self.delay()
        return None

    def stream_faults(self) -> StreamFaults:
        """Draw what goes wrong with a streaming answer: cut, error line, malformed line."""
        if not (self.cut_stream_rate or self.stream_error_rate or self.malformed_chunk_rate):
            return _NO_STREAM_FAULTS
        rng = self.rng
        cut = bool(self.cut_stream_rate) and rng.random() < self.cut_stream_rate
        error = bool(self.stream_error_rate) and rng.random() < self.stream_error_rate
        malformed = bool(self.malformed_chunk_rate) and rng.random() < self.malformed_chunk_rate
        return StreamFaults(cut=cut, error=error and not cut, malformed=malformed)

    def fault(self, status: int, body: bytes) -> web.Response:
        headers = {"Retry-After": self.retry_after()} if status == 429 else None
        return web.Response(status=status, body=body, content_type=_JSON, headers=headers)

    def retry_after(self) -> str:
        """The Retry-After value: delta-seconds, or an HTTP-date rounded up to whole seconds
        so a client never reads a shorter wait than configured."""
        if self.retry_after_http_date:
            return formatdate(math.ceil(time.time() + self.retry_after_s), usegmt=True)
        return f"{self.retry_after_s:g}"

    async def delay(self) -> None:
        delay = self.latency_s
        if self.jitter_s:
            delay += self.rng.uniform(-self.jitter_s, self.jitter_s)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _hang(self, closing: asyncio.Event) -> web.Response:
        """Wait far past any client timeout; cancelled when the client disconnects."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.hang_s):
                await closing.wait()
        return web.Response(status=503, body=fault_body(self.dialect, 503), content_type=_JSON)


_KNOBS = frozenset(
    {
        "latency_ms",
        "latency_jitter_ms",
        "error_429_rate",
        "retry_after_s",
        "retry_after_http_date",
        "error_5xx_rate",
        "error_5xx_status",
        "hang_rate",
        "hang_s",
        "fail_first_n",
        "fail_status",
        "cut_stream_rate",
        "stream_error_rate",
        "malformed_chunk_rate",
        "include_usage",
        "cached_prompt_share",
    }
)


def compile_plans(config: SimulatorConfig) -> dict[str, RoutePlan]:
    """A fresh plan per route: fail_first_n countdowns and random streams restart."""
    return {route: RoutePlan(route, config) for route in ROUTES}
