"""Request counters: per route, and totals over the gateway routes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from gwstream.simulator.routes import ROUTES, TOKEN_ROUTES

__all__ = ["CLIENT_CLOSED", "Counters", "Handler", "RouteStats", "SimulatorStats"]

CLIENT_CLOSED = 499  # nginx's "client closed request": the handler was cancelled

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TOKEN_ROUTE_NAMES = frozenset(TOKEN_ROUTES.values())


@dataclass(frozen=True, slots=True)
class RouteStats:
    """A snapshot of one route's requests since start (or the last reset).

    ``by_status`` counts answers (499 for requests the client gave up on; a
    stream cut mid-way counts as its 200); ``last_request_id`` is the
    ``X-Request-ID`` header of the route's latest request.
    """

    requests: int
    by_status: dict[int, int]
    in_flight: int
    in_flight_max: int
    last_request_id: str | None


@dataclass(frozen=True, slots=True)
class SimulatorStats:
    """A snapshot of what the simulator has served since start (or the last reset).

    ``requests``, ``by_status``, ``in_flight`` and ``in_flight_max`` total
    every route except the two token endpoints (so they are the gateway calls;
    with only openai.chat in use they are exactly that route's figures).
    ``last_request_id`` is the ``X-Request-ID`` header of the latest such
    call. ``routes`` has every route by name; ``token_requests`` counts
    requests to each token endpoint (``cognigy.token``, ``genesys.token``),
    whatever their answer, and ``tokens_issued`` the tokens handed out.
    """

    requests: int
    by_status: dict[int, int]
    in_flight: int
    in_flight_max: int
    last_request_id: str | None
    routes: dict[str, RouteStats] = field(default_factory=dict)
    token_requests: dict[str, int] = field(default_factory=dict)
    tokens_issued: int = 0


class _Counter:
    __slots__ = ("by_status", "in_flight", "in_flight_max", "last_request_id", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.in_flight = 0
        self.in_flight_max = 0
        self.last_request_id: str | None = None

    def snapshot(self) -> RouteStats:
        return RouteStats(
            self.requests,
            dict(self.by_status),
            self.in_flight,
            self.in_flight_max,
            self.last_request_id,
        )


class Counters:
    """Live counters; :meth:`counted` wraps a route's handler to keep them."""

    def __init__(self) -> None:
        self.total = _Counter()
        self.routes = {name: _Counter() for name in ROUTES}
        self.tokens_issued = 0

    def reset(self) -> None:
        self.tokens_issued = 0
        # Requests in flight keep their count so the gauges stay consistent.
        for counter in (self.total, *self.routes.values()):
            counter.requests = 0
            counter.by_status.clear()
            counter.in_flight_max = counter.in_flight
            counter.last_request_id = None

    def counted(self, route: str, handler: Handler) -> Handler:
        """``handler`` counting its requests and answers under ``route``."""
        counter = self.routes[route]
        total = None if route in _TOKEN_ROUTE_NAMES else self.total

        async def run(request: web.Request) -> web.StreamResponse:
            request_id = request.headers.get("X-Request-ID")
            counter.requests += 1
            counter.in_flight += 1
            if counter.in_flight > counter.in_flight_max:
                counter.in_flight_max = counter.in_flight
            counter.last_request_id = request_id
            if total is not None:
                total.requests += 1
                total.in_flight += 1
                if total.in_flight > total.in_flight_max:
                    total.in_flight_max = total.in_flight
                total.last_request_id = request_id
            status = CLIENT_CLOSED
            try:
                response = await handler(request)
                status = response.status
                return response
            finally:
                counter.in_flight -= 1
                counter.by_status[status] += 1
                if total is not None:
                    total.in_flight -= 1
                    total.by_status[status] += 1

        return run

    def snapshot(self) -> SimulatorStats:
        total = self.total.snapshot()
        return SimulatorStats(
            requests=total.requests,
            by_status=total.by_status,
            in_flight=total.in_flight,
            in_flight_max=total.in_flight_max,
            last_request_id=total.last_request_id,
            routes={name: counter.snapshot() for name, counter in self.routes.items()},
            token_requests={name: self.routes[name].requests for name in _TOKEN_ROUTE_NAMES},
            tokens_issued=self.tokens_issued,
        )
