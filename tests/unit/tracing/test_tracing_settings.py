"""The tracing section: off unless an endpoint is set, and what it takes to turn it on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError
from tests.unit.pipeline.scripted import RESULT, ScriptedGateway, turn

from gwstream.app import build_pipeline
from gwstream.config import Settings
from gwstream.errors import ConfigError
from gwstream.pipeline import Session, Status
from gwstream.tracing import Tracing, TracingSettings, start_tracing


def test_tracing_is_off_unless_an_endpoint_is_set() -> None:
    assert not Settings().tracing.enabled
    assert start_tracing(TracingSettings()) is None
    assert start_tracing(TracingSettings(otlp_endpoint="")) is None


def test_spans_go_to_the_collectors_traces_path() -> None:
    for endpoint in (
        "http://collector:4318",
        "http://collector:4318/",
        "http://collector:4318/v1/traces",
    ):
        assert (
            TracingSettings(otlp_endpoint=endpoint).traces_url == "http://collector:4318/v1/traces"
        )


def test_an_endpoint_that_is_not_an_http_url_is_refused_with_an_example() -> None:
    with pytest.raises(ValidationError, match="http://otel-collector:4318"):
        TracingSettings(otlp_endpoint="otel-collector:4317")


def test_headers_are_kept_out_of_reprs() -> None:
    s = TracingSettings(otlp_endpoint="https://otlp.example", headers={"x-api-key": "s3cret"})
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())


def test_the_section_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWSTREAM_TRACING__OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("GWSTREAM_TRACING__SAMPLE_RATIO", "0.25")
    s = Settings()
    assert s.tracing.enabled and s.tracing.sample_ratio == 0.25


def test_an_endpoint_without_the_otel_extra_fails_at_start_naming_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "gwstream.tracing.provider", raising=False)
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(ConfigError, match=r"pip install 'gwstream\[otel\]'"):
        start_tracing(TracingSettings(otlp_endpoint="http://collector:4318"))


async def test_the_sample_ratio_decides_which_turns_are_recorded() -> None:
    from gwstream.tracing.provider import build_provider

    for ratio, recorded in ((0.0, 0), (1.0, 1)):
        # Nothing listens on port 1: the stop gives up on the last batch after timeout_s.
        settings = TracingSettings(
            otlp_endpoint="http://127.0.0.1:1", sample_ratio=ratio, timeout_s=0.2
        )
        provider, shutdown = build_provider(settings)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracing = Tracing(provider, shutdown=shutdown)
        p = build_pipeline(Settings(), {"default": ScriptedGateway(RESULT)}, tracing=tracing)
        out = await p.run(turn(1), Session())
        assert out.status is Status.OK
        turns = [s for s in exporter.get_finished_spans() if s.name == "gwstream.turn"]
        assert len(turns) == recorded
        assert turns == [] or turns[0].resource.attributes["service.name"] == "gwstream"
        started = time.monotonic()
        await tracing.aclose()
        assert time.monotonic() - started < 5


def test_with_tracing_off_no_turn_meets_opentelemetry() -> None:
    """The stage list gwstream builds without an endpoint holds no span wrapper: the module
    that defines them, and OpenTelemetry itself, are never even imported."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from tests.unit.pipeline.scripted import RESULT, ScriptedGateway, turn
        from gwstream.app import build_pipeline, run_processor
        from gwstream.config import Settings
        from gwstream.pipeline import Session

        p = build_pipeline(Settings(), {"default": ScriptedGateway(RESULT)})
        print(asyncio.run(p.run(turn(1), Session())).status)
        print(sorted(m for m in sys.modules if m.startswith(("opentelemetry", "gwstream.tracing"))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["ok", "['gwstream.tracing', 'gwstream.tracing.settings']"]
