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
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from gwstream.config import KafkaSettings, Settings, TopicNames
from gwstream.errors import ConfigError
from gwstream.events import OutputEvent, TurnEvent, cloudevent_headers, utcnow
from gwstream.gateways.base import Gateway
from gwstream.gateways.ratelimit import Limit, RateLimits
from gwstream.gateways.settings import GatewaySettings
from gwstream.guardrails.redact import PROCESS_KEYS, PlaceholderKeys, scrub_bytes
from gwstream.logs import turn_fields
from gwstream.pipeline import Next, Origin, Pipeline, Route, Router, Session, Stage, build_events
from gwstream.pipeline.budget import SessionBudget, SessionBudgetStage
from gwstream.pipeline.cache import AnswerCache, CacheStage
from gwstream.pipeline.call import CallGateway
from gwstream.pipeline.conversation import ConversationStage
from gwstream.pipeline.guard import InputGuardStage, OutputGuardStage, pii_redactor
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.prompt import PromptStage, build_use_cases
from gwstream.pipeline.ratelimit import RateLimitStage
from gwstream.pipeline.replay import ReplayStage
from gwstream.pipeline.route import RouteStage
from gwstream.pipeline.session import SessionDecodeError
from gwstream.pipeline.spend import (
    SpendLedger,
    SpendLimit,
    SpendReportStage,
    SpendStage,
    worst_case,
)
from gwstream.pipeline.validate import decode_turn
from gwstream.pricing import PriceBook
from gwstream.runtime import InRecord, KeyState, OutRecord, Processor, RuntimeStats
from gwstream.runtime.memory import tune_gc
from gwstream.tokens import TokenCounter, default_counter
from gwstream.tracing import Tracing, start_tracing
from gwstream.turnids import TurnIdWatch

log = logging.getLogger(__name__)

#: Sessions kept decoded between their turns: 7-20 KB each for 3-10 exchanges (measured
#: with tracemalloc), so 15-41 MB in all.
DECODED_SESSIONS = 2_048


class TurnHandler:
    """The runtime's handler for turns: session state in, events and new state out.

    A record the session has already applied (its position is at or below the
    session's last, and its outcome is no longer kept) was answered before;
    it is counted as skipped and publishes nothing. Otherwise the pipeline
    runs with the session; a replayed outcome leaves the state unchanged.

    The sessions of the last :data:`DECODED_SESSIONS` turns are kept decoded
    beside the bytes they were encoded to: when a session's next turn finds
    its state still those very bytes (the same object, so nothing changed it
    since: no restore, no expiry, no failed turn), the kept session is used
    and decoding is skipped. A turn takes its session out while it runs, so a
    turn that fails half way never leaves a half-changed session behind.
    """

    def __init__(self, pipeline: Pipeline, topics: TopicNames) -> None:
        self._pipeline = pipeline
        self._decoded: dict[bytes, tuple[bytes, Session]] = {}
        self._targets: dict[str, str] = {
            "response": topics.responses,
            "cost": topics.costs,
            "audit": topics.audit,
            "budget_notice": topics.audit,
        }
        self.replayed = 0
        self.skipped = 0
        self.turn_ids = TurnIdWatch()

    def decode(self, record: InRecord) -> TurnEvent:
        return decode_turn(record)

    async def handle(
        self, item: TurnEvent, record: InRecord, state: KeyState
    ) -> Sequence[OutRecord]:
        self.turn_ids.see(item)
        raw = state.value
        kept = self._decoded.pop(record.key, None) if record.key is not None else None
        session = kept[1] if kept is not None and kept[0] is raw else _session(raw, item)
        position = session.last_position
        if (
            position is not None
            and record.offset <= position
            and item.turn_id not in session.results
        ):
            self.skipped += 1
            log.info(
                "turn %s was applied before and is no longer kept: skipped",
                item.turn_id,
                extra=turn_fields(item),
            )
            return []
        outcome = await self._pipeline.run(item, session)
        if outcome.replayed:
            self.replayed += 1
        else:
            session.last_position = max(record.offset, position or -1)
            session.turns += 1
            encoded = session.encode()
            state.set(encoded)
            if record.key is not None:
                self._keep(record.key, encoded, session)
        events = build_events(item, outcome, Origin(record.partition, record.offset))
        return [self._encode(e, record.key) for e in events.all()]

    def _keep(self, key: bytes, encoded: bytes, session: Session) -> None:
        decoded = self._decoded
        if len(decoded) >= DECODED_SESSIONS:
            del decoded[next(iter(decoded))]  # the least recently used (taken out, put back)
        decoded[key] = (encoded, session)

    def _encode(self, event: OutputEvent, key: bytes | None) -> OutRecord:
        return OutRecord(self._targets[event.kind], key, event.to_json(), cloudevent_headers(event))


