"""The sink's dashboard in headless Chromium: its charts show what the API returns.

Cost and audit events go through the embedded broker into a running sink; the
page is opened over loopback HTTP in Debian's Chromium (driven by playwright,
never with a browser of playwright's own), and every chart mark and table
cell is compared with the API's JSON for the same filters, before and after
the filters change.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from playwright.async_api import Page, async_playwright
from tests.conftest import wait_for

from gwstream.config import KafkaSettings, SinkSettings, TopicNames
from gwstream.events import (
    AuditEvent,
    BudgetInfo,
    BudgetNotice,
    CostEvent,
    OutputEvent,
    cloudevent_headers,
    event_id,
    session_key,
)
from gwstream.kafkaio import publish
from gwstream.sink.consumer import BatchResult, SinkStats
from gwstream.sink.service import run_sink

CHROMIUM = Path("/usr/bin/chromium")
# No background traffic to Google's hosts (a closed network refuses it, many
# connections at a time) and a profile of its own (the fixture's fresh directory).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (scripts/ensure-chromium installs it)",
    ),
]

TENANTS = ("acme", "globex")
MODELS = (("gpt-4o-mini", "openai"), ("claude-3-haiku", "anthropic"))
TURNS = 36
CACHED, REFUSED, FAILED, RETRIED = 5, 7, 11, 13


def _events(today: datetime) -> tuple[list[CostEvent], list[OutputEvent]]:
    """Two tenants, two models, two days, two prompt versions, a cached, a refused,
    a failed and a retried turn; acme has spend limits and a soft-threshold notice."""
    costs: list[CostEvent] = []
    audits: list[OutputEvent] = []
    limits = BudgetInfo(
        tenant_limit_day=Decimal("0.05"), tenant_limit_month=Decimal("2"), currency="USD"
    )
    for i in range(TURNS):
        tenant = TENANTS[i % 2]
        model, gateway = MODELS[(i // 2) % 2]
        at = today - timedelta(days=(i // 4) % 2) + timedelta(minutes=i)
        turn = f"{tenant}-t{i}"
        status, outcome, reason = "ok", "ok", None
        cost = Decimal(i + 1).scaleb(-4) + Decimal(i).scaleb(-9)
        avoided = Decimal(0)
        called: str | None = gateway
        if i == CACHED:
            outcome, cost, avoided, called = "cached", Decimal(0), Decimal("0.0042"), None
        elif i == REFUSED:
            status, outcome, reason = "refused", "not_called", "tenant_budget_exhausted"
            cost, called = Decimal(0), None
        elif i == FAILED:
            status, outcome, reason, cost = "failed", "timeout", "gateway_timeout", Decimal(0)
        elif i == RETRIED:
            outcome = "retried_ok"
        common: dict[str, Any] = {
            "turn_id": turn,
            "tenant_id": tenant,
            "session_id": f"s{i % 5}",
            "seq": i,
            "produced_at": at,
            "gateway": called,
            "use_case": "greeting",
            "prompt_version": "v2" if i % 3 == 0 else "v1",
        }
        answered = status == "ok" and called is not None
        costs.append(
            CostEvent(
                event_id=event_id(turn, "cost"),
                occurred_at=at,
                request_model=model,
                input_tokens=120 + i if answered else 0,
                output_tokens=30 + i if answered else 0,
                usage_source="gateway" if answered else "none",
                cost=cost,
                avoided_cost=avoided,
                price_source="litellm" if answered else "unpriced",
                status=status,  # type: ignore[arg-type]
                cached=i == CACHED,
                latency_ms=float(80 + 7 * i),
                budget=limits if tenant == "acme" else None,
                **common,
            )
        )
        audits.append(
            AuditEvent(
                event_id=event_id(turn, "audit"),
                status=status,  # type: ignore[arg-type]
                outcome=outcome,
                reason=reason,
                attempts=2 if i == RETRIED else int(called is not None),
                latency_ms=float(80 + 7 * i),
                input_sha256="0" * 64,
                input_chars=40,
                source_partition=0,
                source_offset=i,
                **common,
            )
        )
    window = today.strftime("%Y-%m-%d")
    audits.append(
        BudgetNotice(
            event_id=BudgetNotice.id_for("acme", "day", window, "soft_threshold"),
            turn_id="acme-t0",
            tenant_id="acme",
            session_id="s0",
            seq=0,
            produced_at=today,
            period="day",
            window=window,
            level="soft_threshold",
            spend=Decimal("0.04"),
            limit=Decimal("0.05"),
            threshold=0.8,
            currency="USD",
        )
    )
    return costs, audits


def _records(
    topic: str, events: Iterable[OutputEvent]
) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
    return [
        (topic, session_key(e.tenant_id, e.session_id).encode(), e.to_json(), cloudevent_headers(e))
        for e in events
    ]


# -- what the page shows -------------------------------------------------------------


async def _marks(page: Page, testid: str) -> dict[tuple[str, str], str]:
    """(series, category) -> data-value of every mark of a chart."""
    found = await page.eval_on_selector_all(
        f'[data-testid="{testid}"] [data-value]',
        "els => els.map(e => [e.dataset.series, e.dataset.x, e.dataset.value])",
    )
    return {(s, x): v for s, x, v in found}


async def _totals(page: Page, testid: str) -> dict[str, str]:
    found = await page.eval_on_selector_all(
        f'[data-testid="{testid}"] [data-total]',
        "els => els.map(e => [e.dataset.x, e.dataset.total])",
    )
    return dict(found)


async def _table(page: Page, testid: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = await page.eval_on_selector_all(
        f'[data-testid="{testid}"] tbody tr',
        """trs => trs.map(tr => Object.fromEntries(
            [...tr.querySelectorAll('td')].map(td => [td.dataset.col, td.dataset.value])))""",
    )
    return rows


def _shown(value: Any) -> Any:
    """An API figure as the page's data-value holds it, made comparable."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return float(value)


