"""Spend reports: reading the database read-only, and rendering exact figures."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gwstream.errors import GwstreamError
from gwstream.events import CostEvent, event_id
from gwstream.sink import CostWriter, SinkError, render, spend_report
from gwstream.sink.report import csv_text
from gwstream.sink.schema import COSTS, SCHEMA_VERSION

DAY = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def cost_event(
    turn: str, cost: str, tenant: str, model: str = "gpt-4o-mini", **fields: Any
) -> CostEvent:
    return CostEvent(
        event_id=event_id(turn, "cost"),
        turn_id=turn,
        tenant_id=tenant,
        session_id="s-1",
        seq=0,
        produced_at=DAY,
        occurred_at=DAY,
        request_model=model,
        input_tokens=1000,
        output_tokens=200,
        usage_source="tiktoken",
        cost=Decimal(cost),
        **{"price_source": "litellm", **fields},
    )


ROWS: list[dict[str, Any]] = [
    {
        "tenant_id": "acme",
        "day": date(2025, 3, 1),
        "request_model": "gpt-4o-mini",
        "currency": "USD",
        "turns": 2,
        "input_tokens": 2000,
        "output_tokens": 400,
        "cost": Decimal("0.300000000"),
        "unpriced_turns": 0,
        "cached_turns": 1,
        "avoided_cost": Decimal("0.150000000"),
    },
    {
        "tenant_id": "globex",
        "day": date(2025, 3, 2),
        "request_model": "gpt-4o",
        "currency": "USD",
        "turns": 1,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost": Decimal("0.000000007"),
        "unpriced_turns": 0,
        "cached_turns": 0,
        "avoided_cost": Decimal("0.000000000"),
    },
    {
        "tenant_id": "initech",
        "day": date(2025, 3, 2),
        "request_model": "gpt-4o",
        "currency": "EUR",
        "turns": 3,
        "input_tokens": 5,
        "output_tokens": 6,
        "cost": Decimal("12.5"),
        "unpriced_turns": 1,
        "cached_turns": 2,
        "avoided_cost": Decimal("0.25"),
    },
]


def test_the_report_reads_the_view_ordered_by_tenant_day_and_model(tmp_path: Path) -> None:
    database = tmp_path / "costs.duckdb"
    with CostWriter(database) as writer:
        writer.write_batch(
            [
                cost_event("t-3", "0.2", "zeta"),
                cost_event("t-1", "0.1", "acme", model="gpt-4o-mini"),
                cost_event("t-2", "0.2", "acme", model="gpt-4o"),
            ]
        )
    rows = spend_report(database)
    assert [(r["tenant_id"], r["request_model"]) for r in rows] == [
        ("acme", "gpt-4o"),
        ("acme", "gpt-4o-mini"),
        ("zeta", "gpt-4o-mini"),
    ]
    assert list(rows[0]) == [
        "tenant_id",
        "day",
        "request_model",
        "currency",
        "turns",
        "input_tokens",
        "output_tokens",
        "cost",
        "unpriced_turns",
        "cached_turns",
        "avoided_cost",
    ]


def test_models_missing_from_the_price_map_are_counted_not_hidden(tmp_path: Path) -> None:
    database = tmp_path / "costs.duckdb"
    unpriced = cost_event("t-9", "0", "acme", model="in-house-llm").model_copy(
        update={"price_source": "unpriced"}
    )
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1", "0.1", "acme"), unpriced])
    rows = {r["request_model"]: r for r in spend_report(database)}
    assert rows["in-house-llm"]["unpriced_turns"] == 1
    assert rows["gpt-4o-mini"]["unpriced_turns"] == 0


def test_a_missing_database_is_an_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "costs.duckdb"
    with pytest.raises(SinkError, match=re.escape(str(missing))):
        spend_report(missing)
    assert issubclass(SinkError, GwstreamError)


def test_a_database_without_the_cost_table_is_an_error_naming_the_path(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(SinkError, match=re.escape(str(other)) + ".*no cost_events table"):
        spend_report(other)


def test_a_file_that_is_not_a_database_is_an_error_naming_the_path(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(SinkError, match=re.escape(str(text))):
        spend_report(text)


def test_a_database_held_by_a_writer_is_an_error_naming_the_path(tmp_path: Path) -> None:
    database = tmp_path / "costs.duckdb"
    with CostWriter(database), pytest.raises(SinkError, match=re.escape(str(database))):
        spend_report(database)


def test_csv_carries_every_row_with_exact_costs() -> None:
    parsed = list(csv.DictReader(io.StringIO(render(ROWS, "csv"))))
    assert [r["tenant_id"] for r in parsed] == ["acme", "globex", "initech"]
    assert parsed[0] == {
        "tenant_id": "acme",
        "day": "2025-03-01",
        "request_model": "gpt-4o-mini",
        "currency": "USD",
        "turns": "2",
        "input_tokens": "2000",
        "output_tokens": "400",
        "cost": "0.300000000",
        "unpriced_turns": "0",
        "cached_turns": "1",
        "avoided_cost": "0.150000000",
    }
    assert parsed[1]["cost"] == "0.000000007"  # no exponent notation


def test_json_carries_costs_as_decimal_strings() -> None:
    parsed = json.loads(render(ROWS, "json"))
    assert parsed[1] == {
        "tenant_id": "globex",
        "day": "2025-03-02",
        "request_model": "gpt-4o",
        "currency": "USD",
        "turns": 1,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost": "0.000000007",
        "unpriced_turns": 0,
        "cached_turns": 0,
        "avoided_cost": "0.000000000",
    }
    assert [Decimal(r["cost"]) for r in parsed] == [r["cost"] for r in ROWS]
    assert [Decimal(r["avoided_cost"]) for r in parsed] == [r["avoided_cost"] for r in ROWS]


def test_the_table_shows_each_row_and_a_total_per_currency() -> None:
    text = render(ROWS, "table")
    assert "\x1b[" not in text  # plain text, no colour codes
    for row in ROWS:
        assert row["tenant_id"] in text
    lines = text.splitlines()
    totals = [line for line in lines if "Total" in line]
    assert len(totals) == 2
    eur = next(line for line in totals if "EUR" in line)
    usd = next(line for line in totals if "USD" in line)
    assert re.search(r"\b3\b.*\b5\b.*\b6\b.*12\.5\b.*\b1\b.*\b2\b.*\b0\.25\b", eur)
    assert re.search(r"\b3\b.*\b3000\b.*\b600\b.*0\.300000007\b.*\b0\b.*\b1\b.*0\.15", usd)


def test_an_empty_report_renders_in_every_format() -> None:
    assert "No cost events." in render([], "table")
    assert "Total" not in render([], "table")
    assert render([], "csv").splitlines() == [
        "tenant_id,day,request_model,currency,turns,input_tokens,output_tokens,cost,"
        "unpriced_turns,cached_turns,avoided_cost"
    ]
    assert json.loads(render([], "json")) == []


def test_cache_hits_and_what_they_saved_are_summed_per_tenant_day_and_model(
    tmp_path: Path,
) -> None:
    database = tmp_path / "costs.duckdb"
    hits = [
        cost_event(f"hit-{i}", "0", "acme", cached=True, avoided_cost=Decimal(saved))
        for i, saved in enumerate(["0.000100001", "0.000200002", "0.1"])
    ]
    with CostWriter(database) as writer:
        writer.write_batch(
            [
                *hits,
                cost_event("miss", "0.3", "acme"),
                cost_event("other", "0", "acme", model="gpt-4o", cached=True),
                cost_event("globex", "0.2", "globex"),
            ]
        )
    rows = {(r["tenant_id"], r["request_model"]): r for r in spend_report(database)}
    mini = rows[("acme", "gpt-4o-mini")]
    assert (mini["turns"], mini["cached_turns"], mini["cost"]) == (4, 3, Decimal("0.3"))
    assert mini["avoided_cost"] == Decimal("0.100300003")
    assert isinstance(mini["avoided_cost"], Decimal)
    assert (rows[("acme", "gpt-4o")]["cached_turns"], rows[("acme", "gpt-4o")]["avoided_cost"]) == (
        1,
        Decimal(0),
    )
    assert (rows[("globex", "gpt-4o-mini")]["cached_turns"]) == 0
    totals = next(
        line for line in render(spend_report(database), "table").splitlines() if "Total" in line
    )
    assert re.search(r"\b4\b\s*│\s*0\.100300003\b", totals)  # all cached turns, all savings


def test_refused_turns_are_not_counted_as_unpriced(tmp_path: Path) -> None:
    database = tmp_path / "costs.duckdb"
    unpriced = {"model": "unknown", "price_source": "unpriced"}
    with CostWriter(database) as writer:
        writer.write_batch(
            [
                cost_event("refused", "0", "acme", status="refused", **unpriced),
                cost_event("failed", "0", "acme", status="failed", **unpriced),
                cost_event("ok", "0", "acme", status="ok", **unpriced),
                cost_event("older", "0", "acme", **unpriced),  # no status: counted
            ]
        )
    [row] = spend_report(database)
    assert (row["turns"], row["unpriced_turns"]) == (4, 3)


def test_a_file_of_the_previous_version_is_migrated_then_reported(
    previous_version_file: Path,
) -> None:
    [row] = spend_report(previous_version_file)
    assert (row["turns"], row["cost"], row["unpriced_turns"]) == (1, Decimal("0.00036"), 1)
    assert (row["cached_turns"], row["avoided_cost"]) == (0, Decimal(0))
    with duckdb.connect(str(previous_version_file), read_only=True) as conn:
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'cost_events'"
        ).fetchone()
        versions = conn.execute("SELECT max(version) FROM gwstream_schema").fetchone()
    # Nobody held the file, so the report migrated it as a sink would have.
    assert columns == (len(COSTS.columns) + 1,)
    assert versions == (SCHEMA_VERSION,)


def test_csv_writes_small_rates_positionally_never_in_exponent_notation() -> None:
    rows = [{"share": 5e-06, "rate": 0.25, "none": None}]
    parsed = list(csv.DictReader(io.StringIO(csv_text(rows, ["share", "rate", "none"]))))
    assert parsed == [{"share": "0.000005", "rate": "0.25", "none": ""}]


@pytest.mark.parametrize(
    ("api_port", "hint"),
    [
        (None, "its API is off (sink.api_port is empty)"),
        (9, "no sink answered at http://127.0.0.1:9: pass --url"),
    ],
)
def test_a_held_file_with_no_api_to_read_says_what_to_do_instead(
    tmp_path: Path, api_port: int | None, hint: str
) -> None:
    from gwstream.config import SinkSettings
    from gwstream.sink.report import read_anywhere
    from gwstream.sink.views import NO_FILTERS

    database = tmp_path / "costs.duckdb"
    sink = SinkSettings(database=database, api_port=api_port)
    with CostWriter(database), pytest.raises(SinkError) as held:
        read_anywhere("spend", NO_FILTERS, database=None, sink=sink)
    assert hint in str(held.value)
    assert "leave out --database" not in str(held.value)
