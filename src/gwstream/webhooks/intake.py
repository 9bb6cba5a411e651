"""From output records to webhook jobs: which records need one, the cost join, dedupe.

Bookkeeping only, no Kafka client and no HTTP (the service wires it to
both), so it is unit tested with plain records and a hand-driven timer.

Every record taken is tracked by offset (:class:`~gwstream.runtime.offsets.OffsetTracker`)
and ends in exactly one place:

- done at once: a tenant without a webhook, an event class the tenant does
  not subscribe to, an audit event that is not a budget notice, a record that
  does not parse, a redelivery of an event finished recently;
- in a :class:`Job`, the webhook of one event (a response or a budget
  notice), with the records it finishes: its own, its turn's cost record,
  and any redelivered copies read while it was in hand;
- among the early costs: a cost read before its turn's response, which waits
  ``cost_wait_s`` for it and is then done on its own (the response was sent
  already, or went to another member).

A response waits up to ``cost_wait_s`` for its cost record, then goes
without (``cost`` null in the body).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

from aiokafka import ConsumerRecord
from pydantic import BaseModel, ValidationError

from gwstream.events import BudgetNotice, CostEvent, ResponseEvent, event_id
from gwstream.runtime.offsets import OffsetTracker
from gwstream.webhooks.delivery import Delivery, Endpoint
from gwstream.webhooks.payload import WebhookType, budget_payload, event_class, turn_payload

__all__ = ["Intake", "IntakeStats", "Job", "Ref"]

log = logging.getLogger(__name__)

Ref = tuple[OffsetTracker, int]
"""A record taken: its partition's tracker and its offset."""

_M = TypeVar("_M", bound=BaseModel)


class _Timer(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], _Timer]
"""``loop.call_later``-shaped: run a callback after a delay; the result cancels it."""


def _call_later(delay: float, callback: Callable[[], None]) -> _Timer:
    return asyncio.get_running_loop().call_later(delay, callback)


@dataclass(slots=True, eq=False)
class Job:
    """The webhook of one event, the records it finishes, and where it stands."""

    event: ResponseEvent | BudgetNotice
    endpoint: Endpoint
    refs: list[Ref]
    key: bytes | None
    source: tuple[str, int, int]
    """Topic, partition and offset of the event's first record (for the dead letter)."""
    state: Literal["waiting_cost", "sending", "dead_lettering"] = "waiting_cost"
    delivery: Delivery | None = None
    event_type: WebhookType = "turn.completed"
    cost: Decimal | None = None
    currency: str | None = None
    timer: _Timer | None = None


@dataclass(slots=True, eq=False)
class _EarlyCost:
    cost: Decimal
    currency: str
    refs: list[Ref]
    timer: _Timer


@dataclass(slots=True)
class IntakeStats:
    events: int = 0
    """Events taken for delivery (redelivered records of one event count once)."""
    duplicates: int = 0
    """Records of an event already in hand or recently finished: not sent again."""
    with_cost: int = 0
    """Turn webhooks whose body carries the turn's cost."""
    bad_records: int = 0
    """Records that do not parse, or whose key names another tenant; passed over."""


def _tenant_of(key: bytes | None) -> bytes | None:
    if not key:
        return None
    tenant, sep, _ = key.partition(b":")
    return tenant if sep else None


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> bytes | None:
    for k, v in record.headers:
        if k == name:
            return bytes(v)
    return None


def _done(refs: Iterable[Ref]) -> None:
    for tracker, offset in refs:
        tracker.mark_done(offset)


