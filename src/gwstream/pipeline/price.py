"""Pricing: what a turn cost, fixed on its outcome with its latency, route and budgets.

A turn is priced at the instant it occurred (``occurred_at``), for its
tenant, with the price then in force (see :mod:`gwstream.pricing`): its
cached input tokens at the model's cached-input price. The outcome names the
price map (``price_source``) and its version (``price_version``), so a
report can say which price priced each row. A turn answered from a cache
costs nothing; the call it saved is priced the same way as its
``avoided_cost``. The prompt variant goes on the outcome here too, so that
every event of the turn (and a replay's) carries it.

Runs just inside the replay stage, so what a session stores (and a replay
answers with) carries the price and time of the original answer, not today's,
and the budgets after it as the budget stages left them on the context.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from gwstream.events import utcnow
from gwstream.guardrails.redact import scrub_name
from gwstream.pipeline.context import Outcome, TurnContext
from gwstream.pipeline.stage import Next
from gwstream.pricing import CURRENCY, UNPRICED, Prices

_ZERO = Decimal(0)


class PriceStage:
    def __init__(self, prices: Prices, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._prices = prices
        self._clock = clock

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        started = time.perf_counter()
        outcome = await call_next(ctx)
        route, turn = ctx.route, ctx.turn
        # Unrouted (refused before or at routing), the names are the publisher's own text.
        model = route.model if route else (scrub_name(turn.model) if turn.model else "unknown")
        quote = self._prices.quote(model, turn.tenant_id, turn.occurred_at)
        if quote is None:
            cost, source, version = _ZERO, UNPRICED, None
        else:
            price = quote.price
            cost = price.amount(
                outcome.input_tokens, outcome.output_tokens, outcome.cached_input_tokens
            )
            source, version = quote.source, quote.version
            if outcome.cached is not None:
                # A cache hit costs nothing; what it saved is priced like a call.
                avoided = price.amount(outcome.avoided_input_tokens, outcome.avoided_output_tokens)
                outcome = outcome.but(avoided_cost=avoided)
        return outcome.but(
            gateway=route.gateway if route else (turn.gateway and scrub_name(turn.gateway)),
            request_model=model,
            cost=cost,
            currency=CURRENCY,
            price_source=source,
            price_version=version,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            produced_at=self._clock(),
            budget=ctx.budget(),
            guard=ctx.guard,
            input_sha256=(
                hashlib.sha256(ctx.text.encode()).hexdigest() if ctx.text is not None else None
            ),
            notices=ctx.notices,
            use_case=ctx.use_case,
            prompt_version=ctx.prompt_version,
        )
