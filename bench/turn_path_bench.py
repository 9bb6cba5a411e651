"""Where a turn's CPU goes: each part of the per-turn path timed on its own.

The turns of ``--sessions`` sessions (``--turns`` in all, sessions interleaved,
the text of bench/throughput.py) go one at a time through what ``gwstream
run`` does with a record, minus Kafka: validation of the record's bytes, the
session read from its stored bytes, every stage ``gwstream run`` builds from
the default configuration (each wrapped so that its own CPU is counted apart
from the stages inside it), the gateway call through the real OpenAI-
compatible adapter over loopback HTTP to the simulator in its own process
(answering at once), the session written back, and the three events built,
serialised and given their CloudEvents headers. The garbage collector runs
as ``gwstream run`` tunes it; the session is decoded every turn (the
processor keeps the last turns' sessions decoded, so there it mostly is not). One turn at a time, so the
process time between two points is that part's alone. The runtime and Kafka
(fetch, lanes, produce, acknowledgements, commits) are what bench/throughput.py's
figure (b) adds to the total printed here.

Usage: python bench/turn_path_bench.py [--turns 10000] [--sessions 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import defaultdict
from pathlib import Path

from gwstream.app import build_cache, build_gateways, build_stages
from gwstream.config import GatewaySettings, Settings
from gwstream.events import cloudevent_headers, turn_headers, utcnow
from gwstream.pipeline import Next, Origin, Outcome, Session, Stage, TurnContext, build_events
from gwstream.pipeline.call import CallGateway
from gwstream.pipeline.stage import compose
from gwstream.pipeline.validate import decode_turn
from gwstream.runtime import InRecord
from gwstream.runtime.memory import tune_gc
from gwstream.tokens import default_counter

sys.path.insert(0, str(Path(__file__).parent))
from throughput import _start_simulator, bench_turn

Clock = time.process_time


class Timed:
    """A stage whose own CPU (less the stages inside it) is added to ``spent[name]``."""

    def __init__(self, name: str, stage: Stage, spent: dict[str, float]) -> None:
        self.name, self.stage, self.spent = name, stage, spent

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        inner = 0.0

        async def timed_next(c: TurnContext) -> Outcome:
            nonlocal inner
            started = Clock()
            try:
                return await call_next(c)
            finally:
                inner += Clock() - started

        started = Clock()
        outcome = await self.stage(ctx, timed_next)
        self.spent[self.name] += Clock() - started - inner
        return outcome


def _records(turns: int, sessions: int) -> list[InRecord]:
    now = utcnow()
    out = []
    for i in range(turns):
        t = bench_turn(i, sessions, now)
        out.append(InRecord("turns", 0, i, t.key.encode(), t.to_json(), turn_headers(t), 0))
    return out


async def _run(args: argparse.Namespace, url: str) -> dict[str, float]:
    settings = Settings(gateways={"default": GatewaySettings(base_urls=[url], max_connections=64)})
    spent: dict[str, float] = defaultdict(float)
    stages = [
        Timed(type(stage).__name__, stage, spent)
        for stage in build_stages(settings, counter=default_counter(), cache=build_cache(settings))
    ]
    gateways = build_gateways(settings)
    call = CallGateway(gateways)

    async def timed_call(ctx: TurnContext) -> Outcome:
        started = Clock()
        try:
            return await call(ctx)
        finally:
            spent["gateway call (adapter, HTTP client)"] += Clock() - started

    chain = compose(stages, timed_call)
    for gw in gateways.values():
        await gw.start()
    default_counter().load()
    stored: dict[bytes, bytes] = {}
    records = _records(args.turns, args.sessions)
    tune_gc(settings.runtime.gc_young_threshold)  # as `gwstream run` does once all is built
    try:
        for record in records:
            t0 = Clock()
            turn = decode_turn(record)
            t1 = Clock()
            raw = stored.get(record.key or b"")
            session = Session.decode(raw)
            t2 = Clock()
            outcome = await chain(TurnContext(turn, session, settings.system_prompt))
            t3 = Clock()
            session.last_position = record.offset
            session.turns += 1
            stored[record.key or b""] = session.encode()
            t4 = Clock()
            for event in build_events(turn, outcome, Origin(0, record.offset)).all():
                event.to_json()
                cloudevent_headers(event)
            t5 = Clock()
            spent["decode and validate"] += t1 - t0
            spent["session read"] += t2 - t1
            spent["session write"] += t4 - t3
            spent["events: build, serialise, headers"] += t5 - t4
    finally:
        for gw in gateways.values():
            await gw.aclose()
    return {k: v / len(records) for k, v in spent.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=10_000)
    ap.add_argument("--sessions", type=int, default=1_000)
    args = ap.parse_args()
    sim, url = _start_simulator(0.0)
    try:
        per_turn = asyncio.run(_run(args, url))
    finally:
        sim.terminate()
        sim.wait()
    print(
        f"{args.turns} turns of {args.sessions} sessions, one at a time, default configuration "
        "(guardrails on, exact cache on but no repeats), gateway at 0 ms"
    )
    for name, seconds in sorted(per_turn.items(), key=lambda kv: -kv[1]):
        print(f"  {name:40s} {seconds * 1e6:8.1f} us/turn")
    print(
        f"  {'total (without runtime and Kafka)':40s} {sum(per_turn.values()) * 1e6:8.1f} us/turn"
    )


if __name__ == "__main__":
    main()
