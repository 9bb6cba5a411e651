"""``gwstream demo``: the whole job on one machine, nothing to configure.

Starts the embedded broker and the gateway simulator, applies the topics,
publishes the bundled sample of conversation turns (several tenants, many
multi-turn sessions, a few malformed records, a few turns published twice),
runs the processor and the cost sink, shows progress, and prints what the
conversations carried, what the budgets did (one tenant's sessions have a
token budget, another tenant a daily spend limit), what the guardrails and
the answer cache did, the prompt experiment's variants, and the tenant cost
and variant reports. Succeeds only when every
input record is accounted for: a response event, a dead letter, or (for a
turn published twice) an answer replayed from its session's state.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gwstream import topics
from gwstream.app import run_processor
from gwstream.broker import EmbeddedBroker
from gwstream.config import GatewaySettings, KafkaSettings, Settings, load_settings
from gwstream.events import CONTENT_TYPE, SPEC_VERSION, BudgetNotice, TurnEvent
from gwstream.kafkaio import make_consumer, publish, start_client
from gwstream.runtime import RuntimeStats

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def _sample_lines() -> list[dict[str, Any]]:
    text = resources.files("gwstream").joinpath("data/sample_turns.jsonl").read_text()
    return [orjson.loads(line) for line in text.splitlines()]


def republished_in_sample() -> int:
    """How many sample records publish a turn id a second time."""
    return sum(1 for entry in _sample_lines() if entry.get("republished"))


def load_sample() -> list[Record]:
    """The bundled sample as (key, value, headers) records, malformed ones included."""
    records: list[Record] = []
    for entry in _sample_lines():
        key = entry["key"].encode() if entry.get("key") else None
        headers: list[tuple[str, bytes]] = []
        if "raw_b64" in entry:
            value = base64.b64decode(entry["raw_b64"])
        elif "oversize_bytes" in entry:
            value = b'{"text": "' + b"x" * int(entry["oversize_bytes"]) + b'"}'
        else:
            value = orjson.dumps(entry["value"])
            headers = [
                ("ce_specversion", SPEC_VERSION.encode()),
                ("ce_id", str(entry["value"].get("turn_id", "")).encode()),
                ("ce_type", TurnEvent.ce_type.encode()),
                ("ce_source", b"urn:gwstream:demo"),
                ("content-type", CONTENT_TYPE.encode()),
            ]
        records.append((key, value, headers))
    return records


@dataclass
class Accounting:
    """Which input records have ended somewhere visible."""

    answered: set[str] = field(default_factory=set)  # turn ids with a response event
    dead: set[tuple[int, int]] = field(default_factory=set)  # (partition, offset) dead-lettered
    statuses: dict[str, int] = field(default_factory=dict)
    replayed: int = 0  # audit events of turns answered from session state
    sessions: set[str] = field(default_factory=set)
    max_history: int = 0  # most history messages sent with one turn
    reasons: dict[str, int] = field(default_factory=dict)  # refusals and failures by reason
    lightweight: int = 0  # turns answered with the lightweight instruction
    notices: list[str] = field(default_factory=list)  # budget notices, as one-liners
    spend: dict[str, Decimal] = field(default_factory=dict)  # limited tenant -> spend today
    pii: dict[str, int] = field(default_factory=dict)  # PII values replaced, by type
    redacted_turns: int = 0
    injections: dict[str, int] = field(default_factory=dict)  # flagged turns, by action
    cached: dict[str, int] = field(default_factory=dict)  # turns answered from cache, by kind
    variants: dict[str, set[str]] = field(default_factory=dict)  # tenant/version -> sessions

    @property
    def total(self) -> int:
        return len(self.answered) + len(self.dead) + self.replayed


async def _watch(
    kafka: KafkaSettings, settings: Settings, acc: Accounting, stop: asyncio.Event
) -> None:
    names = settings.topics
    consumer = make_consumer(kafka, names.responses, names.dlq, names.audit, group_id=None)
    await start_client(consumer, kafka)
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100)
            for tp, recs in batch.items():
                for r in recs:
                    h = dict(r.headers)
                    if tp.topic == names.dlq:
                        acc.dead.add(
                            (int(h["gw_dlq_source_partition"]), int(h["gw_dlq_source_offset"]))
                        )
                    elif h.get("ce_type") == BudgetNotice.ce_type.encode():
                        n = orjson.loads(r.value or b"{}")
                        acc.notices.append(
                            f"{n['tenant_id']} {n['level'].replace('_', ' ')} of its "
                            f"{n['period']} limit at {n['spend'][:8]} of {n['limit']} {n['currency']}"
                        )
                    elif tp.topic == names.audit:
                        audit = orjson.loads(r.value or b"{}")
                        acc.replayed += bool(audit.get("replayed"))
                        acc.sessions.add(f"{audit['tenant_id']}:{audit['session_id']}")
                        acc.max_history = max(acc.max_history, audit.get("history_messages", 0))
                        guard = audit.get("guardrails") or {}
                        if guard and not audit.get("replayed"):
                            found = guard.get("pii") or {}
                            acc.redacted_turns += bool(found)
                            for kind, n in found.items():
                                acc.pii[kind] = acc.pii.get(kind, 0) + n
                            action = guard.get("injection_action")
                            if action:
                                acc.injections[action] = acc.injections.get(action, 0) + 1
                        if audit.get("cache") and not audit.get("replayed"):
                            kind = audit["cache"]
                            acc.cached[kind] = acc.cached.get(kind, 0) + 1
                        if audit.get("prompt_version"):
                            variant = f"{audit['tenant_id']} {audit['prompt_version']}"
                            acc.variants.setdefault(variant, set()).add(audit["session_id"])
                        budget = audit.get("budget") or {}
                        if not audit.get("replayed") and audit.get("status") == "ok":
                            acc.lightweight += budget.get("mode") == "lightweight"
                        if budget.get("tenant_spend_day") is not None:
                            spend = Decimal(budget["tenant_spend_day"])
                            tenant = audit["tenant_id"]
                            acc.spend[tenant] = max(acc.spend.get(tenant, spend), spend)
                    elif h.get("ce_subject", b"").decode() not in acc.answered:
                        acc.answered.add(h["ce_subject"].decode())
                        response = orjson.loads(r.value or b"{}")
                        status = response.get("status", "?")
                        acc.statuses[status] = acc.statuses.get(status, 0) + 1
                        if response.get("reason"):
                            acc.reasons[response["reason"]] = (
                                acc.reasons.get(response["reason"], 0) + 1
                            )
    finally:
        await consumer.stop()


async def run_demo(
    *,
    database: Path = Path("gwstream-demo.duckdb"),
    latency_ms: float = 150.0,
    timeout_s: float = 180.0,
    console: Console | None = None,
) -> int:
    """Run the demo; return the process exit code (0 when every record is accounted for)."""
    from gwstream.simulator import GatewaySimulator, SimulatorConfig
    from gwstream.sink.consumer import CostSink
    from gwstream.sink.report import render, render_variants, spend_report, variant_report

    console = console or Console(soft_wrap=True)
    load_settings()  # environment mistakes fail here, before anything starts
    for suffix in ("", ".wal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - before anything runs
    sample = load_sample()
    sim_config = SimulatorConfig(
        latency_ms=latency_ms,
        latency_jitter_ms=latency_ms * 0.6,
        error_429_rate=0.03,
        retry_after_s=0.2,
        error_5xx_rate=0.02,
        seed=7,
    )
    started = time.monotonic()
    async with EmbeddedBroker() as broker, GatewaySimulator(sim_config) as sim:
        console.print(
            f"[bold]gwstream demo[/]: embedded broker on {broker.bootstrap_servers}, "
            f"gateway simulator on {sim.url} ({latency_ms:.0f} ms ± {latency_ms * 0.6:.0f} ms, "
            "3% 429, 2% 5xx)"
        )
        # Short group timeouts: the embedded broker holds each join for half of it.
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
        )
        settings = load_settings(
            kafka=kafka,
            gateways={
                "default": GatewaySettings(base_urls=[sim.url], max_attempts=5, max_tokens=256)
            },
            sink={"database": database},
            tenants=DEMO_TENANTS,
        )
        await topics.apply(kafka, settings.topics)
        await publish(kafka, [(settings.topics.turns, k, v, h) for k, v, h in sample])
        console.print(
            f"published {len(sample)} records to {settings.topics.turns} "
            f"({settings.topics.partitions} partitions)"
        )

        stop = asyncio.Event()
        stats = RuntimeStats()
        acc = Accounting()
        sink = CostSink(
            kafka.model_copy(update={"group_id": settings.sink.group_id}),
            settings.topics,
            settings.sink,
        )
        tasks = [
            asyncio.create_task(run_processor(settings, stop, stats=stats), name="processor"),
            asyncio.create_task(_run_sink(sink, stop), name="sink"),
            asyncio.create_task(_watch(kafka, settings, acc, stop), name="watch"),
        ]
        ok = await _progress(console, len(sample), acc, stats, sink, tasks, timeout_s)
        stop.set()
        gateway_calls = sim.stats.requests
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for task, r in zip(tasks, results, strict=True):
            if isinstance(r, BaseException):
                console.print(f"[red]{task.get_name()} failed: {r!r}[/]")
    elapsed = time.monotonic() - started
    console.print(
        f"\n{len(sample)} records in {elapsed:.1f}s: {len(acc.answered)} answered "
        f"({', '.join(f'{n} {s}' for s, n in sorted(acc.statuses.items()))}), {len(acc.dead)} dead-lettered, "
        f"{acc.replayed} republished turns answered again from session state; "
        f"{sink.stats.rows_inserted} cost rows in {database}"
    )
    console.print(
        f"conversations: {len(acc.sessions)} sessions; each turn went to the gateway with its "
        f"session's history (up to {acc.max_history} earlier messages); "
        f"{gateway_calls} gateway calls for {len(acc.answered)} turns (retries of 429s and 5xx "
        "included, none for the republished turns)"
    )
    console.print(_budget_summary(acc))
    console.print(_guardrails_summary(acc))
    spend = spend_report(database)
    console.print(_cache_summary(acc, spend))
    console.print(_variants_summary(acc))
    console.print(render(spend, "table"), soft_wrap=True, markup=False, highlight=False)
    console.print(
        render_variants([r for r in variant_report(database) if r["prompt_version"]], "table"),
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    console.print(_analysts_summary(database))
    console.print(
        f"query it again with: gwstream report --database {database} "
        "[--view spend|outcomes|guardrails|budgets|top_sessions|...] [--format csv|json]; "
        "a running `gwstream sink` serves these views over its own file (sink.database) at "
        "http://127.0.0.1:9480/ (a dashboard) and /api/views"
    )
    if not ok or errors or acc.replayed != republished_in_sample():
        console.print(f"[red]FAILED: {len(sample) - acc.total} records unaccounted for[/]")
        return 1
    console.print("[green]every record accounted for[/]")
    return 0


def _analysts_summary(database: Path) -> str:
    """What the analysts' views say about the run, in a few lines (from the DuckDB file)."""
    from gwstream.sink.report import read_report
    from gwstream.sink.views import Filters

    outcomes = read_report(database, "outcomes").rows
    mix = ", ".join(
        f"{r['turns']} {r['outcome']}" for r in sorted(outcomes, key=lambda r: -r["turns"])
    )
    slowest = max((r["latency_ms_p95"] or 0.0 for r in outcomes), default=0.0)
    findings: dict[str, int] = {}
    for r in read_report(database, "guardrails").rows:
        findings[r["finding"]] = findings.get(r["finding"], 0) + int(r["findings"])
    budgets = read_report(database, "budgets").rows
    light = sum(r["lightweight_turns"] for r in budgets)
    refusals = sum(r["session_budget_refusals"] + r["tenant_budget_refusals"] for r in budgets)
    notices = sum(r["soft_threshold_notices"] + r["exhausted_notices"] for r in budgets)
    tops = read_report(database, "top_sessions", Filters(limit=1)).rows
    lines = [
        f"analysts' views: gateway outcomes {mix}; latency p95 up to {slowest:.0f} ms",
        "  guardrail findings by type (counts, never values): "
        + (", ".join(f"{k} {v}" for k, v in sorted(findings.items())) or "none"),
        f"  budgets: {light} lightweight turns, {refusals} budget refusals, {notices} notices",
    ]
    for top in tops:
        lines.append(
            f"  most expensive session: {top['tenant_id']}/{top['session_id']}, "
            f"{top['turns']} turns, {top['cost']} {top['currency']}"
        )
    return "\n".join(lines)