def _session(raw: bytes | None, turn: TurnEvent) -> Session:
    try:
        return Session.decode(raw)
    except SessionDecodeError as exc:
        # Losing a conversation's memory beats refusing all its turns forever.
        log.error(
            "session of tenant %s: %s; starting it afresh",
            turn.tenant_id,
            exc,
            extra=turn_fields(turn),
        )
        return Session()


def _origin(url: str) -> str:
    """scheme://host:port of a URL: never log credentials or paths."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def build_gateways(settings: Settings) -> dict[str, Gateway]:
    """Every configured gateway (reads secret files; ConfigError names the gateway)."""
    from gwstream.gateways.factory import gateway_from_settings

    return {name: gateway_from_settings(name, gw) for name, gw in settings.gateways.items()}


def build_limits(settings: Settings) -> RateLimits | None:
    """The configured rate limits, or None when there are none (nothing to do per turn)."""
    gateways = {n: Limit(g.rpm, g.tpm) for n, g in settings.gateways.items() if g.rpm or g.tpm}
    tenants = {t: Limit(c.rpm, c.tpm) for t, c in settings.tenants.items() if c.rpm or c.tpm}
    return RateLimits(gateways, tenants) if gateways or tenants else None


def _route(name: str, gw: GatewaySettings) -> Route:
    limits = {m: lim for m in gw.known_models() if (lim := gw.model_limits(m)) is not None}
    return Route(
        name,
        gw.model,
        gw.max_tokens,
        gw.deadline_s,
        {m: lim.context_window for m, lim in limits.items()},
        {m: lim.max_output_tokens for m, lim in limits.items()},
    )


def build_router(settings: Settings) -> Router:
    routes = {n: _route(n, g) for n, g in settings.gateways.items()}
    tenants = {t: c.gateway for t, c in settings.tenants.items() if c.gateway}
    return Router(routes, settings.default_gateway, tenants)


def build_ledger(settings: Settings) -> SpendLedger | None:
    """This instance's spend ledger, or None when no tenant has a spend limit."""
    limits = {
        t: SpendLimit(
            day=c.spend.daily,
            month=c.spend.monthly,
            currency=c.spend.currency,
            soft_threshold=c.spend.soft_threshold,
        )
        for t, c in settings.tenants.items()
        if c.spend is not None
    }
    return SpendLedger(limits, dedupe_ids=settings.spend.dedupe_ids) if limits else None


