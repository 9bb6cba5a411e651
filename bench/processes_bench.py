"""Does ``gwstream run --processes N`` scale? Turns/s of 1 and of N processes, same workload.

Each run publishes the same turns to fresh topics on the embedded broker, starts
``gwstream run --processes P`` as a subprocess (configured by GWSTREAM_*
variables) against the gateway simulator in its own process, and counts the
responses as they arrive. The rate is taken between 10% and 90% of the turns
answered, so the start (the consumer group's joins) and the tail are left out.
Runs alternate between 1 and N processes; medians are printed with the ratio
(issue target on this 2-core machine: N = 2 at least 1.5 times one process).
Remember the broker and the simulator share the same cores.

Usage: python bench/processes_bench.py [--turns 20000] [--sessions 2000] [--processes 2]
       [--latency-ms 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from pathlib import Path

from gwstream import topics
from gwstream.broker import EmbeddedBroker
from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import make_consumer, partitions_of, start_client

sys.path.insert(0, str(Path(__file__).parent))
from throughput import _names, _publish, _start_simulator


def _env(kafka: KafkaSettings, names: TopicNames, url: str, in_flight: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env.update(
        {
            "GWSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "GWSTREAM_KAFKA__GROUP_ID": f"bench-{names.turns}",
            "GWSTREAM_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "GWSTREAM_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
            "GWSTREAM_TOPICS__TURNS": names.turns,
            "GWSTREAM_TOPICS__RESPONSES": names.responses,
            "GWSTREAM_TOPICS__COSTS": names.costs,
            "GWSTREAM_TOPICS__AUDIT": names.audit,
            "GWSTREAM_TOPICS__DLQ": names.dlq,
            "GWSTREAM_TOPICS__SESSIONS": names.sessions,
            "GWSTREAM_GATEWAYS__DEFAULT__BASE_URLS": f'["{url}"]',
            "GWSTREAM_GATEWAYS__DEFAULT__MAX_CONNECTIONS": str(in_flight),
            "GWSTREAM_RUNTIME__MAX_IN_FLIGHT": str(in_flight),
            "GWSTREAM_RUNTIME__PAUSE_ABOVE": "20000",
            "GWSTREAM_RUNTIME__RESUME_BELOW": "10000",
            "GWSTREAM_LOG_LEVEL": "WARNING",
        }
    )
    return env


async def _rate(kafka: KafkaSettings, topic: str, turns: int, timeout_s: float) -> float:
    """Turns/s between 10% and 90% of ``turns`` responses on ``topic``."""
    consumer = make_consumer(kafka, group_id=None)
    await start_client(consumer, kafka)
    seen: set[bytes] = set()
    marks: dict[str, float] = {}
    low, high = turns // 10, turns * 9 // 10
    try:
        partitions = await partitions_of(consumer, topic, 30)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout_s
        while len(seen) < high:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(seen)} of {turns} turns answered in {timeout_s}s")
            batch = await consumer.getmany(timeout_ms=200, max_records=5_000)
            for records in batch.values():
                seen.update(dict(r.headers)["ce_subject"] for r in records)
            now = time.perf_counter()
            if len(seen) >= low:
                marks.setdefault("low", now)
        marks["high"] = time.perf_counter()
        return (high - low) / (marks["high"] - marks["low"])
    finally:
        await consumer.stop()


async def _one(
    kafka: KafkaSettings, args: argparse.Namespace, url: str, processes: int, i: int
) -> float:
    names = _names(f"p{processes}-{i}", args.partitions)
    await topics.apply(kafka, names)
    await _publish(kafka, names, args.turns, args.sessions)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gwstream",
        "run",
        "--processes",
        str(processes),
        env=_env(kafka, names, url, args.in_flight),
    )
    try:
        return await _rate(kafka, names.responses, args.turns, timeout_s=600)
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=20_000)
    ap.add_argument("--sessions", type=int, default=2_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--in-flight", type=int, default=2_000)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    async with EmbeddedBroker() as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
        )
        sim, url = _start_simulator(args.latency_ms)
        rates: dict[int, list[float]] = {1: [], args.processes: []}
        try:
            for i in range(args.repeat):
                for p in rates:
                    rate = await _one(kafka, args, url, p, i)
                    rates[p].append(rate)
                    print(f"  run {i + 1}: {p} process(es): {rate:7.0f} turns/s", flush=True)
        finally:
            sim.terminate()
            sim.wait()
    one, many = statistics.median(rates[1]), statistics.median(rates[args.processes])
    print(
        f"{args.turns} turns, {args.sessions} sessions, {args.partitions} partitions, gateway at "
        f"{args.latency_ms:.0f} ms, {os.cpu_count()} cores (broker and simulator on them too)"
    )
    print(f"1 process:  {one:7.0f} turns/s (median of {args.repeat})")
    print(f"{args.processes} processes: {many:7.0f} turns/s (median of {args.repeat})")
    print(f"ratio {many / one:.2f} (target for 2 processes on 2 cores: at least 1.5)")


if __name__ == "__main__":
    asyncio.run(main())
