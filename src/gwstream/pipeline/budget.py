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
nothing), input plus output, and the budget after the turn goes on the
outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from gwstream.events import BudgetInfo, utcnow
from gwstream.pipeline.context import Outcome, TurnContext
from gwstream.pipeline.session import Session
from gwstream.pipeline.stage import Next


@dataclass(frozen=True, slots=True)
class SessionBudget:
    """One tenant's per-session budget."""

    tokens: int
    #: Window length in seconds; None: the window is the whole conversation.
    window_s: int | None = None
    lightweight_below: int = 0

    def window_start(self, now: datetime) -> int:
        """Unix second the window holding ``now`` began (0 for a conversation window)."""
        if self.window_s is None:
            return 0
        t = int(now.timestamp())
        return t - t % self.window_s


_NO_BUDGET = BudgetInfo()


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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._budgets = dict(budgets)
        self._lightweight = lightweight_prompt
        self._clock = clock

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
        if charged:
            used += charged
            ctx.session.budget = [start, used]
        state = (outcome.budget or _NO_BUDGET).model_copy(
            update={
                "mode": ctx.mode,
                "session_tokens_used": used,
                "session_tokens_left": max(0, budget.tokens - used),
                "session_window_start": (
                    datetime.fromtimestamp(start, UTC) if budget.window_s else None
                ),
            }
        )
        return outcome.but(budget=state)
