"""CPU per turn of the budget stages, on top of the rest of the per-turn path.

The turns (``--turns`` of ``--sessions`` sessions, three tenants) go through
the stages ``gwstream run`` builds from one configuration, in which every
tenant has a per-session token budget and a tenant spend limit (set high, so
every call is admitted and charged: the common path). The gateway is an
in-process stand-in answering at once, so what is timed is gwstream's own
work. Three figures, each the best of ``--repeat`` runs with the garbage
collector paused:

1. the budget stages: the session budget, spend report and spend stages
   around the stand-in, and the budget put on the outcome, less the same loop with no
   stages (the target, issue 11: under 20 µs per turn);
2. the budget on the way out: building and encoding the response, cost and
   audit events, and the outcome as the session stores it, with and without
   the budget on the outcome;
3. the whole path (all stages, events, session encoding) with and without
   budgets, runs interleaved: a check on the two above, noisier.

Usage: python bench/budget_bench.py [--turns 20000] [--sessions 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from gwstream.app import build_pipeline, build_stages
from gwstream.config import (
    GatewaySettings,
    SessionBudgetSettings,
    Settings,
    SpendLimitSettings,
    TenantSettings,
)
from gwstream.events import TurnEvent
from gwstream.gateways.base import GatewayRequest, GatewayResult, Usage
from gwstream.pipeline import Next, Origin, Outcome, Route, Session, TurnContext, build_events
from gwstream.pipeline.budget import SessionBudgetStage
from gwstream.pipeline.spend import SpendReportStage, SpendStage
from gwstream.pipeline.stage import compose
from gwstream.tokens import default_counter

TARGET_US = 20.0
T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
QUESTIONS = (
    "Where is my order? It was supposed to arrive yesterday.",
    "I was charged twice for my mobile plan this month.",
    "My internet has been dropping every evening since Tuesday.",
    "Thanks. What happens next?",
)
ANSWER = "I have checked your account: the refund of the second charge is on its way."


class InstantGateway:
    """Answers every request at once with the usage a real gateway would report."""

    name = "default"

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def complete(self, request: GatewayRequest) -> GatewayResult:
        return self.result(request)

    @staticmethod
    def result(request: GatewayRequest) -> GatewayResult:
        return GatewayResult(
            text=ANSWER,
            usage=Usage(120 + 20 * len(request.messages), 18, "gateway", None),
            finish_reason="stop",
            response_model="gpt-4o-mini-2024-07-18",
            response_id="chatcmpl-bench",
            endpoint="http://bench",
            attempts=1,
            latency_s=0.0,
            outcome="ok",
        )


def settings(session_budget: bool, spend: bool) -> Settings:
    tenant = TenantSettings(
        budget=SessionBudgetSettings(session_tokens=10**9, window="24h", lightweight_below=1000)
        if session_budget
        else None,
        spend=SpendLimitSettings(daily=Decimal(10**6), monthly=Decimal(10**7)) if spend else None,
    )
    return Settings(
        gateways={"default": GatewaySettings(base_urls=["http://bench"], max_tokens=256)},
        tenants={f"tenant-{i}": tenant for i in range(3)},
    )


def make_turns(count: int, sessions: int) -> list[TurnEvent]:
    return [
        TurnEvent(
            turn_id=f"t{n}",
            tenant_id=f"tenant-{n % sessions % 3}",
            session_id=f"s{n % sessions}",
            seq=n // sessions,
            occurred_at=T0 + timedelta(seconds=n),
            text=QUESTIONS[n % len(QUESTIONS)],
        )
        for n in range(count)
    ]


def _timed(run: Callable[[], None], repeat: int, turns: int) -> float:
    """Best CPU seconds per turn of ``run()`` over ``repeat`` runs, the collector paused."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            run()
            best = min(best, (time.process_time() - started) / turns)
        finally:
            gc.enable()
    return best


