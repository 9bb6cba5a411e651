"""The gateway simulator's HTTP server: OpenAI-compatible chat completions on loopback.

Built to be fast so a benchmark measures gwstream, not the simulator: no
access log, error bodies encoded once per config, reply token counts
precomputed, and per request only what the contract needs (parse, validate,
count prompt tokens, answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from gwstream.gateways.simulator.config import SimulatorConfig
from gwstream.gateways.simulator.replies import ReplyBook, validate_chat_request
from gwstream.lifecycle import Service
from gwstream.tokens import TokenCounter, default_counter

__all__ = ["GatewaySimulator", "SimulatorStats", "serve_forever"]

CHAT_PATH = "/v1/chat/completions"
HEALTH_PATH = "/health"
_CLIENT_CLOSED = 499  # nginx's "client closed request": the handler was cancelled
_JSON = "application/json"
_MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SimulatorStats:
    """A snapshot of what the simulator has served since start (or the last reset).

    ``requests`` counts chat requests; ``by_status`` their answers (499 for
    requests the client gave up on); ``last_request_id`` is the
    ``X-Request-ID`` header of the latest chat request.
    """

    requests: int
    by_status: dict[int, int]
    in_flight: int
    in_flight_max: int
    last_request_id: str | None


def _error_body(
    message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})


def _fault_body(status: int) -> bytes:
    if status == 429:
        return _error_body(
            "Rate limit reached for requests (simulated). Retry after the Retry-After delay.",
            "requests",
            code="rate_limit_exceeded",
        )
    if status >= 500:
        return _error_body(f"The server had an error (simulated HTTP {status}).", "server_error")
    return _error_body(f"Simulated HTTP {status}.", "invalid_request_error")


class _Behaviour:
    """A config compiled for the hot path: pre-encoded bodies and headers."""

    __slots__ = (
        "auth",
        "config",
        "error_5xx_body",
        "fail_body",
        "jitter_s",
        "latency_s",
        "rate_limit_body",
        "rate_limit_headers",
    )

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        self.auth = f"Bearer {key}".encode() if key else None
        self.latency_s = config.latency_ms / 1000.0
        self.jitter_s = config.latency_jitter_ms / 1000.0
        self.rate_limit_body = _fault_body(429)
        self.rate_limit_headers = {"Retry-After": f"{config.retry_after_s:g}"}
        self.error_5xx_body = _fault_body(config.error_5xx_status)
        self.fail_body = _fault_body(config.fail_status)


_UNAUTHORIZED = _error_body(
    "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key"
)
_HEALTH = orjson.dumps({"status": "ok"})


def _bad_request(message: str, param: str | None = None) -> web.Response:
    return web.Response(
        status=400,
        body=_error_body(message, "invalid_request_error", param=param),
        content_type=_JSON,
    )


class GatewaySimulator(Service):
    """An OpenAI-compatible gateway on loopback, with latency and faults on demand.

    ``async with GatewaySimulator(config) as sim:`` starts it on the running
    loop; ``sim.url`` is its base URL (the real port when ``port=0``). Replace
    ``sim.config`` (or call :meth:`update`) to change behaviour mid-test;
    doing so restarts the ``fail_first_n`` count and the seeded draws.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token_counter: TokenCounter | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._counter = token_counter or default_counter()
        self._apply(config or SimulatorConfig())
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._replies: ReplyBook | None = None
        self._port: int | None = None
        self.reset_stats()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"GatewaySimulator({where})"

    # -- configuration and stats ------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self._behaviour.config

    @config.setter
    def config(self, config: SimulatorConfig) -> None:
        self._apply(config)

    def update(self, **changes: Any) -> SimulatorConfig:
        """Replace the config with a validated copy carrying ``changes``; return it."""
        config = SimulatorConfig.model_validate({**self.config.model_dump(), **changes})
        self._apply(config)
        return config

    def _apply(self, config: SimulatorConfig) -> None:
        self._behaviour = _Behaviour(config)
        self._rng = random.Random(config.seed)
        self._failures_left = config.fail_first_n

    @property
    def stats(self) -> SimulatorStats:
        return SimulatorStats(
            requests=self._requests,
            by_status=dict(self._by_status),
            in_flight=self._in_flight,
            in_flight_max=self._in_flight_max,
            last_request_id=self._last_request_id,
        )

    def reset_stats(self) -> None:
        self._requests = 0
        self._by_status: Counter[int] = Counter()
        self._in_flight = 0
        self._in_flight_max = 0
        self._last_request_id: str | None = None

    # -- lifecycle --------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve on the running loop."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already started")
        self._replies = await asyncio.to_thread(ReplyBook, self._counter)
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=_MAX_BODY_BYTES)
        app.router.add_post(CHAT_PATH, self._chat)
        app.router.add_get(HEALTH_PATH, self._health)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port, backlog=4096)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving; requests left hanging are answered 503 and connections closed."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()
        await runner.cleanup()

    # -- handlers ---------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(body=_HEALTH, content_type=_JSON)

    async def _chat(self, request: web.Request) -> web.Response:
        self._requests += 1
        self._in_flight += 1
        if self._in_flight > self._in_flight_max:
            self._in_flight_max = self._in_flight
        self._last_request_id = request.headers.get("X-Request-ID")
        status = _CLIENT_CLOSED
        try:
            response = await self._answer(request)
            status = response.status
            return response
        finally:
            self._in_flight -= 1
            self._by_status[status] += 1

    async def _answer(self, request: web.Request) -> web.Response:
        behaviour = self._behaviour
        if behaviour.auth is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, behaviour.auth):
                return web.Response(status=401, body=_UNAUTHORIZED, content_type=_JSON)
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _bad_request("could not parse the JSON body of the request")
        problem = validate_chat_request(data)
        if problem is not None:
            return _bad_request(problem.message, problem.param)
        if data.get("stream"):
            return _bad_request("stream=true is not supported by this simulator yet", "stream")

        if self._failures_left > 0:
            self._failures_left -= 1
            return self._fault(behaviour, behaviour.config.fail_status, behaviour.fail_body)
        config = behaviour.config
        rng = self._rng
        if config.hang_rate and rng.random() < config.hang_rate:
            return await self._hang(config.hang_s)
        if config.error_429_rate and rng.random() < config.error_429_rate:
            await self._delay(behaviour, rng)
            return self._fault(behaviour, 429, behaviour.rate_limit_body)
        if config.error_5xx_rate and rng.random() < config.error_5xx_rate:
            await self._delay(behaviour, rng)
            return self._fault(behaviour, config.error_5xx_status, behaviour.error_5xx_body)
        await self._delay(behaviour, rng)
        return web.Response(body=self._completion(data, config.include_usage), content_type=_JSON)

    def _completion(self, data: dict[str, Any], include_usage: bool) -> bytes:
        messages = data["messages"]
        assert self._replies is not None  # set by start(), before any request
        text, completion_tokens, finish_reason = self._replies.reply(
            messages, data.get("max_tokens")
        )
        reply: dict[str, Any] = {
            "id": "chatcmpl-" + os.urandom(12).hex(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": data["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "system_fingerprint": "gwstream-simulator",
        }
        if include_usage:
            prompt_tokens = self._counter.count_messages(messages)
            reply["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return orjson.dumps(reply)

    @staticmethod
    def _fault(behaviour: _Behaviour, status: int, body: bytes) -> web.Response:
        headers = behaviour.rate_limit_headers if status == 429 else None
        return web.Response(status=status, body=body, content_type=_JSON, headers=headers)

    @staticmethod
    async def _delay(behaviour: _Behaviour, rng: random.Random) -> None:
        delay = behaviour.latency_s
        if behaviour.jitter_s:
            delay += rng.uniform(-behaviour.jitter_s, behaviour.jitter_s)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _hang(self, hang_s: float) -> web.Response:
        """Wait far past any client timeout; cancelled when the client disconnects."""
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(hang_s):
                await self._closing.wait()
        return web.Response(status=503, body=_fault_body(503), content_type=_JSON)


async def serve_forever(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> None:
    """Run a simulator in the foreground until SIGINT or SIGTERM, then stop cleanly.

    Prints ``gwstream gateway simulator listening on <url>`` on stdout once it
    accepts requests, so scripts can read the port chosen for ``port=0``.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with GatewaySimulator(config, host, port) as sim:
            print(f"gwstream gateway simulator listening on {sim.url}", file=sys.stdout, flush=True)
            await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
