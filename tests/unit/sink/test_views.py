"""Every analysts' view against figures computed by hand, on a real DuckDB file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gwstream.events import (
    AuditEvent,
    BudgetInfo,
    BudgetNotice,
    CostEvent,
    GuardInfo,
    event_id,
)
from gwstream.sink.rows import Batch, audit_row, cost_row, notice_row
from gwstream.sink.schema import SCHEMA_VERSION
from gwstream.sink.views import VIEWS, Filters, read_view
from gwstream.sink.writer import CostWriter

DEC1 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DEC2 = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
DEC8 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # the next ISO week
NOV30 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the month before, same ISO week as DEC1
DEC7 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
NOV20 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def cost(
    turn: str,
    at: datetime,
    amount: str,
    *,
    tenant: str = "acme",
    session: str = "s1",
    model: str = "gpt-4o-mini",
    gateway: str | None = "openai",
    status: str | None = "ok",
    cached: bool = False,
    avoided: str = "0",
    price_source: str = "bundled",
    price_version: str | None = "bundled@abc",
    input_tokens: int = 100,
    cached_input_tokens: int = 0,
    output_tokens: int = 20,
    budget: BudgetInfo | None = None,
    seq: int = 0,
    occurred: datetime | None = None,
) -> CostEvent:
    return CostEvent(
        event_id=event_id(turn, "cost"),
        turn_id=turn,
        tenant_id=tenant,
        session_id=session,
        seq=seq,
        produced_at=at,
        occurred_at=occurred or at,
        gateway=gateway,
        request_model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usage_source="gateway",
        cost=Decimal(amount),
        price_source=price_source,
        status=status,  # type: ignore[arg-type]
        cached=cached,
        avoided_cost=Decimal(avoided),
        price_version=price_version,
        cached_input_tokens=cached_input_tokens,
        budget=budget,
    )


def audit(
    turn: str,
    at: datetime,
    *,
    tenant: str = "acme",
    session: str = "s1",
    gateway: str | None = "openai",
    status: str = "ok",
    outcome: str = "ok",
    reason: str | None = None,
    latency: float = 100.0,
    attempts: int = 1,
    guard: GuardInfo | None = None,
    replayed: bool = False,
) -> AuditEvent:
    return AuditEvent(
        event_id=event_id(turn, "audit"),
        turn_id=turn,
        tenant_id=tenant,
        session_id=session,
        seq=0,
        produced_at=at,
        status=status,  # type: ignore[arg-type]
        outcome=outcome,
        reason=reason,
        gateway=gateway,
        endpoint="http://127.0.0.1:1/v1" if gateway else None,
        attempts=attempts,
        latency_ms=latency,
        input_sha256="0" * 64,
        input_chars=10,
        replayed=replayed,
        source_partition=0,
        source_offset=0,
        guardrails=guard,
    )


def notice(tenant: str, at: datetime, period: str, window: str, level: str) -> BudgetNotice:
    return BudgetNotice(
        event_id=BudgetNotice.id_for(tenant, period, window, level),
        turn_id="t-notice",
        tenant_id=tenant,
        session_id="s1",
        seq=0,
        produced_at=at,
        period=period,  # type: ignore[arg-type]
        window=window,
        level=level,  # type: ignore[arg-type]
        spend=Decimal("0.8"),
        limit=Decimal("1"),
        threshold=0.8,
        currency="USD",
    )


LIGHT = BudgetInfo(
    mode="lightweight",
    session_tokens_used=900,
    session_tokens_left=100,
    tenant_limit_day=Decimal("1.5"),
    tenant_limit_month=Decimal("20"),
    currency="USD",
)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Any:
    database: Path = tmp_path_factory.mktemp("views") / "views.duckdb"
    costs = [
        cost("a1", DEC1, "0.001000001", session="s1", seq=0),
        cost("a2", DEC1, "0.002", session="s1", seq=1, cached_input_tokens=40, budget=LIGHT),
        cost("a3", DEC1, "0", session="s2", cached=True, avoided="0.003", price_version=None),
        cost(
            "a4",
            DEC2,
            "0",
            session="s2",
            status="refused",
            price_source="unpriced",
            price_version=None,
            model="unknown",
            input_tokens=0,
            output_tokens=0,
        ),
        cost(
            "a5",
            DEC2,
            "0.010",
            session="s3",
            model="gpt-4o",
            gateway="genesys",
            price_version="tenant:acme@def",
        ),
        cost("a6", DEC8, "0.004", session="s3", status="failed"),
        cost("a7", NOV30, "0.5", session="s4"),
        cost(
            "b1",
            DEC1,
            "0.100",
            tenant="bravo",
            session="x1",
            price_source="unpriced",
            price_version=None,
        ),
    ]
    audits = [
        audit("a1", DEC1, latency=100, guard=GuardInfo(pii={"EMAIL": 2, "CARD": 1})),
        audit("a2", DEC1, latency=200, outcome="retried_ok", attempts=2),
        audit("a3", DEC1, latency=0, outcome="cached"),
        audit(
            "a4",
            DEC2,
            status="refused",
            outcome="refused",
            reason="budget_exhausted",
            latency=0,
            gateway=None,
        ),
        audit(
            "a5",
            DEC2,
            gateway="genesys",
            latency=400,
            guard=GuardInfo(
                injection_score=0.9,
                injection_rule="override",
                injection_action="flag",
                output_pii={"PHONE": 1},
            ),
        ),
        audit(
            "a6",
            DEC8,
            status="failed",
            outcome="timeout",
            reason="gateway_timeout",
            latency=1000,
            attempts=4,
        ),
        audit("a7", NOV30, latency=300, replayed=True),
        audit(
            "b1",
            DEC1,
            tenant="bravo",
            session="x1",
            status="refused",
            outcome="refused",
            reason="tenant_budget_exhausted",
            latency=0,
        ),
    ]
    notices = [
        notice("acme", DEC1, "day", "2026-12-01", "soft_threshold"),
        notice("acme", DEC2, "day", "2026-12-02", "exhausted"),
    ]
    with CostWriter(database) as writer:
        writer.write(
            Batch(
                costs=[cost_row(e) for e in costs],
                audits=[audit_row(e) for e in audits],
                notices=[notice_row(e) for e in notices],
            )
        )
    connection = duckdb.connect(str(database), read_only=True)
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def rows(conn: Any, view: str, **filters: Any) -> list[dict[str, Any]]:
    return read_view(conn, view, Filters(**filters)).rows


def by(rows_: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows_}


def test_every_view_exists_in_the_file_for_sql_users(conn: Any) -> None:
    names = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'"
        ).fetchall()
    }
    assert {v.relation for v in VIEWS.values()} <= names
    assert conn.execute("SELECT max(version) FROM gwstream_schema").fetchone() == (SCHEMA_VERSION,)
    # And the file's view gives what read_view gives without filters.
    assert conn.execute("SELECT count(*) FROM top_sessions").fetchone() == (5,)


def test_spend_per_day_week_and_month(conn: Any) -> None:
    daily = by(rows(conn, "spend_daily", tenant="acme"), "period_start")
    dec1 = daily[date(2026, 12, 1)]
    # a1 + a2 + a3 (cached, 0): 0.001000001 + 0.002 = 0.003000001
    assert dec1["cost"] == Decimal("0.003000001")
    assert (dec1["turns"], dec1["answered"], dec1["cached"], dec1["refused"]) == (3, 2, 1, 0)
    assert dec1["avoided_cost"] == Decimal("0.003")
    assert dec1["cached_input_tokens"] == 40
    assert dec1["price_versions"] == "bundled@abc"
    dec2 = daily[date(2026, 12, 2)]
    # a4 refused and unpriced: not counted as unpriced; a5 from the tenant override
    assert (dec2["turns"], dec2["refused"], dec2["unpriced_turns"]) == (2, 1, 0)
    assert dec2["price_versions"] == "tenant:acme@def"
    weekly = by(rows(conn, "spend_weekly", tenant="acme"), "period_start")
    # The ISO week of Monday 2026-11-30 holds a7 (Nov 30), a1-a3 (Dec 1), a4-a5 (Dec 2).
    assert weekly[date(2026, 11, 30)]["cost"] == Decimal("0.513000001")
    assert weekly[date(2026, 12, 7)]["cost"] == Decimal("0.004")
    monthly = by(rows(conn, "spend_monthly", tenant="acme"), "period_start")
    assert monthly[date(2026, 11, 1)]["cost"] == Decimal("0.5")
    assert monthly[date(2026, 12, 1)]["cost"] == Decimal("0.017000001")
    assert monthly[date(2026, 12, 1)]["failed"] == 1


def test_spend_by_model_and_gateway_with_cost_per_answer(conn: Any) -> None:
    got = by(rows(conn, "spend_by_model", tenant="acme"), "gateway", "request_model")
    mini = got["openai", "gpt-4o-mini"]
    # a1, a2, a3, a6, a7: answered a1, a2, a7 (a3 cached, a6 failed) -> 0.503000001 / 3
    assert mini["answered"] == 3
    assert mini["cost"] == Decimal("0.507000001")
    assert mini["cost_per_answer"] == Decimal("0.503000001") / 3
    assert got["genesys", "gpt-4o"]["cost"] == Decimal("0.010")


def test_top_sessions_most_expensive_first_with_a_limit(conn: Any) -> None:
    top = rows(conn, "top_sessions", limit=2)
    assert [(r["tenant_id"], r["session_id"]) for r in top] == [("acme", "s4"), ("bravo", "x1")]
    assert top[0]["cost"] == Decimal("0.5")


def test_cache_savings(conn: Any) -> None:
    dec1 = by(rows(conn, "cache", tenant="acme"), "day")[date(2026, 12, 1)]
    assert (dec1["turns"], dec1["cached_turns"]) == (3, 1)
    assert dec1["cache_hit_rate"] == pytest.approx(1 / 3, abs=1e-6)
    # avoided / (cost + avoided) = 0.003 / 0.006000001
    assert dec1["savings_rate"] == pytest.approx(0.003 / 0.006000001, abs=1e-6)


def test_budgets_lightweight_refusals_and_notices(conn: Any) -> None:
    got = by(rows(conn, "budgets"), "tenant_id", "day")
    assert got["acme", date(2026, 12, 1)]["lightweight_turns"] == 1
    assert got["acme", date(2026, 12, 1)]["soft_threshold_notices"] == 1
    assert got["acme", date(2026, 12, 2)]["session_budget_refusals"] == 1
    assert got["acme", date(2026, 12, 2)]["exhausted_notices"] == 1
    assert got["bravo", date(2026, 12, 1)]["tenant_budget_refusals"] == 1


def test_tenant_spend_against_the_limit_the_processor_applied(conn: Any) -> None:
    got = by(rows(conn, "limits", tenant="acme"), "period", "budget_window")
    day = got["day", "2026-12-01"]
    assert (day["spend"], day["spend_limit"]) == (Decimal("0.003000001"), Decimal("1.5"))
    assert day["share_used"] == pytest.approx(0.003000001 / 1.5, abs=1e-6)
    assert got["day", "2026-12-02"]["spend_limit"] is None  # no limit seen that day
    assert got["month", "2026-12"]["spend_limit"] == Decimal("20")


def test_gateway_outcomes_with_latency_percentiles(conn: Any) -> None:
    got = by(rows(conn, "outcomes"), "gateway", "outcome", "status")
    ok = got["openai", "ok", "ok"]  # a1 (100 ms), a7 (300 ms)
    assert ok["turns"] == 2
    assert ok["latency_ms_p50"] == pytest.approx(200.0)
    assert ok["replayed"] == 1
    timeout = got["openai", "timeout", "failed"]
    assert (timeout["turns"], timeout["attempts_mean"]) == (1, 4.0)
    # openai has a1, a2, a3, a6, a7 and b1 = 6 audits
    assert ok["share"] == pytest.approx(2 / 6, abs=1e-6)


def test_guardrail_findings_are_counts_by_type(conn: Any) -> None:
    got = by(rows(conn, "guardrails", tenant="acme"), "direction", "finding")
    assert got["input", "EMAIL"]["findings"] == 2
    assert got["input", "CARD"]["findings"] == 1
    assert got["output", "PHONE"]["findings"] == 1
    assert got["input", "injection:override"]["action"] == "flag"


def test_filters_narrow_every_table(conn: Any) -> None:
    only_dec2 = rows(conn, "spend_daily", since=date(2026, 12, 2), until=date(2026, 12, 2))
    assert [r["period_start"] for r in only_dec2] == [date(2026, 12, 2)]
    genesys = rows(conn, "outcomes", gateway="genesys")
    assert {r["gateway"] for r in genesys} == {"genesys"}
    # Audits have no model: they follow the turns of that model in the cost table.
    gpt4o = rows(conn, "outcomes", model="gpt-4o")
    assert sum(r["turns"] for r in gpt4o) == 1
    bravo = rows(conn, "spend", tenant="bravo")
    assert {r["tenant_id"] for r in bravo} == {"bravo"}
    assert rows(conn, "budgets", tenant="nobody") == []


def test_filters_from_http_query_parameters() -> None:
    f = Filters.from_query(
        {"tenant": "acme", "from": "2026-12-01", "to": "2026-12-02", "limit": "5"}
    )
    assert (f.tenant, f.since, f.until, f.limit) == (
        "acme",
        date(2026, 12, 1),
        date(2026, 12, 2),
        5,
    )
    assert Filters.from_query(f.as_query()) == f
    with pytest.raises(ValueError, match="from must be a date"):
        Filters.from_query({"from": "yesterday"})
    with pytest.raises(ValueError, match="ends"):
        Filters.from_query({"from": "2026-12-02", "to": "2026-12-01"})
    with pytest.raises(ValueError, match="unknown parameter"):
        Filters.from_query({"tenants": "acme"})
    # a limit DuckDB's LIMIT cannot hold is a bad request, not a failed query
    with pytest.raises(ValueError, match="limit must be between 1 and 1,000,000,000"):
        Filters.from_query({"limit": "100000000000000000000"})
    with pytest.raises(ValueError, match="limit must be between"):
        Filters.from_query({"limit": "0"})


def _database(path: Path, costs: list[CostEvent], notices: Sequence[BudgetNotice] = ()) -> Any:
    with CostWriter(path) as writer:
        writer.write(
            Batch(costs=[cost_row(e) for e in costs], notices=[notice_row(e) for e in notices])
        )
    connection = duckdb.connect(str(path), read_only=True)
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def test_the_budget_views_narrow_by_the_day_of_processing(tmp_path: Path) -> None:
    # Turns that happened on Nov 20 and reached the processor on Dec 7 count in Dec 7's
    # windows, which is what a date range must select too.
    late = [cost(f"late{i}", DEC7, "0.25", budget=LIGHT, occurred=NOV20) for i in range(2)]
    on_time = [cost("now", DEC7, "1.25", budget=LIGHT)]
    conn = _database(
        tmp_path / "late.duckdb",
        late + on_time,
        [notice("acme", DEC7, "day", "2026-12-07", "soft_threshold")],
    )
    try:
        dec7 = rows(conn, "limits", since=date(2026, 12, 7), until=date(2026, 12, 7))
        day = by(dec7, "period")["day"]
        assert (day["budget_window"], day["spend"]) == ("2026-12-07", Decimal("1.75"))
        assert day["state"] == "exhausted"  # 1.75 of a 1.5 limit
        assert rows(conn, "limits", until=date(2026, 11, 20)) == []
        budgets = rows(conn, "budgets", since=date(2026, 12, 7))
        assert [(r["day"], r["turns"]) for r in budgets] == [(date(2026, 12, 7), 3)]
        # the spend views still count a turn on the day it happened
        spend = by(rows(conn, "spend_daily"), "period_start")
        assert spend[date(2026, 11, 20)]["turns"] == 2
    finally:
        conn.close()


def test_the_limits_state_follows_the_processors_notices(tmp_path: Path) -> None:
    conn = _database(
        tmp_path / "state.duckdb",
        [cost("a", DEC7, "0.5", budget=LIGHT), cost("b", DEC7, "0.1", tenant="free")],
        [notice("acme", DEC7, "day", "2026-12-07", "soft_threshold")],
    )
    try:
        got = by(rows(conn, "limits"), "tenant_id", "period")
        assert got["acme", "day"]["state"] == "soft_threshold"  # 0.5 of 1.5, noticed
        assert got["acme", "month"]["state"] == "ok"  # 0.5 of 20
        assert got["free", "day"]["state"] == "unlimited"
    finally:
        conn.close()


def test_spend_counts_add_up_to_the_turns(tmp_path: Path) -> None:
    statuses = {"ok": "ok", "bad_json": "invalid_output", "broke": "failed", "no": "refused"}
    conn = _database(
        tmp_path / "statuses.duckdb",
        [cost(turn, DEC7, "0.01", status=status) for turn, status in statuses.items()]
        + [cost("hit", DEC7, "0", cached=True)],
    )
    try:
        (day,) = rows(conn, "spend_daily")
        assert (day["turns"], day["answered"], day["invalid_output"]) == (5, 2, 1)
        assert (day["cached"], day["refused"], day["failed"]) == (1, 1, 1)
        assert day["answered"] + day["cached"] + day["refused"] + day["failed"] == day["turns"]
    finally:
        conn.close()


def test_the_views_in_the_file_keep_their_order_for_sql_users(conn: Any) -> None:
    top = conn.execute("SELECT tenant_id, session_id FROM top_sessions LIMIT 1").fetchone()
    assert top == ("acme", "s4")  # the most expensive session, as the report lists it
