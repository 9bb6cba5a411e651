from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from pydantic import ValidationError

from gwstream.events import (
    CostEvent,
    DeadLetter,
    ResponseEvent,
    TurnEvent,
    cloudevent_headers,
    event_id,
    utcnow,
)


def test_event_ids_are_uuid5_of_turn_and_kind() -> None:
    import uuid

    from gwstream.events import _NAMESPACE

    assert event_id("t-1", "cost") == str(uuid.uuid5(_NAMESPACE, "t-1/cost"))


def test_event_ids_are_deterministic_per_turn_and_kind() -> None:
    assert event_id("t1", "response") == event_id("t1", "response")
    assert event_id("t1", "response") != event_id("t1", "cost")
    assert event_id("t1", "cost") != event_id("t2", "cost")


def _cost(amount: str) -> CostEvent:
    now = utcnow()
    return CostEvent(
        event_id=event_id("t1", "cost"),
        turn_id="t1",
        tenant_id="acme",
        session_id="s1",
        seq=0,
        produced_at=now,
        occurred_at=now,
        request_model="gpt-4o-mini",
        input_tokens=10,
        output_tokens=5,
        usage_source="gateway",
        cost=Decimal(amount),
        price_source="bundled",
    )


def test_cost_survives_a_round_trip_exactly_as_a_decimal_string() -> None:
    event = _cost("0.000001234500000001")
    raw = orjson.loads(event.to_json())
    assert raw["cost"] == "0.000001234500000001"
    assert CostEvent.model_validate_json(event.to_json()).cost == Decimal("0.000001234500000001")


def test_cloudevents_headers_carry_the_event_id_and_type() -> None:
    h = dict(cloudevent_headers(_cost("1")))
    assert h["ce_id"] == event_id("t1", "cost").encode()
    assert h["ce_type"] == b"com.gwstream.cost.v1"
    assert h["ce_specversion"] == b"1.0"
    assert h["content-type"] == b"application/json"


def test_turns_reject_unknown_fields_naive_times_and_empty_text() -> None:
    base = {
        "turn_id": "t",
        "tenant_id": "a",
        "session_id": "s",
        "seq": 0,
        "occurred_at": "2026-11-20T08:00:00+00:00",
        "text": "hi",
    }
    TurnEvent.model_validate(base)
    for bad in (
        {"extra": 1},
        {"occurred_at": "2026-11-20T08:00:00"},
        {"text": ""},
        {"tenant_id": "a b"},
    ):
        with pytest.raises(ValidationError):
            TurnEvent.model_validate({**base, **bad})


def test_dead_letter_info_round_trips_through_headers() -> None:
    info = DeadLetter(
        reason="not_json",
        detail="x",
        source_topic="t",
        source_partition=2,
        source_offset=9,
        failed_at=utcnow(),
    )
    assert DeadLetter.from_headers([("other", b"1"), *info.headers()]) == info


def test_response_status_is_constrained() -> None:
    with pytest.raises(ValidationError):
        ResponseEvent(
            event_id="e",
            turn_id="t",
            tenant_id="a",
            session_id="s",
            seq=0,
            produced_at=utcnow(),
            status="maybe",
        )  # type: ignore[arg-type]


def test_to_json_writes_what_orjson_writes_of_the_json_dump() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from gwstream.events import AuditEvent, BudgetInfo, CostEvent, GuardInfo

    when = datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5)))
    budget = BudgetInfo(
        mode="lightweight",
        session_tokens_used=10,
        session_window_start=datetime(2026, 3, 1, tzinfo=UTC),
        tenant_spend_day=Decimal("0.000000001"),
        tenant_limit_day=Decimal("1E+3"),
        currency="EUR",
    )
    common = {"turn_id": "t-1", "tenant_id": "acme", "session_id": "s-1", "seq": 0}
    events = [
        CostEvent(
            event_id="e-1",
            **common,
            produced_at=when,
            occurred_at=when,
            request_model="modèle «x» 😀\n\u2028",
            input_tokens=2**62,
            output_tokens=0,
            usage_source="tiktoken",
            cost=Decimal("-0.0000000025"),
            price_source="",
            latency_ms=1e-7,
            budget=budget,
        ),
        CostEvent(
            event_id="e-2",
            **common,
            produced_at=when,
            occurred_at=when,
            request_model="m",
            input_tokens=1,
            output_tokens=1,
            usage_source="gateway",
            cost=Decimal("123456789.123456789"),
            price_source="litellm",
            latency_ms=1.5e300,
        ),
        AuditEvent(
            event_id="e-3",
            **common,
            produced_at=when,
            status="refused",
            outcome="not_called",
            reason="injection",
            input_sha256="0" * 64,
            input_chars=3,
            source_partition=2,
            source_offset=41,
            guardrails=GuardInfo(pii={"CARD": 2}, injection_score=0.25),
            budget=budget,
        ),
    ]
    for event in events:
        assert event.to_json() == orjson.dumps(event.model_dump(mode="json"))


def test_built_is_model_construct_with_every_field_and_falls_back_to_it_without() -> None:
    values = {
        "event_id": "e-1",
        "turn_id": "t-1",
        "tenant_id": "acme",
        "session_id": "s-1",
        "seq": 3,
        "produced_at": utcnow(),
        "status": "ok",
    }
    full = ResponseEvent.model_construct(**values).model_dump()
    built = ResponseEvent.built(**full)
    assert built == ResponseEvent.model_construct(**full)
    assert built.to_json() == ResponseEvent.model_validate(full).to_json()
    partial = ResponseEvent.built(**values)  # the defaults filled in, as model_construct does
    assert partial == ResponseEvent.model_construct(**values)
    assert partial.model_fields_set == set(values)
