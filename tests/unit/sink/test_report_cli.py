"""``gwstream report``: the spend and variant views in every format, and its errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from tests.unit.sink.test_sink_parse import cost_event as base_event
from typer.testing import CliRunner, Result

from gwstream.cli import app
from gwstream.events import CostEvent, ResponseStatus
from gwstream.sink import CostWriter
from gwstream.sink.report import SPEND_COLUMNS, VARIANT_COLUMNS


def cost_event(turn: str, version: str, status: ResponseStatus, cost: str) -> CostEvent:
    return base_event(turn, cost).model_copy(
        update={
            "input_tokens": 100,
            "output_tokens": 10,
            "status": status,
            "latency_ms": 100.0,
            "use_case": "billing",
            "prompt_version": version,
        }
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "costs.duckdb"
    with CostWriter(path) as writer:
        writer.write_batch(
            [
                cost_event("a-1", "v1", "ok", "0.001"),
                cost_event("a-2", "v1", "refused", "0"),
                cost_event("b-1", "v2", "ok", "0.002"),
            ]
        )
    return path


def report(*args: str) -> Result:
    return CliRunner().invoke(app, ["report", *args])


def test_variants_as_json(database: Path) -> None:
    result = report("--view", "variants", "--format", "json", "--database", str(database))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["prompt_version"], r["turns"], r["refused"]) for r in rows] == [
        ("v1", 2, 1),
        ("v2", 1, 0),
    ]
    assert list(rows[0]) == list(VARIANT_COLUMNS)
    assert rows[0]["cost_per_turn"] == "0.000500000"


def test_variants_as_csv(database: Path) -> None:
    result = report("--view", "variants", "-f", "csv", "--database", str(database))
    assert result.exit_code == 0, result.output
    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["prompt_version"], r["refusal_rate"]) for r in parsed] == [
        ("v1", "0.5"),
        ("v2", "0.0"),
    ]


def test_the_variants_table_says_how_to_read_its_intervals(database: Path) -> None:
    result = report("--view", "variants", "--database", str(database))
    assert result.exit_code == 0, result.output
    assert "±" in result.stdout
    assert "only if their intervals do not overlap" in " ".join(result.stdout.split())


def test_without_a_view_the_report_is_the_spend_report(database: Path) -> None:
    result = report("--format", "json", "--database", str(database))
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert list(row) == list(SPEND_COLUMNS)
    assert (row["turns"], row["cost"], row["cached_turns"]) == (3, "0.003000000", 0)


def test_an_unknown_view_is_refused_naming_the_choices(database: Path) -> None:
    result = report("--view", "tenants", "--database", str(database))
    assert result.exit_code == 2
    assert "--view must be one of spend, spend_daily" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("view", ["spend", "variants"])
def test_a_missing_database_is_an_error_naming_the_file(tmp_path: Path, view: str) -> None:
    missing = tmp_path / "nowhere.duckdb"
    result = report("--view", view, "--database", str(missing))
    assert result.exit_code == 1  # a runtime failure; 2 is for usage and configuration
    assert str(missing) in " ".join(result.stderr.split())
    assert "does not exist" in result.stderr


def test_a_database_held_by_the_sink_is_an_error_naming_the_file(database: Path) -> None:
    with CostWriter(database):
        result = report("--view", "variants", "--database", str(database))
    assert result.exit_code == 1  # a runtime failure; 2 is for usage and configuration
    assert "read-only" in result.stderr


def test_a_database_without_cost_events_is_an_error_saying_so(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    result = report("--view", "variants", "--database", str(other))
    assert result.exit_code == 1  # a runtime failure; 2 is for usage and configuration
    assert "no cost_events table" in result.stderr


def test_a_report_needs_no_gateway_secret_and_no_broker(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The processor's configuration: an OAuth gateway whose secret is not in this shell,
    # and a broker nobody runs. The report reads only the sink section.
    config = tmp_path / "gwstream.yaml"
    config.write_text(
        "kafka:\n  bootstrap_servers: kafka.invalid:9092\n"
        "gateways:\n  default:\n    protocol: cognigy.chat\n"
        "    base_urls: [https://cognigy.invalid]\n    oauth: {client_id: reports}\n"
        f"sink:\n  database: {database}\n  api_port: null\n"
    )
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    result = report("--view", "spend_daily", "--config", str(config), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("tenant_id,period_start,currency,turns")
    assert "read from" in result.stderr and str(database) in " ".join(result.stderr.split())


def test_report_lists_the_views(database: Path) -> None:
    result = report("--list")
    assert result.exit_code == 0
    assert {line.split()[0] for line in result.stdout.splitlines()} >= {
        "spend",
        "top_sessions",
        "outcomes",
        "reconciliation",
    }


def test_bad_filters_are_usage_errors(database: Path) -> None:
    result = report("--from", "2026-12-02", "--to", "2026-12-01", "--database", str(database))
    assert result.exit_code == 2
    assert "ends (2026-12-01) before it starts (2026-12-02)" in result.stderr
    result = report("--from", "yesterday", "--database", str(database))
    assert result.exit_code == 2


def test_reconcile_exits_as_report_does_on_a_file_it_cannot_read(
    tmp_path: Path, database: Path
) -> None:
    """1 for data that cannot be read (README: 2 is for usage and configuration only)."""
    runner = CliRunner()
    missing = tmp_path / "nowhere.duckdb"
    result = runner.invoke(app, ["gateways", "reconcile", "--database", str(missing)])
    assert result.exit_code == 1 and "does not exist" in result.stderr
    with CostWriter(database):
        held = runner.invoke(app, ["gateways", "reconcile", "--database", str(database)])
    assert held.exit_code == 1, held.stderr
    bad = runner.invoke(app, ["gateways", "reconcile", "--format", "xml"])
    assert bad.exit_code == 2


def test_export_to_a_directory_that_does_not_exist_is_a_usage_error_exit_2(
    database: Path, tmp_path: Path
) -> None:
    output = tmp_path / "nope" / "spend.parquet"
    done = CliRunner().invoke(
        app, ["export", "spend", "-o", str(output), "--database", str(database)]
    )
    assert done.exit_code == 2, done.output
    assert f"{output.parent} is no directory" in done.output
    assert not output.parent.exists()


def test_reconcile_reads_a_file_without_vendor_metrics_or_gateway_secrets(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pulls yet: the empty report and exit 0, as `report --view reconciliation` gives.
    A configuration whose OAuth secrets are not given is no obstacle to reading."""
    example = Path(__file__).parents[3] / "examples" / "gateways.yaml"
    config = tmp_path / "gateways.yaml"
    config.write_text("".join(line for line in example.open() if "client_secret_file" not in line))
    monkeypatch.setenv("GWSTREAM_SINK__DATABASE", str(database))
    result = CliRunner().invoke(app, ["gateways", "reconcile", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "No vendor metrics pulled yet" in result.stdout
    bare = CliRunner().invoke(app, ["gateways", "reconcile", "-c", str(config), "-f", "json"])
    assert bare.exit_code == 0 and bare.stdout.strip() == "[]"
    assert "no vendor metrics pulled yet" in bare.stderr


def test_filters_that_match_nothing_get_a_note_on_stderr(database: Path) -> None:
    nothing = report("--tenant", "nosuch", "--format", "csv", "--database", str(database))
    assert nothing.exit_code == 0
    assert "no rows match tenant=nosuch" in nothing.stderr
    assert "nosuch" not in nothing.stdout  # stdout stays the bare CSV
    found = report("--database", str(database))
    assert found.exit_code == 0 and "no rows match" not in found.stderr


def test_a_limited_table_says_its_total_counts_only_the_rows_shown(database: Path) -> None:
    limited = report("--view", "spend", "--limit", "1", "--database", str(database))
    assert limited.exit_code == 0, limited.output
    assert "the first 1 rows (--limit)" in limited.stderr
    whole = report("--view", "spend", "--limit", "10", "--database", str(database))
    assert "--limit" not in whole.stderr


def test_a_date_range_that_matches_nothing_says_which_day_the_view_counts_by(
    database: Path,
) -> None:
    # the events happened on 2025-03-01 and were processed then too; a range elsewhere
    args = ("--from", "2025-04-01", "--to", "2025-04-02", "--database", str(database))
    limits = report("--view", "limits", *args)
    assert limits.exit_code == 0
    said = " ".join(limits.stderr.split())
    assert "limits dates a turn by the day the processor handled the turn" in said
    assert "names are matched exactly" not in said  # no name was given
    spend = " ".join(report("--view", "spend", *args).stderr.split())
    assert "spend dates a turn by the day the turn happened" in spend


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_list_of_views_comes_in_the_format_asked(fmt: str) -> None:
    result = report("--list", "--format", fmt)
    assert result.exit_code == 0
    if fmt == "json":
        names = [v["name"] for v in json.loads(result.stdout)]
    else:
        names = [row["name"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert {"spend", "limits", "variants"} <= set(names)


def test_a_model_without_a_price_has_no_cost_per_answer_rather_than_zero(tmp_path: Path) -> None:
    path = tmp_path / "unpriced.duckdb"
    unpriced = cost_event("u-1", "v1", "ok", "0").model_copy(
        update={"price_source": "unpriced", "request_model": "house-llm"}
    )
    with CostWriter(path) as writer:
        writer.write_batch([unpriced, cost_event("p-1", "v1", "ok", "0.002")])
    result = report("--view", "spend_by_model", "--format", "json", "--database", str(path))
    assert result.exit_code == 0, result.output
    per_answer = {r["request_model"]: r["cost_per_answer"] for r in json.loads(result.stdout)}
    assert per_answer["house-llm"] is None
    assert per_answer["gpt-4o-mini"] == "0.002000000"
