"""Fixtures of the sink tests: cost databases as earlier gwstream versions left them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

# The cost table and spend view as gwstream wrote them before cost events carried the
# turn's status, latency, cache and prompt variant: a literal, so that changing the
# writer's schema cannot change what "the previous version" means here.
PREVIOUS_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS cost_events (
        event_id VARCHAR NOT NULL PRIMARY KEY,
        turn_id VARCHAR NOT NULL,
        tenant_id VARCHAR NOT NULL,
        session_id VARCHAR NOT NULL,
        seq BIGINT NOT NULL,
        produced_at TIMESTAMPTZ NOT NULL,
        occurred_at TIMESTAMPTZ NOT NULL,
        gateway VARCHAR,
        request_model VARCHAR NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        usage_source VARCHAR NOT NULL,
        tokenizer VARCHAR,
        cost DECIMAL(18,9) NOT NULL,
        currency VARCHAR NOT NULL,
        price_source VARCHAR NOT NULL,
        ingested_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE OR REPLACE VIEW spend_by_tenant_day_model AS
    SELECT
        tenant_id,
        CAST(timezone('UTC', occurred_at) AS DATE) AS day,
        request_model,
        currency,
        count(*) AS turns,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(cost) AS cost,
        count(*) FILTER (WHERE price_source = 'unpriced') AS unpriced_turns
    FROM cost_events
    GROUP BY tenant_id, day, request_model, currency
    """,
)

#: The row :func:`previous_version_file` stores, as the previous writer stored rows.
PREVIOUS_ROW = {
    "event_id": "old-event-1",
    "turn_id": "old-turn-1",
    "tenant_id": "acme",
    "session_id": "s-old",
    "seq": 3,
    "produced_at": "2025-02-28 10:00:00+00",
    "occurred_at": "2025-02-28 09:59:00+00",
    "gateway": "default",
    "request_model": "gpt-4o-mini",
    "input_tokens": 1200,
    "output_tokens": 300,
    "usage_source": "gateway",
    "tokenizer": None,
    "cost": "0.000360000",
    "currency": "USD",
    "price_source": "unpriced",
}


@pytest.fixture
def previous_version_file(tmp_path: Path) -> Path:
    """A cost database as the previous gwstream left it, holding :data:`PREVIOUS_ROW`."""
    database = tmp_path / "previous.duckdb"
    with duckdb.connect(str(database)) as conn:
        for statement in PREVIOUS_SCHEMA:
            conn.execute(statement)
        names = ", ".join(PREVIOUS_ROW)
        marks = ", ".join("?" for _ in PREVIOUS_ROW)
        conn.execute(
            f"INSERT INTO cost_events ({names}) VALUES ({marks})", list(PREVIOUS_ROW.values())
        )
    return database
