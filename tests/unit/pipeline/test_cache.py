"""The answer cache: keys, TTL and eviction, and the stage's rules on what is stored and hit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import wait_for
from tests.unit.pipeline.scripted import TURN, result
from tests.unit.pipeline.test_stages import ROUTE, Next, ctx

from gwstream.events import GuardInfo
from gwstream.gateways.base import ChatMessage
from gwstream.pipeline import Outcome, Reason, Route, Session, Status, TurnContext
from gwstream.pipeline.budget import tokens_used
from gwstream.pipeline.cache import (
    ENTRY_OVERHEAD,
    AnswerCache,
    CacheStage,
    exact_key,
    intent_key,
    normalize_intent,
)
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.session import Message
from gwstream.pipeline.stage import compose
from gwstream.policies import CachePolicy
from gwstream.pricing import PriceTable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


ANSWER = Outcome.answered(result("We open at nine.", tokens=(120, 30)))


def _ctx(**turn_changes: object) -> TurnContext:
    return ctx(Session(), t=TURN.model_copy(update=turn_changes))


# -- keys ------------------------------------------------------------------------------


def test_the_exact_key_ignores_what_the_gateway_never_sees() -> None:
    base = exact_key(_ctx())
    for change in (
        {"turn_id": "t-other"},
        {"session_id": "s-other"},
        {"seq": 99},
        {"channel": "voice"},
        {"metadata": {"crm": "123"}},
        {"language": "de"},
    ):
        assert exact_key(_ctx(**change)) == base, change


@pytest.mark.parametrize(
    "change",
    [
        {"tenant_id": "globex"},
        {"text": "Where is my parcel?"},
        {"text": "where is my order?"},  # the exact key is exact
        {"response_format": "json"},
        {"response_schema": {"type": "object"}},
    ],
)
def test_the_exact_key_changes_with_the_tenant_the_text_and_the_answer_format(
    change: dict[str, object],
) -> None:
    assert exact_key(_ctx(**change)) != exact_key(_ctx())


def test_the_exact_key_changes_with_route_instruction_examples_and_history() -> None:
    base = exact_key(_ctx())
    variants: list[TurnContext] = []
    for attr, value in (
        ("route", Route(ROUTE.gateway, "gpt-4o", ROUTE.max_tokens)),
        ("route", Route("other-gateway", ROUTE.model, ROUTE.max_tokens)),
        ("route", Route(ROUTE.gateway, ROUTE.model, 17)),
        ("system", "Be verbose."),
        ("examples", (ChatMessage("user", "hi"), ChatMessage("assistant", "hello"))),
        ("history", (ChatMessage("user", "earlier"), ChatMessage("assistant", "reply"))),
        ("text", "Where is my order? [EMAIL_1]"),  # the text the guardrails left
    ):
        c = _ctx()
        setattr(c, attr, value)
        variants.append(c)
    keys = {exact_key(c) for c in variants}
    assert base not in keys
    assert len(keys) == len(variants)


def test_the_intent_key_normalises_case_punctuation_and_spacing_but_not_words() -> None:
    assert normalize_intent("  What are your OPENING hours?! ") == "what are your opening hours"
    assert normalize_intent("ﬁnd my order") == "find my order"  # NFKC folds the ligature
    same = intent_key(_ctx(text="What are your opening hours?"))
    assert intent_key(_ctx(text="what are your opening hours")) == same
    assert intent_key(_ctx(text="What are your closing hours?")) != same
    assert intent_key(_ctx(text="What are your opening hours?", tenant_id="globex")) != same
    # Exact and intent entries never collide, even for a text that is already normal.
    assert exact_key(_ctx(text="hello")) != intent_key(_ctx(text="hello"))


def test_the_schema_key_does_not_depend_on_the_order_of_its_fields() -> None:
    a = {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}
    b = {"properties": {"x": {"type": "string"}}, "required": ["x"], "type": "object"}
    assert exact_key(_ctx(response_schema=a)) == exact_key(_ctx(response_schema=b))


# -- the store -------------------------------------------------------------------------


def test_an_entry_expires_after_its_ttl() -> None:
    clock = Clock()
    cache = AnswerCache(10, 1 << 20, clock=clock)
    cache.put(b"k", ANSWER, ttl_s=60)
    clock.now += 59.9
    hit = cache.get(b"k")
    assert hit is not None and hit.text == "We open at nine."
    clock.now += 0.1
    assert cache.get(b"k") is None
    assert (len(cache), cache.bytes, cache.stats.expired) == (0, 0, 1)


def test_the_least_recently_used_entry_goes_first_when_entries_run_out() -> None:
    cache = AnswerCache(2, 1 << 20, clock=Clock())
    cache.put(b"a", ANSWER, 60)
    cache.put(b"b", ANSWER, 60)
    assert cache.get(b"a") is not None  # a is now the most recently used
    cache.put(b"c", ANSWER, 60)
    assert cache.get(b"b") is None
    assert cache.get(b"a") is not None and cache.get(b"c") is not None
    assert cache.stats.evicted == 1


def test_the_byte_bound_holds_and_counts_each_entry_once() -> None:
    size = sys.getsizeof(ANSWER.text) + ENTRY_OVERHEAD
    cache = AnswerCache(1000, 3 * size, clock=Clock())
    for i in range(10):
        cache.put(f"k{i}".encode(), ANSWER, 60)
        assert cache.bytes <= 3 * size
    assert len(cache) == 3 and cache.bytes == 3 * size
    cache.put(b"k9", ANSWER, 60)  # replacing an entry does not count it twice
    assert len(cache) == 3 and cache.bytes == 3 * size
    big = ANSWER.but(text="x" * (4 * size))
    cache.put(b"huge", big, 60)  # larger than the whole cache: not stored, nothing evicted
    assert cache.get(b"huge") is None and len(cache) == 3


def test_max_entries_zero_turns_the_cache_off() -> None:
    cache = AnswerCache(0, 1 << 20)
    cache.put(b"k", ANSWER, 60)
    assert not cache.enabled and cache.get(b"k") is None


# -- the stage -------------------------------------------------------------------------


def _stage(policy: CachePolicy | None = None, cache: AnswerCache | None = None) -> CacheStage:
    if cache is None:
        cache = AnswerCache(100, 1 << 20)
    return CacheStage(cache, lambda tenant: policy or CachePolicy())


async def test_a_repeat_is_answered_from_the_cache_without_calling_the_rest() -> None:
    stage = _stage()
    first = Next(ANSWER)
    assert (await stage(_ctx(), first)) is ANSWER
    again = Next(ANSWER)
    hit = await stage(_ctx(turn_id="t-2", session_id="s2"), again)
    assert again.seen == []
    assert (hit.status, hit.text, hit.cached, hit.gateway_outcome) == (
        Status.OK,
        "We open at nine.",
        "exact",
        "cached",
    )
    assert (hit.input_tokens, hit.output_tokens, hit.cost) == (0, 0, Decimal(0))
    assert (hit.avoided_input_tokens, hit.avoided_output_tokens) == (120, 30)


async def test_the_price_stage_records_the_avoided_cost_of_a_hit_at_todays_price() -> None:
    cache = AnswerCache(100, 1 << 20)
    prices = PriceTable.load()
    run = compose([PriceStage(prices), _stage(cache=cache)], Next(ANSWER))
    first = await run(_ctx())
    hit = await run(_ctx(turn_id="t-2"))
    assert hit.cached == "exact" and first.cached is None
    assert hit.cost == 0 and hit.avoided_cost == first.cost > 0


async def test_two_tenants_never_share_an_answer() -> None:
    stage = _stage()
    await stage(_ctx(), Next(ANSWER))
    other = Next(ANSWER)
    await stage(_ctx(tenant_id="globex"), other)
    assert len(other.seen) == 1


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome.refused(Reason.RATE_LIMITED),
        Outcome(Status.FAILED, Reason.GATEWAY_TIMEOUT, "timeout"),
        ANSWER.but(status=Status.INVALID_OUTPUT, reason=Reason.INVALID_JSON),
        ANSWER.but(finish_reason="length"),
        ANSWER.but(text=""),
    ],
)
async def test_refusals_failures_invalid_and_cut_short_answers_are_not_stored(
    outcome: Outcome,
) -> None:
    stage = _stage()
    await stage(_ctx(), Next(outcome))
    later = Next(ANSWER)
    await stage(_ctx(turn_id="t-2"), later)
    assert len(later.seen) == 1


@pytest.mark.parametrize(
    "guard",
    [
        GuardInfo(pii={"EMAIL": 1}),
        GuardInfo(injection_score=0.9, injection_rule="override", injection_action="flag"),
    ],
)
async def test_a_turn_the_input_guardrails_redacted_or_flagged_never_meets_the_cache(
    guard: GuardInfo,
) -> None:
    stage = _stage()
    await stage(_ctx(), Next(ANSWER))  # a clean answer for the same request is stored
    c = _ctx(turn_id="t-2")
    c.guard = guard
    nxt = Next(ANSWER)
    assert (await stage(c, nxt)).cached is None
    assert len(nxt.seen) == 1
    fresh = _ctx(turn_id="t-3", text="Do you ship to Norway?")
    fresh.guard = guard
    await stage(fresh, Next(ANSWER))
    after = Next(ANSWER)
    await stage(_ctx(turn_id="t-4", text="Do you ship to Norway?"), after)
    assert len(after.seen) == 1  # nor was its answer stored


async def test_an_answer_the_output_guardrails_redacted_is_not_stored() -> None:
    class Redacting(Next):
        async def __call__(self, c: TurnContext) -> Outcome:
            c.guard = GuardInfo(output_pii={"PHONE": 1})  # set on the way out
            return await super().__call__(c)

    stage = _stage()
    await stage(_ctx(), Redacting(ANSWER.but(text="Call [PHONE_1].")))
    after = Next(ANSWER)
    await stage(_ctx(turn_id="t-2"), after)
    assert len(after.seen) == 1


async def test_the_intent_cache_answers_only_opening_turns_and_only_when_the_tenant_opts_in() -> (
    None
):
    policy = CachePolicy(exact=False, intent=True, intent_ttl_s=60)
    stage = _stage(policy)
    await stage(_ctx(text="What are your opening hours?"), Next(ANSWER))
    opener = Next(ANSWER)
    hit = await stage(
        _ctx(turn_id="t-2", session_id="s2", text="what are your opening hours"), opener
    )
    assert hit.cached == "intent" and opener.seen == []

    later = Session(history=[Message("user", "hi", 1, "t-0"), Message("assistant", "hi", 1, "t-0")])
    mid = Next(ANSWER)
    await stage(ctx(later, t=TURN.model_copy(update={"text": "What are your opening hours?"})), mid)
    assert len(mid.seen) == 1  # a later turn's answer depends on its history

    off = _stage(CachePolicy(exact=False, intent=False))
    await off(_ctx(), Next(ANSWER))
    nxt = Next(ANSWER)
    await off(_ctx(turn_id="t-2"), nxt)
    assert len(nxt.seen) == 1


async def test_exact_entries_live_for_the_exact_ttl() -> None:
    clock = Clock()
    stage = _stage(CachePolicy(exact_ttl_s=30), AnswerCache(100, 1 << 20, clock=clock))
    await stage(_ctx(), Next(ANSWER))
    clock.now += 31
    nxt = Next(ANSWER)
    assert (await stage(_ctx(turn_id="t-2"), nxt)).cached is None
    assert len(nxt.seen) == 1


def test_a_cached_outcome_survives_the_session_store_round_trip() -> None:
    hit = Outcome(
        Status.OK,
        None,
        "cached",
        text="We open at nine.",
        cached="intent",
        avoided_input_tokens=120,
        avoided_output_tokens=30,
        avoided_cost=Decimal("0.000123"),
        use_case="support",
        prompt_version="v2",
    )
    back = Outcome.from_dict(hit.to_dict())
    assert back == hit


class Gate(Next):
    """A stand-in that holds every call until released."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.release = asyncio.Event()

    async def __call__(self, c: TurnContext) -> Outcome:
        self.seen.append(c)
        await self.release.wait()
        return self.outcome


