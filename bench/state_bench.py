"""Session state at scale: restore time and memory with 100,000 live sessions.

Writes the session changelog as the processor would (realistic sessions
encoded by gwstream's own Session model: a few exchanges of contact-center
text, the outcomes kept for replay), ``--versions`` changes per session, so
the changelog holds several times more records than live sessions. Then:

1. starts ``gwstream run`` (a subprocess, embedded broker) with no turns to
   process: it restores every partition from the whole changelog (no
   snapshot exists yet), and its RSS is read from /proc once it has;
2. waits for the snapshots that restore triggers (the changes read outnumber
   the live sessions), stops it with SIGTERM, and starts it again: this
   restore reads from the snapshots, so it reads about one record per live
   session whatever the history.

Prints for each: sessions restored, records read, seconds, RSS. Targets
(DESIGN.md): restore in under 10 s, 100,000 live sessions in under 500 MB.
Usage: python bench/state_bench.py [--sessions 100000] [--versions 3] [--partitions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from gwstream import topics
from gwstream.broker import EmbeddedBroker
from gwstream.config import KafkaSettings, TopicNames
from gwstream.kafkaio import key_partitioner, make_producer
from gwstream.pipeline import Outcome, Session, Status
from gwstream.pipeline.session import Message
from gwstream.simulator.replies import REPLY_TEMPLATES

QUESTIONS = (
    "My internet has been dropping every evening since Tuesday, can you check the line?",
    "I was charged twice for my mobile plan this month.",
    "Where is my order? It was supposed to arrive yesterday.",
    "I don't recognise a card payment from yesterday, what should I do?",
    "Does my home policy cover water damage from a burst pipe?",
    "Thanks. What happens next?",
    "Okay, and how long will that take?",
)
RESTORED = re.compile(
    r"restored \S+ partitions \[[^]]*\]: (\d+) keys from (\d+) records .* in ([\d.]+)s"
)


def session_bytes(i: int, exchanges: int, produced_at: datetime) -> bytes:
    """A session after ``exchanges`` turns, as the pipeline would store it."""
    s = Session()
    for n in range(exchanges):
        tid = f"s{i}-{n}"
        question = f"{QUESTIONS[(i + n) % len(QUESTIONS)]} (ref {i}-{n})"
        answer = f"{REPLY_TEMPLATES[(i * 7 + n) % len(REPLY_TEMPLATES)]} Reference {i}-{n}."
        s.add_exchange(
            Message("user", question, len(question) // 4, tid),
            Message("assistant", answer, len(answer) // 4, tid),
            20,
        )
        outcome = Outcome(
            Status.OK,
            text=answer,
            gateway="default",
            request_model="gpt-4o-mini",
            response_model="gpt-4o-mini-2024-07-18",
            response_id=f"chatcmpl-{uuid.UUID(int=i * 64 + n).hex[:24]}",
            finish_reason="stop",
            input_tokens=120 + 60 * n,
            output_tokens=len(answer) // 4,
            usage_source="gateway",
            endpoint="https://gateway.example/v1",
            attempts=1,
            latency_ms=812.25,
            price_source="bundled",
            history_messages=2 * n,
            produced_at=produced_at,
        )
        s.remember(tid, outcome.to_dict(), keep=8)
        s.last_position, s.turns = i * 10 + n, n + 1
    return s.encode()


async def write_changelog(
    kafka: KafkaSettings, names: TopicNames, sessions: int, versions: int
) -> tuple[int, int]:
    producer = make_producer(kafka, linger_ms=20)
    await producer.start()
    now = datetime.now(UTC)
    partitions = list(range(names.partitions))
    written = size = 0
    try:
        for v in range(1, versions + 1):
            batch = []
            for i in range(sessions):
                key = f"tenant-{i % 7}:s{i}".encode()
                value = session_bytes(i, v, now)
                part = key_partitioner(key, partitions, partitions)
                batch.append((names.sessions, key, value, part))
                if v == versions:
                    size += len(value)
                if len(batch) >= 5_000:
                    written += await _send(producer, batch)
                    batch = []
            written += await _send(producer, batch)
            print(f"  wrote version {v} of {sessions} sessions ({written} records)")
    finally:
        await producer.stop()
    return written, size // sessions


async def _send(producer: object, batch: list[tuple[str, bytes, bytes, int]]) -> int:
    futures = [
        await producer.send(topic, value, key=key, partition=part)  # type: ignore[attr-defined]
        for topic, key, value, part in batch
    ]
    await asyncio.gather(*futures)
    return len(futures)


def _env(kafka: KafkaSettings, names: TopicNames) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env.update(
        {
            "GWSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "GWSTREAM_KAFKA__GROUP_ID": kafka.group_id,
            "GWSTREAM_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "GWSTREAM_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
            "GWSTREAM_LOG_LEVEL": "INFO",
            "GWSTREAM_STATE__EXPIRY_CHECK_S": "3600",
            "GWSTREAM_STATE__SNAPSHOT_MIN_CHANGES": "1000",
            **{f"GWSTREAM_TOPICS__{k.upper()}": str(v) for k, v in names.model_dump().items()},
        }
    )
    return env


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_log(
    log: Path, pattern: re.Pattern[str], count: int, timeout: float
) -> list[re.Match[str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(pattern.finditer(log.read_text()))
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"{count} x {pattern.pattern!r} not in {log} after {timeout}s")


def run_once(env: dict[str, str], log: Path, partitions: int, snapshots: bool) -> dict[str, float]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gwstream", "run"], env=env, stdout=out, stderr=out
        )
    try:
        m = _wait_log(log, RESTORED, 1, timeout=300)[0]
        rss = _rss_mb(proc.pid)
        result = {"keys": int(m[1]), "records": int(m[2]), "seconds": float(m[3]), "rss_mb": rss}
        if snapshots:
            _wait_log(log, re.compile(r"snapshot of \S+\[\d+\]"), partitions, timeout=300)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        return result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--versions", type=int, default=3, help="changes written per session")
    ap.add_argument("--partitions", type=int, default=8)
    args = ap.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="gwstream-state-"))
    async with EmbeddedBroker() as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, group_id=f"bench-{uuid.uuid4().hex[:6]}"
        )
        s = uuid.uuid4().hex[:6]
        names = TopicNames.prefixed(f"st-{s}", partitions=args.partitions)
        await topics.apply(kafka, names)
        print(
            f"embedded broker {broker.bootstrap_servers}; {args.sessions} sessions x "
            f"{args.versions} changes, {args.partitions} partitions; logs in {logs}"
        )
        started = time.monotonic()
        written, avg = await write_changelog(kafka, names, args.sessions, args.versions)
        print(
            f"changelog: {written} records in {time.monotonic() - started:.1f}s; "
            f"a live session is {avg} bytes (compressed JSON)"
        )
        env = _env(kafka, names)
        loop = asyncio.get_running_loop()
        full = await loop.run_in_executor(
            None, run_once, env, logs / "first.log", args.partitions, True
        )
        snap = await loop.run_in_executor(
            None, run_once, env, logs / "second.log", args.partitions, False
        )
    for label, r in (("whole changelog (no snapshot yet)", full), ("from the snapshots", snap)):
        print(
            f"restore {label:34s} {r['keys']:7.0f} sessions from {r['records']:8.0f} records "
            f"in {r['seconds']:6.2f}s (target < 10 s: {'PASS' if r['seconds'] < 10 else 'MISS'}); "
            f"RSS {r['rss_mb']:6.0f} MB (target < 500 MB: {'PASS' if r['rss_mb'] < 500 else 'MISS'})"
        )


if __name__ == "__main__":
    asyncio.run(main())
