"""Throughput of gwstream against a raw aiokafka passthrough, on the embedded broker.

(a) baseline: a bare aiokafka consumer-group loop that, per input record,
    produces the same number of records gwstream does (response, cost, audit)
    and commits; no ordering, no validation, no gateway call.
(u) baseline: an unordered aiokafka loop calling the same gateway with aiohttp,
    256 calls in flight, three records produced per turn, commits after each
    batch: no per-session order, no state, no policies.
(b) gwstream end to end (validation, pipeline, gateway call over loopback HTTP,
    three CloudEvents outputs acknowledged before commit) with the simulator
    in a separate process, at zero and at 200 ms gateway latency.

Prints turns/s for each, processor CPU per turn, the ratio b/a of rates and
the ratio b/u of CPU per turn (the target: at most 1.5 at 0 ms).
With ``--faq N`` only (c) runs: each session opens with one of N common
questions (drawn Zipf-like, as contact-center traffic repeats itself), and
gwstream runs at 0 ms with the answer cache on and off, printing CPU per turn and the share of
turns answered from the cache (read from the processor's /metrics).
Usage: python bench/throughput.py [--turns 20000] [--sessions 2000] [--faq 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import aiohttp
import httpx
import orjson

from gwstream import topics
from gwstream.app import run_processor
from gwstream.broker import EmbeddedBroker, free_port
from gwstream.config import (
    DEFAULT_GC_YOUNG_THRESHOLD,
    CacheSettings,
    GatewaySettings,
    KafkaSettings,
    MetricsSettings,
    RuntimeSettings,
    Settings,
    TopicNames,
)
from gwstream.events import TurnEvent, turn_headers, utcnow
from gwstream.gateways.openai import CHAT_COMPLETIONS_PATH
from gwstream.kafkaio import make_consumer, make_producer, send_all
from gwstream.pipeline.call import CallGateway
from gwstream.pipeline.validate import decode_turn
from gwstream.runtime import InRecord, KeyState, OutRecord, Processor, RuntimeStats
from gwstream.runtime.memory import tune_gc
from gwstream.runtime.publish import Publisher

OUTPUTS_PER_TURN = 3


def _names(tag: str, partitions: int) -> TopicNames:
    s = f"{tag}-{uuid.uuid4().hex[:6]}"
    return TopicNames.prefixed(f"b-{s}", partitions=partitions)


def _opener(s: int, faq: int) -> str:
    """Session ``s``'s first question: one of ``faq`` common ones, Zipf-like (exponent 1.1)."""
    rng = random.Random(s)
    weights = [1 / (k + 1) ** 1.1 for k in range(faq)]
    k = rng.choices(range(faq), weights)[0]
    return f"Hello, I have a question about topic {k}: how does it work?"


def bench_turn(i: int, sessions: int, now: datetime, faq: int = 0) -> TurnEvent:
    """Turn ``i`` of the workload: sessions interleaved, seven tenants, unique texts (an
    opening question from the ``faq`` common ones when ``faq`` is set)."""
    s, seq = i % sessions, i // sessions
    return TurnEvent(
        turn_id=f"b{i}",
        tenant_id=f"tenant-{s % 7}",
        session_id=f"s{s}",
        seq=seq,
        occurred_at=now,
        text=_opener(s, faq)
        if faq and seq == 0
        else f"Hello, I have a question about my order {s}, turn {seq}.",
    )


async def _publish(
    kafka: KafkaSettings, names: TopicNames, turns: int, sessions: int, faq: int = 0
) -> None:
    now = utcnow()
    producer = make_producer(kafka, linger_ms=20)
    await producer.start()
    try:
        batch = []
        for i in range(turns):
            t = bench_turn(i, sessions, now, faq)
            batch.append((names.turns, t.key.encode(), t.to_json(), turn_headers(t)))
            if len(batch) >= 5_000:
                await send_all(producer, batch)
                batch = []
        await send_all(producer, batch)
    finally:
        await producer.stop()