def _read(shown: str, like: Any) -> Any:
    return float(shown) if isinstance(like, float) and shown != "" else shown


def _money(rows: Iterable[dict[str, Any]], key: Any, column: str) -> dict[Any, Decimal]:
    sums: dict[Any, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[key(row)] += Decimal(row[column])
    return dict(sums)


def _decimals(shown: dict[Any, str]) -> dict[Any, Decimal]:
    return {k: Decimal(v) for k, v in shown.items()}


async def _assert_table(page: Page, testid: str, api_rows: list[dict[str, Any]]) -> None:
    shown = await _table(page, testid)
    assert len(shown) == len(api_rows), testid
    for cells, row in zip(shown, api_rows, strict=True):
        for column, value in cells.items():
            expected: Any = row
            for part in column.split("."):
                expected = expected[part]
            assert _read(value, _shown(expected)) == _shown(expected), (testid, column, row)


def _outcome(row: dict[str, Any]) -> tuple[str, str]:
    gateway = row["gateway"] or "(no gateway)"
    label = (
        row["outcome"] if row["status"] == row["outcome"] else f"{row['outcome']} ({row['status']})"
    )
    return gateway, label


def _variant(row: dict[str, Any]) -> str:
    return (
        "unversioned" if row["use_case"] is None else f"{row['use_case']} · {row['prompt_version']}"
    )


async def _assert_page_shows(page: Page, api: dict[str, Any]) -> None:
    """Every chart and table on the page against the API's answers for the same filters."""
    daily = api["spend_daily"]["rows"]
    assert _decimals(await _marks(page, "chart-spend-daily")) == _money(
        daily, lambda r: (r["tenant_id"], r["period_start"]), "cost"
    )
    assert _decimals(await _totals(page, "chart-spend-daily")) == _money(
        daily, lambda r: r["period_start"], "cost"
    )

    by_model = api["spend_by_model"]["rows"]
    assert _decimals(await _marks(page, "chart-spend-model")) == _money(
        by_model, lambda r: (r["tenant_id"], r["request_model"]), "cost"
    )
    assert _decimals(await _totals(page, "chart-spend-model")) == _money(
        by_model, lambda r: r["request_model"], "cost"
    )
    await _assert_table(page, "table-spend-model", by_model)

    cache = api["cache"]["rows"]
    assert _decimals(await _marks(page, "chart-cache-savings")) == _money(
        cache, lambda r: (r["tenant_id"], r["day"]), "avoided_cost"
    )
    await _assert_table(page, "table-cache", cache)

    await _assert_table(page, "table-budget-status", api["budget_status"])
    day_limits = [r for r in api["limits"]["rows"] if r["period"] == "day"]
    expected_limits = _money(day_limits, lambda r: (r["tenant_id"], r["budget_window"]), "spend")
    expected_limits |= _money(
        [r for r in day_limits if r["spend_limit"] is not None],
        lambda r: (f"{r['tenant_id']} limit", r["budget_window"]),
        "spend_limit",
    )
    assert _decimals(await _marks(page, "chart-limits")) == expected_limits

    outcomes = api["outcomes"]["rows"]
    turns: dict[tuple[str, str], float] = defaultdict(float)
    for row in outcomes:
        gateway, label = _outcome(row)
        turns[(label, gateway)] += row["turns"]
    shown_turns = await _marks(page, "chart-outcomes")
    assert {k: float(v) for k, v in shown_turns.items()} == turns
    latency = {
        (p, " · ".join(_outcome(row))): float(row[f"latency_ms_{p}"])
        for row in outcomes
        for p in ("p50", "p95", "p99")
    }
    assert {k: float(v) for k, v in (await _marks(page, "chart-latency")).items()} == latency
    await _assert_table(page, "table-outcomes", outcomes)

    variants = api["variants"]["rows"]
    assert _decimals(await _marks(page, "chart-variants")) == {
        (r["tenant_id"], _variant(r)): Decimal(r["cost_per_turn"]) for r in variants
    }
    margins = await page.eval_on_selector_all(
        '[data-testid="chart-variants"] [data-value]',
        "els => els.map(e => [e.dataset.series, e.dataset.x, e.dataset.margin])",
    )
    assert {(s, x): m for s, x, m in margins} == {
        (r["tenant_id"], _variant(r)): _shown(r["cost_per_turn_margin"]) for r in variants
    }
    await _assert_table(page, "table-variants", variants)


async def _api(http: aiohttp.ClientSession, base: str, filters: dict[str, str]) -> dict[str, Any]:
    """What the API answers under ``filters``, for every view the page reads."""
    views = ("spend_daily", "spend_by_model", "cache", "limits", "outcomes", "variants")
    out: dict[str, Any] = {}
    for view in views:
        async with http.get(f"{base}/api/views/{view}", params=filters) as response:
            assert response.status == 200, await response.text()
            out[view] = await response.json()
    tenant = {"tenant": filters["tenant"]} if "tenant" in filters else {}
    async with http.get(f"{base}/budget/status", params=tenant) as response:
        assert response.status == 200, await response.text()
        out["budget_status"] = await response.json()
    return out


async def _shown_under(
    page: Page, http: aiohttp.ClientSession, base: str, filters: dict[str, str]
) -> dict[str, Any]:
    """Wait until the page shows ``filters``' figures; check them against the API's."""
    await page.wait_for_selector(f'body[data-state="ready"][data-filters="{urlencode(filters)}"]')
    api = await _api(http, base, filters)
    await _assert_page_shows(page, api)
    return api


# -- fixtures and the test ------------------------------------------------------------


@pytest.fixture
async def sink_url(
    kafka: KafkaSettings, topic_names: TopicNames, tmp_path: Path
) -> AsyncIterator[str]:
    """A running sink holding :func:`_events` of today and yesterday; its API's base URL."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    costs, audits = _events(today)
    await publish(kafka, _records(topic_names.costs, costs) + _records(topic_names.audit, audits))
    stats = SinkStats()

    def on_batch(result: BatchResult, latest: SinkStats) -> None:
        nonlocal stats
        stats = latest

    settings = SinkSettings(
        database=tmp_path / "sink.duckdb",
        group_id=f"sink-{uuid.uuid4().hex[:8]}",
        batch_timeout_ms=100,
        api_port=0,
    )
    stop = asyncio.Event()
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    sink = asyncio.create_task(
        run_sink(kafka, topic_names, settings, stop, on_batch=on_batch, api_started=started)
    )
    try:
        port = await asyncio.wait_for(started, timeout=30)
        await wait_for(
            lambda: (
                sink.done()
                or (stats.rows_inserted == len(costs) and stats.audit_inserted == len(audits))
            )
        )
        assert not sink.done(), "the sink stopped before storing the events"
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(sink, timeout=30)


@dataclass
class Browser:
    page: Page
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    """A page in headless Debian Chromium with a fresh profile, noting every request
    and every uncaught script error."""
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(15_000)
            seen = Browser(page)
            page.on("request", lambda request: seen.requested.append(request.url))
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            yield seen
        finally:
            await context.close()


async def test_the_dashboard_charts_the_apis_numbers_and_follows_the_filters(
    sink_url: str, browser: Browser, tmp_path: Path
) -> None:
    page = browser.page
    today = datetime.now(UTC).date()
    async with aiohttp.ClientSession() as http:
        await page.goto(f"{sink_url}/")
        everything = await _shown_under(page, http, sink_url, {})
        assert len(everything["spend_daily"]["rows"]) == 4  # 2 tenants x 2 days
        assert {r["tenant_id"] for r in everything["budget_status"]} == set(TENANTS)
        hit_rates = [float(r["cache_hit_rate"]) for r in await _table(page, "table-cache")]
        assert any(rate > 0 for rate in hit_rates)
        screenshot = tmp_path / "dashboard.png"
        await page.screenshot(path=str(screenshot), full_page=True)

        await page.select_option('[data-testid="filter-tenant"]', "globex")
        globex = await _shown_under(page, http, sink_url, {"tenant": "globex"})
        assert {r["tenant_id"] for r in globex["spend_daily"]["rows"]} == {"globex"}
        assert {s for s, _ in await _marks(page, "chart-spend-daily")} == {"globex"}

        await page.fill('[data-testid="filter-from"]', today.isoformat())
        filters = {"tenant": "globex", "from": today.isoformat()}
        narrowed = await _shown_under(page, http, sink_url, filters)
        assert {r["period_start"] for r in narrowed["spend_daily"]["rows"]} == {today.isoformat()}

        await page.select_option('[data-testid="filter-model"]', MODELS[1][0])
        filters["model"] = MODELS[1][0]
        await _shown_under(page, http, sink_url, filters)

        long_ago = (today - timedelta(days=400)).isoformat()
        await page.fill('[data-testid="filter-from"]', long_ago)
        await page.fill('[data-testid="filter-to"]', long_ago)
        filters = {"tenant": "globex", "from": long_ago, "to": long_ago, "model": MODELS[1][0]}
        await page.wait_for_selector(
            f'body[data-state="ready"][data-filters="{urlencode(filters)}"]'
        )
        for panel in ("spend-daily", "spend-model", "cache", "outcomes", "variants"):
            section = page.locator(f'[data-testid="panel-{panel}"]')
            assert await section.get_attribute("data-state") == "empty", panel
            assert await section.get_by_text("No data for these filters.").is_visible()

        # a date the field cannot take, in a bookmark: said, not dropped silently
        await page.goto(f"{sink_url}/?from=2026-13-01")
        await page.wait_for_selector('body[data-state="error"]')
        said = await page.locator("#status").inner_text()
        assert "from=2026-13-01" in said and "no date" in said, said

    assert browser.errors == []
    assert all(url.startswith(f"{sink_url}/") for url in browser.requested), browser.requested
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
