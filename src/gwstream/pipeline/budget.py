"""Session token budgets: a lighter system instruction when little is left, a refusal when spent.

A tenant may give each of its sessions a budget of ``session_tokens`` per
window: ``conversation`` (the session's whole life) or a fixed length such
as ``24h``, aligned to the Unix epoch so that ``24h`` windows are UTC days
and every instance agrees on where one ends. The charge lives in the
session's state, so it survives restarts and rebalances, and this stage
runs inside the replay stage, so a replayed turn is never charged twice.

Before the call: with fewer than ``lightweight_below`` tokens left, the
lightweight system instruction replaces the standard one (``mode``
lightweight); the tokens left become the turn's allowance, which the
conversation stage fits the prompt and the reserved output into (dropping
history first) or refuses ``budget_exhausted``. After it: the turn is
charged what the gateway reported (or what was counted when it reported
nothing), input plus output, and the budget after the turn is left on the
context for the price stage to put on the outcome. A turn answered from the
cache is charged nothing, unless the tenant's cache policy says
``charge_hits``: then it is charged the tokens of the call it saved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from gwstream.pipeline.context import Outcome, SessionTokens, TurnContext
from gwstream.pipeline.session import Session
from gwstream.pipeline.stage import Next


@dataclass(frozen=True, slots=True)
class SessionBudget:
    """One tenant's per-session budget."""

    tokens: int
    #: Window length in seconds; None: the window is the whole conversation.
    window_s: int | None = None
    lightweight_below: int = 0

    def window_start(self, now: float) -> int:
        """Unix second the window holding ``now`` (Unix seconds) began (0 for a conversation
        window)."""
        if self.window_s is None:
            return 0
        t = int(now)
        return t - t % self.window_s


def tokens_used(session: Session, window_start: int) -> int:
    """Tokens the session was charged in the window beginning at ``window_start``."""
    b = session.budget
    return b[1] if b is not None and b[0] == window_start else 0


class SessionBudgetStage:
    def __init__(
        self,
        budgets: Mapping[str, SessionBudget],
        lightweight_prompt: str,
        *,
        clock: Callable[[], float] = time.time,
        charge_hits: Callable[[str], bool] = lambda tenant: False,
    ) -> None:
        self._budgets = dict(budgets)
        self._charge_hits = charge_hits
        self._lightweight = lightweight_prompt
        self._clock = clock
        self._starts: dict[int, datetime] = {}

    def _window_start(self, start: int) -> datetime:
        at = self._starts.get(start)
        if at is None:
            if len(self._starts) > 64:
                self._starts.clear()
            at = self._starts[start] = datetime.fromtimestamp(start, UTC)
        return at

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        budget = self._budgets.get(ctx.turn.tenant_id)
        if budget is None:
            return await call_next(ctx)
        start = budget.window_start(self._clock())
        used = tokens_used(ctx.session, start)
        left = budget.tokens - used
        if left < budget.lightweight_below:
            ctx.system = self._lightweight
            ctx.mode = "lightweight"
        ctx.token_allowance = left

        outcome = await call_next(ctx)

        charged = outcome.input_tokens + outcome.output_tokens
        if outcome.cached is not None and self._charge_hits(ctx.turn.tenant_id):
            charged = outcome.avoided_input_tokens + outcome.avoided_output_tokens
        if charged:
            used += charged
            ctx.session.budget = [start, used]
        ctx.session_tokens = SessionTokens(
            used,
            max(0, budget.tokens - used),
            self._window_start(start) if budget.window_s else None,
        )
        return outcome
