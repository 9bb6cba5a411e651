"""The answer cache: a repeated request is answered without calling the gateway.

Two kinds of entry, both scoped to the tenant (its id is part of every key,
so two tenants never share an answer):

- **exact**: the hash of the canonical request the gateway would get: the
  gateway and model, the system instruction, the few-shot examples, the
  history sent, the turn's text as the guardrails left it, and the
  parameters (``max_tokens``, the JSON answer format and schema). Ids,
  timestamps, channel and metadata do not change it; anything the gateway
  sees does.
- **intent** (opt-in per tenant, with its own TTL): for a turn sent without
  history (a session's opening turn), the same request with the text
  normalised (NFKC, case folded, punctuation and extra spaces dropped), so
  "What are your opening hours?" and "what are your opening hours" share an
  answer. Later turns never use it: their answer depends on their history.

A hit is an ``ok`` outcome marked ``cached`` with no tokens and no cost of
its own; the tokens of the call it saved are kept so that the price stage
records the avoided cost at today's price. Only clean answers are stored:
never a turn the guardrails redacted or flagged (on the way in or out), a
refusal, a failure, an invalid JSON answer or one cut short by its token
limit.

The store is one LRU per processor instance, shared by its tenants and
partitions, bounded by entries and by bytes, each entry with its own
expiry. It is not shared between instances (README "Caching" gives the
measured hit-rate cost of that) and starts empty after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sys
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from gwstream.pipeline.context import CACHED, CacheKind, Outcome, Status, TurnContext
from gwstream.pipeline.stage import Next
from gwstream.policies import CachePolicy

#: Bytes an entry takes beyond its text (key, entry object, LRU links): bench/cache_bench.py
#: measured 268 with tracemalloc and 309 as RSS growth on CPython 3.11. The byte bound
#: counts this plus the text.
ENTRY_OVERHEAD = 310
#: Answers that ended like this are not stored (cut short, or withheld by the vendor).
_UNCACHEABLE_FINISH = frozenset({"length", "content_filter"})
_WORDS = re.compile(r"\w+")


@dataclass(slots=True)
class CachedAnswer:
    text: str
    response_model: str | None
    finish_reason: str | None
    input_tokens: int
    output_tokens: int
    expires_at: float
    size: int


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0
    expired: int = 0
    #: Misses that waited for the same request already in flight instead of calling.
    coalesced: int = 0


class AnswerCache:
    """An LRU of answers by key, bounded by entries and bytes, with a TTL per entry."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[bytes, CachedAnswer] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self.bytes = 0
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self._max_entries > 0

    def get(self, key: bytes) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        if entry.expires_at <= self._clock():
            self._drop(key, entry)
            self.stats.expired += 1
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry

    def put(self, key: bytes, outcome: Outcome, ttl_s: float) -> None:
        text = outcome.text or ""
        size = sys.getsizeof(text) + ENTRY_OVERHEAD
        if not self.enabled or size > self._max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        model, finish = outcome.response_model, outcome.finish_reason
        self._entries[key] = CachedAnswer(
            text,
            # Interned: every entry of a model would otherwise hold its own copy.
            sys.intern(model) if model is not None else None,
            sys.intern(finish) if finish is not None else None,
            outcome.input_tokens,
            outcome.output_tokens,
            self._clock() + ttl_s,
            size,
        )
        self.bytes += size
        self.stats.stored += 1
        while len(self._entries) > self._max_entries or self.bytes > self._max_bytes:
            oldest, entry = next(iter(self._entries.items()))
            self._drop(oldest, entry)
            self.stats.evicted += 1

    def _drop(self, key: bytes, entry: CachedAnswer) -> None:
        del self._entries[key]
        self.bytes -= entry.size


def normalize_intent(text: str) -> str:
    """The text as the intent cache compares it: NFKC, case folded, words only."""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold()))


