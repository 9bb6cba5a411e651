"""SimulatorConfig's new fields, RouteFaults, and per-route plans compiled from them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from pydantic import ValidationError

from gwstream.simulator import (
    ROUTE_NAMES,
    GatewaySimulator,
    RouteFaults,
    SimulatorConfig,
)
from gwstream.simulator.faults import StreamFaults, compile_plans


def test_route_faults_has_one_override_per_global_knob() -> None:
    knobs = set(RouteFaults.model_fields)
    assert knobs <= set(SimulatorConfig.model_fields)
    assert {"cut_stream_rate", "malformed_chunk_rate", "retry_after_http_date"} <= knobs


def test_routes_must_be_known_route_names() -> None:
    with pytest.raises(ValidationError, match=r"cognigy\.chats"):
        SimulatorConfig(routes={"cognigy.chats": RouteFaults()})


def test_every_route_name_is_accepted() -> None:
    config = SimulatorConfig(routes={name: RouteFaults() for name in ROUTE_NAMES})
    assert set(config.routes) == ROUTE_NAMES


def test_revoked_scopes_accept_a_space_or_comma_separated_string() -> None:
    config = SimulatorConfig(revoked_scopes="llm.gateway:invoke, ai:telemetry:read")
    assert config.revoked_scopes == frozenset({"llm.gateway:invoke", "ai:telemetry:read"})


def test_client_secrets_are_hidden() -> None:
    config = SimulatorConfig(clients={"me": "hunter2"})
    assert "hunter2" not in repr(config)


def test_empty_client_secrets_are_rejected() -> None:
    with pytest.raises(ValidationError, match="non-empty"):
        SimulatorConfig(clients={"me": ""})


def test_a_route_override_replaces_only_the_knobs_it_sets() -> None:
    config = SimulatorConfig(
        latency_ms=50,
        error_429_rate=0.5,
        routes={"cognigy.chat": RouteFaults(error_429_rate=0.0, include_usage=False)},
    )
    plans = compile_plans(config)
    chat, inference = plans["cognigy.chat"], plans["cognigy.inference"]
    assert (chat.error_429_rate, chat.latency_s, chat.include_usage) == (0.0, 0.05, False)
    assert (inference.error_429_rate, inference.include_usage) == (0.5, True)


def test_retry_after_is_seconds_by_default() -> None:
    plan = compile_plans(SimulatorConfig(retry_after_s=2.5))["openai.chat"]
    assert plan.retry_after() == "2.5"


def test_retry_after_can_be_an_http_date_never_earlier_than_configured() -> None:
    config = SimulatorConfig(routes={"genesys.invoke": RouteFaults(retry_after_http_date=True)})
    plan = compile_plans(config.model_copy(update={"retry_after_s": 30.0}))["genesys.invoke"]
    before = datetime.now(UTC)
    when = parsedate_to_datetime(plan.retry_after())
    assert 29.0 <= (when - before).total_seconds() <= 32.0


def test_stream_faults_at_rate_one_always_fire_and_a_cut_wins_over_an_error() -> None:
    config = SimulatorConfig(cut_stream_rate=1, stream_error_rate=1, malformed_chunk_rate=1)
    plan = compile_plans(config)["cognigy.inference"]
    assert plan.stream_faults() == StreamFaults(cut=True, error=False, malformed=True)


def test_no_stream_fault_rates_draw_nothing() -> None:
    plan = compile_plans(SimulatorConfig(seed=3))["openai.chat"]
    state = plan.rng.getstate()
    assert plan.stream_faults() == StreamFaults()
    assert plan.rng.getstate() == state


async def test_fail_first_n_counts_per_route() -> None:
    plans = compile_plans(SimulatorConfig(fail_first_n=1, fail_status=502))
    closing = asyncio.Event()
    first = await plans["cognigy.chat"].inject(closing)
    second = await plans["cognigy.chat"].inject(closing)
    other = await plans["genesys.invoke"].inject(closing)
    assert first is not None and other is not None
    assert (first.status, second, other.status) == (502, None, 502)


def test_seeded_routes_draw_independent_reproducible_streams() -> None:
    def draws(route: str) -> list[float]:
        rng = compile_plans(SimulatorConfig(seed=11))[route].rng
        return [rng.random() for _ in range(5)]

    assert draws("cognigy.chat") == draws("cognigy.chat")
    assert draws("cognigy.chat") != draws("genesys.invoke")


def test_update_route_merges_into_that_routes_overrides() -> None:
    sim = GatewaySimulator(SimulatorConfig(seed=1))
    sim.update_route("cognigy.chat", error_429_rate=1.0)
    config = sim.update_route("cognigy.chat", retry_after_s=0.5)
    assert config.routes["cognigy.chat"] == RouteFaults(error_429_rate=1.0, retry_after_s=0.5)
    assert config.seed == 1


def test_update_route_rejects_an_unknown_route() -> None:
    sim = GatewaySimulator()
    with pytest.raises(ValueError, match="known routes"):
        sim.update_route("openai.chats", error_429_rate=1.0)


def test_route_stats_rejects_an_unknown_route() -> None:
    with pytest.raises(KeyError, match="known routes"):
        GatewaySimulator().route_stats("nope")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--routes", "{not json"], "error: --routes: not JSON (Expecting property name"),
        (
            ["--routes", '{"openai.chats": {}}'],
            "error: --routes: unknown route 'openai.chats' (did you mean 'openai.chat'?)",
        ),
        (
            ["--routes", '{"openai.chat": {"cut_stream": 1}}'],
            "error: --routes: openai.chat: cut_stream: no such setting; "
            "did you mean cut_stream_rate?",
        ),
        (
            ["--routes", '{"openai.chat": {"hang_rate": 2}}'],
            "error: --routes: openai.chat: hang_rate: must be <= 1",
        ),
        (["--clients", '{"me": ""}'], "error: --clients: client ids and secrets must be non-empty"),
    ],
)
def test_the_cli_refuses_bad_structured_options(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from gwstream.simulator.__main__ import main

    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(line)


def test_the_cli_names_every_bad_option_on_a_line_of_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gwstream.simulator.__main__ import main

    argv = ["--latency-ms", "-5", "--error-429-rate", "x", "--include-usage", "maybe"]
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --latency-ms: must be >= 0",
        "error: --error-429-rate: must be a number",
        "error: --include-usage: must be true or false",
    ]
