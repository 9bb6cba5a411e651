"""The gateway simulator's HTTP server: every gateway contract on one loopback port.

Routes (names are the keys of ``SimulatorConfig.routes`` and of the stats):
``openai.chat`` (:mod:`.openai_routes`), ``cognigy.token``, ``cognigy.chat``,
``cognigy.inference``, ``cognigy.metrics`` (:mod:`.cognigy`),
``genesys.token``, ``genesys.invoke``, ``genesys.invocations``,
``genesys.telemetry`` (:mod:`.genesys`), plus ``GET /health``, and with
``record_requests`` set ``GET /requests`` (``DELETE`` clears it): the last
completion requests received, oldest first. OAuth is in
:mod:`.oauth` and :mod:`.auth`, faults in :mod:`.faults`, streams in
:mod:`.streams`.

Built to be fast so a benchmark measures gwstream, not the simulator: no
access log, error bodies encoded once per config, reply token counts
precomputed, and per request only what the contract needs.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import deque
from typing import Any

import orjson
from aiohttp import web

from gwstream.lifecycle import Service
from gwstream.simulator.cognigy import CognigyRoutes
from gwstream.simulator.config import RouteFaults, SimulatorConfig
from gwstream.simulator.genesys import GenesysRoutes
from gwstream.simulator.openai_routes import OpenAIRoutes
from gwstream.simulator.replies import ReplyBook
from gwstream.simulator.routes import ROUTE_NAMES, ROUTES
from gwstream.simulator.state import JSON, SimulatorState
from gwstream.simulator.stats import RouteStats, SimulatorStats
from gwstream.tokens import TokenCounter

__all__ = ["CHAT_PATH", "HEALTH_PATH", "GatewaySimulator", "SimulatorStats", "serve_forever"]

CHAT_PATH = ROUTES["openai.chat"].path
HEALTH_PATH = "/health"
REQUESTS_PATH = "/requests"
#: The routes whose requests ``record_requests`` keeps: the completion calls.
_RECORDED_PATHS = {
    r.path: r.name for r in ROUTES.values() if r.method == "POST" and r.dialect != "oauth"
}
_MAX_BODY_BYTES = 16 * 1024 * 1024
_MEMO_SIZE = 65_536  # message contents whose token counts the simulator remembers
_HEALTH = orjson.dumps({"status": "ok"})


class GatewaySimulator(Service):
    """Every gateway contract on loopback, with latency and faults on demand.

    ``async with GatewaySimulator(config) as sim:`` starts it on the running
    loop; ``sim.url`` is its base URL (the real port when ``port=0``). Replace
    ``sim.config`` (or call :meth:`update` / :meth:`update_route`) to change
    behaviour mid-test; doing so restarts every route's ``fail_first_n``
    count and seeded draws, and keeps issued tokens and the served-call
    history. :meth:`expire_tokens` expires every token issued so far.
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
        # Each turn's request repeats its conversation's history: remember the counts.
        self._state = SimulatorState(
            config or SimulatorConfig(), token_counter or TokenCounter(memo_size=_MEMO_SIZE)
        )
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"GatewaySimulator({where})"

    # -- configuration ----------------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self._state.config

    @config.setter
    def config(self, config: SimulatorConfig) -> None:
        self._state.apply(config)

    def update(self, **changes: Any) -> SimulatorConfig:
        """Replace the config with a validated copy carrying ``changes``; return it."""
        config = SimulatorConfig.model_validate({**self.config.model_dump(), **changes})
        self._state.apply(config)
        return config

    def update_route(self, route: str, **changes: Any) -> SimulatorConfig:
        """Merge ``changes`` into route ``route``'s :class:`RouteFaults`; return the config.

        ``sim.update_route("cognigy.chat", error_429_rate=1.0)``; a change of
        None puts the knob back to the global value.
        """
        if route not in ROUTE_NAMES:
            raise ValueError(f"unknown route {route!r}; known routes: {sorted(ROUTE_NAMES)}")
        routes = dict(self.config.routes)
        current = routes.get(route, RouteFaults())
        routes[route] = RouteFaults.model_validate({**current.model_dump(), **changes})
        return self.update(routes=routes)

    def expire_tokens(self) -> None:
        """Expire every token issued so far: its next use is answered 401 token_expired."""
        self._state.tokens.expire_all()

    # -- stats ------------------------------------------------------------------------

    @property
    def stats(self) -> SimulatorStats:
        return self._state.counters.snapshot()

    def route_stats(self, route: str) -> RouteStats:
        """A snapshot of one route's counters (``"genesys.token"``, ``"openai.chat"``...)."""
        if route not in ROUTE_NAMES:
            raise KeyError(f"unknown route {route!r}; known routes: {sorted(ROUTE_NAMES)}")
        return self._state.counters.routes[route].snapshot()

    def reset_stats(self) -> None:
        """Zero every counter and forget the served-call history (metrics and telemetry)."""
        self._state.counters.reset()
        for ledger in self._state.ledgers.values():
            ledger.clear()

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
        replies = await asyncio.to_thread(ReplyBook, self._state.counter)
        self._closing = asyncio.Event()
        self._state.serve(replies, self._closing)
        middlewares = []
        if self.config.record_requests:
            recorder = _Recorder(self.config.record_requests)
            middlewares.append(recorder.middleware)
        app = web.Application(client_max_size=_MAX_BODY_BYTES, middlewares=middlewares)
        app.router.add_get(HEALTH_PATH, _health)
        if middlewares:
            app.router.add_get(REQUESTS_PATH, recorder.listed)
            app.router.add_delete(REQUESTS_PATH, recorder.cleared)
        else:
            app.router.add_route("*", REQUESTS_PATH, _not_recording)
        for routes in (OpenAIRoutes, CognigyRoutes, GenesysRoutes):
            routes(self._state).register(app)
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


async def _health(request: web.Request) -> web.Response:
    return web.Response(body=_HEALTH, content_type=JSON)


_NOT_RECORDING = orjson.dumps(
    {"error": "requests are not recorded: start the simulator with --record-requests N"}
)


async def _not_recording(request: web.Request) -> web.Response:
    return web.Response(status=404, body=_NOT_RECORDING, content_type=JSON)


class _Recorder:
    """The last completion requests, as a client sent them (``record_requests``)."""

    def __init__(self, size: int) -> None:
        self._kept: deque[dict[str, Any]] = deque(maxlen=size)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        route = _RECORDED_PATHS.get(request.path)
        if route is not None and request.method == "POST":
            raw = await request.read()  # aiohttp keeps it: the route reads it again
            try:
                body: Any = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            self._kept.append(
                {
                    "at": time.time(),
                    "route": route,
                    "request_id": request.headers.get("X-Request-ID"),
                    "body": body,
                }
            )
        response: web.StreamResponse = await handler(request)
        return response

    async def listed(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(list(self._kept)), content_type=JSON)

    async def cleared(self, request: web.Request) -> web.Response:
        self._kept.clear()
        return web.Response(status=204)


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
