"""Routing: which gateway and model answer a turn (the turn's choice, the tenant's, or the default)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from gwstream.events import TurnEvent
from gwstream.pipeline.context import Outcome, Reason, Route, TurnContext
from gwstream.pipeline.stage import Next


class Router:
    def __init__(
        self,
        routes: Mapping[str, Route],
        default: str,
        tenants: Mapping[str, str] | None = None,
    ) -> None:
        self._routes = dict(routes)
        self._default = default
        self._tenants = dict(tenants or {})

    def gateway_of(self, turn: TurnEvent) -> str:
        """The name of the gateway ``turn`` goes to: its own, its tenant's or the default."""
        return turn.gateway or self._tenants.get(turn.tenant_id, self._default)

    def route(self, turn: TurnEvent) -> Route | Reason:
        """The route, or why the turn is refused (``unknown_gateway``, ``unknown_model``)."""
        name = self.gateway_of(turn)
        route = self._routes.get(name)
        if route is None:
            return Reason.UNKNOWN_GATEWAY
        if turn.model and turn.model != route.model:
            if route.models is not None and turn.model not in route.models:
                return Reason.UNKNOWN_MODEL
            return dataclasses.replace(route, model=turn.model)
        return route


class RouteStage:
    """Sets ``ctx.route``, or refuses a turn that names no known gateway or model."""

    def __init__(self, router: Router) -> None:
        self._router = router

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        routed = self._router.route(ctx.turn)
        if isinstance(routed, Reason):
            refused = Outcome.refused(routed)
            if routed is Reason.UNKNOWN_MODEL:  # the gateway is known: its reports count it
                return refused.but(gateway=self._router.gateway_of(ctx.turn))
            return refused
        ctx.route = routed
        return await call_next(ctx)
