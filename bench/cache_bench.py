"""The answer cache: memory per entry, hit rates, CPU per turn, and one cache per instance.

1. Memory: fills an AnswerCache with ``--entries`` distinct answers (contact-center
   replies of 150-400 characters, decoded from chat-completion bodies as a gateway
   adapter decodes them, keyed by exact_key on realistic turns) and measures with
   tracemalloc the bytes each entry keeps alive (OrderedDict slot and node, key,
   entry object and its fields, text), next to what the cache's own accounting
   (``AnswerCache.bytes / len``, i.e. text + ENTRY_OVERHEAD) says; RSS growth as a
   cross-check. Says so when the accounting under-counts by more than 10%, and
   which ENTRY_OVERHEAD would make it match.
2. Hit rates: ``--sessions`` sessions of 3 turns; the opening question is drawn from
   a Zipf-like distribution (s = 1.1) over 500 catalogue questions, some asked in
   case and punctuation variants (the intent cache folds them, the exact cache does
   not); later turns are mostly unique, a few are stock follow-ups that repeat a
   whole conversation. Driven through the real CacheStage with a stand-in for the
   rest of the pipeline; hit rates with the default policy (exact only) and with
   ``CachePolicy(intent=True)``, per kind.
3. CPU per turn of the cache stage (process time, median of ``--repeat``): the
   stand-in alone, the stage with all misses (unique texts), the same turns again
   (all hits), and the repeat workload; the stage alone is the difference.
4. Instances: each processor instance has its own cache. Sessions go to 8
   partitions by Kafka's key hash (gwstream's key_partitioner), the partitions to
   N = 1, 2, 4, 8 instances; hit rate for each N and its penalty against N = 1, with
   the default bound and with a small one.

No figure is asserted: the machine's timing noise is large, so read medians.
Usage: python bench/cache_bench.py [--sessions 20000] [--entries 20000] [--seed 7] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import random
import statistics
import sys
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from gwstream.events import TurnEvent
from gwstream.gateways.base import ChatMessage, GatewayResult, Usage
from gwstream.gateways.openai import parse_chat_completion
from gwstream.kafkaio import key_partitioner
from gwstream.pipeline import Outcome, Route, Session, Status, TurnContext
from gwstream.pipeline.cache import (
    ENTRY_OVERHEAD,
    AnswerCache,
    CacheStage,
    exact_key,
    intent_key,
)
from gwstream.pipeline.context import CACHED
from gwstream.pipeline.session import Message
from gwstream.policies import CachePolicy, CacheSettings
from gwstream.simulator.replies import REPLY_TEMPLATES

TENANT = "acme"
SYSTEM = (
    "You are the customer service assistant of Acme. Answer in two or three friendly "
    "sentences, never promise a refund or a date you cannot see in the account, and offer "
    "a specialist when you cannot help."
)
ROUTE = Route("default", "gpt-4o-mini", 256, models={"gpt-4o-mini": 128_000})
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
AT = datetime(2026, 11, 20, 8, tzinfo=UTC)

SUBJECTS = (
    "mobile plan", "broadband contract", "TV package", "home insurance policy",
    "car insurance policy", "credit card", "current account", "savings account",
    "energy tariff", "gym membership", "streaming subscription", "phone contract",
    "travel insurance", "water bill", "parking permit", "loyalty card", "online order",
    "extended warranty", "data add-on", "landline",
)  # fmt: skip
FRAMES = (
    "How do I cancel my {}?", "Can I upgrade my {}?", "Why was I charged twice for my {}?",
    "When does my {} renew?", "How much does the {} cost per month?",
    "Can I pause my {} while I'm abroad?", "How do I change the payment date of my {}?",
    "Where can I find the terms of my {}?", "Is there an early termination fee on my {}?",
    "Can I add a second person to my {}?", "How do I get a refund on my {}?",
    "Why has the price of my {} gone up?", "Can I switch my {} to paperless billing?",
    "How do I update my address on my {}?", "What discounts are there on the {}?",
    "Can I transfer my {} to someone else?", "How long is the notice period for my {}?",
    "Do you offer a student discount on the {}?", "How do I download invoices for my {}?",
    "Can I downgrade my {}?", "What happens if I miss a payment on my {}?",
    "How do I make a complaint about my {}?", "Is my {} covered if I move house?",
    "Can I get a copy of my {} contract?", "How do I reactivate my {}?",
)  # fmt: skip
#: Spellings the intent cache folds (case, punctuation, spacing) and the exact cache does not.
VARIANTS = (
    lambda q: q.lower(),
    lambda q: q.rstrip("?"),
    lambda q: q.lower().rstrip("?") + "??",
    lambda q: q.replace(" ", "  ", 1),
)
ZIPF_S = 1.1
#: Share of catalogue questions that are also asked in variants, and how often such a
#: question comes in one of them.
VARIANT_QUESTIONS, VARIANT_SHARE = 0.6, 0.45
#: Share of later turns that are a stock follow-up (a repeat when the conversation so far
#: is too); the rest carry details of their own.
STOCK_SHARE = 0.2
STOCK_FOLLOW_UPS = (
    "Thanks, that's all I needed.",
    "How long will that take?",
    "Can you send me that by email?",
    "Okay, thank you.",
)
OWN_FOLLOW_UPS = (
    "My customer number is {n}, can you check it for me?",
    "It's about the payment of {m} euros on the {d}th, reference {n}.",
    "The order number is {n} and it still hasn't arrived.",
    "I already called on the {d}th about this and was told it was fixed (case {n}).",
    "My contract number is {n}; the bill this month was {m} euros instead of the usual.",
)
EXTRAS = (
    "",
    "You can also manage this yourself in the app under Account > Settings. ",
    "If you'd like, I can send you a summary of this conversation by email. ",
    "Our team is available from 8 AM to 8 PM, Monday to Saturday, if you need anything else. ",
    "All prices are in € and include VAT; the change shows on your next bill. ",
    "I've also added a note to your account so that whoever you speak to next can see what "
    "we discussed today, and you'll get a text message once it's done. ",
)
#: Sessions open about this many turns apart from the next turn of a session, so the
#: turns of concurrent sessions interleave as they do on the input topic.
INTERLEAVE = 25
PARTITIONS = 8
SMALL_CACHE = 200
US = 1e6


@dataclass(slots=True)
class Step:
    """One turn of the workload and the answer the rest of the pipeline gives it."""

    ctx: TurnContext
    answer: Outcome
    opening: bool


class StandIn:
    """The rest of the pipeline: answers with the outcome set for the turn, counts calls."""

    def __init__(self) -> None:
        self.outcome: Outcome | None = None
        self.calls = 0

    async def __call__(self, ctx: TurnContext) -> Outcome:
        self.calls += 1
        assert self.outcome is not None
        return self.outcome


# -- texts -----------------------------------------------------------------------------


def catalogue() -> list[str]:
    return [frame.format(subject) for subject in SUBJECTS for frame in FRAMES]


def reply(seed: str, detail: str) -> str:
    """A contact-center answer (150-400 characters) chosen by ``seed``, ending in ``detail``."""
    h = zlib.crc32(seed.encode())
    base = REPLY_TEMPLATES[h % len(REPLY_TEMPLATES)]
    return f"{base} {EXTRAS[(h >> 8) % len(EXTRAS)]}{detail}"


def own_follow_up(rng: random.Random, n: int) -> str:
    frame = OWN_FOLLOW_UPS[rng.randrange(len(OWN_FOLLOW_UPS))]
    return frame.format(n=f"{n:08d}", m=rng.randrange(12, 240), d=rng.randrange(1, 29))


def answered(text: str, input_tokens: int) -> Outcome:
    result = GatewayResult(
        text=text,
        usage=Usage(input_tokens, len(text) // 4, "gateway", None),
        finish_reason="stop",
        response_model=RESPONSE_MODEL,
        response_id="chatcmpl-bench",
        endpoint="https://gateway.example",
        attempts=1,
        latency_s=0.8,
        outcome="ok",
    )
    return Outcome.answered(result)


def context(session_id: str, seq: int, text: str, history: list[Message]) -> TurnContext:
    turn = TurnEvent(
        turn_id=f"{session_id}-{seq}",
        tenant_id=TENANT,
        session_id=session_id,
        seq=seq,
        occurred_at=AT,
        text=text,
    )
    c = TurnContext(turn, Session(history=list(history)), SYSTEM)
    c.route = ROUTE
    c.history = tuple(ChatMessage(m.role, m.content) for m in history)
    return c


def _tokens(text: str) -> int:
    return len(text) // 4 + 4


# -- workloads -------------------------------------------------------------------------


def build_workload(sessions: int, seed: int, *, unique: bool) -> list[Step]:
    """``sessions`` conversations of 3 turns, their turns interleaved.

    ``unique``: every text differs (every lookup misses); otherwise openers repeat
    along a Zipf law and a few follow-ups repeat whole conversations.
    """
    rng = random.Random(seed)
    questions = catalogue()
    rng.shuffle(questions)  # rank order: questions[0] is asked most
    weights = [1 / (r + 1) ** ZIPF_S for r in range(len(questions))]
    with_variants = {i for i in range(len(questions)) if rng.random() < VARIANT_QUESTIONS}
    drawn = rng.choices(range(len(questions)), weights=weights, k=sessions)
    timed: list[tuple[int, int, Step]] = []
    for i, qid in enumerate(drawn):
        sid = f"s{seed}-{i}"
        canonical = questions[qid]
        if unique:
            text = f"{canonical} My customer number is {10_000_000 + i}."
            answer = reply(canonical, f"Your case number is CS-{i:07d}.")
        else:
            text = canonical
            if qid in with_variants and rng.random() < VARIANT_SHARE:
                text = VARIANTS[rng.randrange(len(VARIANTS))](canonical)
            # The answer depends on the question, not on its spelling.
            answer = reply(canonical, f"Reference for this answer: KB-{qid:04d}.")
        history: list[Message] = []
        for seq in range(3):
            c = context(sid, seq, text, history)
            prompt = _tokens(SYSTEM) + sum(m.tokens for m in history) + _tokens(text)
            timed.append((i + seq * INTERLEAVE, seq, Step(c, answered(answer, prompt), seq == 0)))
            history += [
                Message("user", text, _tokens(text), c.turn.turn_id),
                Message("assistant", answer, _tokens(answer), c.turn.turn_id),
            ]
            if not unique and rng.random() < STOCK_SHARE:
                text = STOCK_FOLLOW_UPS[rng.randrange(len(STOCK_FOLLOW_UPS))]
                # The same conversation so far gets the same answer, as from a gateway.
                so_far = "|".join(m.content for m in history)
                answer = reply(f"{so_far}|{text}", f"Reference for this answer: KB-{qid:04d}.")
            else:
                text = own_follow_up(rng, 3 * i + seq)
                answer = reply(text, f"Your case number is CS-{3 * i + seq:07d}.")
    timed.sort(key=lambda t: (t[0], t[1]))
    return [step for _, _, step in timed]


def default_cache() -> AnswerCache:
    s = CacheSettings()
    return AnswerCache(s.max_entries, int(s.max_mb * 1024 * 1024))


# -- 1. memory -------------------------------------------------------------------------


def _rss() -> int | None:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return None
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _fill(
    cache: AnswerCache, ctxs: list[TurnContext], bodies: list[bytes], keys: list[bytes | None]
) -> None:
    """Put one entry per turn as the stage would, from a body as the gateway adapter reads it."""
    ttl = CachePolicy().exact_ttl_s
    for i, (c, body) in enumerate(zip(ctxs, bodies, strict=True)):
        keys[i] = exact_key(c)
        got = parse_chat_completion(body)
        usage = Usage(got.prompt_tokens or 0, got.completion_tokens or 0, "gateway", None)
        result = GatewayResult(
            got.text, usage, got.finish_reason, got.model, got.id, "https://gateway.example", 1,
            0.8, "ok",
        )  # fmt: skip
        cache.put(keys[i], Outcome.answered(result), ttl)


def memory(entries: int, seed: int) -> None:
    rng = random.Random(seed)
    questions = catalogue()
    ctxs, bodies = [], []
    for i in range(entries):
        q = questions[i % len(questions)]
        text = f"{q} My customer number is {20_000_000 + i}."
        ctxs.append(context(f"m{i}", 0, text, []))
        answer = reply(f"{q}|{i}", f"Your case number is CS-{i:07d}.")
        prompt = _tokens(SYSTEM) + _tokens(text)
        out = len(answer) // 4
        body = {
            "id": f"chatcmpl-{rng.getrandbits(96):024x}",
            "object": "chat.completion",
            "created": 1_795_000_000 + i,
            "model": RESPONSE_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": out,
                "total_tokens": prompt + out,
            },
        }
        bodies.append(orjson.dumps(body))

    # RSS first, in a process that has not yet allocated and freed much.
    keys: list[bytes | None] = [None] * entries
    gc.collect()
    rss_before = _rss()
    rss_cache = default_cache()
    _fill(rss_cache, ctxs, bodies, keys)
    gc.collect()
    rss_after = _rss()
    del rss_cache
    gc.collect()

    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    cache = default_cache()
    _fill(cache, ctxs, bodies, keys)
    gc.collect()
    measured_total = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    n = len(cache)
    measured = measured_total / n
    accounted = cache.bytes / n

    # Where the bytes go: every object an entry holds, counted once.
    seen: set[int] = set()
    parts = Counter[str]()
    lengths = []
    for key in keys:
        assert key is not None
        entry = cache.get(key)
        assert entry is not None
        lengths.append(len(entry.text))
        parts["text"] += sys.getsizeof(entry.text)
        parts["key (16-byte digest)"] += sys.getsizeof(key)
        parts["entry object (CachedAnswer)"] += sys.getsizeof(entry)
        for value in (
            entry.response_model,
            entry.finish_reason,
            entry.input_tokens,
            entry.output_tokens,
            entry.expires_at,
            entry.size,
        ):
            shared = isinstance(value, int) and -5 <= value <= 256
            if value is not None and not shared and id(value) not in seen:
                seen.add(id(value))
                parts["its fields (model, finish, tokens, expiry, size)"] += sys.getsizeof(value)
    parts["OrderedDict slot, fast-node slot, LRU node"] = measured_total - sum(parts.values())
    text_mean = parts["text"] / n
    needed = measured - text_mean
    ratio = measured / accounted

    print(f"1. Memory per entry ({n:,} entries, answers of {min(lengths)}-{max(lengths)} chars)")
    for what, total in parts.items():
        print(f"   {what:<52} {total / n:7.1f} B")
    print(f"   measured by tracemalloc{'':<29} {measured:7.1f} B per entry")
    if rss_before is not None and rss_after is not None:
        rss = (rss_after - rss_before) / n
        print(
            f"   RSS growth while filling (cross-check){'':<14} {rss:7.1f} B per entry "
            f"(allocator rounding and arenas; ENTRY_OVERHEAD = {math.ceil(rss - text_mean)} "
            "would match it)"
        )
    print(
        f"   accounted (AnswerCache.bytes / len){'':<16} {accounted:7.1f} B per entry "
        f"(text {text_mean:.1f} + ENTRY_OVERHEAD {ENTRY_OVERHEAD})"
    )
    print(f"   measured / accounted = {ratio:.3f}")
    if ratio > 1.10:
        print(
            f"   !! The byte accounting UNDER-COUNTS by {100 * (ratio - 1):.0f}% (> 10%): "
            f"ENTRY_OVERHEAD = {ENTRY_OVERHEAD} in cache.py should be about {math.ceil(needed)} "
            f"for the accounting to match (max_mb bounds less memory than it says)."
        )
    elif ratio < 0.90:
        print(
            f"   !! The byte accounting OVER-COUNTS by {100 * (1 / ratio - 1):.0f}%: "
            f"ENTRY_OVERHEAD = {ENTRY_OVERHEAD} could be about {math.ceil(needed)}."
        )
    else:
        print(
            f"   The accounting is within 10% (an exact match needs ENTRY_OVERHEAD = "
            f"{math.ceil(needed)})."
        )
    print(
        f"   (CPython {sys.version.split()[0]}; the OrderedDict share moves with how full its "
        "table is, so it varies with the entry count)"
    )


# -- 2. hit rates ----------------------------------------------------------------------


async def _replay(steps: list[Step], stages: list[CacheStage], instance: list[int]) -> Counter[str]:
    nxt = StandIn()
    counts = Counter[str]()
    for step, i in zip(steps, instance, strict=True):
        nxt.outcome = step.answer
        out = await stages[i](step.ctx, nxt)
        where = "open" if step.opening else "later"
        counts[where] += 1
        if out.cached is not None:
            counts[f"{where} {out.cached}"] += 1
    counts["calls"] = nxt.calls
    return counts


def hit_rate(
    steps: list[Step],
    policy: CachePolicy,
    instance: list[int],
    make: Callable[[], AnswerCache] = default_cache,
) -> Counter[str]:
    caches = [make() for _ in range(max(instance) + 1)]
    stages = [CacheStage(c, lambda tenant: policy) for c in caches]
    return asyncio.run(_replay(steps, stages, instance))


def hit_rates(steps: list[Step]) -> dict[str, float]:
    one = [0] * len(steps)
    print()
    print(
        "2. Hit rates (one instance, default cache: "
        f"{CacheSettings().max_entries:,} entries / {CacheSettings().max_mb:g} MB)"
    )
    print(
        f"   {'policy':<16} {'all turns':>9} {'openers':>8} {'later':>7}   "
        f"{'exact hits':>10} {'intent hits':>11}   gateway calls / 1,000 turns"
    )
    rates = {}
    for name, policy in (
        ("exact only", CachePolicy()),
        ("exact + intent", CachePolicy(intent=True)),
    ):
        c = hit_rate(steps, policy, one)
        total = c["open"] + c["later"]
        opens = c["open exact"] + c["open intent"]
        later = c["later exact"] + c["later intent"]
        exact = c["open exact"] + c["later exact"]
        intent = c["open intent"] + c["later intent"]
        rates[name] = (opens + later) / total
        print(
            f"   {name:<16} {rates[name]:9.1%} {opens / c['open']:8.1%} {later / c['later']:7.1%}   "
            f"{exact / total:10.1%} {intent / total:11.1%}   {1000 * c['calls'] / total:.0f}"
        )
    return rates


# -- 3. CPU ----------------------------------------------------------------------------


async def _time_alone(steps: list[Step]) -> float:
    nxt = StandIn()
    started = time.process_time()
    for step in steps:
        nxt.outcome = step.answer
        await nxt(step.ctx)
    return (time.process_time() - started) / len(steps)


async def _time_stage(steps: list[Step], stage: CacheStage) -> float:
    nxt = StandIn()
    started = time.process_time()
    for step in steps:
        nxt.outcome = step.answer
        await stage(step.ctx, nxt)
    return (time.process_time() - started) / len(steps)


def cpu(unique: list[Step], repeats: list[Step], repeat: int, mixed_rate: float) -> None:
    policy = CachePolicy(intent=True)
    groups = {
        "openers": [s for s in unique if s.opening],
        "later turns": [s for s in unique if not s.opening],
    }
    figures: dict[str, list[float]] = {}
    surprises = 0
    for _ in range(repeat):  # interleaved, so drift hits every figure alike
        # Large enough to hold every unique turn, so that the second pass only hits.
        cache = AnswerCache(4 * len(unique), 1 << 40)
        stage = CacheStage(cache, lambda tenant: policy)
        for name, steps in groups.items():
            alone = asyncio.run(_time_alone(steps))
            figures.setdefault(f"{name} alone", []).append(alone)
            hits = cache.stats.hits
            figures.setdefault(f"{name} miss", []).append(
                asyncio.run(_time_stage(steps, stage)) - alone
            )
            surprises += cache.stats.hits - hits
        for name, steps in groups.items():
            alone = asyncio.run(_time_alone(steps))
            misses = cache.stats.misses
            figures.setdefault(f"{name} hit", []).append(
                asyncio.run(_time_stage(steps, stage)) - alone
            )
            surprises += cache.stats.misses - misses
        alone = asyncio.run(_time_alone(repeats))
        stage = CacheStage(default_cache(), lambda tenant: policy)
        figures.setdefault("mixed", []).append(asyncio.run(_time_stage(repeats, stage)) - alone)
        figures.setdefault("alone", []).append(alone)
    med = {k: statistics.median(v) * US for k, v in figures.items()}
    n_open, n_later = len(groups["openers"]), len(groups["later turns"])
    share = n_open / (n_open + n_later)

    def both(kind: str) -> float:
        return share * med[f"openers {kind}"] + (1 - share) * med[f"later turns {kind}"]

    print()
    print(
        f"3. CPU of the cache stage alone (process time minus the stand-in's; median of {repeat}; "
        f"policy exact + intent)"
    )
    print(f"   stand-in alone (the part subtracted):        {med['alone']:6.2f} µs/turn")
    print(
        f"   miss (unique texts, stored):  openers {med['openers miss']:6.2f}, later turns "
        f"{med['later turns miss']:6.2f}, all {both('miss'):6.2f} µs/turn"
    )
    print(
        f"   hit  (same turns again):      openers {med['openers hit']:6.2f}, later turns "
        f"{med['later turns hit']:6.2f}, all {both('hit'):6.2f} µs/turn"
    )
    print(
        f"   repeat workload ({mixed_rate:.1%} hits):        {med['mixed']:6.2f} µs/turn "
        "(openers compute two keys, later turns one, over a longer history)"
    )
    if surprises:
        print(f"   (!! {surprises} lookups did not go as planned: a hit in a miss pass or a miss)")
    parts = where_the_time_goes(groups["openers"], groups["later turns"], repeat)
    print(
        "   of which: exact key {:.2f} (opener), {:.2f} (later turn); intent key {:.2f}; "
        "building a hit's Outcome {:.2f} µs".format(*parts)
    )


def where_the_time_goes(
    openers: list[Step], later: list[Step], repeat: int
) -> tuple[float, float, float, float]:
    """µs per call of what the stage's time is made of (median of ``repeat`` passes)."""

    def per_call(steps: list[Step], work: Callable[[TurnContext], object]) -> float:
        runs = []
        for _ in range(repeat):
            started = time.process_time()
            for step in steps:
                work(step.ctx)
            runs.append((time.process_time() - started) / len(steps))
        return statistics.median(runs) * US

    def hit(ctx: TurnContext) -> Outcome:  # as CacheStage answers a hit
        return Outcome(
            Status.OK,
            None,
            CACHED,
            text=ctx.user_text,
            response_model=RESPONSE_MODEL,
            finish_reason="stop",
            cached="exact",
            avoided_input_tokens=300,
            avoided_output_tokens=60,
        )

    return (
        per_call(openers, exact_key),
        per_call(later, exact_key),
        per_call(openers, intent_key),
        per_call(openers, hit),
    )


