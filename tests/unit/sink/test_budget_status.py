"""`/budget/status` for one session: its state follows its latest turns (a refusal in an
earlier window does not leave it exhausted), lightweight counts only answered turns, and
instants are RFC 3339."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from tests.unit.sink.test_views import audit, cost

from gwstream.events import AuditEvent, BudgetInfo
from gwstream.sink.budget_status import session_status
from gwstream.sink.rows import Batch, audit_row, cost_row
from gwstream.sink.writer import CostWriter

AT = datetime(2026, 12, 7, 2, 33, 55, 285943, tzinfo=UTC)


def _budget(mode: str, left: int) -> BudgetInfo:
    return BudgetInfo(
        mode=mode,  # type: ignore[arg-type]
        session_tokens_used=640 - left,
        session_tokens_left=left,
        currency="USD",
    )


def _refusal(turn: str, seq: int) -> AuditEvent:
    refused = audit(turn, AT, status="refused", outcome="refused", reason="budget_exhausted")
    return refused.model_copy(update={"seq": seq})


def _status(tmp_path: Path, costs: list, audits: list) -> dict:  # type: ignore[type-arg]
    database = tmp_path / "costs.duckdb"
    with CostWriter(database) as writer:
        writer.write(
            Batch(
                costs=[cost_row(e) for e in costs],
                audits=[audit_row(e) for e in audits],
                notices=[],
            )
        )
    with duckdb.connect(str(database), read_only=True) as conn:
        status = session_status(conn, "acme", "s1")
    assert status is not None
    return status


def test_a_session_answered_in_a_new_window_after_refusals_is_ok_again(tmp_path: Path) -> None:
    later = AT + timedelta(minutes=1)
    costs = [
        cost("t1", AT, "0.001", seq=1, budget=_budget("lightweight", 20)),
        cost("t2", AT, "0", seq=2, status="refused", budget=_budget("lightweight", 20)),
        cost("t3", AT, "0", seq=3, status="refused", budget=_budget("lightweight", 20)),
        cost("t4", later, "0.001", seq=4, budget=_budget("standard", 483)),
    ]
    status = _status(tmp_path, costs, [_refusal("t2", 2), _refusal("t3", 3)])
    assert status["state"] == "ok"
    assert status["session_tokens_left"] == 483
    assert status["budget_refusals"] == 2
    assert status["lightweight_turns"] == 1  # t1 answered light; t2 and t3 were refused
    assert status["last_turn_at"] == "2026-12-07T02:34:55.285943Z"


def test_a_session_refused_after_its_last_answer_is_exhausted(tmp_path: Path) -> None:
    costs = [
        cost("t1", AT, "0.001", seq=1, budget=_budget("lightweight", 20)),
        cost("t2", AT, "0", seq=2, status="refused", budget=_budget("lightweight", 20)),
    ]
    status = _status(tmp_path, costs, [_refusal("t2", 2)])
    assert status["state"] == "exhausted"
    assert status["session_tokens_left"] == 20


def test_a_session_without_a_budget_is_unlimited(tmp_path: Path) -> None:
    status = _status(tmp_path, [cost("t1", AT, "0.001", seq=1)], [])
    assert status["state"] == "unlimited"
    assert Decimal(status["cost"]) == Decimal("0.001")