def load_prices(settings: Settings, *, now: datetime | None = None) -> PriceBook:
    """The price maps and the tenants' price overrides, checked against the budgets: a
    tenant with a spend limit must have a price for its gateway's model now and from every
    price change configured ahead of ``now`` (an unpriced call would cost zero and never
    reach the limit). ConfigError otherwise."""
    book = PriceBook.load(
        prices_file=settings.prices_file,
        price_maps=settings.price_maps,
        tenants={t: c.prices for t, c in settings.tenants.items() if c.prices},
    )
    now = now if now is not None else utcnow()
    for tenant, c in settings.tenants.items():
        name = c.gateway or settings.default_gateway
        route = _route(name, settings.gateways[name])
        output = route.output_bound
        where = f"gateways.{name}.max_tokens" if route.max_tokens else f"{route.model}'s limit"
        if c.budget is not None and output is not None:
            # A call is admitted only if the prompt and the output it may bill fit.
            prompt = _smallest_prompt_tokens(settings, tenant)
            if c.budget.session_tokens < output + prompt:
                raise ConfigError(
                    f"tenants.{tenant}.budget.session_tokens: {c.budget.session_tokens} cannot "
                    f"admit a single turn, which reserves up to {output} output tokens ({where}) "
                    f"plus a prompt of at least {prompt} (the shortest system instruction and a "
                    "one-token turn); raise the budget well above that or lower max_tokens"
                )
        if c.spend is None:
            continue
        for at in (now, *book.changes_after(tenant, now)):
            quote = book.quote(route.model, tenant, at)
            if quote is None:
                raise ConfigError(
                    f"tenants.{tenant}.spend: model {route.model!r} of gateway {name!r} has no "
                    f"price in {_price_map_named(settings, book, at, now)}; price it (in a price "
                    f"map or a tenants.{tenant}.prices override) or drop the limit"
                )
            if output is None:
                continue
            # Admitted only if spent + reservations + this call's worst case fit the limit.
            worst = worst_case(quote.price, 0, output, 0.0)
            for period, limit in (("daily", c.spend.daily), ("monthly", c.spend.monthly)):
                if limit is not None and limit < worst:
                    raise ConfigError(
                        f"tenants.{tenant}.spend.{period}: {limit} {c.spend.currency} is less "
                        f"than one call can cost ({worst.normalize():f}: {output} output tokens "
                        f"of {route.model!r}, {where}), so no turn would ever be admitted; "
                        "raise the limit or lower max_tokens"
                    )
    return book


def _smallest_prompt_tokens(settings: Settings, tenant: str) -> int:
    """Prompt tokens of the smallest first request ``tenant`` can send: its shortest system
    instruction (templates with every turn variable empty, examples left out; a session's
    first turn never has the lightweight one, as its budget is whole) and a one-token turn.
    A lower bound, so a budget it refuses can admit no turn at all."""
    import string

    texts = [settings.system_prompt]
    for use_case in settings.prompts_for(tenant).values():
        empty = dict.fromkeys(use_case.turn_variables, "") | use_case.variables
        texts += [
            string.Template(v.system).safe_substitute(empty) for v in use_case.versions.values()
        ]
    counter = default_counter()
    return min(
        counter.count_messages(({"role": "system", "content": t}, {"role": "user", "content": "?"}))
        for t in texts
    )


def _price_map_named(settings: Settings, book: PriceBook, at: datetime, now: datetime) -> str:
    """The price map in force at ``at``, as an error names it."""
    if settings.price_maps is None:
        if settings.prices_file is not None:
            return f"prices_file {settings.prices_file}"
        return "the bundled price map"
    when = "now" if at == now else f"from {at.isoformat()}"
    table = book.map_at(at)
    if table is None:
        return f"any price map (none of price_maps is in force {when})"
    return f"price map {table.version!r} of price_maps (in force {when})"


