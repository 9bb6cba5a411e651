"""Vendor metrics pulled from the real simulator over loopback HTTP into a real DuckDB file.

Calls are served through the real Cognigy and Genesys adapters (so the
vendor records the turn id gwstream sends as X-Request-ID), their cost rows
written with CostWriter, then pulled and reconciled.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import pytest_asyncio

from gwstream.config import GatewaySettings, Settings
from gwstream.errors import GatewayAuthError, GatewayError
from gwstream.events import CostEvent, event_id
from gwstream.gateways import ChatMessage, GatewayRequest, RetryPolicy, Usage, build_gateway
from gwstream.gateways.settings import OAuthSettings
from gwstream.reconcile.pull import (
    RECONCILIATION_COLUMNS,
    pull_vendor_metrics,
    reconciliation_report,
)
from gwstream.simulator import GatewaySimulator
from gwstream.sink import CostWriter

pytestmark = pytest.mark.integration

CLIENTS = {
    "cognigy": {"client_id": "cognigy-sim", "client_secret": "cognigy-sim-secret"},
    "genesys": {"client_id": "genesys-sim", "client_secret": "genesys-sim-secret"},
}
PROTOCOLS = {"cog": "cognigy.chat", "gen": "genesys.invocations"}
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.005, deadline_s=20.0)

StartSimulator = Callable[..., Awaitable[GatewaySimulator]]


@pytest_asyncio.fixture
async def sim(start_simulator: StartSimulator) -> GatewaySimulator:
    return await start_simulator()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "costs.duckdb"


def settings_for(sim: GatewaySimulator) -> Settings:
    """An OpenAI default gateway (skipped by pulls), a Cognigy and a Genesys one."""

    def vendor_gateway(protocol: str, **extra: Any) -> GatewaySettings:
        client = CLIENTS[protocol.split(".")[0]]
        return GatewaySettings(
            protocol=protocol,
            base_urls=[sim.url],
            oauth=OAuthSettings(
                client_id=client["client_id"], client_secret=client["client_secret"]
            ),
            max_attempts=3,
            **extra,
        )

    return Settings(
        gateways={
            "default": GatewaySettings(base_urls=[sim.url]),
            "cog": vendor_gateway("cognigy.chat"),
            "gen": vendor_gateway("genesys.invocations", prompt_id="p-1"),
        }
    )


async def serve(sim: GatewaySimulator, gateway: str, turns: Sequence[str]) -> dict[str, Usage]:
    """Send one completion per turn id through gateway ``gateway``'s real adapter."""
    protocol = PROTOCOLS[gateway]
    extra = {"prompt_id": "p-1"} if protocol == "genesys.invocations" else {}
    adapter = build_gateway(
        protocol,
        name=gateway,
        base_urls=[sim.url],
        retry=FAST_RETRY,
        timeout_s=10.0,
        **CLIENTS[protocol.split(".")[0]],
        **extra,
    )
    usage: dict[str, Usage] = {}
    try:
        for turn in turns:
            request = GatewayRequest(
                messages=(ChatMessage("user", f"Where is my parcel? ({turn})"),),
                model="gpt-4o-mini",
                request_id=turn,
            )
            usage[turn] = (await adapter.complete(request)).usage
    finally:
        await adapter.aclose()
    return usage


def cost_event(turn: str, gateway: str, usage: Usage | None) -> CostEvent:
    now = datetime.now(UTC)
    return CostEvent(
        event_id=event_id(turn, "cost"),
        turn_id=turn,
        tenant_id="acme",
        session_id="s-1",
        seq=0,
        produced_at=now,
        occurred_at=now,
        gateway=gateway,
        request_model="gpt-4o-mini",
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        usage_source=usage.source if usage else "none",
        cost=Decimal("0.0001"),
        price_source="litellm",
    )


def write_costs(database: Path, gateway: str, usage: dict[str, Usage | None]) -> None:
    with CostWriter(database) as writer:
        writer.write_batch([cost_event(turn, gateway, u) for turn, u in usage.items()])


def totals(database: Path, gateway: str) -> dict[str, int]:
    """The gateway's reconciliation figures summed over days (a run may straddle midnight)."""
    rows = [row for row in reconciliation_report(database) if row["gateway"] == gateway]
    assert rows, f"no reconciliation rows for {gateway}"
    return {name: sum(row[name] for row in rows) for name in RECONCILIATION_COLUMNS[3:]}


