"""What every route handler shares: the applied config, tokens, counters, ledgers, replies."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from aiohttp import web

from gwstream.simulator.access import TokenStore
from gwstream.simulator.config import SimulatorConfig
from gwstream.simulator.dialects import auth_error_body, error_body
from gwstream.simulator.faults import RoutePlan, compile_plans
from gwstream.simulator.ledger import Ledger, ServedCall
from gwstream.simulator.replies import ReplyBook, RequestProblem
from gwstream.simulator.routes import ROUTES, Dialect, Route, Vendor
from gwstream.simulator.stats import CLIENT_CLOSED, Counters, Handler
from gwstream.tokens import TokenCounter

__all__ = [
    "JSON",
    "CallInProgress",
    "RecordedAnswer",
    "SimulatorState",
    "bad_request",
    "iso_utc",
    "query_int",
    "read_json",
]

JSON = "application/json"


class SimulatorState:
    """The simulator's mutable state; route handlers read it, :class:`GatewaySimulator` owns it."""

    def __init__(self, config: SimulatorConfig, counter: TokenCounter) -> None:
        self.counter = counter
        self.tokens = TokenStore()
        self.counters = Counters()
        self.ledgers: dict[Vendor, Ledger] = {"cognigy": Ledger(), "genesys": Ledger()}
        self._replies: ReplyBook | None = None
        self._closing: asyncio.Event | None = None
        self.apply(config)

    def apply(self, config: SimulatorConfig) -> None:
        """Use ``config`` from the next request on; restarts fail_first_n and the draws."""
        self.plans: dict[str, RoutePlan] = compile_plans(config)
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        self.openai_auth = f"Bearer {key}".encode() if key else None
        self.config = config

    def serve(self, replies: ReplyBook, closing: asyncio.Event) -> None:
        """Called at start, before any request."""
        self._replies = replies
        self._closing = closing

    @property
    def replies(self) -> ReplyBook:
        assert self._replies is not None, "set by serve() before any request"
        return self._replies

    @property
    def closing(self) -> asyncio.Event:
        assert self._closing is not None, "set by serve() before any request"
        return self._closing

    def authorize(
        self, route: Route, request: web.Request, scope: str | None = None
    ) -> web.Response | None:
        """None if the request's bearer token may call ``route`` (with ``scope`` if given,
        else the route's own), else the 401/403 answer in the route's dialect."""
        needed = scope or route.scope
        assert needed is not None, f"{route.name} takes no OAuth token"
        failure = self.tokens.check(
            route, request.headers.get("Authorization"), needed, self.config.revoked_scopes
        )
        if failure is None:
            return None
        return web.Response(
            status=failure.status,
            body=auth_error_body(route.dialect, failure.status, failure.reason, failure.message),
            content_type=JSON,
            headers={"WWW-Authenticate": failure.www_authenticate()},
        )

    def authorized(self, name: str, answer: Handler) -> Handler:
        """``answer`` behind the route's bearer check, counted under route ``name``."""
        route = ROUTES[name]

        async def run(request: web.Request) -> web.StreamResponse:
            denied = self.authorize(route, request)
            if denied is not None:
                return denied
            return await answer(request)

        return self.counters.counted(name, run)

    def recorded(self, name: str, answer: RecordedAnswer) -> Handler:
        """Like :meth:`authorized`, and every call that gets past auth goes in its vendor's
        ledger (the metrics/telemetry source) with what ``answer`` noted on it."""
        route = ROUTES[name]

        async def run(request: web.Request) -> web.StreamResponse:
            denied = self.authorize(route, request)
            if denied is not None:
                return denied
            call = CallInProgress(self, route, request)
            try:
                response = await answer(request, call)
                call.status = response.status
                return response
            finally:
                call.finish()

        return self.counters.counted(name, run)


def iso_utc(moment: datetime) -> str:
    """``2026-01-31T12:00:00.123Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bad_request(dialect: Dialect, problem: RequestProblem) -> web.Response:
    return web.Response(
        status=400,
        body=error_body(dialect, 400, problem.message, param=problem.param),
        content_type=JSON,
    )


async def read_json(request: web.Request) -> object | RequestProblem:
    """The decoded JSON body, or the problem with it."""
    try:
        data: object = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return RequestProblem("could not parse the JSON body of the request", None)
    return data


def query_int(
    request: web.Request, key: str, default: int, low: int, high: int | None
) -> int | RequestProblem:
    """Query parameter ``key`` as an integer in ``low..high`` (``default`` when absent)."""
    raw = request.query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        return RequestProblem(f"query parameter '{key}' must be an integer {bounds}", key)
    return value


class CallInProgress:
    """A gateway call being answered; :meth:`finish` writes it to its vendor's ledger.

    Handlers fill in what they learn (model, token counts) as they go.
    """

    __slots__ = (
        "_ledger",
        "_route",
        "_started",
        "completion_tokens",
        "model",
        "prompt_id",
        "prompt_tokens",
        "request_id",
        "status",
        "streamed",
        "timestamp",
    )

    def __init__(self, state: SimulatorState, route: Route, request: web.Request) -> None:
        self._ledger = state.ledgers[route.vendor]
        self._route = route.name
        self._started = time.monotonic()
        self.timestamp = datetime.now(UTC)
        self.request_id = request.headers.get("X-Request-ID") or "sim-" + os.urandom(8).hex()
        self.model: str | None = None
        self.prompt_id: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.status = CLIENT_CLOSED
        self.streamed = False

    def finish(self) -> None:
        self._ledger.record(
            ServedCall(
                request_id=self.request_id,
                timestamp=self.timestamp,
                route=self._route,
                model=self.model,
                prompt_id=self.prompt_id,
                prompt_tokens=self.prompt_tokens,
                completion_tokens=self.completion_tokens,
                latency_ms=round((time.monotonic() - self._started) * 1000.0, 3),
                status=self.status,
                streamed=self.streamed,
            )
        )


RecordedAnswer = Callable[[web.Request, CallInProgress], Awaitable[web.StreamResponse]]
