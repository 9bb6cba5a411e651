"""The vendor_metrics table and the reconciliation view on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gwstream.events import CostEvent, event_id
from gwstream.reconcile.pages import VendorMetric
from gwstream.reconcile.pull import RECONCILIATION_COLUMNS, reconciliation_report
from gwstream.reconcile.store import VendorMetricsStore
from gwstream.sink import CostWriter, SinkError

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PULLED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def call(
    request_id: str,
    prompt: int = 100,
    completion: int = 20,
    *,
    ts: datetime = NOON,
    status: int = 200,
    latency_ms: float = 40.0,
) -> VendorMetric:
    return VendorMetric(
        request_id=request_id,
        ts=ts,
        operation="cognigy.chat",
        model="gpt-4o-mini",
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        latency_ms=latency_ms,
        status=status,
        streamed=False,
    )


def cost_event(
    turn: str,
    input_tokens: int = 100,
    output_tokens: int = 20,
    *,
    gateway: str = "cog",
    occurred_at: datetime = NOON,
    usage_source: str = "gateway",
) -> CostEvent:
    return CostEvent(
        event_id=event_id(turn, "cost"),
        turn_id=turn,
        tenant_id="acme",
        session_id="s-1",
        seq=0,
        produced_at=occurred_at,
        occurred_at=occurred_at,
        gateway=gateway,
        request_model="gpt-4o-mini",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usage_source=usage_source,
        cost=Decimal("0.001"),
        price_source="litellm",
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "costs.duckdb"


def store_calls(database: Path, gateway: str, calls: list[VendorMetric]) -> int:
    with VendorMetricsStore(database) as store:
        inserted = store.insert("cognigy", gateway, calls, PULLED)
        store.record_pull(
            "cognigy",
            gateway,
            started_at=PULLED,
            finished_at=PULLED,
            pages=1,
            rows_read=len(calls),
            rows_inserted=inserted,
        )
        return inserted


def only_row(database: Path) -> dict[str, Any]:
    rows = reconciliation_report(database)
    assert len(rows) == 1, rows
    return rows[0]


def test_storing_the_same_calls_again_inserts_nothing(database: Path) -> None:
    calls = [call("t-1"), call("t-2")]

    assert store_calls(database, "cog", calls) == 2
    assert store_calls(database, "cog", calls) == 0

    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM vendor_metrics").fetchone() == (2,)


def test_a_retried_turn_keeps_each_vendor_call(database: Path) -> None:
    failed = call("t-1", 0, 0, status=503, latency_ms=1.0)
    answered = call("t-1", ts=NOON + timedelta(milliseconds=80))

    assert store_calls(database, "cog", [failed, answered, answered]) == 2


def test_the_same_call_pulled_for_two_gateways_is_stored_for_each(database: Path) -> None:
    assert store_calls(database, "cog-a", [call("t-1")]) == 1
    assert store_calls(database, "cog-b", [call("t-1")]) == 1


def test_the_view_works_on_a_fresh_file_without_cost_events(database: Path) -> None:
    store_calls(database, "cog", [call("t-1", 7, 3)])

    row = only_row(database)

    assert row["gateway"] == "cog" and row["vendor"] == "cognigy"
    assert row["day"] == date(2026, 3, 1)
    assert (row["gwstream_turns"], row["vendor_requests"], row["only_vendor"]) == (0, 1, 1)
    assert row["vendor_total_tokens"] == 10
    assert row["total_tokens_diff"] == 10


def test_the_view_matches_turns_to_vendor_requests_and_compares_tokens(database: Path) -> None:
    with CostWriter(database) as writer:
        writer.write_batch(
            [
                cost_event("both-1", 100, 20),
                cost_event("both-2", 50, 10),
                cost_event("ours-only", 30, 5),
                cost_event("refused", 0, 0, usage_source="none"),
            ]
        )
    store_calls(
        database,
        "cog",
        [
            call("both-1", 100, 20),
            call("both-2", 0, 0, status=503, latency_ms=2.0),
            call("both-2", 52, 10, ts=NOON + timedelta(seconds=1)),
            call("vendor-only", 8, 2),
        ],
    )

    row = only_row(database)

    assert list(row) == list(RECONCILIATION_COLUMNS)
    assert row == {
        "gateway": "cog",
        "vendor": "cognigy",
        "day": date(2026, 3, 1),
        "gwstream_turns": 4,
        "vendor_requests": 3,
        "vendor_calls": 4,
        "matched": 2,
        "only_gwstream": 2,
        "only_gwstream_without_usage": 1,
        "only_vendor": 1,
        "gwstream_input_tokens": 180,
        "gwstream_output_tokens": 35,
        "gwstream_total_tokens": 215,
        "vendor_prompt_tokens": 160,
        "vendor_completion_tokens": 32,
        "vendor_total_tokens": 192,
        "total_tokens_diff": -23,
        "matched_total_tokens_diff": 2,
    }


def test_a_matched_turn_counts_on_gwstreams_day_even_if_the_vendor_saw_it_the_next(
    database: Path,
) -> None:
    late = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1", occurred_at=late)])
    store_calls(database, "cog", [call("t-1", ts=late + timedelta(seconds=2))])

    row = only_row(database)

    assert (row["day"], row["matched"]) == (date(2026, 3, 1), 1)


def test_turns_match_only_within_their_own_gateway(database: Path) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1", gateway="gen")])
    store_calls(database, "cog", [call("t-1")])

    row = only_row(database)  # "gen" was never pulled, so it is not reconciled

    assert (row["gateway"], row["matched"], row["only_vendor"]) == ("cog", 0, 1)


def test_a_pulled_gateway_whose_vendor_reported_nothing_shows_every_turn_as_ours_only(
    database: Path,
) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1"), cost_event("t-2")])
    store_calls(database, "cog", [])

    row = only_row(database)

    assert (row["gwstream_turns"], row["vendor_requests"], row["only_gwstream"]) == (2, 0, 2)


def test_gateways_never_pulled_are_left_out(database: Path) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1", gateway="default")])
    with VendorMetricsStore(database) as store:
        store.record_pull(
            "cognigy",
            "cog",
            started_at=NOON,
            finished_at=NOON,
            pages=0,
            rows_read=0,
            rows_inserted=0,
        )

    assert reconciliation_report(database) == []  # "default" was never pulled


def test_the_table_holds_only_ids_counts_and_timings(database: Path) -> None:
    with VendorMetricsStore(database):
        pass

    with duckdb.connect(str(database), read_only=True) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'vendor_metrics' ORDER BY ordinal_position"
        ).fetchall()

    assert columns == [
        ("vendor", "VARCHAR"),
        ("gateway", "VARCHAR"),
        ("request_id", "VARCHAR"),
        ("call_key", "VARCHAR"),
        ("ts", "TIMESTAMP WITH TIME ZONE"),
        ("operation", "VARCHAR"),
        ("model", "VARCHAR"),
        ("prompt_tokens", "BIGINT"),
        ("completion_tokens", "BIGINT"),
        ("total_tokens", "BIGINT"),
        ("latency_ms", "DOUBLE"),
        ("status", "INTEGER"),
        ("streamed", "BOOLEAN"),
        ("pulled_at", "TIMESTAMP WITH TIME ZONE"),
    ]


def test_the_report_on_a_missing_file_names_it(database: Path) -> None:
    with pytest.raises(SinkError, match=r"costs\.duckdb does not exist"):
        reconciliation_report(database)


def test_the_report_on_a_database_never_pulled_into_has_no_rows(database: Path) -> None:
    """As `report --view reconciliation` shows it; the CLI's empty text says to pull."""
    with CostWriter(database):
        pass

    assert reconciliation_report(database) == []


def test_the_report_while_the_file_is_held_for_writing_says_so(database: Path) -> None:
    with VendorMetricsStore(database), pytest.raises(SinkError, match="read-only") as held:
        # Another connection in this process with another configuration is refused too.
        reconciliation_report(database)
    # reconcile has no API mode of its own: it points at the command that has one.
    assert "gwstream report --view reconciliation" in str(held.value)
    assert "leave out --database" not in str(held.value)
