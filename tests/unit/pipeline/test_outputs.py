"""The events built from a turn and its outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
from tests.unit.pipeline.scripted import RESULT, TURN, turn

from gwstream.events import (
    AuditEvent,
    AuditRecord,
    BudgetInfo,
    BudgetNotice,
    CostEvent,
    ResponseEvent,
    event_id,
)
from gwstream.pipeline import Origin, Outcome, Reason, Status, build_events
from gwstream.pipeline.context import SpendNotice
from gwstream.pipeline.outputs import TurnOutputs

ANSWER = Outcome.answered(RESULT).but(gateway="default", request_model="gpt-4o-mini")


def _validated(out: TurnOutputs) -> None:
    for ev in out.all():
        assert type(ev).model_validate_json(ev.to_json()) == ev


def test_an_answer_yields_three_valid_events_with_ids_from_the_turn_id() -> None:
    out = build_events(TURN, ANSWER, Origin(2, 40))
    _validated(out)
    assert [e.event_id for e in out.all()] == [
        event_id("t-1", k) for k in (ResponseEvent.kind, CostEvent.kind, AuditEvent.kind)
    ]
    assert out.response.status == "ok" and out.response.text == RESULT.text
    assert (out.audit.source_partition, out.audit.source_offset) == (2, 40)


def test_the_audit_event_carries_no_raw_text() -> None:
    audit = build_events(TURN, ANSWER, Origin(0, 0)).audit.to_json().decode()
    assert "order" not in audit and "ships" not in audit


def test_a_replay_rebuilds_the_same_response_and_cost_and_says_so_on_the_audit() -> None:
    first = build_events(TURN, ANSWER, Origin(1, 7))
    again = build_events(TURN, Outcome.from_dict(ANSWER.to_dict()).but(replayed=True), Origin(1, 7))
    assert again.response.to_json() == first.response.to_json()
    assert again.cost.to_json() == first.cost.to_json()
    assert again.audit.replayed and not first.audit.replayed
    assert again.audit.model_copy(update={"replayed": False}) == first.audit


def test_a_refusal_is_a_response_with_a_reason_and_zero_cost() -> None:
    out = build_events(TURN, Outcome.refused(Reason.CONTEXT_OVERFLOW), Origin(0, 0))
    _validated(out)
    assert (out.response.status, out.response.reason) == ("refused", "context_overflow")
    assert out.cost.cost == 0 and out.audit.outcome == "not_called"


def test_a_failure_keeps_the_gateway_classification() -> None:
    failed = Outcome(Status.FAILED, Reason.GATEWAY_TIMEOUT, "timeout", attempts=3)
    out = build_events(TURN, failed, Origin(0, 0))
    _validated(out)
    assert (out.response.reason, out.audit.outcome, out.audit.attempts) == (
        "gateway_timeout",
        "timeout",
        3,
    )


def test_the_budget_after_the_turn_is_the_same_on_all_three_events_and_survives_a_replay() -> None:
    budget = BudgetInfo(
        mode="lightweight",
        session_tokens_used=9_100,
        session_tokens_left=900,
        session_window_start=datetime(2026, 12, 1, tzinfo=UTC),
        tenant_spend_day=Decimal("4.25"),
        tenant_limit_day=Decimal("5"),
        currency="USD",
    )
    out = build_events(TURN, ANSWER.but(budget=budget), Origin(0, 0))
    _validated(out)
    payloads = [orjson.loads(e.to_json())["budget"] for e in out.all()]
    assert payloads[0] == payloads[1] == payloads[2]
    assert payloads[0]["mode"] == "lightweight" and payloads[0]["tenant_spend_day"] == "4.25"
    stored = Outcome.from_dict(orjson.loads(orjson.dumps(ANSWER.but(budget=budget).to_dict())))
    assert stored.budget == budget


def test_spend_notices_go_out_after_the_audit_event_with_ids_from_tenant_window_and_level() -> None:
    notice = SpendNotice(
        "acme", "day", "2026-12-01", "soft_threshold", Decimal("4.1"), Decimal("5"), 0.8, "USD"
    )
    out = build_events(TURN, ANSWER.but(notices=(notice,)), Origin(0, 0))
    *_, ev = out.all()
    assert isinstance(ev, BudgetNotice) and len(out.all()) == 4
    assert BudgetNotice.model_validate_json(ev.to_json()) == ev
    assert AuditRecord.model_validate_json(ev.to_json()).root == ev
    assert AuditRecord.model_validate_json(out.audit.to_json()).root == out.audit
    other_turn = build_events(turn(9), ANSWER.but(notices=(notice,)), Origin(0, 1)).notices[0]
    assert ev.event_id == other_turn.event_id != event_id("t-1", "budget_notice")
    assert "notices" not in ANSWER.but(notices=(notice,)).to_dict()


def test_guardrail_findings_flag_the_response_and_go_on_the_audit_without_values() -> None:
    from gwstream.events import GuardInfo

    guard = GuardInfo(0.9, "override", "flag", {"CARD": 1}, {})
    out = build_events(TURN, ANSWER.but(guard=guard), Origin(0, 0))
    _validated(out)
    assert (out.response.redacted, out.response.flagged) == (True, True)
    audit = orjson.loads(out.audit.to_json())["guardrails"]
    assert audit == {
        "injection_score": 0.9,
        "injection_rule": "override",
        "injection_action": "flag",
        "pii": {"CARD": 1},
        "output_pii": {},
    }
    stored = Outcome.from_dict(orjson.loads(orjson.dumps(ANSWER.but(guard=guard).to_dict())))
    assert stored.guard == guard


def test_every_event_is_built_with_every_field_named_so_none_is_left_to_a_default() -> None:
    notice = SpendNotice(
        "acme", "day", "2026-12-01", "exhausted", Decimal(10), Decimal(10), 0.8, "USD"
    )
    out = build_events(TURN, ANSWER.but(notices=(notice,)), Origin(0, 0))
    for ev in out.all():
        assert ev.model_fields_set == set(type(ev).model_fields), type(ev).__name__
