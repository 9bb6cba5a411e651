"""Spans exported over OTLP/HTTP by a running processor, to a collector on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from tests.conftest import wait_for
from tests.integration.helpers import make_turns, settings_for, turn_records
from tests.unit.pipeline.scripted import RESULT, ScriptedGateway, turn

from gwstream.app import build_pipeline, run_processor
from gwstream.config import KafkaSettings, Settings, TopicNames
from gwstream.kafkaio import publish
from gwstream.pipeline import Session
from gwstream.runtime import RuntimeStats
from gwstream.simulator import GatewaySimulator, SimulatorConfig
from gwstream.tracing import TracingSettings, start_tracing

pytestmark = pytest.mark.integration


@dataclass
class Span:
    name: str
    kind: int
    attributes: dict[str, Any]
    service: str


@dataclass
class Collector:
    """An OTLP/HTTP trace receiver: what it was sent, and how long it takes to answer."""

    url: str = ""
    delay_s: float = 0.0
    requests: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.headers.append(dict(request.headers))
        await asyncio.sleep(self.delay_s)
        body = ExportTraceServiceRequest.FromString(await request.read())
        for rs in body.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    attributes = {a.key: _value(a.value) for a in s.attributes}
                    self.spans.append(Span(s.name, s.kind, attributes, resource["service.name"]))
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind is not None else None


@pytest_asyncio.fixture
async def collector() -> AsyncIterator[Collector]:
    c = Collector()
    app = web.Application()
    app.router.add_post("/v1/traces", c.receive)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    c.url = f"http://127.0.0.1:{port}"
    yield c
    await runner.cleanup()


async def test_a_processor_exports_a_turn_span_and_a_chat_span_per_turn(
    kafka: KafkaSettings, topic_names: TopicNames, collector: Collector
) -> None:
    turns = make_turns(sessions=6, turns_per_session=2)
    async with GatewaySimulator(SimulatorConfig(latency_ms=2, seed=3)) as sim:
        settings = settings_for(kafka, topic_names, sim.url).model_copy(
            update={
                "tracing": TracingSettings(
                    otlp_endpoint=collector.url,
                    service_name="gwstream-test",
                    headers={"x-api-key": "trace-key"},
                )
            }
        )
        await publish(kafka, turn_records(topic_names.turns, turns))
        stats = RuntimeStats()
        stop = asyncio.Event()
        task = asyncio.create_task(run_processor(settings, stop, stats=stats))
        try:
            await wait_for(lambda: task.done() or stats.processed == len(turns), timeout=60)
        finally:
            stop.set()
            await task  # the stop exports what the batch holds

    assert collector.requests >= 1
    assert all(h.get("x-api-key") == "trace-key" for h in collector.headers)
    assert {h["Content-Type"] for h in collector.headers} == {"application/x-protobuf"}
    by_name: dict[str, list[Span]] = {}
    for s in collector.spans:
        by_name.setdefault(s.name, []).append(s)
    assert {s.service for s in collector.spans} == {"gwstream-test"}
    assert sorted(s.attributes["gwstream.turn.id"] for s in by_name["gwstream.turn"]) == sorted(
        t.turn_id for t in turns
    )
    chats = [s for name, spans in by_name.items() if name.startswith("chat ") for s in spans]
    assert len(chats) == len(turns)
    for chat in chats:
        assert chat.kind == 3  # SPAN_KIND_CLIENT
        assert chat.attributes["gen_ai.provider.name"] == "openai"
        assert chat.attributes["server.address"] == "127.0.0.1"
        assert chat.attributes["server.port"] == sim.port
        assert chat.attributes["gen_ai.usage.input_tokens"] > 0
        assert chat.attributes["gen_ai.usage.output_tokens"] > 0
        assert chat.name == f"chat {chat.attributes['gen_ai.request.model']}"


async def test_a_stop_gives_up_on_a_collector_that_does_not_answer(collector: Collector) -> None:
    collector.delay_s = 30
    tracing = start_tracing(TracingSettings(otlp_endpoint=collector.url, timeout_s=0.5))
    assert tracing is not None
    p = build_pipeline(Settings(), {"default": ScriptedGateway(RESULT)}, tracing=tracing)
    for n in range(600):  # more than one batch of 512 spans
        await p.run(turn(n), Session())
    started = time.monotonic()
    await tracing.aclose()
    assert time.monotonic() - started < 3
    assert collector.requests >= 1
