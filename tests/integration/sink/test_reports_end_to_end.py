"""Reports analysts can trust: turns through the processor and the sink on the embedded broker,
some cost and audit events delivered twice, the sink killed (SIGKILL) mid-way and restarted;
then every view is checked against totals computed independently from the topics."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import wait_for
from tests.integration.helpers import make_turns, settings_for, turn_records

from gwstream.app import run_processor
from gwstream.broker import free_port
from gwstream.config import KafkaSettings, TenantSettings, TopicNames
from gwstream.events import TurnEvent
from gwstream.kafkaio import make_producer, publish, read_topic
from gwstream.policies import SessionBudgetSettings, SpendLimitSettings
from gwstream.simulator import GatewaySimulator
from gwstream.sink.report import read_report
from gwstream.sink.views import VIEWS

pytestmark = pytest.mark.integration

SESSIONS, TURNS_EACH = 150, 12  # 1,800 turns


def _turns() -> list[TurnEvent]:
    turns = make_turns(SESSIONS, TURNS_EACH)
    out = []
    for t in turns:
        text = t.text
        s = int(t.session_id[1:])
        if t.seq == 0 and s % 3 == 0:
            text = "What are your opening hours?"  # a common opener: cache hits
        elif t.seq == 1 and s % 5 == 0:
            text = f"Please mail the invoice to caller{s}@example.org"  # PII: redacted
        out.append(t.model_copy(update={"text": text}))
    return out


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _unique(records: Iterable[Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        doc = orjson.loads(r.value)
        seen.setdefault(doc["event_id"], doc)
    return list(seen.values())


async def _republish(kafka: KafkaSettings, topic: str, records: list[Any]) -> None:
    """Deliver every tenth record again, as a producer retry or a replay would."""
    producer = make_producer(kafka)
    await producer.start()
    try:
        for r in records[::10]:
            await producer.send(topic, value=r.value, key=r.key, headers=list(r.headers))
        await producer.flush()
    finally:
        await producer.stop()


def _sink_env(kafka: KafkaSettings, names: TopicNames, database: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    env.update(
        {
            "GWSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "GWSTREAM_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "GWSTREAM_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
            "GWSTREAM_TOPICS__COSTS": names.costs,
            "GWSTREAM_TOPICS__AUDIT": names.audit,
            "GWSTREAM_SINK__DATABASE": str(database),
            "GWSTREAM_SINK__GROUP_ID": f"sink-{names.costs}",
            "GWSTREAM_SINK__BATCH_SIZE": "100",
            "GWSTREAM_SINK__BATCH_TIMEOUT_MS": "50",
            "GWSTREAM_SINK__API_PORT": str(port),
            "GWSTREAM_SINK__STATS_INTERVAL_S": "1",
        }
    )
    return env


async def _stored(url: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            text = (await client.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return -1
    total = 0
    for line in text.splitlines():
        if line.startswith(
            ("gwstream_sink_cost_events_stored_total", "gwstream_sink_audit_events_stored_total")
        ):
            total += int(float(line.split()[-1]))
    return total


def _sum(rows: list[dict[str, Any]], key: str, column: str) -> dict[Any, Any]:
    out: dict[Any, Any] = defaultdict(int)
    for r in rows:
        out[r[key]] += r[column]
    return dict(out)


async def test_every_view_matches_totals_computed_from_the_topics(
    kafka: KafkaSettings,
    topic_names: TopicNames,
    tmp_path: Path,
    start_simulator: Callable[..., Awaitable[GatewaySimulator]],
) -> None:
    simulator = await start_simulator()
    settings = settings_for(kafka, topic_names, simulator.url, max_in_flight=64)
    settings = settings.model_copy(
        update={
            "tenants": {
                "tenant-0": TenantSettings(
                    spend=SpendLimitSettings(daily=Decimal("5"), monthly=Decimal("50")),
                    budget=SessionBudgetSettings(session_tokens=100_000, lightweight_below=99_000),
                )
            }
        }
    )
    turns = _turns()
    await publish(kafka, turn_records(topic_names.turns, turns))

    database = tmp_path / "reports.duckdb"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "sink.log").open("ab")
    env = _sink_env(kafka, topic_names, database, port)

    def start_sink() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "gwstream", "sink"], env=env, stdout=log, stderr=log
        )

    stop = asyncio.Event()
    processor = asyncio.create_task(run_processor(settings, stop))
    sink = start_sink()
    try:
        # Kill the sink once it has stored some of the events, not all.
        await wait_for(lambda: _stored(url), timeout=60)
        await wait_for(lambda: _gt(_stored(url), 300), timeout=60)
        sink.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(sink.wait) == -signal.SIGKILL

        costs_raw = await read_topic(
            kafka, topic_names.costs, until=lambda rs: len(_unique(rs)) >= len(turns), timeout_s=120
        )
        stop.set()
        await asyncio.wait_for(processor, 60)
        audit_raw = await read_topic(
            kafka, topic_names.audit, until=lambda rs: len(_unique(rs)) >= len(turns), timeout_s=60
        )
        await _republish(kafka, topic_names.costs, costs_raw)
        await _republish(kafka, topic_names.audit, audit_raw)
        costs_raw = await read_topic(
            kafka,
            topic_names.costs,
            until=lambda rs: len(rs) >= len(costs_raw) + len(costs_raw[::10]),
            timeout_s=60,
        )
        audit_raw = await read_topic(
            kafka,
            topic_names.audit,
            until=lambda rs: len(rs) >= len(audit_raw) + len(audit_raw[::10]),
            timeout_s=60,
        )
        costs = _unique(costs_raw)
        audit_docs = _unique(audit_raw)
        audits = [d for d in audit_docs if "outcome" in d]
        notices = [d for d in audit_docs if "level" in d]

        sink = start_sink()  # restarted: it resumes from its committed offsets
        await wait_for(lambda: _complete(url, sink, len(costs), len(audits)), timeout=120)
        # While it runs, the API answers with the totals too.
        async with httpx.AsyncClient(timeout=10) as client:
            live = (await client.get(f"{url}/api/views/spend_daily")).json()["rows"]
        sink.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(sink.wait) == 0
    finally:
        stop.set()
        if not processor.done():
            await asyncio.wait_for(processor, 60)
        if sink.poll() is None:
            sink.kill()
            sink.wait()
        log.close()

    # --- totals computed from the topics, independently of the sink -----------------
    assert len(costs) == len(turns)
    cost_by_tenant: dict[str, Decimal] = defaultdict(Decimal)
    cost_by_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    spend_by_handled_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    cost_by_model: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    cost_by_session: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    turns_by_tenant: Counter[str] = Counter()
    cached: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    avoided: dict[str, Decimal] = defaultdict(Decimal)
    lightweight: Counter[str] = Counter()
    variants: Counter[tuple[str, str | None, str | None]] = Counter()
    for c in costs:
        t, amount = c["tenant_id"], _decimal(c["cost"])
        day = datetime.fromisoformat(c["occurred_at"]).astimezone(UTC).date().isoformat()
        cost_by_tenant[t] += amount
        cost_by_day[t, day] += amount
        cost_by_model[t, c["gateway"], c["request_model"]] += amount
        cost_by_session[t, c["session_id"]] += amount
        turns_by_tenant[t] += 1
        cached[t] += bool(c["cached"])
        refused[t] += c["status"] == "refused"
        avoided[t] += _decimal(c["avoided_cost"])
        lightweight[t] += (c.get("budget") or {}).get("mode") == "lightweight" and (
            c["status"] != "refused"
        )
        handled = datetime.fromisoformat(c["produced_at"]).astimezone(UTC).date().isoformat()
        spend_by_handled_day[t, handled] += amount
        variants[t, c.get("use_case"), c.get("prompt_version")] += 1
    outcome_counts = Counter((a["gateway"], a["outcome"], a["status"]) for a in audits)
    pii_counts: Counter[str] = Counter()
    for a in audits:
        for kind, n in ((a.get("guardrails") or {}).get("pii") or {}).items():
            pii_counts[kind] += n
    assert cached["tenant-0"] > 0 and sum(pii_counts.values()) > 0  # the workload exercised both

    def view(name: str) -> list[dict[str, Any]]:
        return read_report(database, name).rows

    def day_key(r: dict[str, Any], column: str) -> str:
        return str(r[column])

    spend = view("spend")
    assert sum(r["turns"] for r in spend) == len(turns)
    assert _sum(spend, "tenant_id", "cost") == cost_by_tenant
    daily = view("spend_daily")
    assert {(r["tenant_id"], day_key(r, "period_start")): r["cost"] for r in daily} == cost_by_day
    assert {(r["tenant_id"], str(r["period_start"])): r["cost"] for r in daily} == {
        (r["tenant_id"], r["period_start"]): _decimal(r["cost"]) for r in live
    }
    for name in ("spend_weekly", "spend_monthly"):
        rows = view(name)
        assert _sum(rows, "tenant_id", "cost") == cost_by_tenant, name
        assert _sum(rows, "tenant_id", "turns") == dict(turns_by_tenant), name
        assert _sum(rows, "tenant_id", "refused") == {t: refused[t] for t in turns_by_tenant}
    by_model = view("spend_by_model")
    assert {
        (r["tenant_id"], r["gateway"], r["request_model"]): r["cost"] for r in by_model
    } == cost_by_model
    top = view("top_sessions")
    assert [(r["tenant_id"], r["session_id"], r["cost"]) for r in top[:5]] == [
        (t, s, v)
        for (t, s), v in sorted(cost_by_session.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    ]
    cache = view("cache")
    assert _sum(cache, "tenant_id", "cached_turns") == {t: cached[t] for t in turns_by_tenant}
    assert _sum(cache, "tenant_id", "avoided_cost") == {t: avoided[t] for t in turns_by_tenant}
    budgets = view("budgets")
    assert _sum(budgets, "tenant_id", "lightweight_turns") == {
        t: lightweight[t] for t in turns_by_tenant
    }
    assert sum(r["soft_threshold_notices"] + r["exhausted_notices"] for r in budgets) == len(
        notices
    )
    limits = [r for r in view("limits") if r["period"] == "day"]
    # Limits count by the day the processor handled a turn, the window it enforces.
    assert {
        (r["tenant_id"], r["budget_window"]): r["spend"] for r in limits
    } == spend_by_handled_day
    assert {r["spend_limit"] for r in limits if r["tenant_id"] == "tenant-0"} == {Decimal("5")}
    outcomes = view("outcomes")
    assert (
        Counter({(r["gateway"], r["outcome"], r["status"]): r["turns"] for r in outcomes})
        == outcome_counts
    )
    findings = [r for r in view("guardrails") if r["direction"] == "input"]
    assert Counter(_sum(findings, "finding", "findings")) == pii_counts
    assert (
        Counter(
            {
                (r["tenant_id"], r["use_case"], r["prompt_version"]): r["turns"]
                for r in view("variants")
            }
        )
        == variants
    )
    # No vendor metrics were pulled: the reconciliation leaves every gateway out
    # (tests/unit/reconcile checks its figures).
    assert view("reconciliation") == []
    assert set(VIEWS) == {
        "spend",
        "spend_daily",
        "spend_weekly",
        "spend_monthly",
        "spend_by_model",
        "top_sessions",
        "cache",
        "budgets",
        "limits",
        "outcomes",
        "guardrails",
        "variants",
        "reconciliation",
    }  # a new view gets its check here


async def _gt(value: Any, bound: int) -> bool:
    return bool(await value > bound)


async def _complete(url: str, sink: subprocess.Popen[bytes], costs: int, audits: int) -> bool:
    """Whether the database holds every cost and audit event (read through the API)."""
    if sink.poll() is not None:
        raise AssertionError(f"the sink exited with {sink.returncode}")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            spend_at, outcomes_at = (
                await client.get("/api/views/spend"),
                await client.get("/api/views/outcomes"),
            )
    except httpx.HTTPError:
        return False  # not listening yet
    if 503 in (spend_at.status_code, outcomes_at.status_code):
        return False  # listening, the database not open yet
    spend, outcomes = spend_at.json()["rows"], outcomes_at.json()["rows"]
    stored_costs = sum(r["turns"] for r in spend)
    stored_audits = sum(r["turns"] for r in outcomes)
    assert stored_costs <= costs and stored_audits <= audits  # dedupe: never more
    return stored_costs == costs and stored_audits == audits
