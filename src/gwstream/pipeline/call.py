"""The innermost stage: call the routed gateway with the system instruction, history and turn."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gwstream.errors import GatewayAuthError, GatewayError
from gwstream.gateways.base import ChatMessage, Gateway, GatewayRequest
from gwstream.logs import turn_fields
from gwstream.pipeline.context import Outcome, Reason, Status, TurnContext

log = logging.getLogger(__name__)


class CallGateway:
    def __init__(self, gateways: Mapping[str, Gateway]) -> None:
        self._gateways = gateways

    async def __call__(self, ctx: TurnContext) -> Outcome:
        route, turn = ctx.route, ctx.turn
        assert route is not None, "the route stage runs first"
        request = GatewayRequest(
            messages=(*ctx.examples, *ctx.history, ChatMessage("user", ctx.user_text)),
            model=route.model,
            request_id=turn.turn_id,
            system=ctx.system,
            max_tokens=route.max_tokens,
        )
        try:
            result = await self._gateways[route.gateway].complete(request)
        except GatewayError as exc:
            # An auth failure says what to fix (the scope to grant, the client refused), in
            # gwstream's words: what the gateway said may echo the request (the turn's text,
            # the credentials), so it stays out, as it does for every other outcome.
            why = f" ({exc.summary})" if isinstance(exc, GatewayAuthError) and exc.summary else ""
            log.warning(
                "turn %s of tenant %s failed on gateway %s: %s after %d attempts%s",
                turn.turn_id,
                turn.tenant_id,
                route.gateway,
                exc.outcome,
                exc.attempts,
                why,
                extra={
                    **turn_fields(turn),
                    "gateway": route.gateway,
                    "outcome": exc.outcome,
                    "attempts": exc.attempts,
                },
            )
            return Outcome(
                Status.FAILED,
                Reason.gateway(exc.outcome),
                exc.outcome,
                endpoint=exc.endpoint,
                attempts=exc.attempts,
            )
        return Outcome.answered(result)