def budget_stages(s: Settings, turns: list[TurnEvent], sessions: int, repeat: int) -> float:
    """Figure 1: seconds per turn of the session budget and spend stages alone."""
    stages = [
        st
        for st in build_stages(s, counter=default_counter())
        if isinstance(st, (SessionBudgetStage, SpendReportStage, SpendStage))
    ]
    route = Route("default", "gpt-4o-mini", 256, models={"gpt-4o-mini": 128_000})
    answer = Outcome.answered(
        InstantGateway.result(GatewayRequest(messages=(), model="gpt-4o-mini", request_id="x"))
    )

    async def instant(ctx: TurnContext) -> Outcome:
        return answer

    def loop(chain: Next) -> Callable[[], None]:
        state = {f"s{i}": Session() for i in range(sessions)}

        async def go() -> None:
            for turn in turns:
                ctx = TurnContext(turn, state[turn.session_id], s.system_prompt, route)
                ctx.prompt_tokens = 300
                await chain(ctx)
                ctx.budget()

        return lambda: asyncio.run(go())

    with_stages = _timed(loop(compose(stages, instant)), repeat, len(turns))
    without = _timed(loop(compose([], instant)), repeat, len(turns))
    return with_stages - without


def budget_out(
    s: Settings, turns: list[TurnEvent], sessions: int, repeat: int
) -> tuple[float, float]:
    """Figure 2: seconds per turn to build and encode a turn's events and stored outcome,
    without and with its budget."""
    pipeline = build_pipeline(s, {"default": InstantGateway()})  # type: ignore[dict-item]
    state = {f"s{i}": Session() for i in range(sessions)}

    async def outcomes() -> list[Outcome]:
        await pipeline.start()
        return [await pipeline.run(t, state[t.session_id]) for t in turns]

    with_budget = asyncio.run(outcomes())
    assert all(o.budget is not None for o in with_budget)
    without_budget = [o.but(budget=None) for o in with_budget]

    def encode(outs: list[Outcome]) -> Callable[[], None]:
        def run() -> None:
            for offset, (turn, outcome) in enumerate(zip(turns, outs, strict=True)):
                orjson.dumps(outcome.to_dict())
                for event in build_events(turn, outcome, Origin(0, offset)).all():
                    event.to_json()

        return run

    best_without = best_with = float("inf")
    for _ in range(repeat):  # interleaved, so drift hits both alike
        best_without = min(best_without, _timed(encode(without_budget), 1, len(turns)))
        best_with = min(best_with, _timed(encode(with_budget), 1, len(turns)))
    return best_without, best_with


def whole_path(s: Settings, turns: list[TurnEvent], sessions: int) -> float:
    """Figure 3: seconds per turn of the whole path, one run."""
    pipeline = build_pipeline(s, {"default": InstantGateway()})  # type: ignore[dict-item]
    state = {f"s{i}": Session() for i in range(sessions)}

    async def go() -> None:
        await pipeline.start()
        for offset, turn in enumerate(turns):
            session = state[turn.session_id]
            outcome = await pipeline.run(turn, session)
            session.encode()
            for event in build_events(turn, outcome, Origin(0, offset)).all():
                event.to_json()

    return _timed(lambda: asyncio.run(go()), 1, len(turns))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=20_000)
    ap.add_argument("--sessions", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    turns = make_turns(args.turns, args.sessions)
    plain, budgets = settings(False, False), settings(True, True)
    stages = budget_stages(budgets, turns, args.sessions, args.repeat)
    out_without, out_with = budget_out(budgets, turns, args.sessions, args.repeat)
    best_plain = best_budgets = float("inf")
    for _ in range(args.repeat):  # interleaved, so drift hits both alike
        best_plain = min(best_plain, whole_path(plain, turns, args.sessions))
        best_budgets = min(best_budgets, whole_path(budgets, turns, args.sessions))
    us = 1e6
    verdict = "met" if stages * us < TARGET_US else "NOT met"
    print(f"{args.turns} turns of {args.sessions} sessions, best of {args.repeat} runs")
    print(
        f"1. budget stages (session budget + spend):  {stages * us:6.1f} µs/turn "
        f"(target < {TARGET_US:g}: {verdict})"
    )
    print(
        f"2. events and stored outcome: {out_without * us:6.1f} -> {out_with * us:6.1f} µs/turn "
        f"with the budget ({(out_with - out_without) * us:+.1f})"
    )
    print(
        f"3. whole path: {best_plain * us:6.1f} -> {best_budgets * us:6.1f} µs/turn with budgets "
        f"({(best_budgets - best_plain) * us:+.1f})"
    )


if __name__ == "__main__":
    main()
