"""What a crash costs: SIGKILL a real ``gwstream run`` several times mid-stream, then count.

Scenario: every turn is published first (sessions interleaved the way a
platform publishes them: seq 0 of every session, then seq 1, ...), then the
processor starts as a subprocess (``python -m gwstream run``, configured by
GWSTREAM_* variables) against the embedded broker and a gateway simulator in
its own process. Each time the responses topic shows a further share of the
turns answered (15% ... 75% for five kills), the processor gets SIGKILL and is
restarted at once. After the last restart the bench waits until every turn has
a response, stops the processor with SIGTERM and reads the responses topic to
its end.

Prints lost turns, responses per turn, gateway calls per turn (the
simulator's count of completion requests; target <= 1.01), sessions answered
out of order, refusals and failures by reason, wall time. The calls beyond one
per turn are split by the simulator's log of call start times per turn id
(gwstream sends the turn id as X-Request-ID) against each turn's first
response: replays of answered turns (DESIGN.md: under 1% of turns) apart from
re-calls of turns whose first call died with the process. The simulator is
this script in ``--serve-simulator`` mode, so it can serve that log.
Exit code 0 when no turn is lost and no session is out of order, else 1.

Usage: python bench/chaos.py [--turns 20000] [--sessions 2000] [--partitions 8]
       [--kills 5] [--latency-ms 50] [--max-in-flight 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

import aiohttp
import orjson
from aiohttp import web
from aiokafka import ConsumerRecord, TopicPartition

from gwstream import topics
from gwstream.broker import EmbeddedBroker, free_port
from gwstream.config import KafkaSettings, TopicNames
from gwstream.events import TurnEvent, turn_headers
from gwstream.kafkaio import make_consumer, make_producer, send_all, start_client
from gwstream.simulator import GatewaySimulator, SimulatorConfig
from gwstream.simulator.routes import TOKEN_ROUTES
from gwstream.simulator.stats import Counters, Handler

CALLS_PER_TURN_TARGET = 1.01
PROGRESS_EVERY_S = 5.0
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


def _die_with_parent() -> None:  # runs in the child before exec
    """Have Linux SIGKILL the child when this bench dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# -- the simulator, in its own process with a stats endpoint ---------------------------


def _log_calls(calls: dict[str, list[float]]) -> None:
    """Have every simulator started in this process note each gateway call's start time by
    its ``X-Request-ID`` (gwstream sends the turn id), so the report can tell a replayed
    call from a call that was lost in flight. Wraps the simulator's own counting hook."""
    counted = Counters.counted

    def counting(self: Counters, route: str, handler: Handler) -> Handler:
        inner = counted(self, route, handler)
        if route in TOKEN_ROUTES.values():
            return inner

        async def run(request: web.Request) -> web.StreamResponse:
            calls.setdefault(request.headers.get("X-Request-ID", ""), []).append(time.time())
            return await inner(request)

        return run

    Counters.counted = counting  # type: ignore[method-assign]


async def _serve_simulator(args: argparse.Namespace) -> None:
    """Child mode: serve the simulator on ``--sim-port``, and on ``--stats-port`` its stats
    (``/stats``) and the start times of the gateway calls by turn id (``/calls``)."""
    calls: dict[str, list[float]] = {}
    _log_calls(calls)
    config = SimulatorConfig(
        latency_ms=args.latency_ms, latency_jitter_ms=args.jitter_ms, seed=args.seed
    )
    async with GatewaySimulator(config, port=args.sim_port) as sim:

        async def stats(request: web.Request) -> web.Response:
            snapshot = dataclasses.asdict(sim.stats)
            snapshot.pop("routes")
            return web.json_response(snapshot)

        async def call_log(request: web.Request) -> web.Response:
            return web.Response(body=orjson.dumps(calls), content_type="application/json")

        app = web.Application()
        app.router.add_get("/stats", stats)
        app.router.add_get("/calls", call_log)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.stats_port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