#: The demo's budgets (README "Budgets"): acme-telecom's sessions get a small token budget,
#: so the longer ones switch to the lightweight instruction and then run out; northwind-bank
#: (gpt-4o, the dearest model in the sample) may spend a few cents a day.
DEMO_SESSION_TOKENS, DEMO_LIGHTWEIGHT_BELOW, DEMO_DAILY_LIMIT = 1_000, 500, Decimal("0.03")
DEMO_TENANTS: dict[str, Any] = {
    "acme-telecom": {
        "budget": {
            "session_tokens": DEMO_SESSION_TOKENS,
            "window": "24h",
            "lightweight_below": DEMO_LIGHTWEIGHT_BELOW,
        }
    },
    "northwind-bank": {"spend": {"daily": str(DEMO_DAILY_LIMIT)}},
    # Refuses injection attempts outright; the other tenants answer and record them.
    # Tries two prompt versions on half its sessions each.
    "globex-retail": {
        "guardrails": {"injection": "block"},
        "prompts": {
            "default": {
                "versions": {
                    "v1": {"system": "You are ${brand}'s customer service assistant. Be concise."},
                    "v2": {
                        "system": "You are ${brand}'s friendly shop assistant. Answer in two "
                        "sentences and offer one next step.",
                        "lightweight": "You are ${brand}'s assistant. One sentence.",
                        "examples": [
                            {
                                "user": "Can I return a gift?",
                                "assistant": "Yes, within 30 days with the gift receipt. "
                                "Shall I start a return for you?",
                            }
                        ],
                        "examples_max_tokens": 200,
                    },
                },
                "split": {"v1": 0.5, "v2": 0.5},
                "variables": {"brand": "Globex"},
            }
        },
    },
    # Its callers ask the same opening questions in their own spelling: the intent cache
    # answers those (every tenant has the exact cache).
    "initech-insurance": {"cache": {"intent": True}},
}


