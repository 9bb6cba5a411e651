"""The stages composed for one turn. Knows nothing of Kafka.

Today: route to a gateway, build the prompt, call the gateway, price the
usage. Later stages (dedup, sanitise, budget, cache, verify) slot in between
without changing the contract: :meth:`Pipeline.run` takes a validated turn
and always returns a response, a cost and an audit event, a refusal or a
failure included. Nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gwstream.errors import GatewayError, GatewayRateLimited
from gwstream.events import AuditEvent, CostEvent, ResponseEvent, TurnEvent, event_id, utcnow
from gwstream.gateways.base import ChatMessage, Gateway, GatewayRequest, GatewayResult
from gwstream.gateways.ratelimit import RateLimits, Reservation
from gwstream.pricing import PriceTable
from gwstream.tokens import TokenCounter, default_counter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    gateway: str
    model: str
    max_tokens: int | None
    deadline_s: float = 60.0
    #: Models a turn may ask for on this gateway (its model matrix); None: any.
    models: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class TurnOutputs:
    response: ResponseEvent
    cost: CostEvent
    audit: AuditEvent

    def all(self) -> tuple[ResponseEvent, CostEvent, AuditEvent]:
        return (self.response, self.cost, self.audit)


class Router:
    """Which gateway and model answer a turn: the turn's choice, the tenant's, or the default."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        default: str,
        tenants: Mapping[str, str] | None = None,
    ) -> None:
        self._routes = dict(routes)
        self._default = default
        self._tenants = dict(tenants or {})

    def route(self, turn: TurnEvent) -> Route | str:
        """The route, or why the turn is refused (``unknown_gateway``, ``unknown_model``)."""
        name = turn.gateway or self._tenants.get(turn.tenant_id, self._default)
        route = self._routes.get(name)
        if route is None:
            return "unknown_gateway"
        if turn.model and turn.model != route.model:
            if route.models is not None and turn.model not in route.models:
                return "unknown_model"
            return dataclasses.replace(route, model=turn.model)
        return route


class Pipeline:
    def __init__(
        self,
        gateways: Mapping[str, Gateway],
        router: Router,
        prices: PriceTable,
        *,
        system_prompt: str,
        limits: RateLimits | None = None,
        counter: TokenCounter | None = None,
    ) -> None:
        self._gateways = gateways
        self._router = router
        self._prices = prices
        self._system = system_prompt
        self._limits = limits
        self._counter = counter or default_counter()
        self._system_tokens: int | None = None

    def _estimate(self, turn: TurnEvent, route: Route) -> int:
        """Tokens to reserve against tokens-per-minute limits: prompt + max output."""
        if self._limits is None or not self._limits.counts_tokens(route.gateway, turn.tenant_id):
            return 0
        if self._system_tokens is None:
            self._system_tokens = self._counter.count(self._system)
        return self._system_tokens + self._counter.count(turn.text) + (route.max_tokens or 0)

    async def run(
        self, turn: TurnEvent, *, source_partition: int, source_offset: int
    ) -> TurnOutputs:
        started = time.perf_counter()
        routed = self._router.route(turn)
        route = routed if isinstance(routed, Route) else None
        result: GatewayResult | None = None
        error: GatewayError | None = None
        if route is None:
            status, reason, outcome = "refused", str(routed), "client_error"
        else:
            request = GatewayRequest(
                messages=(ChatMessage("user", turn.text),),
                model=route.model,
                request_id=turn.turn_id,
                system=self._system,
                max_tokens=route.max_tokens,
            )
            reservation: Reservation | None = None
            try:
                if self._limits is not None:
                    reservation = await self._limits.acquire(
                        route.gateway,
                        turn.tenant_id,
                        self._estimate(turn, route),
                        max_wait_s=route.deadline_s,
                    )
            except GatewayRateLimited as exc:
                error = exc
                status, reason, outcome = "refused", "rate_limited", exc.outcome
                log.warning("turn %s of tenant %s refused: %s", turn.turn_id, turn.tenant_id, exc)
            else:
                try:
                    result = await self._gateways[route.gateway].complete(request)
                    status, reason, outcome = "ok", None, result.outcome
                except GatewayError as exc:
                    error = exc
                    status, reason, outcome = "failed", f"gateway_{exc.outcome}", exc.outcome
                    log.warning(
                        "turn %s of tenant %s failed on gateway %s: %s after %d attempts",
                        turn.turn_id,
                        turn.tenant_id,
                        route.gateway,
                        exc.outcome,
                        exc.attempts,
                    )
                if reservation is not None:
                    used = result.usage.input_tokens + result.usage.output_tokens if result else 0
                    reservation.settle(used)
        latency_ms = (time.perf_counter() - started) * 1000
        return self._outputs(
            turn,
            route,
            result,
            error,
            status,
            reason,
            outcome,
            latency_ms,
            source_partition,
            source_offset,
        )

    # Events are built with model_construct: every field comes from validated
    # input or our own code, and validation would triple the per-turn CPU.
    # tests/unit/test_pipeline.py round-trips them through model_validate.
    def _outputs(
        self,
        turn: TurnEvent,
        route: Route | None,
        result: GatewayResult | None,
        error: GatewayError | None,
        status: str,
        reason: str | None,
        outcome: str,
        latency_ms: float,
        source_partition: int,
        source_offset: int,
    ) -> TurnOutputs:
        now = utcnow()
        common: dict[str, Any] = {
            "turn_id": turn.turn_id,
            "tenant_id": turn.tenant_id,
            "session_id": turn.session_id,
            "seq": turn.seq,
            "produced_at": now,
        }
        gateway = route.gateway if route else turn.gateway
        model = route.model if route else (turn.model or "unknown")
        usage = result.usage if result else None
        in_tok = usage.input_tokens if usage else 0
        out_tok = usage.output_tokens if usage else 0
        usage_source = usage.source if usage else "none"
        response = ResponseEvent.model_construct(
            event_id=event_id(turn.turn_id, ResponseEvent.kind),
            **common,
            status=status,  # type: ignore[arg-type]
            reason=reason,
            text=result.text if result else None,
            gateway=gateway,
            request_model=model,
            response_model=result.response_model if result else None,
            response_id=result.response_id if result else None,
            finish_reasons=[result.finish_reason] if result and result.finish_reason else [],
            input_tokens=in_tok,
            output_tokens=out_tok,
            latency_ms=latency_ms,
        )
        price = self._prices.cost(model, in_tok, out_tok)
        cost = CostEvent.model_construct(
            event_id=event_id(turn.turn_id, CostEvent.kind),
            **common,
            occurred_at=turn.occurred_at,
            gateway=gateway,
            request_model=model,
            input_tokens=in_tok,
            output_tokens=out_tok,
            usage_source=usage_source,
            tokenizer=usage.tokenizer if usage else None,
            cost=price.amount,
            currency=price.currency,
            price_source=price.source,
        )
        audit = AuditEvent.model_construct(
            event_id=event_id(turn.turn_id, AuditEvent.kind),
            **common,
            status=status,  # type: ignore[arg-type]
            outcome=outcome,
            reason=reason,
            gateway=gateway,
            endpoint=result.endpoint if result else (error.endpoint if error else None),
            attempts=result.attempts if result else (error.attempts if error else 0),
            latency_ms=latency_ms,
            usage_source=usage_source,
            input_sha256=hashlib.sha256(turn.text.encode()).hexdigest(),
            input_chars=len(turn.text),
            output_chars=len(result.text) if result else 0,
            source_partition=source_partition,
            source_offset=source_offset,
        )
        return TurnOutputs(response, cost, audit)