class SimulatorProcess:
    """The simulator child, started by this same script in ``--serve-simulator`` mode."""

    def __init__(self, args: argparse.Namespace, log: Path) -> None:
        sim_port, stats_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{sim_port}"
        self._stats_base = f"http://127.0.0.1:{stats_port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--serve-simulator",
                    f"--sim-port={sim_port}",
                    f"--stats-port={stats_port}",
                    f"--latency-ms={args.latency_ms}",
                    f"--jitter-ms={args.jitter_ms}",
                    f"--seed={args.seed}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent,
            )
        self._http: aiohttp.ClientSession | None = None

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulator exited at start with {self.proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await self.stats()
                async with self._http.get(f"{self.url}/health") as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not answer within {timeout_s:.0f}s")
            await asyncio.sleep(0.05)

    async def stats(self) -> dict[str, Any]:
        return await self._get("stats")  # type: ignore[no-any-return]

    async def calls(self) -> dict[str, list[float]]:
        """Turn id -> start times (epoch seconds) of the gateway calls made for it."""
        return await self._get("calls")  # type: ignore[no-any-return]

    async def _get(self, what: str) -> Any:
        assert self._http is not None
        async with self._http.get(f"{self._stats_base}/{what}") as resp:
            resp.raise_for_status()
            return orjson.loads(await resp.read())

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        await _stop(self.proc, signal.SIGTERM, 10.0)


# -- the processor under test ----------------------------------------------------------


def _env(
    args: argparse.Namespace, kafka: KafkaSettings, names: TopicNames, url: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env.update(
        {f"GWSTREAM_TOPICS__{field.upper()}": str(v) for field, v in names.model_dump().items()}
    )
    gateway = {"base_urls": [url], "timeout_s": 10, "max_connections": args.max_in_flight}
    env.update(
        {
            "GWSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "GWSTREAM_KAFKA__GROUP_ID": kafka.group_id,
            "GWSTREAM_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "GWSTREAM_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
            "GWSTREAM_GATEWAYS": json.dumps({"default": gateway}),
            "GWSTREAM_RUNTIME__MAX_IN_FLIGHT": str(args.max_in_flight),
            "GWSTREAM_RUNTIME__COMMIT_INTERVAL_S": str(args.commit_interval_s),
            "GWSTREAM_RUNTIME__STATS_INTERVAL_S": "5",
            "GWSTREAM_LOG_LEVEL": "INFO",
        }
    )
    return env


class ProcessorProcess:
    """One ``gwstream run``; its output goes to ``log`` (appended over restarts)."""

    def __init__(self, env: dict[str, str], log: Path, generation: int) -> None:
        self.log = log
        with log.open("ab") as out:
            out.write(f"\n===== chaos: processor start #{generation} =====\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gwstream", "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent,
            )
        self.started = time.monotonic()

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"the processor exited on its own with {self.proc.returncode}; log tail:\n{tail}"
            )


async def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout_s: float) -> int:
    """Send ``sig`` and wait up to ``timeout_s`` for the exit (then SIGKILL); the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        deadline = time.monotonic() + timeout_s
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
            while proc.poll() is None:
                await asyncio.sleep(0.02)
    return proc.returncode


# -- input and output topics -----------------------------------------------------------


def _turns(turns: int, sessions: int, tenants: int = 7) -> list[TurnEvent]:
    out = []
    for i in range(turns):
        s, seq = i % sessions, i // sessions
        tenant = f"tenant-{s % tenants}"
        out.append(
            TurnEvent(
                turn_id=f"{tenant}-s{s}-{seq}",
                tenant_id=tenant,
                session_id=f"s{s}",
                seq=seq,
                occurred_at=T0 + timedelta(seconds=s * 60 + seq * 5),
                text=f"Question {seq} from session {s}: where is my order number {1000 + s}?",
            )
        )
    return out


async def _publish(kafka: KafkaSettings, topic: str, turns: list[TurnEvent]) -> None:
    producer = make_producer(kafka, linger_ms=20)
    await start_client(producer, kafka)
    try:
        for i in range(0, len(turns), 5_000):
            chunk = turns[i : i + 5_000]
            await send_all(
                producer, [(topic, t.key.encode(), t.to_json(), turn_headers(t)) for t in chunk]
            )
    finally:
        await producer.stop()


class ResponseReader:
    """Reads the responses topic from the start, in the background, in per-partition order.

    Answered turns are told by the ``ce_subject`` header (the turn id), so
    following progress costs no JSON parsing. (End offsets are not used: the
    embedded broker reports them short; quiet is waited for instead.)
    """

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._kafka, self._topic = kafka, topic
        self.by_partition: dict[int, list[Record]] = defaultdict(list)
        self.answered: set[str] = set()
        self.records = 0
        self.last_record_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = make_consumer(self._kafka, group_id=None)
        await start_client(self._consumer, self._kafka)
        parts = await self._partitions(timeout_s=30.0)
        self._consumer.assign(parts)
        await self._consumer.seek_to_beginning(*parts)
        self._task = asyncio.create_task(self._run())

    async def _partitions(self, timeout_s: float) -> list[TopicPartition]:
        deadline = time.monotonic() + timeout_s
        while not (found := self._consumer.partitions_for_topic(self._topic)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {self._topic} has no partitions")
            await self._consumer.topics()  # refreshes metadata
            await asyncio.sleep(0.05)
        return [TopicPartition(self._topic, p) for p in sorted(found)]

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=10_000)
            for tp, recs in batch.items():
                self.by_partition[tp.partition].extend(recs)
                for r in recs:
                    self.answered.add(_subject(r))
                self.records += len(recs)
                self.last_record_at = time.monotonic()

    def check(self) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # raises what stopped the reader

    async def settle(self, quiet_s: float, timeout_s: float) -> bool:
        """Wait until no record arrived for ``quiet_s``; False if that took over ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() - self.last_record_at < quiet_s:
            self.check()
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