async def test_a_burst_of_the_same_request_makes_one_call_and_the_others_wait_for_it() -> None:
    cache = AnswerCache(100, 1 << 20)
    stage = _stage(cache=cache)
    gate = Gate(ANSWER)
    tasks = [
        asyncio.create_task(stage(_ctx(turn_id=f"t-{i}", session_id=f"s{i}"), gate))
        for i in range(5)
    ]
    await wait_for(lambda: len(gate.seen) == 1 and cache.stats.coalesced == 4, timeout=5)
    gate.release.set()
    outs = await asyncio.gather(*tasks)
    assert len(gate.seen) == 1
    assert [o.cached for o in outs].count("exact") == 4 and outs.count(ANSWER) == 1


async def test_waiters_call_on_their_own_when_the_first_answer_is_not_stored() -> None:
    stage = _stage()
    failed = Outcome(Status.FAILED, Reason.GATEWAY_TIMEOUT, "timeout")
    gate = Gate(failed)
    first = asyncio.create_task(stage(_ctx(), gate))
    await wait_for(lambda: len(gate.seen) == 1, timeout=5)
    second = asyncio.create_task(stage(_ctx(turn_id="t-2", session_id="s2"), gate))
    gate.release.set()
    assert (await first).status is Status.FAILED
    assert (await second).status is Status.FAILED
    assert len(gate.seen) == 2