def _budget_summary(acc: Accounting) -> str:
    spent = acc.spend.get("northwind-bank", Decimal(0))
    notices = "; ".join(acc.notices) or "none"
    return (
        f"budgets: acme-telecom sessions get {DEMO_SESSION_TOKENS:,} tokens a day: "
        f"{acc.lightweight} turns answered in lightweight mode (under {DEMO_LIGHTWEIGHT_BELOW} "
        f"left), {acc.reasons.get('budget_exhausted', 0)} refused budget_exhausted; "
        f"northwind-bank may spend {DEMO_DAILY_LIMIT} USD a day: spent {spent:.4f}, "
        f"{acc.reasons.get('tenant_budget_exhausted', 0)} turns refused "
        f"tenant_budget_exhausted; notices on the audit topic: {notices}"
    )


def _guardrails_summary(acc: Accounting) -> str:
    found = ", ".join(f"{n} {kind}" for kind, n in sorted(acc.pii.items())) or "none"
    flagged = sum(acc.injections.values())
    return (
        f"guardrails: {acc.redacted_turns} turns had PII replaced by placeholders before the "
        f"gateway and the history ({found}); {flagged} injection attempts flagged "
        f"({acc.injections.get('block', 0)} refused blocked_injection by globex-retail's "
        "policy, the others answered and recorded on the audit topic)"
    )


