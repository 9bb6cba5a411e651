"""The events built from a turn and its outcome."""

from __future__ import annotations

from tests.unit.pipeline.scripted import RESULT, TURN

from gwstream.events import AuditEvent, CostEvent, ResponseEvent, event_id
from gwstream.pipeline import Origin, Outcome, Reason, Status, build_events
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
    assert out.cost.cost == 0 and out.audit.outcome == "client_error"


def test_a_failure_keeps_the_gateway_classification() -> None:
    failed = Outcome(Status.FAILED, Reason.GATEWAY_TIMEOUT, "timeout", attempts=3)
    out = build_events(TURN, failed, Origin(0, 0))
    _validated(out)
    assert (out.response.reason, out.audit.outcome, out.audit.attempts) == (
        "gateway_timeout",
        "timeout",
        3,
    )
