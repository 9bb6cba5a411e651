"""The tracer provider: sampled spans of the ``gwstream`` service, batched to OTLP/HTTP.

Imported only when tracing is configured (it needs the ``otel`` extra). The
provider is the processor's own, never the process-global one: nothing else
in the process starts exporting because gwstream does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from gwstream import __version__
from gwstream.tracing.settings import TracingSettings

__all__ = ["build_provider"]


def build_provider(settings: TracingSettings) -> tuple[TracerProvider, Callable[[], None]]:
    """A provider exporting to ``settings.traces_url`` in batches, from a background thread,
    and what shuts it down: it waits for the last spans' export at most ``timeout_s`` (a
    collector that is away must not hold up a stop), then drops them.

    ``OTEL_RESOURCE_ATTRIBUTES`` adds to the resource (a pod's name, say); the
    configured service name wins over ``OTEL_SERVICE_NAME``.
    """
    exporter = OTLPSpanExporter(
        endpoint=settings.traces_url,
        headers={k: v.get_secret_value() for k, v in settings.headers.items()},
        timeout=settings.timeout_s,
    )
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        resource=Resource.create(
            {SERVICE_NAME: settings.service_name, SERVICE_VERSION: __version__}
        ),
        shutdown_on_exit=False,  # stopped by the processor, not at interpreter exit
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))

    def shutdown() -> None:
        # The SDK waits up to 30 s, and retries each remaining batch for timeout_s.
        flush = threading.Thread(target=provider.shutdown, name="otel-shutdown", daemon=True)
        flush.start()
        flush.join(settings.timeout_s)
        if flush.is_alive():  # end the retries: what the batch still holds is dropped
            exporter.shutdown()  # type: ignore[no-untyped-call]

    return provider, shutdown
