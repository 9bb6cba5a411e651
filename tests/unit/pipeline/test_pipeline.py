"""The assembled stage list (as gwstream run builds it) with an in-process gateway."""

from __future__ import annotations

from tests.unit.pipeline.scripted import RESULT, ScriptedGateway, turn

from gwstream.app import build_pipeline
from gwstream.config import GatewaySettings, Settings
from gwstream.pipeline import Session, Status


def _pipeline(gw: ScriptedGateway, **settings: object):  # type: ignore[no-untyped-def]
    s = Settings(
        gateways={"default": GatewaySettings(base_urls=["http://127.0.0.1:1"])},
        system_prompt="Be brief.",
        **settings,  # type: ignore[arg-type]
    )
    return build_pipeline(s, {"default": gw})


async def test_start_starts_every_gateway_before_the_first_turn() -> None:
    gw = ScriptedGateway(RESULT)
    await _pipeline(gw).start()
    assert gw.started


async def test_a_conversation_carries_its_history_from_turn_to_turn() -> None:
    gw = ScriptedGateway(RESULT)
    p = _pipeline(gw)
    session = Session()
    for n in range(3):
        out = await p.run(turn(n, f"question {n}"), session)
        assert out.status is Status.OK and out.history_messages == 2 * n
    last = gw.requests[-1]
    assert [m.content for m in last.messages] == [
        "question 0",
        RESULT.text,
        "question 1",
        RESULT.text,
        "question 2",
    ]
    assert last.system == "Be brief."


async def test_a_redelivered_turn_is_answered_from_the_session_without_a_call() -> None:
    gw = ScriptedGateway(RESULT)
    p = _pipeline(gw)
    session = Session()
    first = await p.run(turn(0), session)
    again = await p.run(turn(0), session)
    assert len(gw.requests) == 1
    assert again.replayed and again.but(replayed=False) == first
    assert len(session.history) == 2


async def test_history_is_bounded_by_the_configured_number_of_messages() -> None:
    gw = ScriptedGateway(RESULT)
    p = _pipeline(gw, conversation={"history_messages": 4})
    session = Session()
    for n in range(6):
        await p.run(turn(n), session)
    assert len(session.history) == 4
    assert len(gw.requests[-1].messages) == 5
