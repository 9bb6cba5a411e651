from __future__ import annotations

import logging

import pytest

from gwstream.events import TurnEvent
from gwstream.turnids import TurnIdWatch

T0 = "2026-12-07T10:00:00Z"


def _turn(turn_id: str, session: str) -> TurnEvent:
    return TurnEvent.model_validate(
        {
            "turn_id": turn_id,
            "tenant_id": "acme",
            "session_id": session,
            "seq": 0,
            "occurred_at": T0,
            "text": "hi",
        }
    )


def test_a_turn_id_used_by_another_session_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = TurnIdWatch()
    with caplog.at_level(logging.WARNING, "gwstream.turnids"):
        watch.see(_turn("1", "s-a"))
        watch.see(_turn("1", "s-a"))  # delivered again: the same session
        watch.see(_turn("1", "s-b"))
    assert watch.reused == 1
    [warning] = caplog.records
    assert "used by session acme:s-a and now by session acme:s-b" in warning.getMessage()


def test_a_platform_numbering_turns_per_session_is_logged_at_powers_of_ten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = TurnIdWatch()
    with caplog.at_level(logging.WARNING, "gwstream.turnids"):
        for s in range(101):
            for n in range(2):
                watch.see(_turn(str(n), f"s{s}"))
    assert watch.reused == 200
    assert len(caplog.records) == 3  # the 1st, 10th and 100th


def test_only_the_last_turn_ids_are_remembered() -> None:
    watch = TurnIdWatch(kept=2)
    for turn_id in ("a", "b", "c"):
        watch.see(_turn(turn_id, "s1"))
    watch.see(_turn("a", "s2"))  # forgotten: not noticed
    watch.see(_turn("c", "s2"))
    assert watch.reused == 1
