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
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import ValidationError

from gwstream.config import KafkaSettings, Settings, TopicNames
from gwstream.errors import ConfigError, PoisonRecord
from gwstream.events import OutputEvent, TurnEvent, cloudevent_headers
from gwstream.gateways.base import Gateway
from gwstream.gateways.ratelimit import Limit, RateLimits
from gwstream.gateways.settings import GatewaySettings
from gwstream.pipeline import Pipeline, Route, Router
from gwstream.pricing import PriceTable
from gwstream.runtime import InRecord, OutRecord, Processor, RuntimeStats

log = logging.getLogger(__name__)


def decode_turn(record: InRecord) -> TurnEvent:
    """Validate one input record or raise PoisonRecord naming why (never echoing the payload)."""
    raw = record.value or b""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PoisonRecord("bad_utf8", f"invalid UTF-8 at byte {exc.start}") from None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PoisonRecord("not_json", f"not JSON: {exc.msg} at position {exc.pos}") from None
    try:
        turn = TurnEvent.model_validate(obj)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:5]
        )
        raise PoisonRecord("invalid_schema", where) from None
    key = (record.key or b"").decode("utf-8", "replace")
    if key != turn.key:
        raise PoisonRecord(
            "key_mismatch",
            f"record key {key[:200]!r} is not the payload's tenant_id:session_id {turn.key!r}",
        )
    return turn


class TurnHandler:
    def __init__(self, pipeline: Pipeline, topics: TopicNames) -> None:
        self._pipeline = pipeline
        self._targets: dict[str, str] = {
            "response": topics.responses,
            "cost": topics.costs,
            "audit": topics.audit,
        }

    def decode(self, record: InRecord) -> TurnEvent:
        return decode_turn(record)

    async def handle(self, item: TurnEvent, record: InRecord) -> Sequence[OutRecord]:
        outputs = await self._pipeline.run(
            item, source_partition=record.partition, source_offset=record.offset
        )
        return [self._encode(e, record.key) for e in outputs.all()]

    def _encode(self, event: OutputEvent, key: bytes | None) -> OutRecord:
        return OutRecord(self._targets[event.kind], key, event.to_json(), cloudevent_headers(event))


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
        n: Route(n, g.model, g.max_tokens, g.deadline_s, frozenset(g.known_models()))
        for n, g in settings.gateways.items()
    }
    tenants = {t: c.gateway for t, c in settings.tenants.items() if c.gateway}
    return Router(routes, settings.default_gateway, tenants)


async def run_processor(
    settings: Settings,
    stop: asyncio.Event,
    *,
    kafka: KafkaSettings | None = None,
    stats: RuntimeStats | None = None,
) -> None:
    """Run the turn processor until ``stop`` is set, then drain and commit."""
    gateways = build_gateways(settings)
    try:
        pipeline = Pipeline(
            gateways,
            build_router(settings),
            PriceTable.load(settings.prices_file),
            system_prompt=settings.system_prompt,
            limits=build_limits(settings),
        )
        processor: Processor[TurnEvent] = Processor(
            kafka or settings.kafka,
            input_topic=settings.topics.turns,
            dlq_topic=settings.topics.dlq,
            handler=TurnHandler(pipeline, settings.topics),
            settings=settings.runtime,
            stats=stats,
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
        for gw in gateways.values():
            with contextlib.suppress(Exception):
                await gw.aclose()
