"""TurnHandler keeps sessions decoded between their turns, and only while their bytes hold."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.pipeline.scripted import RESULT, turn

from gwstream.app import TurnHandler
from gwstream.config import TopicNames
from gwstream.pipeline import Outcome, Pipeline, Session, TurnContext
from gwstream.pipeline.session import Message
from gwstream.runtime import InRecord, KeyState

KEY = b"acme:s1"


class Remember:
    """A stage that adds the turn to the history, and fails the turns it is told to."""

    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.fail: set[str] = set()

    async def __call__(self, ctx: TurnContext, call_next: Any) -> Outcome:
        self.sessions.append(ctx.session)
        ctx.session.add_exchange(
            Message("user", ctx.turn.text, 3, ctx.turn.turn_id),
            Message("assistant", "ok", 1, ctx.turn.turn_id),
            max_messages=100,
        )
        if ctx.turn.turn_id in self.fail:
            raise RuntimeError("the turn fails after changing its session")
        outcome: Outcome = await call_next(ctx)
        return outcome


async def answer(ctx: TurnContext) -> Outcome:
    return Outcome.answered(RESULT)


def record(offset: int) -> InRecord:
    return InRecord("gw.turns.v1", 0, offset, KEY, b"", [], 0)


async def run(handler: TurnHandler, state: bytes | None, n: int) -> bytes | None:
    keyed = KeyState(state)
    await handler.handle(turn(n), record(n), keyed)
    return keyed.value


def history(state: bytes | None) -> list[str]:
    return [m.turn_id for m in Session.decode(state).history if m.role == "user"]


@pytest.fixture
def stage() -> Remember:
    return Remember()


@pytest.fixture
def handler(stage: Remember) -> TurnHandler:
    return TurnHandler(Pipeline([stage], answer, system_prompt="Be brief."), TopicNames())


async def test_a_sessions_next_turn_reuses_it_while_its_bytes_are_unchanged(
    handler: TurnHandler, stage: Remember
) -> None:
    state = await run(handler, None, 0)
    state = await run(handler, state, 1)
    assert stage.sessions[0] is stage.sessions[1]  # not decoded again
    assert history(state) == ["t-0", "t-1"]


async def test_other_bytes_than_the_turn_left_are_decoded_afresh(
    handler: TurnHandler, stage: Remember
) -> None:
    state = await run(handler, None, 0)
    assert state is not None
    restored = bytes(bytearray(state))  # equal bytes, another object: restored, say
    state = await run(handler, restored, 1)
    assert stage.sessions[0] is not stage.sessions[1]
    assert history(state) == ["t-0", "t-1"]


async def test_a_turn_that_fails_half_way_leaves_no_half_changed_session(
    handler: TurnHandler, stage: Remember
) -> None:
    state = await run(handler, None, 0)
    stage.fail.add("t-1")
    with pytest.raises(RuntimeError):
        await run(handler, state, 1)
    state = await run(handler, state, 2)  # the state is still what turn 0 left
    assert history(state) == ["t-0", "t-2"]