async def baseline(kafka: KafkaSettings, names: TopicNames, turns: int) -> tuple[float, float]:
    consumer = make_consumer(kafka, names.turns, group_id=f"bench-base-{uuid.uuid4().hex[:6]}")
    producer = make_producer(kafka)
    await consumer.start()
    await producer.start()
    done = 0
    try:
        t0 = c0 = None
        while done < turns:
            batch = await consumer.getmany(timeout_ms=100, max_records=1_000)
            if not batch:
                continue
            if t0 is None:
                t0, c0 = time.perf_counter(), time.process_time()
            futures = []
            for recs in batch.values():
                for r in recs:
                    for topic in (names.responses, names.costs, names.audit):
                        futures.append(
                            await producer.send(topic, r.value, key=r.key, headers=list(r.headers))
                        )
                    done += 1
            await asyncio.gather(*futures)
            await consumer.commit()
        assert t0 is not None and c0 is not None
        return done / (time.perf_counter() - t0), (time.process_time() - c0) / done
    finally:
        await consumer.stop()
        await producer.stop()


async def unordered_loop(
    kafka: KafkaSettings, names: TopicNames, turns: int, url: str, in_flight: int = 256
) -> tuple[float, float]:
    """(u): consume, call the gateway with aiohttp (``in_flight`` at once, any order),
    produce three records per turn, commit after each batch."""
    consumer = make_consumer(kafka, names.turns, group_id=f"bench-u-{uuid.uuid4().hex[:6]}")
    producer = make_producer(kafka)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=in_flight),
        headers={"Content-Type": "application/json", "Authorization": "Bearer bench"},
    )
    target = f"{url}{CHAT_COMPLETIONS_PATH}"
    slots = asyncio.Semaphore(in_flight)
    outputs = (names.responses, names.costs, names.audit)

    async def one(key: bytes | None, value: bytes) -> None:
        async with slots:
            turn = orjson.loads(value)
            body = orjson.dumps(
                {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": turn["text"]}],
                    "max_tokens": 512,
                }
            )
            async with session.post(target, data=body) as response:
                answer = orjson.loads(await response.read())
            out = orjson.dumps({"turn_id": turn["turn_id"], "answer": answer})
            for topic in outputs:
                await producer.send(topic, out, key=key)

    await consumer.start()
    await producer.start()
    done = 0
    try:
        t0 = c0 = None
        while done < turns:
            batch = await consumer.getmany(timeout_ms=100, max_records=2_000)
            if not batch:
                continue
            if t0 is None:
                t0, c0 = time.perf_counter(), time.process_time()
            records = [r for recs in batch.values() for r in recs]
            await asyncio.gather(*(one(r.key, r.value or b"") for r in records))
            await producer.flush()
            await consumer.commit()
            done += len(records)
        assert t0 is not None and c0 is not None
        return done / (time.perf_counter() - t0), (time.process_time() - c0) / done
    finally:
        await session.close()
        await consumer.stop()
        await producer.stop()


#: The gateway call time of the turn being processed (set per worker task by overheads()).
_call_seconds: ContextVar[list[float] | None] = ContextVar("bench_call_seconds", default=None)