def _subject(r: Record) -> str:
    for k, v in r.headers:
        if k == "ce_subject":
            return bytes(v).decode()
    return str(orjson.loads(r.value or b"")["turn_id"])


# -- the run ---------------------------------------------------------------------------


def _kill_points(turns: int, kills: int) -> list[int]:
    """Answered-turn counts at which to kill: spread evenly over 15%..75% of the turns."""
    if kills <= 0:
        return []
    if kills == 1:
        return [math.ceil(0.45 * turns)]
    return [math.ceil((0.15 + 0.6 * i / (kills - 1)) * turns) for i in range(kills)]


class Run:
    """Drives the processor through its kills and restarts; prints progress as it goes."""

    def __init__(
        self,
        args: argparse.Namespace,
        env: dict[str, str],
        log: Path,
        reader: ResponseReader,
        sim: SimulatorProcess,
        deadline: float,
    ) -> None:
        self.args, self.env, self.log = args, env, log
        self.reader, self.sim, self.deadline = reader, sim, deadline
        self.generation = 0
        self.processor: ProcessorProcess | None = None
        self.kills = 0
        self.t0 = time.monotonic()
        self._last_progress = 0.0

    def start_processor(self) -> ProcessorProcess:
        self.generation += 1
        self.processor = ProcessorProcess(self.env, self.log, self.generation)
        return self.processor

    async def progress(self, label: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        stats = await self.sim.stats()
        print(
            f"  [{now - self.t0:6.1f}s] {label}: answered {len(self.reader.answered)}/"
            f"{self.args.turns}, responses {self.reader.records}, gateway calls "
            f"{stats['requests']} (in flight {stats['in_flight']})",
            flush=True,
        )

    async def wait_answered(self, count: int, label: str) -> bool:
        """Wait until ``count`` turns are answered; False when the run's deadline passed."""
        assert self.processor is not None
        while len(self.reader.answered) < count:
            self.processor.check_alive()
            self.reader.check()
            if time.monotonic() > self.deadline:
                return False
            await self.progress(label)
            await asyncio.sleep(0.02)
        return True

    async def kill_and_restart(self) -> None:
        assert self.processor is not None
        victim = self.processor
        code = await _stop(victim.proc, signal.SIGKILL, 10.0)
        self.kills += 1
        stats = await self.sim.stats()
        lived = time.monotonic() - victim.started
        print(
            f"  kill {self.kills}: SIGKILL after {lived:.1f}s (exit {code}) at "
            f"{len(self.reader.answered)}/{self.args.turns} answered, "
            f"{stats['requests']} gateway calls so far; restarting",
            flush=True,
        )
        self.start_processor()


async def _chaos(args: argparse.Namespace, workdir: Path) -> int:
    turns = _turns(args.turns, args.sessions)
    turn_ids = {t.turn_id for t in turns}
    async with EmbeddedBroker(log_file=workdir / "broker.log") as broker:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            group_id=f"chaos-{uuid.uuid4().hex[:6]}",
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
        )
        names = TopicNames(partitions=args.partitions)
        created = await topics.apply(kafka, names)
        print(
            f"embedded broker {broker.bootstrap_servers}; topics {', '.join(created)}; "
            f"logs in {workdir}"
        )
        t_pub = time.monotonic()
        await _publish(kafka, names.turns, turns)
        print(
            f"published {len(turns)} turns over {args.sessions} sessions in "
            f"{time.monotonic() - t_pub:.1f}s (all before the processor starts); gateway latency "
            f"{args.latency_ms:g} +- {args.jitter_ms:g} ms, max_in_flight {args.max_in_flight}, "
            f"commit every {args.commit_interval_s:g}s"
        )

        sim = SimulatorProcess(args, workdir / "simulator.log")
        reader = ResponseReader(kafka, names.responses)
        run: Run | None = None
        try:
            await sim.wait_ready()
            await reader.start()
            env = _env(args, kafka, names, sim.url)
            deadline = time.monotonic() + args.timeout_s
            run = Run(args, env, workdir / "processor.log", reader, sim, deadline)
            run.start_processor()

            completed = True
            for n, point in enumerate(_kill_points(args.turns, args.kills), 1):
                floor = len(reader.answered)
                # At least one new answer from this generation, so no kill lands before it works.
                if not await run.wait_answered(max(point, floor + 1), f"before kill {n}"):
                    completed = False
                    break
                await run.kill_and_restart()
            if completed:
                completed = await run.wait_answered(args.turns, "after the last restart")
            all_answered_s = time.monotonic() - run.t0
            await run.progress("all answered" if completed else "TIMED OUT", force=True)

            assert run.processor is not None
            t_stop = time.monotonic()
            exit_code = await _stop(run.processor.proc, signal.SIGTERM, 60.0)
            stop_s = time.monotonic() - t_stop
            settled = await reader.settle(quiet_s=1.5, timeout_s=30.0)
            outcome = Outcome(
                kills=run.kills,
                completed=completed,
                all_answered_s=all_answered_s,
                wall_s=time.monotonic() - run.t0,
                exit_code=exit_code,
                stop_s=stop_s,
                settled=settled,
                stats=await sim.stats(),
                call_log=await sim.calls(),
            )
        finally:
            if run is not None and run.processor is not None:
                await _stop(run.processor.proc, signal.SIGKILL, 10.0)
            await reader.stop()
            await sim.close()
    return _report(args, turn_ids, reader, outcome)


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    kills: int
    completed: bool
    all_answered_s: float
    wall_s: float
    exit_code: int
    stop_s: float
    settled: bool
    stats: dict[str, Any]
    call_log: dict[str, list[float]]