# -- a hit in the session: history and budget ------------------------------------------


def _with_session_stages(cache: AnswerCache, policy: CachePolicy) -> Callable[..., Any]:
    from tests.unit.pipeline.test_stages import COUNTER

    from gwstream.pipeline.budget import SessionBudget, SessionBudgetStage
    from gwstream.pipeline.conversation import ConversationStage

    budget = SessionBudgetStage(
        {"acme": SessionBudget(100_000, None)},
        "Be lighter.",
        charge_hits=lambda tenant: policy.charge_hits,
    )
    conversation = ConversationStage(COUNTER, max_messages=20)
    return lambda nxt: compose(
        [budget, conversation, CacheStage(cache, lambda tenant: policy)], nxt
    )


@pytest.mark.parametrize(("charge_hits", "charged"), [(False, 0), (True, 150)])
async def test_a_hit_enters_the_history_and_is_charged_only_when_the_tenant_says_so(
    charge_hits: bool, charged: int
) -> None:
    cache = AnswerCache(100, 1 << 20)
    run = _with_session_stages(cache, CachePolicy(charge_hits=charge_hits))
    await run(Next(ANSWER))(_ctx())  # another session's answer fills the cache
    session = Session()
    c = ctx(session, t=TURN.model_copy(update={"turn_id": "t-2", "session_id": "s2"}))
    out = await run(Next(ANSWER))(c)
    assert out.cached == "exact"
    assert [(m.role, m.content) for m in session.history] == [
        ("user", TURN.text),
        ("assistant", "We open at nine."),
    ]
    assert tokens_used(session, 0) == charged  # a conversation window starts at 0
