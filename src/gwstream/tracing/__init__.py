"""Optional OpenTelemetry spans of every turn, exported over OTLP.

Off unless ``tracing.otlp_endpoint`` is set: then :func:`start_tracing`
returns None, the processor builds the stage list it always builds, and
nothing of OpenTelemetry is imported (this module imports none of it). On,
:class:`Tracing` holds the tracer provider (a batch processor exporting over
OTLP/HTTP in its own thread) and wraps the stage list once, at start, in
spans (:mod:`gwstream.tracing.spans`): a turn span, a span per stage, and the
gateway call as a GenAI ``chat {model}`` client span.

Needs the ``otel`` extra (``pip install 'gwstream[otel]'``); a configured
endpoint without it is a ConfigError at start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from gwstream.errors import ConfigError
from gwstream.tracing.settings import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from gwstream.gateways.settings import GatewaySettings
    from gwstream.pipeline.stage import Next, Stage

__all__ = ["INSTALL_HINT", "Tracing", "TracingSettings", "start_tracing"]

INSTALL_HINT = "pip install 'gwstream[otel]'"


class Tracing:
    """A tracer provider, from start to :meth:`aclose`, and the wrapping of a stage list in
    its spans. Tests build one around a provider with an in-memory exporter."""

    def __init__(
        self,
        provider: TracerProvider,
        *,
        shutdown: Callable[[], None] | None = None,
        stage_spans: bool = True,
    ) -> None:
        self._provider = provider
        self._shutdown = shutdown or provider.shutdown
        self._stage_spans = stage_spans

    def instrument(
        self,
        stages: Sequence[Stage],
        innermost: Next,
        gateways: Mapping[str, GatewaySettings],
    ) -> tuple[list[Stage], Next]:
        """``stages`` and ``innermost`` wrapped in spans: a turn span first, then each stage
        in its own span (unless ``stage_spans`` is off), the gateway call in a
        ``chat {model}`` span."""
        from gwstream import __version__
        from gwstream.tracing.spans import instrument

        tracer = self._provider.get_tracer("gwstream", __version__)
        providers = {n: g.vendor for n, g in gateways.items()}
        return instrument(stages, innermost, tracer, providers, stage_spans=self._stage_spans)

    async def aclose(self) -> None:
        """Export what is buffered (for at most the export timeout) and stop the exporter."""
        await asyncio.to_thread(self._shutdown)


def start_tracing(settings: TracingSettings) -> Tracing | None:
    """The tracing ``settings`` ask for, or None when they name no endpoint (nothing is
    imported then). ConfigError when the ``otel`` extra is not installed."""
    if not settings.enabled:
        return None
    try:
        from gwstream.tracing.provider import build_provider
    except ImportError as exc:
        raise ConfigError(
            f"tracing.otlp_endpoint is set but OpenTelemetry is not installed ({exc.name} is "
            f"missing): {INSTALL_HINT}, or unset tracing.otlp_endpoint"
        ) from None
    provider, shutdown = build_provider(settings)
    return Tracing(provider, shutdown=shutdown, stage_spans=settings.stage_spans)