def build_stages(
    settings: Settings,
    *,
    counter: TokenCounter,
    ledger: SpendLedger | None = None,
    cache: AnswerCache | None = None,
    clock: Callable[[], float] | None = None,
) -> list[Stage]:
    """The stage list, outermost first: the one place it is assembled.

    ``ledger`` is the spend ledger the spend view feeds (one is built when
    tenants have limits and none is given); ``cache`` the answer cache (none:
    no caching); ``clock`` says what time it is (Unix seconds) for budget
    windows and event times (tests move it across day boundaries).
    """
    prices = load_prices(settings, now=None if clock is None else _datetime_clock(clock)())
    stages: list[Stage] = [
        ReplayStage(keep=settings.conversation.results_kept),
        PriceStage(prices, clock=utcnow if clock is None else _datetime_clock(clock)),
    ]
    # The budget stages come before routing, so that every turn of a tenant with budgets
    # reports them, refused or not; the spend stage needs the prompt counted, so it comes
    # after the conversation stage.
    budgets = {
        t: SessionBudget(c.budget.session_tokens, c.budget.window_s, c.budget.lightweight_below)
        for t, c in settings.tenants.items()
        if c.budget is not None
    }
    if budgets:
        stages.append(
            SessionBudgetStage(
                budgets,
                settings.lightweight_system_prompt,
                clock=clock or time.time,
                charge_hits=lambda tenant: settings.cache_for(tenant).charge_hits,
            )
        )
    ledger = ledger if ledger is not None else build_ledger(settings)
    if ledger is not None:
        stages.append(SpendReportStage(ledger, clock=clock or time.time))
    stages.append(RouteStage(build_router(settings)))
    # The guardrails around the conversation stage: what enters the history, and what
    # the gateway gets, is what they let through.
    # The prompt version before the guardrails, so that a turn they refuse still names
    # its session's variant; after the session budget, which decides the mode.
    keys = placeholder_keys(settings)
    prompts = build_prompts(settings, counter, keys)
    if prompts is not None:
        stages.append(prompts)
    stages.append(InputGuardStage(settings.guardrails_for, keys))
    stages.append(ConversationStage(counter, max_messages=settings.conversation.history_messages))
    # Inside the conversation stage (the history sent is part of the key), outside the
    # output guardrails, the spend reservation, the rate limits and the call.
    if cache is not None and cache.enabled:
        stages.append(CacheStage(cache, settings.cache_for))
    stages.append(OutputGuardStage(settings.guardrails_for, keys))
    if ledger is not None:
        stages.append(
            SpendStage(
                ledger, prices, input_margin=settings.spend.input_margin, clock=clock or time.time
            )
        )
    limits = build_limits(settings)
    if limits is not None:
        stages.append(RateLimitStage(limits))
    return stages


def placeholder_keys(settings: Settings) -> PlaceholderKeys:
    """The keys of the sessions' PII placeholders: the configured secret's, or this process's."""
    secret = settings.state.pii_secret()
    return PlaceholderKeys(secret) if secret is not None else PROCESS_KEYS


def build_prompts(
    settings: Settings, counter: TokenCounter, keys: PlaceholderKeys = PROCESS_KEYS
) -> PromptStage | None:
    """The prompt stage, or None when no tenant has versioned prompts."""
    default = build_use_cases(settings.prompts, counter, where="prompts")
    tenants = {
        t: build_use_cases(c.prompts, counter, where=f"tenants.{t}.prompts")
        for t, c in settings.tenants.items()
        if c.prompts is not None
    }
    if not default and not any(tenants.values()):
        return None
    return PromptStage(tenants, default, redact=pii_redactor(settings.guardrails_for, keys))


def build_cache(settings: Settings) -> AnswerCache:
    return AnswerCache(settings.cache.max_entries, int(settings.cache.max_mb * 1024 * 1024))


def _datetime_clock(clock: Callable[[], float]) -> Callable[[], datetime]:
    return lambda: datetime.fromtimestamp(clock(), UTC)