@dataclasses.dataclass(frozen=True, slots=True)
class CallSplit:
    """The gateway calls beyond one per turn, by when they were made.

    ``after_answer``: calls started after the turn's first response was
    produced (replays of answered work: DESIGN's "under 1% of turns").
    ``before_answer``: second and later calls started before it (work lost in
    flight or unpublished at a kill, or retries). ``uncalled``: turns
    answered without any call.
    """

    after_answer: int
    before_answer: int
    uncalled: int


def _split_calls(call_log: dict[str, list[float]], first_answer_ms: dict[str, int]) -> CallSplit:
    after = before = uncalled = 0
    for turn_id, answered_ms in first_answer_ms.items():
        starts = call_log.get(turn_id, [])
        if not starts:
            uncalled += 1
            continue
        late = sum(1 for t in starts if t * 1000 > answered_ms)
        after += late
        before += max(len(starts) - late - 1, 0)
    return CallSplit(after, before, uncalled)


def _report(
    args: argparse.Namespace, turn_ids: set[str], reader: ResponseReader, outcome: Outcome
) -> int:
    per_turn: Counter[str] = Counter()
    first_answer_ms: dict[str, int] = {}
    event_ids: dict[str, set[str]] = defaultdict(set)
    not_ok: Counter[str] = Counter()
    out_of_order: list[str] = []
    for records in reader.by_partition.values():
        seqs: dict[bytes | None, list[int]] = defaultdict(list)
        for r in sorted(records, key=lambda r: r.offset):
            ev = orjson.loads(r.value or b"")
            turn_id = ev["turn_id"]
            if turn_id not in per_turn:
                seqs[r.key].append(ev["seq"])
            first_answer_ms[turn_id] = min(r.timestamp, first_answer_ms.get(turn_id, r.timestamp))
            per_turn[turn_id] += 1
            event_ids[turn_id].add(ev["event_id"])
            if ev["status"] != "ok":
                not_ok[f"{ev['status']}/{ev.get('reason')}"] += 1
        out_of_order += [
            (k or b"").decode()
            for k, s in seqs.items()
            if any(a > b for a, b in itertools.pairwise(s))
        ]
    turns = len(turn_ids)
    lost = sorted(turn_ids - set(per_turn))
    unknown = set(per_turn) - turn_ids
    responses = sum(per_turn.values())
    calls = int(outcome.stats["requests"])
    calls_per_turn = calls / turns
    split = _split_calls(outcome.call_log, first_answer_ms)
    max_turn, max_count = per_turn.most_common(1)[0] if per_turn else ("-", 0)
    mixed_ids = sum(1 for ids in event_ids.values() if len(ids) > 1)
    verdict = "PASS" if calls_per_turn <= CALLS_PER_TURN_TARGET else "MISS"
    clean = "clean" if outcome.exit_code == 0 else "NOT CLEAN"
    timed_out = "" if outcome.completed else f", TIMED OUT at {args.timeout_s:g}s"

    lines = [
        ("turns published", f"{turns}"),
        ("sessions", f"{args.sessions}"),
        ("partitions", f"{args.partitions}"),
        ("kills done", f"{outcome.kills} of {args.kills} (SIGKILL, restarted at once)"),
        ("lost turns (no response)", f"{len(lost)}" + (f"  e.g. {lost[:5]}" if lost else "")),
        (
            "responses per turn",
            f"{responses / turns:.3f}  ({responses} records; max {max_count} for {max_turn})",
        ),
        (
            "gateway calls per turn",
            f"{calls_per_turn:.3f}  ({calls} calls; target <= {CALLS_PER_TURN_TARGET}: {verdict})",
        ),
        (
            "  of which replays",
            f"{split.after_answer} ({split.after_answer / turns:.1%} of turns) started after "
            "the turn's first response",
        ),
        (
            "  of which re-calls",
            f"{split.before_answer} ({split.before_answer / turns:.1%} of turns) started before "
            "it (lost in flight at a kill, or retried)",
        ),
        ("turns answered uncalled", f"{split.uncalled}"),
        ("gateway answers by status", f"{dict(sorted(outcome.stats['by_status'].items()))}"),
        (
            "sessions out of order",
            f"{len(out_of_order)}" + (f"  e.g. {out_of_order[:5]}" if out_of_order else ""),
        ),
        ("duplicates with other ids", f"{mixed_ids} turns"),
        (
            "responses status != ok",
            f"{sum(not_ok.values())}"
            + (f"  by reason {dict(not_ok.most_common())}" if not_ok else ""),
        ),
        (
            "wall time",
            f"{outcome.wall_s:.1f}s (all answered after {outcome.all_answered_s:.1f}s{timed_out})",
        ),
        (
            "processor after SIGTERM",
            f"exit {outcome.exit_code} ({clean}) in {outcome.stop_s:.1f}s",
        ),
    ]
    if unknown:
        lines.append(("responses for unknown turns", f"{len(unknown)}"))
    ok = not lost and not out_of_order
    lines.append(("result", f"{'PASS' if ok else 'FAIL'} (lost == 0 and out of order == 0)"))
    print("\nchaos results")
    for label, value in lines:
        print(f"  {label + ':':28} {value}")
    if not outcome.settled:
        print("  (the responses topic was still growing when the bench stopped reading it)")
    return 0 if ok else 1


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--turns", type=int, default=20_000)
    ap.add_argument("--sessions", type=int, default=2_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=50.0, help="gateway latency, mean")
    ap.add_argument("--jitter-ms", type=float, default=25.0, help="uniform +- around the mean")
    ap.add_argument("--max-in-flight", type=int, default=2_000, help="runtime.max_in_flight")
    ap.add_argument(
        "--commit-interval-s", type=float, default=1.0, help="runtime.commit_interval_s"
    )
    ap.add_argument("--timeout-s", type=float, default=900.0, help="bound on the whole run")
    ap.add_argument("--seed", type=int, default=7, help="simulator latency draws")
    ap.add_argument("--log-dir", help="where broker, simulator and processor logs go")
    ap.add_argument("--serve-simulator", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sim-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--stats-port", type=int, help=argparse.SUPPRESS)
    return ap


def main() -> int:
    args = _parser().parse_args()
    if args.serve_simulator:
        asyncio.run(_serve_simulator(args))
        return 0
    if args.turns < 1 or not 1 <= args.sessions <= args.turns:
        raise SystemExit("need --turns >= 1 and 1 <= --sessions <= --turns")
    workdir = Path(args.log_dir or tempfile.mkdtemp(prefix="gwstream-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_chaos(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