def stored(database: Path, gateway: str) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as conn:
        rows = conn.execute(
            "SELECT request_id FROM vendor_metrics WHERE gateway = ? ORDER BY request_id",
            [gateway],
        ).fetchall()
    return [str(request_id) for (request_id,) in rows]


def turn_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(count)]


async def test_every_served_call_lands_once_and_reconciles_with_gwstreams_costs(
    sim: GatewaySimulator, database: Path
) -> None:
    cognigy_usage = await serve(sim, "cog", turn_ids("cog", 7))
    genesys_usage = await serve(sim, "gen", turn_ids("gen", 6))
    write_costs(database, "cog", dict(cognigy_usage))
    write_costs(database, "gen", dict(genesys_usage))

    inserted = await pull_vendor_metrics(settings_for(sim), database, page_size=2)

    assert inserted == {"cog": 7, "gen": 6}  # the openai gateway is skipped
    assert stored(database, "cog") == sorted(cognigy_usage)
    assert stored(database, "gen") == sorted(genesys_usage)
    for gateway, usage in (("cog", cognigy_usage), ("gen", genesys_usage)):
        ours = sum(u.input_tokens + u.output_tokens for u in usage.values())
        figures = totals(database, gateway)
        assert figures["gwstream_turns"] == figures["vendor_requests"] == len(usage)
        assert figures["matched"] == figures["vendor_calls"] == len(usage)
        assert figures["only_gwstream"] == figures["only_vendor"] == 0
        assert figures["gwstream_total_tokens"] == figures["vendor_total_tokens"] == ours
        assert figures["vendor_prompt_tokens"] == sum(u.input_tokens for u in usage.values())
        assert figures["total_tokens_diff"] == figures["matched_total_tokens_diff"] == 0
    assert {row["gateway"] for row in reconciliation_report(database)} == {"cog", "gen"}


async def test_pulling_again_inserts_nothing_and_then_only_the_new_calls(
    sim: GatewaySimulator, database: Path
) -> None:
    await serve(sim, "cog", turn_ids("a", 4))
    await serve(sim, "gen", turn_ids("b", 3))
    settings = settings_for(sim)

    assert await pull_vendor_metrics(settings, database, page_size=2) == {"cog": 4, "gen": 3}
    assert await pull_vendor_metrics(settings, database, page_size=2) == {"cog": 0, "gen": 0}
    await serve(sim, "cog", turn_ids("c", 2))
    assert await pull_vendor_metrics(settings, database, page_size=2) == {"cog": 2, "gen": 0}

    assert len(stored(database, "cog")) == 6
    assert len(stored(database, "gen")) == 3


async def test_small_pages_walk_every_page_of_both_vendors(
    sim: GatewaySimulator, database: Path
) -> None:
    await serve(sim, "cog", turn_ids("cog", 12))
    await serve(sim, "gen", turn_ids("gen", 12))
    metrics_before = sim.route_stats("cognigy.metrics").requests
    telemetry_before = sim.route_stats("genesys.telemetry").requests

    inserted = await pull_vendor_metrics(settings_for(sim), database, page_size=1)

    assert inserted == {"cog": 12, "gen": 12}
    assert sim.route_stats("cognigy.metrics").requests - metrics_before == 12
    assert sim.route_stats("genesys.telemetry").requests - telemetry_before == 12


async def test_only_the_named_gateways_are_pulled(sim: GatewaySimulator, database: Path) -> None:
    await serve(sim, "cog", turn_ids("cog", 2))
    await serve(sim, "gen", turn_ids("gen", 2))

    assert await pull_vendor_metrics(settings_for(sim), database, gateways=["gen"]) == {"gen": 2}
    assert stored(database, "cog") == []


async def test_turns_missing_on_either_side_show_in_the_reconciliation(
    sim: GatewaySimulator, database: Path
) -> None:
    usage = await serve(sim, "cog", ["sent-1", "sent-2", "sent-no-cost-row"])
    costs: dict[str, Usage | None] = {"sent-1": usage["sent-1"], "sent-2": usage["sent-2"]}
    costs["refused-locally"] = None  # e.g. rate limited before any call: no usage
    write_costs(database, "cog", costs)

    await pull_vendor_metrics(settings_for(sim), database, gateways=["cog"])

    figures = totals(database, "cog")
    assert (figures["gwstream_turns"], figures["vendor_requests"], figures["matched"]) == (3, 3, 2)
    assert (figures["only_gwstream"], figures["only_gwstream_without_usage"]) == (1, 1)
    assert figures["only_vendor"] == 1
    missing = usage["sent-no-cost-row"]
    assert figures["total_tokens_diff"] == missing.input_tokens + missing.output_tokens
    assert figures["matched_total_tokens_diff"] == 0