def _key(kind: str, ctx: TurnContext, text: str, history: bool) -> bytes:
    route, turn = ctx.route, ctx.turn
    assert route is not None, "the route stage runs first"
    parts = [
        kind,
        turn.tenant_id,
        route.gateway,
        route.model,
        route.max_tokens,
        ctx.system,
        [[m.role, m.content] for m in ctx.examples],
        [[m.role, m.content] for m in ctx.history] if history else None,
        text,
        turn.response_format,
        turn.response_schema,
    ]
    return hashlib.blake2b(
        orjson.dumps(parts, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).digest()


def exact_key(ctx: TurnContext) -> bytes:
    """The key of the request the gateway would get for this turn."""
    return _key("exact", ctx, ctx.user_text, history=True)


def intent_key(ctx: TurnContext) -> bytes:
    """The key of a history-less turn by its normalised text."""
    return _key("intent", ctx, normalize_intent(ctx.user_text), history=False)


def _storable(ctx: TurnContext, outcome: Outcome) -> bool:
    guard = ctx.guard
    return (
        outcome.status is Status.OK
        and outcome.cached is None
        and bool(outcome.text)
        and outcome.finish_reason not in _UNCACHEABLE_FINISH
        and (guard is None or not (guard.redacted or guard.flagged))
    )


class CacheStage:
    """Answers from the cache, or calls the rest and stores a clean answer.

    Runs inside the conversation stage (the history sent is part of the key)
    and outside the output guardrails, the spend reservation, the rate limits
    and the call: a hit spends none of them. A miss whose request is already
    in flight for another session waits for that answer instead of calling
    again; if that answer is not stored (a failure, say), it calls itself.
    """

    def __init__(self, cache: AnswerCache, policies: Callable[[str], CachePolicy]) -> None:
        self._cache = cache
        self._policies = policies
        self._in_flight: dict[bytes, asyncio.Event] = {}

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        policy = self._policies(ctx.turn.tenant_id)
        guard = ctx.guard
        if (
            not self._cache.enabled
            or not (policy.exact or policy.intent)
            or (guard is not None and (guard.redacted or guard.flagged))
        ):
            return await call_next(ctx)
        keys: list[tuple[CacheKind, bytes, float]] = []
        if policy.exact:
            keys.append(("exact", exact_key(ctx), policy.exact_ttl_s))
            hit = self._lookup(keys)
            if hit is not None:
                return hit
        if policy.intent and not ctx.history and not ctx.session.history:
            # Only on an exact miss: the intent key costs twice the exact one.
            keys.append(("intent", intent_key(ctx), policy.intent_ttl_s))
            hit = self._lookup(keys[-1:])
            if hit is not None:
                return hit
        if not keys:
            return await call_next(ctx)
        # The broadest key leads: an identical request already on its way to the gateway
        # is waited for rather than sent again (a burst of callers asking the same thing).
        lead = keys[-1][1]
        running = self._in_flight.get(lead)
        if running is not None:
            self._cache.stats.coalesced += 1
            await running.wait()
            hit = self._lookup(keys)
            if hit is not None:
                return hit
            # Its answer was not one to store: ask on our own, without queueing again.
            return await self._call(ctx, call_next, keys)
        done = self._in_flight[lead] = asyncio.Event()
        try:
            return await self._call(ctx, call_next, keys)
        finally:
            del self._in_flight[lead]
            done.set()

    async def _call(
        self, ctx: TurnContext, call_next: Next, keys: list[tuple[CacheKind, bytes, float]]
    ) -> Outcome:
        outcome = await call_next(ctx)
        if _storable(ctx, outcome):
            for _, key, ttl in keys:
                self._cache.put(key, outcome, ttl)
        return outcome

    def _lookup(self, keys: list[tuple[CacheKind, bytes, float]]) -> Outcome | None:
        for kind, key, _ in keys:
            entry = self._cache.get(key)
            if entry is not None:
                return Outcome(
                    Status.OK,
                    None,
                    CACHED,
                    text=entry.text,
                    response_model=entry.response_model,
                    finish_reason=entry.finish_reason,
                    cached=kind,
                    avoided_input_tokens=entry.input_tokens,
                    avoided_output_tokens=entry.output_tokens,
                )
        return None
