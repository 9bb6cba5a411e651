"""The stages a turn goes through, and the pipeline that runs them. Knows nothing of Kafka.

:class:`Pipeline` runs one turn with its session through the stage list
(assembled in :func:`gwstream.app.build_pipeline`) and returns the turn's
:class:`Outcome`; :func:`build_events` turns that into the response, cost
and audit events. Every turn ends in an outcome, refusals and failures
included: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from gwstream.events import TurnEvent
from gwstream.gateways.base import Gateway
from gwstream.pipeline.context import Outcome, Reason, Route, Status, TurnContext
from gwstream.pipeline.outputs import Origin, TurnOutputs, build_events
from gwstream.pipeline.route import Router
from gwstream.pipeline.session import Session
from gwstream.pipeline.stage import Next, Stage, compose
from gwstream.tokens import TokenCounter

__all__ = [
    "Next",
    "Origin",
    "Outcome",
    "Pipeline",
    "Reason",
    "Route",
    "Router",
    "Session",
    "Stage",
    "Status",
    "TurnContext",
    "TurnOutputs",
    "build_events",
]


class Pipeline:
    """The stage list around the gateway call, with the gateways' lifecycle.

    ``start()`` starts every gateway (pools, and the tokenizer loaded off the
    event loop) so that the first turn does not pay for it.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        innermost: Next,
        *,
        system_prompt: str,
        gateways: Mapping[str, Gateway] | None = None,
        counter: TokenCounter | None = None,
    ) -> None:
        self._chain = compose(stages, innermost)
        self._system = system_prompt
        self._gateways = dict(gateways or {})
        self._counter = counter

    async def start(self) -> None:
        if self._counter is not None:
            await asyncio.to_thread(self._counter.load)
        for gw in self._gateways.values():
            await gw.start()

    async def aclose(self) -> None:
        for gw in self._gateways.values():
            with contextlib.suppress(Exception):
                await gw.aclose()

    async def run(self, turn: TurnEvent, session: Session) -> Outcome:
        return await self._chain(TurnContext(turn, session, self._system))