async def test_a_retried_turn_keeps_every_vendor_call_and_reconciles_on_the_turn(
    sim: GatewaySimulator, database: Path
) -> None:
    sim.update_route("cognigy.chat", fail_first_n=1, fail_status=503)
    usage = await serve(sim, "cog", ["retried-turn"])
    write_costs(database, "cog", dict(usage))

    assert await pull_vendor_metrics(settings_for(sim), database, gateways=["cog"]) == {"cog": 2}

    figures = totals(database, "cog")
    assert (figures["vendor_requests"], figures["vendor_calls"], figures["matched"]) == (1, 2, 1)
    assert figures["matched_total_tokens_diff"] == 0  # the 503 carried no tokens


@pytest.mark.parametrize(
    ("gateway", "scope"), [("cog", "llm.gateway:metrics:read"), ("gen", "ai:telemetry:read")]
)
async def test_a_revoked_read_scope_fails_naming_the_scope_and_the_gateway(
    start_simulator: StartSimulator, database: Path, gateway: str, scope: str
) -> None:
    sim = await start_simulator(revoked_scopes=frozenset({scope}))
    await serve(sim, gateway, ["t-1"])

    with pytest.raises(GatewayAuthError, match=re.escape(f"lacks scope '{scope}'")) as caught:
        await pull_vendor_metrics(settings_for(sim), database, gateways=[gateway])

    message = str(caught.value)
    assert f"gateway '{gateway}'" in message
    assert "sim-secret" not in message
    assert stored(database, gateway) == []


async def test_a_scope_override_is_what_the_token_is_requested_with(
    sim: GatewaySimulator, database: Path
) -> None:
    await serve(sim, "cog", ["t-1"])

    with pytest.raises(GatewayAuthError, match=re.escape("lacks scope 'llm.gateway:metrics:read'")):
        await pull_vendor_metrics(
            settings_for(sim), database, gateways=["cog"], scopes={"cog": ["llm.gateway:invoke"]}
        )


async def test_failing_and_rate_limited_pages_are_retried(
    sim: GatewaySimulator, database: Path
) -> None:
    await serve(sim, "cog", turn_ids("cog", 3))
    await serve(sim, "gen", turn_ids("gen", 3))
    sim.update_route("cognigy.metrics", fail_first_n=2, fail_status=503)
    sim.update_route("genesys.telemetry", fail_first_n=1, fail_status=429, retry_after_s=0)

    inserted = await pull_vendor_metrics(settings_for(sim), database, page_size=2)

    assert inserted == {"cog": 3, "gen": 3}
    assert sim.route_stats("cognigy.metrics").by_status == {503: 2, 200: 2}
    assert sim.route_stats("genesys.telemetry").by_status == {429: 1, 200: 2}


async def test_a_401_refreshes_the_token_once_and_the_pull_goes_on(
    sim: GatewaySimulator, database: Path
) -> None:
    await serve(sim, "cog", turn_ids("cog", 3))
    tokens_before = sim.route_stats("cognigy.token").requests
    sim.update_route("cognigy.metrics", fail_first_n=1, fail_status=401)

    assert await pull_vendor_metrics(settings_for(sim), database, gateways=["cog"]) == {"cog": 3}
    assert sim.route_stats("cognigy.token").requests - tokens_before == 2


async def test_a_401_after_the_refresh_fails_as_an_auth_error(
    sim: GatewaySimulator, database: Path
) -> None:
    tokens_before = sim.route_stats("genesys.token").requests
    sim.update_route("genesys.telemetry", fail_first_n=5, fail_status=401)

    with pytest.raises(GatewayAuthError, match=r"gateway 'gen'.*HTTP 401"):
        await pull_vendor_metrics(settings_for(sim), database, gateways=["gen"])

    assert sim.route_stats("genesys.token").requests - tokens_before == 2


async def test_max_pages_stops_the_pull_with_an_error_keeping_what_was_read(
    sim: GatewaySimulator, database: Path
) -> None:
    await serve(sim, "cog", turn_ids("cog", 5))
    settings = settings_for(sim)

    with pytest.raises(GatewayError, match=r"gateway 'cog'.*max_pages=2"):
        await pull_vendor_metrics(settings, database, gateways=["cog"], page_size=2, max_pages=2)

    assert len(stored(database, "cog")) == 4
    assert await pull_vendor_metrics(settings, database, gateways=["cog"], page_size=2) == {
        "cog": 1
    }