@contextlib.contextmanager
def overheads(samples: list[float], acks: list[float] | None = None) -> Iterator[None]:
    """Record, per processed turn, the processor's overhead: the time from a worker taking
    the record to its outputs being acknowledged, less the gateway call; and in ``acks``
    the part of it spent waiting for the broker to acknowledge the outputs. (The bench
    wraps three methods for the run; gwstream itself carries no such timing.)"""
    process, call, publish = Processor._process, CallGateway.__call__, Publisher.publish

    async def timed_publish(self: Any, outputs: Any, change: Any) -> None:
        started = time.perf_counter()
        try:
            await publish(self, outputs, change)
        finally:
            if acks is not None:
                acks.append(time.perf_counter() - started)

    async def timed_process(self: Any, part: Any, work: Any) -> None:
        box = [0.0]
        token = _call_seconds.set(box)
        started = time.perf_counter()
        try:
            await process(self, part, work)
        finally:
            samples.append(time.perf_counter() - started - box[0])
            _call_seconds.reset(token)

    async def timed_call(self: Any, ctx: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call(self, ctx)
        finally:
            box = _call_seconds.get()
            if box is not None:
                box[0] += time.perf_counter() - started

    Processor._process = timed_process  # type: ignore[method-assign]
    CallGateway.__call__ = timed_call  # type: ignore[method-assign]
    Publisher.publish = timed_publish  # type: ignore[method-assign]
    try:
        yield
    finally:
        Processor._process = process  # type: ignore[method-assign]
        CallGateway.__call__ = call  # type: ignore[method-assign]
        Publisher.publish = publish  # type: ignore[method-assign]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def gwstream_run(
    kafka: KafkaSettings,
    names: TopicNames,
    turns: int,
    url: str,
    in_flight: int,
    *,
    cache: bool = True,
    hits: list[float] | None = None,
) -> tuple[float, float]:
    port = free_port()
    settings = Settings(
        cache=CacheSettings(max_entries=100_000 if cache else 0),
        metrics=MetricsSettings(port=port),
        kafka=kafka.model_copy(update={"group_id": f"bench-gw-{uuid.uuid4().hex[:6]}"}),
        topics=names,
        gateways={"default": GatewaySettings(base_urls=[url], max_connections=in_flight)},
        runtime=RuntimeSettings(max_in_flight=in_flight, pause_above=20_000, resume_below=10_000),
    )
    stats = RuntimeStats()
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(settings, stop, stats=stats))
    while stats.processed == 0 and not task.done():
        await asyncio.sleep(0.001)
    t0, c0, n0 = time.perf_counter(), time.process_time(), stats.processed
    last = time.perf_counter()
    while stats.processed < turns and not task.done():
        await asyncio.sleep(0.01)
        if time.perf_counter() - last > 2:
            last = time.perf_counter()
            print(
                f"    ... {stats.processed}/{turns} in flight {stats.in_flight} (limit "
                f"{stats.in_flight_limit}, loop lag {stats.loop_lag_s * 1e3:.1f} ms)",
                file=sys.stderr,
            )
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = stats.processed - n0
    if task.done():
        await task  # the processor stopped by itself: its error, not a rate
    if hits is not None:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        found = re.search(r"^gwstream_cache_hits_total (\S+)$", text, re.M)
        hits.append(float(found.group(1)) / stats.processed if found else 0.0)
    stop.set()
    await task
    return _rates(n, elapsed, cpu, turns)


class _Passthrough:
    """The runtime with gwstream's input validation but no pipeline: 3 outputs per turn."""

    def __init__(self, names: TopicNames) -> None:
        self._topics = (names.responses, names.costs, names.audit)

    def decode(self, record: InRecord) -> TurnEvent:
        return decode_turn(record)

    async def handle(self, item: TurnEvent, record: InRecord, state: KeyState) -> list[OutRecord]:
        return [OutRecord(t, record.key, record.value or b"") for t in self._topics]


class _Stateful(_Passthrough):
    """The same, plus a state change per turn the size of a live session (900 bytes:
    bench/state_bench.py measures 845 for three exchanges, compressed)."""

    async def handle(self, item: TurnEvent, record: InRecord, state: KeyState) -> list[OutRecord]:
        state.set(((state.value or b"") + (record.value or b""))[-900:])
        return [OutRecord(t, record.key, record.value or b"") for t in self._topics]


