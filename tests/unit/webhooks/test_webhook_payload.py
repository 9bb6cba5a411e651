from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from gwstream.events import BudgetNotice, ResponseEvent, event_id
from gwstream.webhooks.payload import WebhookPayload, budget_payload, event_class, turn_payload

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ANSWER = "Your order 4411 ships to 12 Elm Street tomorrow."


def response(**fields: Any) -> ResponseEvent:
    base: dict[str, Any] = {
        "event_id": event_id("t-1", "response"),
        "turn_id": "t-1",
        "tenant_id": "acme",
        "session_id": "s-1",
        "seq": 2,
        "produced_at": T0,
        "status": "ok",
        "text": ANSWER,
        "gateway": "default",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 812,
        "output_tokens": 64,
        "latency_ms": 840.5,
    }
    return ResponseEvent(**(base | fields))


def test_a_completed_turn_carries_ids_outcome_usage_and_cost() -> None:
    payload = turn_payload(response(), cost=Decimal("0.000160"), currency="USD")
    body = orjson.loads(payload.to_json())
    assert body == {
        "id": event_id("t-1", "response"),
        "type": "turn.completed",
        "tenant_id": "acme",
        "session_id": "s-1",
        "turn_id": "t-1",
        "seq": 2,
        "created_at": "2026-11-20T08:00:00Z",
        "data": {
            "status": "ok",
            "reason": None,
            "gateway": "default",
            "model": "gpt-4o-mini-2024-07-18",
            "input_tokens": 812,
            "output_tokens": 64,
            "latency_ms": 840.5,
            "cached": False,
            "cost": "0.000160",
            "currency": "USD",
        },
    }


def test_the_answer_text_is_left_out_unless_asked_for() -> None:
    plain = turn_payload(response()).to_json()
    assert b"Elm Street" not in plain
    assert b'"text"' not in plain
    with_text = orjson.loads(turn_payload(response(), include_text=True).to_json())
    assert with_text["data"]["text"] == ANSWER


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("failed", "gateway_timeout"),
        ("refused", "budget_exhausted"),
        ("invalid_output", "not_json"),
    ],
)
def test_every_status_but_ok_is_a_failed_turn_with_its_reason(status: str, reason: str) -> None:
    event = response(status=status, reason=reason, text=None, response_model=None)
    assert event_class(status) == "failed"
    body = orjson.loads(turn_payload(event, include_text=True).to_json())
    assert body["type"] == "turn.failed"
    assert body["data"]["status"] == status
    assert body["data"]["reason"] == reason
    assert body["data"]["model"] == "gpt-4o-mini"
    assert "text" not in body["data"]


def test_a_failed_turn_never_carries_text_even_when_asked() -> None:
    event = response(status="invalid_output", reason="not_json", text="{broken")
    assert b"broken" not in turn_payload(event, include_text=True).to_json()


def test_an_unknown_cost_is_null_with_no_currency() -> None:
    data = orjson.loads(turn_payload(response(), currency="USD").to_json())["data"]
    assert data["cost"] is None
    assert data["currency"] is None


def test_a_budget_notice_carries_its_window_level_spend_and_limit() -> None:
    notice = BudgetNotice(
        event_id=BudgetNotice.id_for("acme", "day", "2026-11-20", "soft_threshold"),
        turn_id="t-9",
        tenant_id="acme",
        session_id="s-4",
        seq=0,
        produced_at=T0,
        period="day",
        window="2026-11-20",
        level="soft_threshold",
        spend=Decimal("8.01"),
        limit=Decimal("10"),
        threshold=0.8,
        currency="EUR",
    )
    body = orjson.loads(budget_payload(notice).to_json())
    assert body["id"] == notice.event_id
    assert body["type"] == "budget.soft_threshold"
    assert body["data"] == {
        "period": "day",
        "window": "2026-11-20",
        "level": "soft_threshold",
        "spend": "8.01",
        "limit": "10",
        "threshold": 0.8,
        "currency": "EUR",
    }
    exhausted = notice.model_copy(update={"level": "exhausted"})
    assert budget_payload(exhausted).type == "budget.exhausted"


def test_a_body_reads_back_as_the_same_payload() -> None:
    payload = turn_payload(response(), cost=Decimal("0.5"), currency="USD")
    assert WebhookPayload.model_validate_json(payload.to_json()) == payload
