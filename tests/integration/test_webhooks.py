"""The webhook service on the real broker, against a loopback receiver that checks signatures.

The receiver answers per tenant: ``acme`` fails some first attempts (503s,
and a 429 with Retry-After), ``globex`` is slow (its requests wait on a gate
the test opens), ``initech`` is down (its port refuses connections),
``umbrella`` takes completed turns only and rejects one with a 400, and
``hooli`` has no webhook at all. Events are published the way the
processor publishes them (response, cost and audit per turn, with
CloudEvents headers), some twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from aiokafka import TopicPartition
from tests.conftest import (
    fails_on_a_broker_restarted_empty,
    own_broker_topics,
    stalled,
    wait_for,
)

from gwstream.broker import EmbeddedBroker
from gwstream.config import KafkaSettings, Settings, TopicNames
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
from gwstream.kafkaio import make_consumer, make_producer, read_topic
from gwstream.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, WebhookDeadLetter, verify
from gwstream.webhooks.service import WebhookService
from gwstream.webhooks.settings import WebhookServiceSettings, WebhookSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TURNS = 6  # per tenant: 0-3 ok, 4 failed, 5 refused
SECRETS = {t: f"whsec-{t}-{uuid.uuid4().hex}" for t in ("acme", "globex", "initech", "umbrella")}
QUESTION = "My card is 4111 1111 1111 1111, I live at 12 Elm Street"
ANSWER = "Thanks Jane, your parcel to 12 Elm Street ships tomorrow."


# -- the receiver ------------------------------------------------------------------------


@dataclass
class Receiver:
    """One loopback endpoint, ``/hooks/{tenant}``; checks every signature it gets."""

    script: Callable[[str, str, int], tuple[int, dict[str, str]]]
    url: str = ""
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0
    bad_signatures: int = 0
    attempts: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    delivered: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    bodies: list[bytes] = field(default_factory=list)
    content_types: set[str] = field(default_factory=set)

    def ids(self, tenant: str) -> set[str]:
        return {body["id"] for body in self.delivered[tenant]}

    async def handle(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        body = await request.read()
        secret = SECRETS.get(tenant, "").encode()
        header = request.headers.get(SIGNATURE_HEADER)
        if not (verify(secret, header, body, now=time.time()) and _by_hand(secret, header, body)):
            self.bad_signatures += 1
            return web.Response(status=401)
        payload = orjson.loads(body)
        assert request.headers[EVENT_ID_HEADER] == payload["id"]
        self.bodies.append(body)
        self.content_types.add(request.content_type)
        tries = self.attempts[payload["id"]]
        status, headers = self.script(tenant, payload["turn_id"], len(tries) + 1)
        tries.append((time.monotonic(), status))
        if tenant == "globex":
            self.held += 1
            try:
                await self.gate.wait()
            finally:
                self.held -= 1
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=status)  # the sender gave up: not delivered
        if 200 <= status <= 299:
            self.delivered[tenant].append(payload)
        return web.Response(status=status, headers=headers)


def _by_hand(secret: bytes, header: str | None, body: bytes) -> bool:
    """What the README tells receivers to do, without gwstream."""
    fields = dict(part.split("=", 1) for part in (header or "").split(","))
    expected = hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300


def flaky_script(tenant: str, turn_id: str, attempt: int) -> tuple[int, dict[str, str]]:
    if tenant == "acme" and attempt == 1:
        if turn_id == "acme-1":
            return 429, {"Retry-After": "0.4"}
        if turn_id in ("acme-0", "acme-3", "acme-4"):
            return 503, {}
    if tenant == "umbrella" and turn_id == "umbrella-0":
        return 400, {}
    return 200, {}


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(flaky_script)
    app = web.Application()
    app.router.add_post("/hooks/{tenant}", rec.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
        yield rec
    finally:
        rec.gate.set()  # release requests a failed test left held
        await runner.cleanup()


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- events ------------------------------------------------------------------------------


def turn_events(tenant: str, i: int) -> list[OutputEvent]:
    turn_id = f"{tenant}-{i}"
    outcomes = {4: ("failed", "gateway_timeout"), 5: ("refused", "budget_exhausted")}
    status, reason = outcomes.get(i, ("ok", None))
    common: dict[str, Any] = {
        "turn_id": turn_id,
        "tenant_id": tenant,
        "session_id": f"s-{i % 3}",
        "seq": i // 3,
        "produced_at": T0,
    }
    response = ResponseEvent(
        event_id=event_id(turn_id, "response"),
        **common,
        status=status,
        reason=reason,
        text=ANSWER if status == "ok" else None,
        gateway="default",
        request_model="gpt-4o-mini",
        input_tokens=100 + i,
        output_tokens=10 + i if status == "ok" else 0,
        latency_ms=120.0,
    )
    cost = CostEvent(
        event_id=event_id(turn_id, "cost"),
        **common,
        occurred_at=T0,
        gateway="default",
        request_model="gpt-4o-mini",
        input_tokens=100 + i,
        output_tokens=10 + i,
        usage_source="gateway",
        cost=Decimal("0.000015") * (i + 1),
        price_source="litellm",
        status=status,
    )
    audit = AuditEvent(
        event_id=event_id(turn_id, "audit"),
        **common,
        status=status,
        outcome="ok",
        reason=reason,
        input_sha256=hashlib.sha256(QUESTION.encode()).hexdigest(),
        input_chars=len(QUESTION),
        source_partition=0,
        source_offset=i,
    )
    return [response, cost, audit]


def notice(tenant: str, level: str) -> BudgetNotice:
    return BudgetNotice(
        event_id=BudgetNotice.id_for(tenant, "day", "2026-11-20", level),
        turn_id=f"{tenant}-3",
        tenant_id=tenant,
        session_id="s-0",
        seq=1,
        produced_at=T0,
        period="day",
        window="2026-11-20",
        level=level,  # type: ignore[arg-type]
        spend=Decimal("8.5"),
        limit=Decimal("10"),
        threshold=0.8,
        currency="USD",
    )


async def publish(
    kafka: KafkaSettings, names: TopicNames, events: list[OutputEvent]
) -> dict[TopicPartition, int]:
    """Publish as the processor does; return the end offset of every partition written."""
    topic_of = {
        ResponseEvent: names.responses,
        CostEvent: names.costs,
        AuditEvent: names.audit,
        BudgetNotice: names.audit,
    }
    producer = make_producer(kafka)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic_of[type(e)],
                value=e.to_json(),
                key=session_key(e.tenant_id, e.session_id).encode(),
                headers=cloudevent_headers(e),
            )
            for e in events
        ]
        sent = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    ends: dict[TopicPartition, int] = {}
    for meta in sent:
        tp = TopicPartition(meta.topic, meta.partition)
        ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


def all_events() -> list[OutputEvent]:
    events: list[OutputEvent] = []
    for tenant in ("acme", "globex", "initech", "umbrella", "hooli"):
        for i in range(TURNS):
            events += turn_events(tenant, i)
    events += turn_events("acme", 0)[:1]  # a response redelivered
    events += [notice("acme", "soft_threshold"), notice("acme", "soft_threshold")]  # two instances
    events.append(notice("initech", "exhausted"))
    events.append(notice("globex", "exhausted"))  # globex does not subscribe to budget
    return events


def endpoints(receiver: Receiver, refusing_port: int) -> dict[str, WebhookSettings]:
    quick = {"backoff_base_s": 0.05, "backoff_cap_s": 0.2, "timeout_s": 30.0}
    return {
        "acme": WebhookSettings(url=f"{receiver.url}/acme", secret=SECRETS["acme"], **quick),  # type: ignore[arg-type]
        "globex": WebhookSettings(
            url=f"{receiver.url}/globex",  # type: ignore[arg-type]
            secret_env="GLOBEX_HOOK_SECRET",
            events=frozenset({"completed", "failed"}),
            **quick,
        ),
        "initech": WebhookSettings(
            url=f"http://127.0.0.1:{refusing_port}/hooks/initech?token=t0ps3cret",  # type: ignore[arg-type]
            secret=SECRETS["initech"],
            max_attempts=3,
            **quick,
        ),
        "umbrella": WebhookSettings(
            url=f"{receiver.url}/umbrella",  # type: ignore[arg-type]
            secret=SECRETS["umbrella"],
            events=frozenset({"completed"}),
            **quick,
        ),
    }


def service_settings(**overrides: Any) -> WebhookServiceSettings:
    fields: dict[str, Any] = {
        "group_id": f"hooks-{uuid.uuid4().hex[:8]}",
        "per_tenant_concurrency": 2,
        "commit_interval_s": 0.1,
        "drain_timeout_s": 2.0,
        "cost_wait_s": 5.0,
        "stats_interval_s": 1.0,
        "start_from": "earliest",  # the tests publish before the service starts
    }
    return WebhookServiceSettings(**(fields | overrides))


async def committed(
    kafka: KafkaSettings, group_id: str, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    # Named partitions: aiokafka cannot decode Tansu's all-partitions OffsetFetch.
    consumer = make_consumer(kafka, group_id=group_id)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) or 0 for tp in tps}
    finally:
        await consumer.stop()


def ids(tenant: str, turns: range, *, notices: tuple[str, ...] = ()) -> set[str]:
    out = {event_id(f"{tenant}-{i}", "response") for i in turns}
    return out | {BudgetNotice.id_for(tenant, "day", "2026-11-20", level) for level in notices}


# -- tests -------------------------------------------------------------------------------


async def test_webhooks_are_signed_retried_isolated_per_tenant_and_dead_lettered(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    receiver: Receiver,
    refusing_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GLOBEX_HOOK_SECRET", SECRETS["globex"])
    ends = await publish(kafka, topic_names, all_events())
    settings = service_settings()
    service = WebhookService(kafka, topic_names, settings, endpoints(receiver, refusing_port))
    stop = asyncio.Event()
    started = time.monotonic()
    async with service:
        run = asyncio.create_task(service.run(stop))
        try:
            # Everything but the slow tenant is delivered or dead-lettered while globex's
            # first requests are still held: its endpoint holds back no one else.
            await wait_for(
                lambda: (
                    (
                        receiver.ids("acme")
                        == ids("acme", range(TURNS), notices=("soft_threshold",))
                        and receiver.ids("umbrella") == ids("umbrella", range(1, 4))
                        and service.stats.dead_lettered == 8
                        and receiver.held == 2
                    )
                    or run.done()
                ),
                timeout=20,
            )
            others_done_after = time.monotonic() - started
            assert not run.done()
            assert receiver.held == 2  # globex's two workers, each holding a request
            assert receiver.ids("globex") == set()
            assert others_done_after < 15

            receiver.gate.set()
            await wait_for(
                lambda: receiver.ids("globex") == ids("globex", range(TURNS)) or run.done(),
                timeout=20,
            )
        finally:
            stop.set()
            stats = await run

    assert receiver.bad_signatures == 0
    assert receiver.content_types == {"application/json"}
    assert "hooli" not in receiver.delivered
    assert stats.delivered == 7 + 6 + 3
    assert stats.dead_lettered == 8
    assert stats.duplicates >= 2  # the redelivered response and the second notice
    # At least once, and here exactly once per event id: nothing needed a resend.
    for tenant in ("acme", "globex", "umbrella"):
        bodies = receiver.delivered[tenant]
        assert len(bodies) == len({b["id"] for b in bodies}), tenant

    # Each webhook carries its turn's cost (joined from the cost topic), never text.
    for body in receiver.delivered["acme"]:
        if body["type"].startswith("turn."):
            i = int(body["turn_id"].split("-")[1])
            assert body["data"]["cost"] == format(Decimal("0.000015") * (i + 1), "f")
            assert body["data"]["currency"] == "USD"
    assert {b["type"] for b in receiver.delivered["acme"]} == {
        "turn.completed",
        "turn.failed",
        "budget.soft_threshold",
    }
    for raw in receiver.bodies:
        assert b"Elm Street" not in raw and b"4111 1111" not in raw

    # Retries: 503s and the 429 were retried, the 429 no sooner than its Retry-After.
    for turn in ("acme-0", "acme-3", "acme-4"):
        assert [s for _, s in receiver.attempts[event_id(turn, "response")]] == [503, 200]
    (first, status_429), (second, status_ok) = receiver.attempts[event_id("acme-1", "response")]
    assert (status_429, status_ok) == (429, 200)
    assert second - first >= 0.39
    assert [s for _, s in receiver.attempts[event_id("umbrella-0", "response")]] == [400]

    # The down tenant's events and the rejected one ended in the dead-letter topic.
    records = await read_topic(kafka, topic_names.webhooks_dlq, until=lambda rs: len(rs) >= 8)
    assert len(records) == 8
    letters = [WebhookDeadLetter.model_validate_json(r.value or b"") for r in records]
    down = [d for d in letters if d.tenant_id == "initech"]
    assert {d.event_id for d in down} == ids("initech", range(TURNS), notices=("exhausted",))
    for d in down:
        assert (d.reason, d.attempts, d.last_status, d.last_error) == (
            "attempts_exhausted",
            3,
            None,
            "connection_error",
        )
        assert d.url_host == f"127.0.0.1:{refusing_port}"
    (rejected,) = [d for d in letters if d.tenant_id == "umbrella"]
    assert (rejected.reason, rejected.attempts, rejected.last_status, rejected.last_error) == (
        "rejected",
        1,
        400,
        "http_400",
    )
    assert rejected.turn_id == "umbrella-0"
    for r in records:
        raw = (r.value or b"") + b"".join(v for _, v in r.headers)
        for secret in SECRETS.values():
            assert secret.encode() not in raw
        for text in (b"t0ps3cret", b"Elm Street", b"4111 1111", b"/hooks"):
            assert text not in raw
        assert dict(r.headers)["ce_type"] == WebhookDeadLetter.ce_type.encode()

    # Every record was finished, so the group committed every partition to its end.
    assert await committed(kafka, settings.group_id, sorted(ends)) == ends


async def test_events_not_delivered_by_shutdown_are_delivered_after_a_restart(
    kafka: KafkaSettings, topic_names: TopicNames, receiver: Receiver
) -> None:
    state = {"up": False}

    def down_then_up(tenant: str, turn_id: str, attempt: int) -> tuple[int, dict[str, str]]:
        return (200, {}) if state["up"] else (503, {})

    receiver.script = down_then_up
    events = [e for i in range(TURNS) for e in turn_events("acme", i)]
    ends = await publish(kafka, topic_names, events)
    hooks = {
        "acme": WebhookSettings(
            url=f"{receiver.url}/acme",  # type: ignore[arg-type]
            secret=SECRETS["acme"],
            max_attempts=100,
            backoff_base_s=0.05,
            backoff_cap_s=0.2,
        )
    }
    settings = service_settings(drain_timeout_s=0.3, per_tenant_concurrency=TURNS)
    response_tps = sorted(tp for tp in ends if tp.topic == topic_names.responses)

    first = WebhookService(kafka, topic_names, settings, hooks)
    stop = asyncio.Event()
    async with first:
        run = asyncio.create_task(first.run(stop))
        await wait_for(
            lambda: (
                (
                    len(receiver.attempts) == TURNS
                    and all(len(a) >= 2 for a in receiver.attempts.values())
                )
                or run.done()
            ),
            timeout=20,
        )
        stop.set()
        stats = await run
    assert stats.delivered == 0 and stats.dead_lettered == 0
    after_first = await committed(kafka, settings.group_id, response_tps)
    assert all(
        after_first[tp] < ends[tp] for tp in response_tps
    )  # nothing delivered: not committed

    state["up"] = True
    second = WebhookService(kafka, topic_names, settings, hooks)
    stop = asyncio.Event()
    async with second:
        run = asyncio.create_task(second.run(stop))
        await wait_for(
            lambda: receiver.ids("acme") == ids("acme", range(TURNS)) or run.done(), timeout=20
        )
        stop.set()
        stats = await run
    assert stats.delivered == TURNS
    assert receiver.bad_signatures == 0
    assert await committed(kafka, settings.group_id, sorted(ends)) == ends


async def test_a_new_group_starting_from_latest_sends_no_history(
    kafka: KafkaSettings, topic_names: TopicNames, receiver: Receiver
) -> None:
    receiver.script = lambda tenant, turn_id, attempt: (200, {})
    # One record a batch: the embedded broker reports a partition's end short (by batches,
    # not records) when records were written in batches, and latest would start before it.
    for event in [e for i in range(4) for e in turn_events("acme", i)]:
        await publish(kafka, topic_names, [event])
    hooks = {
        "acme": WebhookSettings(url=f"{receiver.url}/acme", secret=SECRETS["acme"])  # type: ignore[arg-type]
    }
    service = WebhookService(kafka, topic_names, service_settings(start_from="latest"), hooks)
    stop = asyncio.Event()
    async with service:
        run = asyncio.create_task(service.run(stop))
        # Publish new turns until one arrives: the group has then found the end it starts at.
        new = 100
        while not receiver.ids("acme") and not run.done():
            await publish(kafka, topic_names, turn_events("acme", new))
            new += 1
            with contextlib.suppress(AssertionError):
                await wait_for(lambda: bool(receiver.ids("acme")) or run.done(), timeout=2)
        stop.set()
        await run
    delivered = receiver.ids("acme")
    assert delivered, "a turn published after the start was delivered"
    assert not delivered & ids("acme", range(4)), "history was sent"


async def test_the_service_refuses_to_start_without_a_readable_secret(
    kafka: KafkaSettings, topic_names: TopicNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gwstream.errors import ConfigError

    monkeypatch.delenv("GLOBEX_HOOK_SECRET", raising=False)
    hooks = {
        "globex": WebhookSettings(url="http://127.0.0.1:9/h", secret_env="GLOBEX_HOOK_SECRET")  # type: ignore[arg-type]
    }
    with pytest.raises(ConfigError, match="GLOBEX_HOOK_SECRET"):
        async with WebhookService(kafka, topic_names, service_settings(), hooks):
            pass
    with pytest.raises(ConfigError, match=r"no tenant has a webhook"):
        async with WebhookService(kafka, topic_names, service_settings(), {}):
            pass


async def test_a_second_member_takes_partitions_and_every_event_is_still_delivered(
    kafka: KafkaSettings, topic_names: TopicNames, receiver: Receiver
) -> None:
    events = [e for t in ("acme", "globex") for i in range(TURNS) for e in turn_events(t, i)]
    ends = await publish(kafka, topic_names, events)
    quick = {"backoff_base_s": 0.05, "backoff_cap_s": 0.2}
    hooks = {
        t: WebhookSettings(url=f"{receiver.url}/{t}", secret=SECRETS[t], **quick)  # type: ignore[arg-type]
        for t in ("acme", "globex")
    }
    receiver.script = lambda tenant, turn_id, attempt: (200, {})
    settings = service_settings(drain_timeout_s=0.5)
    first, second = (WebhookService(kafka, topic_names, settings, hooks) for _ in range(2))
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    async with first:
        run_first = asyncio.create_task(first.run(stop_first))
        try:
            # The first member owns everything, and holds two of globex's requests.
            await wait_for(
                lambda: (
                    (receiver.ids("acme") == ids("acme", range(TURNS)) and receiver.held == 2)
                    or run_first.done()
                ),
                timeout=20,
            )
            assert first.stats.assigned == [0, 1, 2, 3]
            async with second:
                run_second = asyncio.create_task(second.run(stop_second))
                try:
                    await wait_for(
                        lambda: (
                            (second.stats.assigned and len(first.stats.assigned) < 4)
                            or run_first.done()
                            or run_second.done()
                        ),
                        timeout=20,
                    )
                    assert sorted(first.stats.assigned + second.stats.assigned) == [0, 1, 2, 3]
                    receiver.gate.set()
                    await wait_for(
                        lambda: (
                            receiver.ids("globex") == ids("globex", range(TURNS))
                            or run_first.done()
                            or run_second.done()
                        ),
                        timeout=20,
                    )
                    # Both finish what they hold, so the group's commits reach every end.
                    await wait_for(lambda: not first.in_hand and not second.in_hand, timeout=20)
                finally:
                    stop_second.set()
                    await run_second
        finally:
            stop_first.set()
            await run_first
    assert receiver.bad_signatures == 0
    assert await committed(kafka, settings.group_id, sorted(ends)) == ends


async def test_a_tenant_with_a_full_queue_has_new_events_dead_lettered(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gwstream.webhooks.service")
    events = [e for i in range(TURNS) for e in turn_events("globex", i)]
    ends = await publish(kafka, topic_names, events)
    hooks = {
        "globex": WebhookSettings(url=f"{receiver.url}/globex", secret=SECRETS["globex"])  # type: ignore[arg-type]
    }
    receiver.script = lambda tenant, turn_id, attempt: (200, {})
    # Progress (which sums up dead letters) only at the stop.
    settings = service_settings(
        per_tenant_concurrency=1, max_queued_per_tenant=2, stats_interval_s=600
    )
    service = WebhookService(kafka, topic_names, settings, hooks)
    stop = asyncio.Event()
    async with service:
        run = asyncio.create_task(service.run(stop))
        try:
            # One request held, at most two queued: the rest are refused at once.
            await wait_for(
                lambda: (
                    (receiver.held == 1 and service.stats.dead_lettered >= TURNS - 3) or run.done()
                ),
                timeout=20,
            )
            receiver.gate.set()
            await wait_for(
                lambda: (
                    service.stats.delivered + service.stats.dead_lettered == TURNS or run.done()
                ),
                timeout=20,
            )
        finally:
            stop.set()
            stats = await run
    records = await read_topic(
        kafka, topic_names.webhooks_dlq, until=lambda rs: len(rs) >= stats.dead_lettered
    )
    letters = [WebhookDeadLetter.model_validate_json(r.value or b"") for r in records]
    assert {(d.reason, d.attempts) for d in letters} == {("backlog_full", 0)}
    # One line for the first dead letter of the tenant and reason; the rest summed up.
    lines = [r.getMessage() for r in caplog.records]
    assert sum("dead-lettered: backlog_full" in m for m in lines) == 1
    more = stats.dead_lettered - 1
    assert (
        f"webhooks: {more} more dead letters since the last progress line: "
        f"globex backlog_full {more}" in lines
    )
    assert {d.event_id for d in letters} | receiver.ids("globex") == ids("globex", range(TURNS))
    assert not {d.event_id for d in letters} & receiver.ids("globex")
    assert await committed(kafka, settings.group_id, sorted(ends)) == ends


async def _acme_with_a_metrics_port(
    kafka: KafkaSettings, names: TopicNames, receiver: Receiver
) -> tuple[Settings, int]:
    """Four turns of acme published for delivery, and the service's settings with a
    metrics port (returned too)."""
    from gwstream.broker import free_port
    from gwstream.config import TenantSettings

    receiver.script = lambda tenant, turn_id, attempt: (200, {})
    await publish(kafka, names, [e for i in range(4) for e in turn_events("acme", i)])
    port = free_port()
    hook = WebhookSettings(url=f"{receiver.url}/acme", secret=SECRETS["acme"])  # type: ignore[arg-type]
    settings = Settings(
        kafka=kafka,
        topics=names,
        webhooks=service_settings(metrics_port=port),
        tenants={"acme": TenantSettings(webhook=hook)},
    )
    return settings, port


async def test_the_service_serves_metrics_and_probes_when_given_a_port(
    kafka: KafkaSettings, topic_names: TopicNames, receiver: Receiver
) -> None:
    import httpx

    from gwstream.webhooks.service import serve

    settings, port = await _acme_with_a_metrics_port(kafka, topic_names, receiver)
    stop = asyncio.Event()
    run = asyncio.create_task(serve(settings, stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def answers(path: str, status: int) -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await client.get(base + path)).status_code == status
                return False

            await wait_for(lambda: answers("/readyz", 200) if not run.done() else True)
            assert not run.done(), run
            assert (await client.get(f"{base}/healthz")).json() == {"status": "ok"}
            await wait_for(lambda: receiver.ids("acme") >= ids("acme", range(4)))

            async def delivered_metric() -> bool:
                text = (await client.get(f"{base}/metrics")).text
                return "gwstream_webhooks_delivered_total 4.0" in text

            await wait_for(delivered_metric)
            text = (await client.get(f"{base}/metrics")).text
            assert "gwstream_webhooks_dead_letters_total 0.0" in text
            assert "gwstream_webhooks_partitions_assigned" in text
    finally:
        stop.set()
        stats = await run
    assert stats.delivered == 4


async def test_readiness_says_when_the_broker_stops_answering_and_recovers(
    embedded_broker: EmbeddedBroker, receiver: Receiver
) -> None:
    import httpx

    from gwstream.webhooks.service import serve

    kafka, names = await own_broker_topics(embedded_broker, "w", partitions=4)
    settings, port = await _acme_with_a_metrics_port(kafka, names, receiver)
    stop = asyncio.Event()
    run = asyncio.create_task(serve(settings, stop))
    try:
        async with httpx.AsyncClient(timeout=2) as client:

            async def ready(status: int) -> bool:
                if run.done():
                    return True
                with contextlib.suppress(httpx.TransportError):
                    return (
                        await client.get(f"http://127.0.0.1:{port}/readyz")
                    ).status_code == status
                return False

            await wait_for(lambda: ready(200))
            await wait_for(lambda: receiver.ids("acme") >= ids("acme", range(4)))
            with stalled(embedded_broker):
                await wait_for(lambda: ready(503), timeout=30)
                assert not run.done(), run
            await wait_for(lambda: ready(200), timeout=60)
            assert not run.done(), run
    finally:
        stop.set()
        stats = await run
    assert stats.delivered == 4


async def test_a_service_whose_broker_restarted_empty_stops_with_an_error_saying_so(
    embedded_broker: EmbeddedBroker, receiver: Receiver
) -> None:
    from gwstream.webhooks.service import serve

    kafka, names = await own_broker_topics(embedded_broker, "w", partitions=8)
    settings, _ = await _acme_with_a_metrics_port(kafka, names, receiver)
    run = asyncio.create_task(serve(settings, asyncio.Event()))
    try:
        await wait_for(lambda: run.done() or receiver.ids("acme") >= ids("acme", range(4)))
        assert not run.done(), run
        # Fetching partitions that no longer exist would deliver nothing, ready all along.
        await fails_on_a_broker_restarted_empty(embedded_broker, run)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


async def test_a_taken_metrics_port_stops_the_service_before_it_joins_the_group(
    kafka: KafkaSettings, topic_names: TopicNames, receiver: Receiver
) -> None:
    from gwstream.config import Settings, TenantSettings
    from gwstream.errors import GwstreamError
    from gwstream.webhooks.service import WebhookService, serve

    joined: list[bool] = []
    original = WebhookService.start

    async def start(self: WebhookService) -> None:
        joined.append(True)
        await original(self)

    hook = WebhookSettings(url=f"{receiver.url}/acme", secret=SECRETS["acme"])  # type: ignore[arg-type]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(
            kafka=kafka,
            topics=topic_names,
            webhooks=service_settings(metrics_port=taken.getsockname()[1]),
            tenants={"acme": TenantSettings(webhook=hook)},
        )
        WebhookService.start = start  # type: ignore[method-assign]
        try:
            with pytest.raises(GwstreamError, match=r"webhooks\.metrics_port"):
                await serve(settings, asyncio.Event())
        finally:
            WebhookService.start = original  # type: ignore[method-assign]
    assert joined == [], "the service started (and joined its group) before binding its port"


async def test_a_missing_topic_stops_the_service_at_start_without_creating_it(
    kafka: KafkaSettings, topic_names: TopicNames, receiver: Receiver
) -> None:
    from gwstream.errors import BrokerError
    from gwstream.kafkaio import make_consumer

    missing = f"gw.nope-{uuid.uuid4().hex[:6]}"
    names = topic_names.model_copy(update={"responses": missing})
    hooks = {
        "acme": WebhookSettings(url=f"{receiver.url}/acme", secret=SECRETS["acme"])  # type: ignore[arg-type]
    }
    with pytest.raises(
        BrokerError, match=rf"topic {missing} does not exist: run `gwstream topics apply`"
    ):
        async with WebhookService(kafka, names, service_settings(), hooks):
            pass
    probe = make_consumer(kafka, group_id=None)
    await probe.start()
    try:
        assert missing not in await probe.topics()
    finally:
        await probe.stop()
