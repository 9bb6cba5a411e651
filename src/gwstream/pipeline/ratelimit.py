"""Rate limits per gateway and tenant: wait within the turn's deadline, else refuse."""

from __future__ import annotations

import logging

from gwstream.errors import GatewayRateLimited
from gwstream.gateways.ratelimit import RateLimits
from gwstream.logs import turn_fields
from gwstream.pipeline.context import Outcome, Reason, TurnContext
from gwstream.pipeline.stage import Next

log = logging.getLogger(__name__)


class RateLimitStage:
    """Reserves a request (and its prompt plus max output tokens) before the call; settles after."""

    def __init__(self, limits: RateLimits) -> None:
        self._limits = limits

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        route, turn = ctx.route, ctx.turn
        assert route is not None, "the route stage runs first"
        tokens = 0
        if self._limits.counts_tokens(route.gateway, turn.tenant_id):
            tokens = ctx.prompt_tokens + (route.max_tokens or 0)
        try:
            reservation = await self._limits.acquire(
                route.gateway, turn.tenant_id, tokens, max_wait_s=route.deadline_s
            )
        except GatewayRateLimited as exc:
            log.warning(
                "turn %s of tenant %s refused: %s",
                turn.turn_id,
                turn.tenant_id,
                exc,
                extra=turn_fields(turn),
            )
            # Refused here, before any call: the outcome is not_called (as for every
            # refusal), the reason rate_limited; a gateway's own 429 is outcome rate_limited.
            return Outcome.refused(Reason.RATE_LIMITED)
        outcome = await call_next(ctx)
        reservation.settle(outcome.input_tokens + outcome.output_tokens)
        return outcome
