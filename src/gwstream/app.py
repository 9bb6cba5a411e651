"""Wires the turn pipeline into the stream runtime: the one place that knows both.

:class:`TurnHandler` is the runtime's :class:`~gwstream.runtime.RecordHandler`
for ``gw.turns.v1``: it decodes and validates records (poison goes to the
dead-letter topic) and encodes the pipeline's events as CloudEvents records.
:func:`run_processor` builds everything from :class:`~gwstream.config.Settings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from gwstream.config import KafkaSettings, Settings, TopicNames
from gwstream.errors import ConfigError
from gwstream.events import OutputEvent, TurnEvent, cloudevent_headers
from gwstream.gateways.base import Gateway
from gwstream.gateways.ratelimit import Limit, RateLimits
from gwstream.gateways.settings import GatewaySettings
from gwstream.pipeline import Origin, Pipeline, Route, Router, Session, Stage, build_events
from gwstream.pipeline.call import CallGateway
from gwstream.pipeline.conversation import ConversationStage
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.ratelimit import RateLimitStage
from gwstream.pipeline.replay import ReplayStage
from gwstream.pipeline.route import RouteStage
from gwstream.pipeline.session import SessionDecodeError
from gwstream.pipeline.validate import decode_turn
from gwstream.pricing import PriceTable
from gwstream.runtime import InRecord, KeyState, OutRecord, Processor, RuntimeStats
from gwstream.tokens import default_counter

log = logging.getLogger(__name__)


class TurnHandler:
    """The runtime's handler for turns: session state in, events and new state out.

    A record the session has already applied (its position is at or below the
    session's last, and its outcome is no longer kept) was answered before;
    it is counted as skipped and publishes nothing. Otherwise the pipeline
    runs with the session; a replayed outcome leaves the state unchanged.
    """

    def __init__(self, pipeline: Pipeline, topics: TopicNames) -> None:
        self._pipeline = pipeline
        self._targets: dict[str, str] = {
            "response": topics.responses,
            "cost": topics.costs,
            "audit": topics.audit,
        }
        self.replayed = 0
        self.skipped = 0

    def decode(self, record: InRecord) -> TurnEvent:
        return decode_turn(record)

    async def handle(
        self, item: TurnEvent, record: InRecord, state: KeyState
    ) -> Sequence[OutRecord]:
        session = _session(state.value, item)
        position = session.last_position
        if (
            position is not None
            and record.offset <= position
            and item.turn_id not in session.results
        ):
            self.skipped += 1
            log.info("turn %s was applied before and is no longer kept: skipped", item.turn_id)
            return []
        outcome = await self._pipeline.run(item, session)
        if outcome.replayed:
            self.replayed += 1
        else:
            session.last_position = max(record.offset, position or -1)
            session.turns += 1
            state.set(session.encode())
        events = build_events(item, outcome, Origin(record.partition, record.offset))
        return [self._encode(e, record.key) for e in events.all()]

    def _encode(self, event: OutputEvent, key: bytes | None) -> OutRecord:
        return OutRecord(self._targets[event.kind], key, event.to_json(), cloudevent_headers(event))


def _session(raw: bytes | None, turn: TurnEvent) -> Session:
    try:
        return Session.decode(raw)
    except SessionDecodeError as exc:
        # Losing a conversation's memory beats refusing all its turns forever.
        log.error("session of tenant %s: %s; starting it afresh", turn.tenant_id, exc)
        return Session()


def _origin(url: str) -> str:
    """scheme://host:port of a URL: never log credentials or paths."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def gateway_kwargs(name: str, gw: GatewaySettings) -> dict[str, Any]:
    """Keyword settings for :func:`gwstream.gateways.build_gateway` from one gateway's config.

    Reads secret files; a ConfigError names the gateway.
    """
    try:
        return _gateway_kwargs(name, gw)
    except ConfigError as exc:
        raise ConfigError(f"gateways.{name}: {exc}") from None


def _gateway_kwargs(name: str, gw: GatewaySettings) -> dict[str, Any]:
    from gwstream.gateways.breaker import BreakerPolicy
    from gwstream.gateways.resilience import Retrier, RetryBudget, RetryPolicy

    kwargs: dict[str, Any] = {
        "name": name,
        "base_urls": list(gw.base_urls),
        "default_model": gw.model,
        "timeout_s": gw.timeout_s,
        "max_connections": gw.max_connections,
        "retry": Retrier(
            RetryPolicy(max_attempts=gw.max_attempts, deadline_s=gw.deadline_s),
            budget=RetryBudget(gw.retry_budget),
        ),
        "breaker": BreakerPolicy(failure_threshold=gw.breaker_failures, open_s=gw.breaker_open_s),
    }
    if gw.stream is not None:
        kwargs["stream"] = gw.stream
    if gw.protocol == "genesys.invocations":
        kwargs["prompt_id"] = gw.prompt_id
    if gw.oauth is not None:
        kwargs.update(
            client_id=gw.oauth.client_id,
            client_secret=gw.oauth.resolved_secret(),
            token_url=gw.token_url(),
            scopes=tuple(gw.scopes()),
            credentials_in=gw.oauth.credentials_in
            or ("basic" if gw.vendor == "genesys" else "form"),
        )
    else:
        kwargs["api_key"] = gw.resolved_api_key()
    return kwargs


def build_gateways(settings: Settings) -> dict[str, Gateway]:
    from gwstream.gateways.factory import build_gateway

    return {
        name: build_gateway(gw.protocol, **gateway_kwargs(name, gw))
        for name, gw in settings.gateways.items()
    }


def build_limits(settings: Settings) -> RateLimits | None:
    """The configured rate limits, or None when there are none (nothing to do per turn)."""
    gateways = {n: Limit(g.rpm, g.tpm) for n, g in settings.gateways.items() if g.rpm or g.tpm}
    tenants = {t: Limit(c.rpm, c.tpm) for t, c in settings.tenants.items() if c.rpm or c.tpm}
    return RateLimits(gateways, tenants) if gateways or tenants else None


def build_router(settings: Settings) -> Router:
    routes = {
        n: Route(
            n,
            g.model,
            g.max_tokens,
            g.deadline_s,
            {m: lim.context_window for m in g.known_models() if (lim := g.model_limits(m))},
        )
        for n, g in settings.gateways.items()
    }
    tenants = {t: c.gateway for t, c in settings.tenants.items() if c.gateway}
    return Router(routes, settings.default_gateway, tenants)


def build_pipeline(settings: Settings, gateways: Mapping[str, Gateway]) -> Pipeline:
    """The stage list, outermost first: the one place it is assembled."""
    counter = default_counter()
    stages: list[Stage] = [
        ReplayStage(keep=settings.conversation.results_kept),
        PriceStage(PriceTable.load(settings.prices_file)),
        RouteStage(build_router(settings)),
        ConversationStage(counter, max_messages=settings.conversation.history_messages),
    ]
    limits = build_limits(settings)
    if limits is not None:
        stages.append(RateLimitStage(limits))
    return Pipeline(
        stages,
        CallGateway(gateways),
        system_prompt=settings.system_prompt,
        gateways=gateways,
        counter=counter,
    )


async def run_processor(
    settings: Settings,
    stop: asyncio.Event,
    *,
    kafka: KafkaSettings | None = None,
    stats: RuntimeStats | None = None,
) -> None:
    """Run the turn processor until ``stop`` is set, then drain and commit."""
    gateways = build_gateways(settings)
    pipeline = build_pipeline(settings, gateways)
    try:
        await pipeline.start()
        processor: Processor[TurnEvent] = Processor(
            kafka or settings.kafka,
            input_topic=settings.topics.turns,
            dlq_topic=settings.topics.dlq,
            handler=TurnHandler(pipeline, settings.topics),
            settings=settings.runtime,
            stats=stats,
            changelog_topic=settings.topics.sessions if settings.state.enabled else None,
            state=settings.state,
        )
        log.info(
            "processor: %s -> %s/%s/%s as group %s on %s, %d calls in flight; gateways %s",
            settings.topics.turns,
            settings.topics.responses,
            settings.topics.costs,
            settings.topics.audit,
            (kafka or settings.kafka).group_id,
            (kafka or settings.kafka).bootstrap_servers,
            settings.runtime.max_in_flight,
            {name: [_origin(u) for u in g.base_urls] for name, g in settings.gateways.items()},
        )
        async with contextlib.AsyncExitStack() as stack:
            if settings.metrics.port is not None:
                from gwstream.metrics import MetricsServer

                await stack.enter_async_context(
                    MetricsServer(
                        processor.stats,
                        gateways,
                        host=settings.metrics.host,
                        port=settings.metrics.port,
                    )
                )
                log.info(
                    "metrics on http://%s:%d/metrics", settings.metrics.host, settings.metrics.port
                )
            await stack.enter_async_context(processor)
            await processor.run(stop)
    finally:
        await pipeline.aclose()
