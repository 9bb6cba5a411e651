"""Replay: a turn whose outcome is in its session's state is answered from there.

After a crash or a rebalance, records above the commit point are delivered
again, and a platform may publish the same turn id twice. Either way the
turn's outcome is already in its session, so it is answered with the same
events (same ids, same payloads; the audit event says ``replayed``), with no
gateway call, no new history and no new charge. Every new outcome, refusals
and failures included, is remembered for the session's last ``keep`` turns.
"""

from __future__ import annotations

from gwstream.pipeline.context import Outcome, TurnContext
from gwstream.pipeline.stage import Next


class ReplayStage:
    def __init__(self, keep: int) -> None:
        self._keep = keep

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        stored = ctx.session.recall(ctx.turn.turn_id)
        if stored is not None:
            return Outcome.from_dict(stored).but(replayed=True)
        outcome = await call_next(ctx)
        ctx.session.remember(ctx.turn.turn_id, outcome.to_dict(), self._keep)
        return outcome
