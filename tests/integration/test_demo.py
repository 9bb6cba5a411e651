"""`gwstream demo` end to end: its own embedded broker, simulator, processor, sink and report."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from rich.console import Console

from gwstream.demo import load_sample, republished_in_sample, run_demo
from gwstream.sink.report import spend_report

pytestmark = pytest.mark.integration


async def test_demo_accounts_for_every_record_and_reports_the_costs(tmp_path: Path) -> None:
    database = tmp_path / "demo.duckdb"
    out = io.StringIO()
    code = await run_demo(database=database, latency_ms=20, console=Console(file=out, width=200))
    text = out.getvalue()
    assert code == 0, text
    assert "every record accounted for" in text
    rows = spend_report(database)
    lines = resources.files("gwstream").joinpath("data/sample_turns.jsonl").read_text().splitlines()
    valid = sum(1 for line in lines if '"why"' not in line and '"republished"' not in line)
    assert valid == len(load_sample()) - 6 - republished_in_sample()
    assert f"{republished_in_sample()} republished turns answered again from session state" in text
    assert "conversations:" in text
    assert sum(int(r["turns"]) for r in rows) == valid
    assert {r["tenant_id"] for r in rows} == {
        "acme-telecom",
        "northwind-bank",
        "globex-retail",
        "initech-insurance",
    }
    assert sum(Decimal(str(r["cost"])) for r in rows) > 0
    budgets = re.search(
        r"(\d+) turns answered in lightweight mode .*?, (\d+) refused budget_exhausted; "
        r"northwind-bank may spend ([\d.]+) USD a day: spent ([\d.]+), (\d+) turns refused "
        r"tenant_budget_exhausted; notices on the audit topic: (.*)",
        " ".join(text.split()),  # the console wraps long lines
    )
    assert budgets is not None, text
    lightweight, exhausted, limit, spent, refused, notices = budgets.groups()
    assert int(lightweight) > 0 and int(exhausted) > 0 and int(refused) > 0
    assert Decimal(spent) <= Decimal(limit)
    assert "northwind-bank exhausted of its day limit" in notices
    guard = re.search(
        r"guardrails: (\d+) turns had PII replaced .*?; (\d+) injection attempts flagged "
        r"\((\d+) refused blocked_injection",
        " ".join(text.split()),
    )
    assert guard is not None, text
    redacted, flagged, blocked = map(int, guard.groups())
    assert redacted > 0 and flagged > blocked > 0