# -- 4. instances ----------------------------------------------------------------------


def instances(steps: list[Step]) -> None:
    partitions = list(range(PARTITIONS))
    part = [key_partitioner(s.ctx.turn.key.encode(), partitions, partitions) for s in steps]
    defaults = CacheSettings()

    def small() -> AnswerCache:
        return AnswerCache(SMALL_CACHE, int(defaults.max_mb * 1024 * 1024))

    print()
    print(
        f"4. One cache per instance: sessions on {PARTITIONS} partitions by key hash, partitions "
        "range-assigned to N instances"
    )
    for label, make in (
        (f"default cache ({defaults.max_entries:,} entries per instance)", default_cache),
        (f"small cache ({SMALL_CACHE} entries per instance)", small),
    ):
        print(f"   {label}")
        print(
            f"   {'N':>3}   {'exact only':>10} {'penalty':>8} {'+calls/1k':>9}"
            f"   {'exact+intent':>12} {'penalty':>8} {'+calls/1k':>9}"
        )
        base: dict[str, float] = {}
        for n in (1, 2, 4, 8):
            instance = [p * n // PARTITIONS for p in part]
            row = f"   {n:>3}"
            for name, policy in (("exact", CachePolicy()), ("intent", CachePolicy(intent=True))):
                c = hit_rate(steps, policy, instance, make)
                total = c["open"] + c["later"]
                rate = (total - c["calls"]) / total
                lost = base.setdefault(name, rate) - rate
                width = 10 if name == "exact" else 12
                row += f"   {rate:>{width}.1%} {100 * lost + 0.0:>6.1f}pp {1000 * lost + 0.0:>9.0f}"
            print(row)
    print(
        "   (penalty: hit-rate points lost against N = 1; +calls/1k: extra gateway calls per "
        "1,000 turns)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--entries", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    started = time.monotonic()
    memory(args.entries, args.seed)

    repeats = build_workload(args.sessions, args.seed, unique=False)
    unique = build_workload(args.sessions, args.seed + 1, unique=True)
    print()
    print(
        f"Workload: {args.sessions:,} sessions x 3 turns = {len(repeats):,} turns, one tenant; "
        f"openers from {len(catalogue())} questions (Zipf s = {ZIPF_S}), "
        f"{VARIANT_QUESTIONS:.0%} of them also asked in case/punctuation variants "
        f"({VARIANT_SHARE:.0%} of the time); {STOCK_SHARE:.0%} of later turns a stock follow-up "
        "(a repeat only when the conversation so far is one too). Nothing expires: the run "
        "takes seconds, the TTLs are hours."
    )
    rates = hit_rates(repeats)
    cpu(unique, repeats, args.repeat, rates["exact + intent"])
    instances(repeats)
    print()
    print(f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
