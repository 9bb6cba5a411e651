"""Pricing: what a turn cost, fixed on its outcome with its latency, route and budgets.

A turn answered from a cache costs nothing; the call it saved is priced at
today's price as its ``avoided_cost``. The prompt variant goes on the outcome
here too, so that every event of the turn (and a replay's) carries it.

Runs just inside the replay stage, so what a session stores (and a replay
answers with) carries the price and time of the original answer, not today's,
and the budgets after it as the budget stages left them on the context.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from gwstream.events import utcnow
from gwstream.pipeline.context import Outcome, TurnContext
from gwstream.pipeline.stage import Next
from gwstream.pricing import PriceTable


class PriceStage:
    def __init__(self, prices: PriceTable, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._prices = prices
        self._clock = clock

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        started = time.perf_counter()
        outcome = await call_next(ctx)
        route, turn = ctx.route, ctx.turn
        model = route.model if route else (turn.model or "unknown")
        price = self._prices.cost(model, outcome.input_tokens, outcome.output_tokens)
        if outcome.cached is not None:
            # A cache hit costs nothing; what it saved is priced as of today.
            avoided = self._prices.cost(
                model, outcome.avoided_input_tokens, outcome.avoided_output_tokens
            )
            outcome = outcome.but(avoided_cost=avoided.amount)
        return outcome.but(
            gateway=route.gateway if route else turn.gateway,
            request_model=model,
            cost=price.amount,
            currency=price.currency,
            price_source=price.source,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            produced_at=self._clock(),
            budget=ctx.budget(),
            guard=ctx.guard,
            notices=ctx.notices,
            use_case=ctx.use_case,
            prompt_version=ctx.prompt_version,
        )