class Intake:
    """Turns records of the output topics into jobs, and finishes their records.

    ``send(job)`` is called once per job, when it is ready (its delivery and
    body built); the owner reports back with :meth:`finish` (delivered or
    dead-lettered) or :meth:`drop` (given up, its records to be replayed).
    ``costs`` is None when the costs topic is not read.
    """

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        *,
        responses: str,
        costs: str | None,
        cost_wait_s: float,
        dedupe_ids: int,
        send: Callable[[Job], None],
        call_later: Scheduler = _call_later,
    ) -> None:
        self._endpoints = {t.encode(): ep for t, ep in endpoints.items()}
        self._responses = responses
        self._costs = costs
        self._cost_wait_s = cost_wait_s
        self._dedupe_ids = dedupe_ids
        self._send = send
        self._call_later = call_later
        self.jobs: dict[str, Job] = {}
        """Jobs in hand by event id, whatever their state."""
        self._releasing: dict[str, Job] = {}
        self._awaiting_cost: dict[str, Job] = {}
        self._early_costs: dict[str, _EarlyCost] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self.stats = IntakeStats()

    @property
    def in_hand(self) -> int:
        """Events taken and not finished, and costs waiting for their response."""
        return len(self.jobs) + len(self._early_costs)

    @property
    def waiting_for_cost(self) -> int:
        return len(self._awaiting_cost)

    # -- taking records ----------------------------------------------------------------

    def take(self, tracker: OffsetTracker, record: ConsumerRecord[bytes, bytes]) -> None:
        """Track ``record`` in ``tracker`` and route it (see the module docstring)."""
        tracker.add(record.offset)
        ref = (tracker, record.offset)
        tenant = _tenant_of(record.key)
        endpoint = self._endpoints.get(tenant) if tenant is not None else None
        if endpoint is None:
            tracker.mark_done(record.offset)
        elif record.topic == self._responses:
            self._take_response(endpoint, ref, record)
        elif record.topic == self._costs:
            self._take_cost(endpoint, ref, record)
        elif _header(record, "ce_type") == BudgetNotice.ce_type.encode():
            self._take_notice(endpoint, ref, record)
        else:
            tracker.mark_done(record.offset)  # an audit event: not a webhook

    def _parse(self, model: type[_M], record: ConsumerRecord[bytes, bytes], ref: Ref) -> _M | None:
        position = f"{record.topic}[{record.partition}]@{record.offset}"
        try:
            event = model.model_validate_json(record.value or b"")
        except ValidationError as exc:
            # Location and error type only: pydantic's messages may quote the input.
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            log.warning(
                "skipping %s record %s: %s at %s", model.__name__, position, first["type"], where
            )
            event = None
        tenant = _tenant_of(record.key)
        if (
            event is not None
            and tenant is not None
            and getattr(event, "tenant_id", None) != tenant.decode()
        ):
            log.warning("skipping record %s: its key names another tenant", position)
            event = None
        if event is None:
            self.stats.bad_records += 1
            _done([ref])
        return event

    def _in_hand_already(self, event_id_: str, ref: Ref) -> bool:
        """A redelivered event: finish its record with the job in hand, or at once if done."""
        job = self.jobs.get(event_id_)
        if job is not None:
            job.refs.append(ref)
        elif event_id_ in self._recent:
            _done([ref])
        else:
            return False
        self.stats.duplicates += 1
        return True

    def _new_job(
        self,
        event: ResponseEvent | BudgetNotice,
        endpoint: Endpoint,
        ref: Ref,
        record: ConsumerRecord[bytes, bytes],
    ) -> Job:
        job = Job(
            event, endpoint, [ref], record.key, (record.topic, record.partition, record.offset)
        )
        self.jobs[event.event_id] = job
        self.stats.events += 1
        return job

    def _take_response(
        self, endpoint: Endpoint, ref: Ref, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        event = self._parse(ResponseEvent, record, ref)
        if event is None:
            return
        if event_class(event.status) not in endpoint.events:
            _done([ref])
            return
        if self._in_hand_already(event.event_id, ref):
            return
        job = self._new_job(event, endpoint, ref, record)
        if self._costs is None:
            self._ready(job)
            return
        early = self._early_costs.pop(event.turn_id, None)
        if early is not None:
            early.timer.cancel()
            job.cost, job.currency = early.cost, early.currency
            job.refs.extend(early.refs)
            self._ready(job)
            return
        job.timer = self._call_later(self._cost_wait_s, lambda: self._cost_not_seen(job))
        self._awaiting_cost[event.turn_id] = job

    def _take_cost(
        self, endpoint: Endpoint, ref: Ref, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        event = self._parse(CostEvent, record, ref)
        if event is None:
            return
        if event.status is None or event_class(event.status) not in endpoint.events:
            _done([ref])
            return
        turn_id = event.turn_id
        job = self._awaiting_cost.pop(turn_id, None)
        if job is not None:
            if job.timer is not None:
                job.timer.cancel()
            job.cost, job.currency = event.cost, event.currency
            job.refs.append(ref)
            self._ready(job)
            return
        response_id = event_id(turn_id, ResponseEvent.kind)
        sent = self.jobs.get(response_id)
        if sent is not None:
            sent.refs.append(ref)  # too late for the body: finished with the webhook
        elif response_id in self._recent:
            _done([ref])
        elif (early := self._early_costs.get(turn_id)) is not None:
            early.refs.append(ref)
        else:
            timer = self._call_later(self._cost_wait_s, lambda: self._response_not_seen(turn_id))
            self._early_costs[turn_id] = _EarlyCost(event.cost, event.currency, [ref], timer)

    def _take_notice(
        self, endpoint: Endpoint, ref: Ref, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        event = self._parse(BudgetNotice, record, ref)
        if event is None:
            return
        if "budget" not in endpoint.events:
            _done([ref])
            return
        if not self._in_hand_already(event.event_id, ref):
            self._ready(self._new_job(event, endpoint, ref, record))

    def _cost_not_seen(self, job: Job) -> None:
        if self._awaiting_cost.get(job.event.turn_id) is job:
            del self._awaiting_cost[job.event.turn_id]
            self._ready(job)

    def _response_not_seen(self, turn_id: str) -> None:
        early = self._early_costs.pop(turn_id, None)
        if early is not None:
            _done(early.refs)

    def _ready(self, job: Job) -> None:
        ep, event = job.endpoint, job.event
        if isinstance(event, ResponseEvent):
            payload = turn_payload(
                event, cost=job.cost, currency=job.currency, include_text=ep.include_text
            )
            if job.cost is not None:
                self.stats.with_cost += 1
        else:
            payload = budget_payload(event)
        job.delivery = Delivery(payload.id, payload.type, ep.tenant_id, payload.to_json())
        job.event_type = payload.type
        job.state = "sending"
        self._send(job)

    def send_waiting(self) -> None:
        """Send now every response still waiting for its cost (at shutdown)."""
        for job in list(self._awaiting_cost.values()):
            if job.timer is not None:
                job.timer.cancel()
            self._cost_not_seen(job)

    # -- finishing ---------------------------------------------------------------------

    def job_of(self, delivery: Delivery) -> Job | None:
        """The job a delivery belongs to, in hand or being released; None if forgotten."""
        for jobs in (self.jobs, self._releasing):
            job = jobs.get(delivery.event_id)
            if job is not None and job.delivery is delivery:
                return job
        return None

    def finish(self, job: Job) -> None:
        """Delivered or dead-lettered: its records are done, its id remembered."""
        event_id_ = job.event.event_id
        if self.jobs.get(event_id_) is job:
            del self.jobs[event_id_]
        _done(job.refs)
        job.refs.clear()
        if self._dedupe_ids:
            self._recent[event_id_] = None
            self._recent.move_to_end(event_id_)
            while len(self._recent) > self._dedupe_ids:
                self._recent.popitem(last=False)

    def drop(self, job: Job) -> None:
        """Given up without a result (cancelled): its records stay pending, to be replayed."""
        if self.jobs.get(job.event.event_id) is job:
            del self.jobs[job.event.event_id]

    def release(self, gone: set[OffsetTracker]) -> list[Job]:
        """Let go of the work of revoked partitions (trackers ``gone``).

        Jobs and early costs with a record there are forgotten, their records on
        partitions still ours done (the new owner sends the webhook). Jobs being
        sent have their delivery cancelled and are returned: an attempt under
        way may still deliver, and :meth:`job_of` finds them until
        :meth:`released`. Jobs being dead-lettered finish as they are.
        """

        def touches(refs: Sequence[Ref]) -> bool:
            return any(tracker in gone for tracker, _ in refs)

        def keep_only_gone(refs: list[Ref]) -> None:
            _done(r for r in refs if r[0] not in gone)
            refs[:] = [r for r in refs if r[0] in gone]

        sending: list[Job] = []
        for event_id_, job in list(self.jobs.items()):
            if job.state == "dead_lettering" or not touches(job.refs):
                continue
            keep_only_gone(job.refs)
            del self.jobs[event_id_]
            if job.state == "waiting_cost":
                if job.timer is not None:
                    job.timer.cancel()
                self._awaiting_cost.pop(job.event.turn_id, None)
            elif job.delivery is not None:
                job.delivery.cancel()
                self._releasing[event_id_] = job
                sending.append(job)
        for turn_id, early in list(self._early_costs.items()):
            if touches(early.refs):
                early.timer.cancel()
                keep_only_gone(early.refs)
                del self._early_costs[turn_id]
        return sending

    def released(self, jobs: Iterable[Job]) -> None:
        """Forget jobs :meth:`release` returned: a late answer to them changes nothing."""
        for job in jobs:
            if self._releasing.get(job.event.event_id) is job:
                del self._releasing[job.event.event_id]

    def cancel_timers(self) -> None:
        for job in self._awaiting_cost.values():
            if job.timer is not None:
                job.timer.cancel()
        for early in self._early_costs.values():
            early.timer.cancel()

    def holder_of(self, tracker: OffsetTracker) -> str | None:
        """The tenant whose job holds ``tracker``'s first unfinished record, if one does."""
        head = (tracker, tracker.committable())
        for job in self.jobs.values():
            if head in job.refs:
                return job.endpoint.tenant_id
        return None