async def runtime_alone(
    kafka: KafkaSettings, names: TopicNames, turns: int, in_flight: int, *, stateful: bool = False
) -> tuple[float, float]:
    stats = RuntimeStats()
    stop = asyncio.Event()
    proc = Processor(
        kafka.model_copy(update={"group_id": f"bench-rt-{uuid.uuid4().hex[:6]}"}),
        input_topic=names.turns,
        dlq_topic=names.dlq,
        handler=_Stateful(names) if stateful else _Passthrough(names),
        settings=RuntimeSettings(max_in_flight=in_flight, pause_above=20_000, resume_below=10_000),
        stats=stats,
        changelog_topic=names.sessions if stateful else None,
    )
    async with proc:
        task = asyncio.create_task(proc.run(stop))
        while stats.processed == 0 and not task.done():
            await asyncio.sleep(0.001)
        t0, c0, n0 = time.perf_counter(), time.process_time(), stats.processed
        while stats.processed < turns and not task.done():
            await asyncio.sleep(0.01)
        elapsed, cpu, n = time.perf_counter() - t0, time.process_time() - c0, stats.processed - n0
        stop.set()
        await task
    return _rates(n, elapsed, cpu, turns)


def _rates(n: int, elapsed: float, cpu: float, turns: int) -> tuple[float, float]:
    """Turns per second and CPU seconds per turn over the measured window: from the first
    time the bench sees a turn processed to the last turn. The turns done before that
    first look are outside it; when that is all of them, there is no rate to give."""
    if n <= 0 or elapsed <= 0:
        raise SystemExit(
            f"all {turns} turns were processed before the measurement could start, so no "
            "rate can be given: run more --turns (20000 by default)"
        )
    return n / elapsed, cpu / n


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r for r, _ in runs), statistics.median(c for _, c in runs)


def _runs(runs: list[tuple[float, float]]) -> str:
    return ", ".join(f"{c * 1e6:.0f}" for _, c in runs) + " us"


