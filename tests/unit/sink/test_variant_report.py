"""The variant comparison: counts, averages, spreads and 95% intervals per prompt variant.

Every expected figure is computed here from the events themselves, with
Python's own arithmetic, not read back from SQL.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from gwstream.events import CostEvent, ResponseStatus, event_id
from gwstream.sink import CostWriter, SinkError
from gwstream.sink.report import VARIANT_COLUMNS, VARIANTS_NOTE, render_variants, variant_report

DAY = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NANO = Decimal("0.000000001")
Z = 1.96


@dataclass(frozen=True)
class Turn:
    status: ResponseStatus | None
    cost: str
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False


# (tenant, use case, prompt version, currency) -> the turns of that variant.
VARIANTS: dict[tuple[str, str | None, str | None, str], list[Turn]] = {
    ("acme", "billing", "v1", "USD"): [
        Turn("ok", "0.001", 100.0, 100, 20),
        Turn("ok", "0.002", 200.0, 200, 40),
        Turn("refused", "0", 5.0),
        Turn("ok", "0", 1.0, cached=True),
        Turn("failed", "0.0005", 900.0, 150, 0),
        Turn("invalid_output", "0.003", 400.0, 300, 90),
    ],
    ("acme", "billing", "v2", "USD"): [
        Turn("ok", "0.0011", 120.0, 110, 21),
        Turn("ok", "0.0013", 130.0, 130, 25),
        Turn("ok", "0.0012", 145.5, 120, 23),
    ],
    ("acme", "billing", "v1", "EUR"): [Turn("ok", "0.0009", 80.0, 90, 10)],
    ("acme", None, None, "USD"): [
        Turn(None, "0.004", 0.0, 400, 80),  # an event from before statuses were recorded
        Turn("refused", "0", 50.0),
    ],
    ("globex", "billing", "v1", "USD"): [Turn("ok", "0.0007", 60.0, 70, 7)],
}


def events() -> list[CostEvent]:
    out = []
    for (tenant, use_case, version, currency), turns in VARIANTS.items():
        for i, t in enumerate(turns):
            turn_id = f"{tenant}-{use_case}-{version}-{currency}-{i}"
            out.append(
                CostEvent(
                    event_id=event_id(turn_id, "cost"),
                    turn_id=turn_id,
                    tenant_id=tenant,
                    session_id=f"s-{i}",
                    seq=0,
                    produced_at=DAY,
                    occurred_at=DAY,
                    request_model="gpt-4o-mini",
                    input_tokens=t.input_tokens,
                    output_tokens=t.output_tokens,
                    usage_source="gateway",
                    cost=Decimal(t.cost),
                    currency=currency,
                    price_source="litellm",
                    status=t.status,
                    latency_ms=t.latency_ms,
                    cached=t.cached,
                    avoided_cost=Decimal("0.002") if t.cached else Decimal(0),
                    use_case=use_case,
                    prompt_version=version,
                )
            )
    return out


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "costs.duckdb"
    with CostWriter(path) as writer:
        writer.write_batch(events())
    return path


@pytest.fixture
def rows(database: Path) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        (r["tenant_id"], r["use_case"], r["prompt_version"], r["currency"]): r
        for r in variant_report(database)
    }


def wilson_margin(hits: int, n: int) -> float:
    """The larger distance from hits/n to a bound of its 95% Wilson score interval."""
    p = hits / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return max(p - (centre - half), (centre + half) - p)


def wilson_bounds(hits: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of hits/n."""
    p = hits / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (quantile_cont's definition)."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def test_one_row_per_tenant_use_case_version_and_currency_in_order(database: Path) -> None:
    keys = [
        (r["tenant_id"], r["use_case"], r["prompt_version"], r["currency"])
        for r in variant_report(database)
    ]
    assert keys == [
        ("acme", "billing", "v1", "EUR"),
        ("acme", "billing", "v1", "USD"),
        ("acme", "billing", "v2", "USD"),
        ("acme", None, None, "USD"),  # no versioned prompts: after the variants
        ("globex", "billing", "v1", "USD"),
    ]
    assert list(variant_report(database)[0]) == list(VARIANT_COLUMNS)


def test_turns_are_counted_by_status_and_cache(rows: dict[tuple[Any, ...], Any]) -> None:
    for key, turns in VARIANTS.items():
        row = rows[key]
        assert row["turns"] == len(turns), key
        for status in ("ok", "refused", "failed", "invalid_output"):
            assert row[status] == sum(t.status == status for t in turns), (key, status)
        assert row["cached"] == sum(t.cached for t in turns), key
    v1 = rows[("acme", "billing", "v1", "USD")]
    assert (v1["turns"], v1["ok"], v1["refused"], v1["failed"], v1["invalid_output"]) == (
        6,
        3,
        1,
        1,
        1,
    )


def test_tokens_and_cost_per_turn_are_averages_over_every_turn(
    rows: dict[tuple[Any, ...], Any],
) -> None:
    for key, turns in VARIANTS.items():
        row = rows[key]
        n = len(turns)
        assert row["input_tokens_per_turn"] == pytest.approx(
            round(sum(t.input_tokens for t in turns) / n, 3)
        )
        assert row["output_tokens_per_turn"] == pytest.approx(
            round(sum(t.output_tokens for t in turns) / n, 3)
        )
        mean = (sum(Decimal(t.cost) for t in turns) / n).quantize(NANO, ROUND_HALF_EVEN)
        assert isinstance(row["cost_per_turn"], Decimal)
        assert row["cost_per_turn"] == mean, key
    assert rows[("acme", "billing", "v1", "USD")]["cost_per_turn"] == Decimal("0.001083333")


def test_per_answer_figures_count_only_the_turns_the_gateway_answered(
    rows: dict[tuple[Any, ...], Any],
) -> None:
    # v1: two ok and one invalid_output answered; the refusal, the cache hit and the
    # failure are left out.
    v1 = rows[("acme", "billing", "v1", "USD")]
    assert v1["answers"] == 3
    assert v1["input_tokens_per_answer"] == pytest.approx(200.0)  # (100 + 200 + 300) / 3
    assert v1["output_tokens_per_answer"] == pytest.approx(50.0)  # (20 + 40 + 90) / 3
    assert v1["cost_per_answer"] == Decimal("0.002")  # (0.001 + 0.002 + 0.003) / 3
    assert v1["cost_per_answer_margin"] == Decimal("0.001131607")  # 1.96 * 0.001 / sqrt(3)
    # An event from before statuses were recorded counts when it has tokens.
    assert rows[("acme", None, None, "USD")]["answers"] == 1
    eur = rows[("acme", "billing", "v1", "EUR")]
    assert (eur["answers"], eur["cost_per_answer"], eur["cost_per_answer_margin"]) == (
        1,
        Decimal("0.0009"),
        None,
    )


def test_the_cost_spread_and_the_margin_of_its_mean(rows: dict[tuple[Any, ...], Any]) -> None:
    for key, turns in VARIANTS.items():
        if len(turns) < 2:
            continue
        costs = [Decimal(t.cost) for t in turns]
        sd = statistics.stdev(costs)
        margin = Decimal(Z) * sd / Decimal(len(costs)).sqrt()
        row = rows[key]
        assert isinstance(row["cost_sd"], Decimal)
        assert row["cost_sd"] == pytest.approx(sd, abs=NANO), key
        assert row["cost_per_turn_margin"] == pytest.approx(margin, abs=NANO), key
    # v2's three costs, 0.0011, 0.0013 and 0.0012, spread by exactly 0.0001.
    v2 = rows[("acme", "billing", "v2", "USD")]
    assert v2["cost_sd"] == Decimal("0.0001")
    assert v2["cost_per_turn_margin"] == Decimal("0.000113161")  # 1.96 * 0.0001 / sqrt(3)


def test_one_turn_has_no_spread_and_so_no_margin(rows: dict[tuple[Any, ...], Any]) -> None:
    eur = rows[("acme", "billing", "v1", "EUR")]
    assert eur["cost_per_turn"] == Decimal("0.0009")
    assert eur["cost_sd"] is None
    assert eur["cost_per_turn_margin"] is None


def test_rates_and_their_wilson_margins(rows: dict[tuple[Any, ...], Any]) -> None:
    for key, turns in VARIANTS.items():
        row = rows[key]
        rated = [t for t in turns if t.status is not None]
        cached = sum(t.cached for t in turns)
        refused = sum(t.status == "refused" for t in rated)
        failed = sum(t.status in ("failed", "invalid_output") for t in rated)
        assert row["cache_hit_rate"] == pytest.approx(cached / len(turns), abs=1e-6)
        assert row["cache_hit_rate_margin"] == pytest.approx(
            wilson_margin(cached, len(turns)), abs=1e-6
        )
        assert row["refusal_rate"] == pytest.approx(refused / len(rated), abs=1e-6)
        assert row["refusal_rate_margin"] == pytest.approx(
            wilson_margin(refused, len(rated)), abs=1e-6
        )
        assert row["failure_rate"] == pytest.approx(failed / len(rated), abs=1e-6)
        assert row["failure_rate_margin"] == pytest.approx(
            wilson_margin(failed, len(rated)), abs=1e-6
        )
        for name, hits, n in (
            ("cache_hit_rate", cached, len(turns)),
            ("refusal_rate", refused, len(rated)),
            ("failure_rate", failed, len(rated)),
        ):
            low, high = wilson_bounds(hits, n)
            assert (row[f"{name}_low"], row[f"{name}_high"]) == (
                pytest.approx(low, abs=1e-6),
                pytest.approx(high, abs=1e-6),
            )
            assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"]


def test_rates_leave_out_turns_without_a_status(rows: dict[tuple[Any, ...], Any]) -> None:
    unversioned = rows[("acme", None, None, "USD")]
    assert unversioned["turns"] == 2
    assert unversioned["refusal_rate"] == 1.0  # one refusal of one turn with a status
    assert unversioned["cache_hit_rate"] == 0.0


def test_no_refusal_in_a_few_turns_still_leaves_a_wide_margin(
    rows: dict[tuple[Any, ...], Any],
) -> None:
    v2 = rows[("acme", "billing", "v2", "USD")]
    assert v2["refusal_rate"] == 0.0
    # The normal approximation would claim 0 +/- 0; three turns cannot rule out 56%.
    assert v2["refusal_rate_margin"] == pytest.approx(0.561506, abs=1e-6)


def test_latency_mean_and_percentiles_leave_out_turns_without_a_status(
    rows: dict[tuple[Any, ...], Any],
) -> None:
    for key, turns in VARIANTS.items():
        latencies = [t.latency_ms for t in turns if t.status is not None]
        row = rows[key]
        assert row["latency_ms_mean"] == pytest.approx(statistics.fmean(latencies), abs=1e-3)
        assert row["latency_ms_p50"] == pytest.approx(quantile(latencies, 0.5), abs=1e-3)
        assert row["latency_ms_p95"] == pytest.approx(quantile(latencies, 0.95), abs=1e-3)
    v1 = rows[("acme", "billing", "v1", "USD")]
    # Sorted: 1, 5, 100, 200, 400, 900; p50 halfway between 100 and 200, p95 at 4.75 ranks.
    assert (v1["latency_ms_p50"], v1["latency_ms_p95"]) == (150.0, 775.0)
    assert rows[("acme", None, None, "USD")]["latency_ms_mean"] == 50.0


def test_csv_carries_every_column_with_exact_costs(database: Path) -> None:
    parsed = list(csv.DictReader(io.StringIO(render_variants(variant_report(database), "csv"))))
    assert len(parsed) == len(VARIANTS)
    assert list(parsed[0]) == list(VARIANT_COLUMNS)
    v2 = next(r for r in parsed if r["prompt_version"] == "v2")
    assert (v2["turns"], v2["cost_per_turn"], v2["cost_sd"]) == ("3", "0.001200000", "0.000100000")
    eur = next(r for r in parsed if r["currency"] == "EUR")
    assert eur["cost_per_turn_margin"] == ""  # no margin from one turn


def test_json_carries_costs_as_decimal_strings_and_gaps_as_null(database: Path) -> None:
    parsed = json.loads(render_variants(variant_report(database), "json"))
    unversioned = next(r for r in parsed if r["use_case"] is None)
    assert unversioned["prompt_version"] is None
    assert unversioned["cost_per_turn"] == "0.002000000"
    eur = next(r for r in parsed if r["currency"] == "EUR")
    assert eur["cost_sd"] is None
    assert isinstance(eur["refusal_rate_margin"], float)


def test_the_table_shows_margins_and_how_to_read_them(database: Path) -> None:
    text = render_variants(variant_report(database), "table")
    assert "\x1b[" not in text
    v2 = next(line for line in text.splitlines() if "v2" in line)
    assert re.search(r"\b3\b.*0\.001200000.*\b0\.0%", v2)
    assert "± 0.000113161" in text
    assert "0.0%-56.2%" in text  # v2's refusal interval, in percent
    assert "(none)" in text  # the turns without versioned prompts
    assert " ".join(VARIANTS_NOTE.split()[:6]) in " ".join(text.split())


def test_an_empty_comparison_renders_in_every_format() -> None:
    assert "No cost events." in render_variants([], "table")
    assert render_variants([], "csv").splitlines() == [",".join(VARIANT_COLUMNS)]
    assert json.loads(render_variants([], "json")) == []


def test_a_missing_database_is_an_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.duckdb"
    with pytest.raises(SinkError, match=re.escape(str(missing))):
        variant_report(missing)


def test_a_file_of_the_previous_version_compares_as_one_unversioned_row(
    previous_version_file: Path,
) -> None:
    [row] = variant_report(previous_version_file)
    assert (row["use_case"], row["prompt_version"], row["turns"], row["ok"]) == (
        None,
        None,
        1,
        0,
    )
    assert row["cost_per_turn"] == Decimal("0.00036")
    assert row["refusal_rate"] is None  # no turn with a status to rate
    assert row["latency_ms_p50"] is None
