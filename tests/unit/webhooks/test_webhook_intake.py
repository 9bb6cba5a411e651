"""Which records become webhooks, the cost join and the dedupe, with a hand-driven timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
import yarl
from aiokafka.structs import ConsumerRecord
from pydantic import SecretStr

from gwstream.events import (
    AuditEvent,
    BudgetNotice,
    CostEvent,
    OutputEvent,
    ResponseEvent,
    cloudevent_headers,
    event_id,
    session_key,
)
from gwstream.runtime.offsets import OffsetTracker
from gwstream.webhooks.delivery import Endpoint
from gwstream.webhooks.intake import Intake, Job
from gwstream.webhooks.retry import RetrySchedule
from gwstream.webhooks.settings import WebhookEventClass

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TOPICS = {
    ResponseEvent: "responses",
    CostEvent: "costs",
    AuditEvent: "audit",
    BudgetNotice: "audit",
}


@dataclass
class Timer:
    delay: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Clock:
    """Timers that fire only when the test says so."""

    timers: list[Timer] = field(default_factory=list)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.timers.append(timer)
        return timer

    def fire_all(self) -> None:
        for timer in list(self.timers):
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()


def endpoint(tenant: str, events: set[WebhookEventClass] | None = None) -> Endpoint:
    return Endpoint(
        tenant_id=tenant,
        url=yarl.URL(f"https://hooks.example.com/{tenant}"),
        host="hooks.example.com",
        secret=SecretStr("s"),
        events=frozenset(events or {"completed", "failed", "budget"}),
        include_text=False,
        timeout_s=5.0,
        concurrency=2,
        schedule=RetrySchedule(3, 0.1, 1.0, 10.0),
    )


class Harness:
    def __init__(
        self, *, cost_wait_s: float = 1.0, costs: bool = True, **endpoints: Endpoint
    ) -> None:
        self.clock = Clock()
        self.sent: list[Job] = []
        self.trackers: dict[str, OffsetTracker] = {t: OffsetTracker() for t in set(TOPICS.values())}
        self.offsets: dict[str, int] = dict.fromkeys(self.trackers, 0)
        self.intake = Intake(
            endpoints or {"acme": endpoint("acme")},
            responses="responses",
            costs="costs" if costs else None,
            cost_wait_s=cost_wait_s,
            dedupe_ids=100,
            send=self.sent.append,
            call_later=self.clock.call_later,
        )

    def take(
        self, event: OutputEvent, *, value: bytes | None = None, key: str | None = None
    ) -> None:
        topic = TOPICS[type(event)]
        offset = self.offsets[topic]
        self.offsets[topic] += 1
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic=topic,
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=(key or session_key(event.tenant_id, event.session_id)).encode(),
            value=event.to_json() if value is None else value,
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=tuple(cloudevent_headers(event)),
        )
        self.intake.take(self.trackers[topic], record)

    def committable(self) -> dict[str, int]:
        return {t: tr.committable() or 0 for t, tr in self.trackers.items() if self.offsets[t]}


def response(
    tenant: str = "acme", turn: int = 0, status: str = "ok", **fields: Any
) -> ResponseEvent:
    turn_id = f"{tenant}-{turn}"
    return ResponseEvent(
        event_id=event_id(turn_id, "response"),
        turn_id=turn_id,
        tenant_id=tenant,
        session_id="s-1",
        seq=turn,
        produced_at=T0,
        status=status,  # type: ignore[arg-type]
        text="Your order ships tomorrow." if status == "ok" else None,
        **fields,
    )


def cost(
    tenant: str = "acme", turn: int = 0, status: str = "ok", amount: str = "0.0042"
) -> CostEvent:
    turn_id = f"{tenant}-{turn}"
    return CostEvent(
        event_id=event_id(turn_id, "cost"),
        turn_id=turn_id,
        tenant_id=tenant,
        session_id="s-1",
        seq=turn,
        produced_at=T0,
        occurred_at=T0,
        request_model="gpt-4o-mini",
        input_tokens=10,
        output_tokens=5,
        usage_source="gateway",
        cost=Decimal(amount),
        price_source="litellm",
        status=status,  # type: ignore[arg-type]
    )


def audit(tenant: str = "acme", turn: int = 0) -> AuditEvent:
    turn_id = f"{tenant}-{turn}"
    return AuditEvent(
        event_id=event_id(turn_id, "audit"),
        turn_id=turn_id,
        tenant_id=tenant,
        session_id="s-1",
        seq=turn,
        produced_at=T0,
        status="ok",
        outcome="ok",
        input_sha256="0" * 64,
        input_chars=5,
        source_partition=0,
        source_offset=turn,
    )


def notice(tenant: str = "acme", level: str = "exhausted") -> BudgetNotice:
    return BudgetNotice(
        event_id=BudgetNotice.id_for(tenant, "day", "2026-11-20", level),
        turn_id=f"{tenant}-0",
        tenant_id=tenant,
        session_id="s-1",
        seq=0,
        produced_at=T0,
        period="day",
        window="2026-11-20",
        level=level,  # type: ignore[arg-type]
        spend=Decimal("10.5"),
        limit=Decimal("10"),
        threshold=0.8,
        currency="USD",
    )


def body(job: Job) -> dict[str, Any]:
    assert job.delivery is not None
    parsed: dict[str, Any] = orjson.loads(job.delivery.body)
    return parsed


def test_records_of_tenants_without_a_webhook_are_done_at_once() -> None:
    h = Harness()
    for event in (response("hooli"), cost("hooli"), audit("hooli"), notice("hooli")):
        h.take(event)
    assert h.sent == []
    assert h.committable() == {"responses": 1, "costs": 1, "audit": 2}


def test_audit_events_are_not_webhooks() -> None:
    h = Harness()
    h.take(audit())
    assert h.sent == [] and h.committable() == {"audit": 1}


@pytest.mark.parametrize("cost_first", [False, True])
def test_a_response_is_sent_with_its_cost_whichever_comes_first(cost_first: bool) -> None:
    h = Harness()
    for event in (cost(), response()) if cost_first else (response(), cost()):
        h.take(event)
    (job,) = h.sent
    assert body(job)["data"]["cost"] == "0.0042"
    assert body(job)["data"]["currency"] == "USD"
    assert h.intake.stats.with_cost == 1
    assert h.committable() == {"responses": 0, "costs": 0}  # both wait for the delivery
    h.intake.finish(job)
    assert h.committable() == {"responses": 1, "costs": 1}
    assert all(t.cancelled for t in h.clock.timers)


def test_a_response_whose_cost_does_not_come_is_sent_without_it_after_the_wait() -> None:
    h = Harness(cost_wait_s=2.5)
    h.take(response())
    assert h.sent == [] and h.intake.waiting_for_cost == 1
    assert [t.delay for t in h.clock.timers] == [2.5]
    h.clock.fire_all()
    (job,) = h.sent
    assert body(job)["data"]["cost"] is None
    # The late cost finishes with the webhook in hand, then at once once it is done.
    h.take(cost())
    assert h.committable() == {"responses": 0, "costs": 0}
    h.intake.finish(job)
    h.take(cost())
    assert h.committable() == {"responses": 1, "costs": 2}


def test_a_cost_whose_response_never_comes_is_done_after_the_wait() -> None:
    h = Harness()
    h.take(cost())
    assert h.committable() == {"costs": 0} and h.intake.in_hand == 1
    h.clock.fire_all()
    assert h.committable() == {"costs": 1} and h.intake.in_hand == 0


def test_without_the_costs_topic_a_response_is_sent_at_once() -> None:
    h = Harness(costs=False)
    h.take(response())
    (job,) = h.sent
    assert body(job)["data"]["cost"] is None and h.clock.timers == []


def test_a_redelivered_event_is_sent_once_and_all_its_records_finish_together() -> None:
    h = Harness(costs=False)
    h.take(response())
    h.take(response())
    assert len(h.sent) == 1 and h.intake.stats.duplicates == 1
    h.intake.finish(h.sent[0])
    assert h.committable() == {"responses": 2}
    h.take(response())  # recently delivered: not sent again
    assert len(h.sent) == 1 and h.committable() == {"responses": 3}


def test_two_instances_budget_notices_are_one_webhook() -> None:
    h = Harness()
    h.take(notice())
    h.take(notice())
    (job,) = h.sent
    assert body(job)["type"] == "budget.exhausted"
    assert h.intake.stats.duplicates == 1


@pytest.mark.parametrize(
    ("events", "event"),
    [
        ({"completed"}, response(status="failed", reason="gateway_timeout")),
        ({"failed"}, response()),
        ({"completed", "failed"}, notice()),
    ],
)
def test_events_a_tenant_does_not_subscribe_to_are_done_at_once(
    events: set[WebhookEventClass], event: OutputEvent
) -> None:
    h = Harness(acme=endpoint("acme", events))
    h.take(event)
    if isinstance(event, ResponseEvent):
        h.take(cost(status=event.status))  # its cost is not waited for either
    assert h.sent == [] and h.intake.in_hand == 0
    assert all(v == 1 for v in h.committable().values())


def test_a_record_that_does_not_parse_is_counted_and_passed_over() -> None:
    h = Harness()
    h.take(response(), value=b"not json")
    h.take(response(turn=1), key="acme")  # no session part: not a tenant's key
    h.take(response("globex", turn=2), key="acme:s-1")  # the key names another tenant
    assert h.sent == []
    assert h.intake.stats.bad_records == 2
    assert h.committable() == {"responses": 3}


def test_releasing_a_partition_forgets_its_jobs_and_cancels_their_deliveries() -> None:
    h = Harness()
    h.take(response(turn=0))
    h.take(cost(turn=0))  # sent with its cost
    h.take(response(turn=1))  # waiting for its cost
    h.take(cost(turn=2))  # waiting for its response
    sent = h.sent[0]
    assert sent.delivery is not None
    releasing = h.intake.release({h.trackers["responses"]})
    assert releasing == [sent] and sent.delivery.cancelled
    # The cost partition stays ours: its records with the released jobs are done;
    # the cost waiting for a response on a partition still ours still waits.
    assert h.committable()["costs"] == 1
    assert h.intake.jobs == {}
    assert h.intake.job_of(sent.delivery) is sent
    h.intake.released(releasing)
    assert h.intake.job_of(sent.delivery) is None
    h.clock.fire_all()
    assert h.sent == [sent]  # the released response's wait did not send it
    assert h.committable()["costs"] == 2


def test_shutdown_sends_what_waits_for_its_cost() -> None:
    h = Harness()
    h.take(response())
    h.intake.send_waiting()
    (job,) = h.sent
    assert body(job)["data"]["cost"] is None


def test_a_dropped_job_leaves_its_records_pending_for_a_replay() -> None:
    h = Harness(costs=False)
    h.take(response())
    h.intake.drop(h.sent[0])
    assert h.committable() == {"responses": 0} and h.intake.in_hand == 0
    h.take(response())  # replayed: sent again
    assert len(h.sent) == 2