def _start_simulator(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gwstream",
            "simulate-gateway",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("simulator did not start")


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, not {value}")
        return value

    return parse


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=_at_least(1), default=20_000)
    ap.add_argument("--sessions", type=_at_least(1), default=2_000)
    ap.add_argument("--partitions", type=_at_least(1), default=8)
    ap.add_argument("--in-flight", type=_at_least(1), default=2_000)
    ap.add_argument(
        "--repeat", type=_at_least(1), default=5, help="runs of (r) and (s), medians shown"
    )
    ap.add_argument(
        "--faq",
        type=_at_least(0),
        default=0,
        help="sessions open with one of N questions: (c) only",
    )
    args = ap.parse_args()
    # Every run (the baselines too) with the garbage collector as gwstream runs it.
    tune_gc(DEFAULT_GC_YOUNG_THRESHOLD)
    async with EmbeddedBroker() as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
        )
        print(
            f"embedded broker {broker.bootstrap_servers}; {args.turns} turns, {args.sessions} sessions, "
            f"{args.partitions} partitions, {args.in_flight} in flight"
        )
        if args.faq:
            await _cached_runs(kafka, args)
            return
        names = _names("base", args.partitions)
        await topics.apply(kafka, names)
        await _publish(kafka, names, args.turns, args.sessions)
        base_rate, base_cpu = await baseline(kafka, names, args.turns)
        # The runtime with and without state, alternately: single runs move by tens of
        # percent on a shared 2-core machine, so medians of several are compared.
        plain, stateful = [], []
        for i in range(args.repeat):
            plain.append(await runtime_alone(kafka, names, args.turns, args.in_flight))
            fresh = names.model_copy(update={"sessions": f"{names.sessions}-{i}"})
            await topics.apply(kafka, fresh)
            stateful.append(
                await runtime_alone(kafka, fresh, args.turns, args.in_flight, stateful=True)
            )
        rt_rate, rt_cpu = _median(plain)
        st_rate, st_cpu = _median(stateful)
        print(
            f"(r) gwstream runtime, no gateway:    {rt_rate:9.0f} turns/s  {rt_cpu * 1e6:7.0f} us CPU/turn"
            f"  (median of {args.repeat}: {_runs(plain)})"
        )
        print(
            f"(s) runtime + state changelog:       {st_rate:9.0f} turns/s  {st_cpu * 1e6:7.0f} us CPU/turn"
            f"  (median of {args.repeat}: {_runs(stateful)})"
        )
        print(
            f"    state costs {100 * (st_cpu / rt_cpu - 1):+.0f}% CPU per turn (target at most +25%)"
        )
        print(
            f"(a) raw aiokafka passthrough:        {base_rate:9.0f} turns/s  {base_cpu * 1e6:7.0f} us CPU/turn"
        )
        results = {}
        for latency in (0.0, 200.0):
            sim, url = _start_simulator(latency)
            try:
                if latency == 0.0:
                    names = _names("u", args.partitions)
                    await topics.apply(kafka, names)
                    await _publish(kafka, names, args.turns, args.sessions)
                    u_rate, u_cpu = await unordered_loop(kafka, names, args.turns, url)
                    print(
                        f"(u) unordered aiohttp loop, 256 calls: {u_rate:7.0f} turns/s  "
                        f"{u_cpu * 1e6:7.0f} us CPU/turn"
                    )
                names = _names(f"gw{int(latency)}", args.partitions)
                await topics.apply(kafka, names)
                await _publish(kafka, names, args.turns, args.sessions)
                samples: list[float] = []
                acks: list[float] = []
                with overheads(samples, acks):
                    rate, cpu = await gwstream_run(kafka, names, args.turns, url, args.in_flight)
            finally:
                sim.terminate()
                sim.wait()
            results[latency] = rate
            print(
                f"(b) gwstream, gateway at {latency:3.0f} ms:    {rate:9.0f} turns/s  {cpu * 1e6:7.0f} us CPU/turn"
                f"  ratio b/a {rate / base_rate:.2f}, CPU b/u {cpu / u_cpu:.2f} (target at 0 ms: at most 1.5)"
            )
            print(
                f"    processor overhead per turn (all but the gateway call): p50 "
                f"{_percentile(samples, 0.5) * 1e3:.1f} ms, p99 {_percentile(samples, 0.99) * 1e3:.1f} ms"
                " (target at 200 ms: p99 under 10 ms)"
            )
            print(
                f"      of which waiting for the broker's acknowledgement: p50 "
                f"{_percentile(acks, 0.5) * 1e3:.1f} ms, p99 {_percentile(acks, 0.99) * 1e3:.1f} ms"
            )


async def _cached_runs(kafka: KafkaSettings, args: argparse.Namespace) -> None:
    """(c): the answer cache on and off, alternately, on a workload whose sessions open
    with common questions; medians of ``--repeat`` runs each."""
    sim, url = _start_simulator(0.0)
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    hits: list[float] = []
    try:
        for i in range(args.repeat):
            for cache in (True, False):
                names = _names(f"faq{i}{int(cache)}", args.partitions)
                await topics.apply(kafka, names)
                await _publish(kafka, names, args.turns, args.sessions, args.faq)
                runs[cache].append(
                    await gwstream_run(
                        kafka,
                        names,
                        args.turns,
                        url,
                        args.in_flight,
                        cache=cache,
                        hits=hits if cache else None,
                    )
                )
    finally:
        sim.terminate()
        sim.wait()
    openers = min(args.sessions, args.turns)
    for cache in (True, False):
        rate, cpu = _median(runs[cache])
        extra = f", {statistics.median(hits):.1%} of turns from the cache" if cache else ""
        print(
            f"(c) gwstream at 0 ms, {openers} sessions opening with {args.faq} questions, "
            f"cache {'on ' if cache else 'off'}: {rate:9.0f} turns/s  {cpu * 1e6:7.0f} us CPU/turn"
            f"  (median of {args.repeat}: {_runs(runs[cache])}{extra})"
        )


if __name__ == "__main__":
    asyncio.run(main())