def build_pipeline(
    settings: Settings,
    gateways: Mapping[str, Gateway],
    *,
    ledger: SpendLedger | None = None,
    cache: AnswerCache | None = None,
    clock: Callable[[], float] | None = None,
    tracing: Tracing | None = None,
) -> Pipeline:
    """The pipeline of :func:`build_stages` around the gateway call (with a cache built
    from the settings when none is given), in spans when ``tracing`` is given: decided
    here, once, so that a turn pays nothing for tracing when it is off."""
    counter = default_counter()
    stages = build_stages(
        settings,
        counter=counter,
        ledger=ledger,
        cache=cache if cache is not None else build_cache(settings),
        clock=clock,
    )
    innermost: Next = CallGateway(gateways)
    if tracing is not None:
        stages, innermost = tracing.instrument(stages, innermost, settings.gateways)
    return Pipeline(
        stages,
        innermost,
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
    ledger = build_ledger(settings)
    cache = build_cache(settings)
    tracing = start_tracing(settings.tracing)  # None unless an OTLP endpoint is set
    pipeline = build_pipeline(settings, gateways, ledger=ledger, cache=cache, tracing=tracing)
    handler = TurnHandler(pipeline, settings.topics)
    try:
        await pipeline.start()
        processor: Processor[TurnEvent] = Processor(
            kafka or settings.kafka,
            input_topic=settings.topics.turns,
            dlq_topic=settings.topics.dlq,
            handler=handler,
            settings=settings.runtime,
            stats=stats,
            changelog_topic=settings.topics.sessions if settings.state.enabled else None,
            state=settings.state,
            scrub=scrub_bytes,  # a dead letter keeps its bytes, less the PII in them
            outputs=(settings.topics.responses, settings.topics.costs, settings.topics.audit),
        )
        log.info(
            "processor: %s -> %s/%s/%s as group %s on %s, %d calls in flight, publishing "
            "with compression %s; gateways %s",
            settings.topics.turns,
            settings.topics.responses,
            settings.topics.costs,
            settings.topics.audit,
            (kafka or settings.kafka).group_id,
            (kafka or settings.kafka).bootstrap_servers,
            settings.runtime.max_in_flight,
            (kafka or settings.kafka).compression_type,
            {name: [_origin(u) for u in g.base_urls] for name, g in settings.gateways.items()},
        )
        async with contextlib.AsyncExitStack() as stack:
            if settings.metrics.port is not None:
                from gwstream.metrics import MetricsServer, ProcessorCollector

                collector = ProcessorCollector(
                    processor.stats, gateways, cache if cache.enabled else None
                )
                server = await stack.enter_async_context(
                    MetricsServer(
                        collector,
                        host=settings.metrics.host,
                        port=settings.metrics.port,
                        probe=processor,
                    )
                )
                log.info(
                    "metrics on http://%s:%d/metrics (and /healthz, /readyz)",
                    settings.metrics.host,
                    server.port,
                )
            if ledger is not None:
                # Before any turn: an instance must know what was spent before it admits a call.
                from gwstream.spendview import SpendView

                await stack.enter_async_context(
                    SpendView(
                        kafka or settings.kafka,
                        settings.topics.costs,
                        ledger,
                        catch_up_timeout_s=settings.spend.catch_up_timeout_s,
                    )
                )
            await stack.enter_async_context(processor)
            tune_gc(settings.runtime.gc_young_threshold)  # all is built: freeze it
            await processor.run(stop)
    finally:
        await pipeline.aclose()
        if tracing is not None:
            await tracing.aclose()
        if handler.replayed or handler.skipped:
            log.info(
                "sessions: %d turns delivered again were answered from their session's state "
                "(no gateway call), %d skipped as applied before",
                handler.replayed,
                handler.skipped,
            )
        if handler.turn_ids.reused:
            log.warning(
                "%d turns reused the turn id of another session: their costs were dropped by "
                "the sink as duplicates (turn ids must be unique across sessions)",
                handler.turn_ids.reused,
            )
        if cache.enabled and (cache.stats.hits or cache.stats.misses):  # it served turns
            c = cache.stats
            intent = settings.cache.intent or any(
                t.cache is not None and t.cache.intent for t in settings.tenants.values()
            )
            log.info(
                "answer cache: %d turns answered from it; %d lookups missed%s, %d of them "
                "waited for the same request in flight; %d entries stored (one per key), "
                "%d evicted, %d expired; %d entries, %.1f MB",
                c.hits,
                c.misses,
                " (a turn of a tenant with the intent cache looks up two keys)" if intent else "",
                c.coalesced,
                c.stored,
                c.evicted,
                c.expired,
                len(cache),
                cache.bytes / 1e6,
            )
