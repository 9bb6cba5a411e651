"""The stage contract: each stage gets the turn's context and the next stage.

A stage is an async callable ``stage(ctx, call_next) -> Outcome``, like a
Starlette middleware: it may answer without calling ``call_next`` (a refusal,
a replayed answer, later a cache hit) and may act on the outcome after
``call_next`` returns (record history, charge a budget). The innermost stage
is a plain :data:`Next` that calls the gateway. The list is assembled in one
place (:func:`gwstream.app.build_pipeline`); stages know nothing of Kafka.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from gwstream.pipeline.context import Outcome, TurnContext

#: The rest of the pipeline, as a stage sees it.
Next = Callable[[TurnContext], Awaitable[Outcome]]


class Stage(Protocol):
    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome: ...


def compose(stages: Sequence[Stage], innermost: Next) -> Next:
    """Chain ``stages`` (outermost first) around ``innermost`` into one callable."""
    chain = innermost
    for stage in reversed(stages):
        chain = _bind(stage, chain)
    return chain


def _bind(stage: Stage, call_next: Next) -> Next:
    async def run(ctx: TurnContext) -> Outcome:
        return await stage(ctx, call_next)

    return run