def _cache_summary(acc: Accounting, spend: list[dict[str, Any]]) -> str:
    avoided = sum((r["avoided_cost"] for r in spend), Decimal(0))
    hits = sum(acc.cached.values())
    return (
        f"caching: {hits} turns answered from the tenant's own cache without a gateway call "
        f"({acc.cached.get('exact', 0)} repeated requests, {acc.cached.get('intent', 0)} "
        f"opening questions in another spelling, initech-insurance's intent cache); "
        f"{avoided:.6f} USD of gateway cost avoided"
    )


def _variants_summary(acc: Accounting) -> str:
    split = ", ".join(f"{v}: {len(s)} sessions" for v, s in sorted(acc.variants.items()))
    return (
        f"experiments: globex-retail splits its sessions 50/50 between two prompt versions "
        f"({split or 'none seen'}; a small sample, so the shares wander from the weights); "
        "every event names the version, compared below"
    )


async def _run_sink(sink: Any, stop: asyncio.Event) -> None:
    async with sink:
        await sink.run(stop)


async def _progress(
    console: Console,
    total: int,
    acc: Accounting,
    stats: RuntimeStats,
    sink: Any,
    tasks: list[asyncio.Task[Any]],
    timeout_s: float,
) -> bool:
    """Show progress until every record is accounted for and costed; False on timeout or failure."""
    deadline = time.monotonic() + timeout_s
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console,
        transient=False,
    ) as progress:
        turns = progress.add_task("turns accounted", total=total, detail="")
        costs = progress.add_task("cost rows in DuckDB", total=None, detail="")
        while time.monotonic() < deadline:
            progress.update(
                turns,
                completed=acc.total,
                detail=f"in flight {stats.in_flight}, dead letters {len(acc.dead)}",
            )
            progress.update(
                costs,
                completed=sink.stats.rows_inserted,
                total=len(acc.answered) or None,
                detail="",
            )
            stored = sink.stats.rows_inserted >= len(acc.answered)
            audited = sink.stats.audit_inserted >= len(acc.answered)
            if acc.total >= total and stored and audited:
                return True
            if any(t.done() for t in tasks):
                return False
            await asyncio.wait(tasks, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
    return False
