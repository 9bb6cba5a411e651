"""The pipeline's stage logic with an in-process gateway (no HTTP, no Kafka)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gwstream.errors import GatewayTimeout
from gwstream.events import AuditEvent, CostEvent, ResponseEvent, TurnEvent, event_id
from gwstream.gateways.base import GatewayRequest, GatewayResult, Usage
from gwstream.pipeline import Pipeline, Route, Router
from gwstream.pricing import PriceTable


class ScriptedGateway:
    """Answers from a script: a result, or an exception to raise."""

    name = "scripted"

    def __init__(self, outcome: GatewayResult | Exception) -> None:
        self.outcome = outcome
        self.requests: list[GatewayRequest] = []

    async def complete(self, request: GatewayRequest) -> GatewayResult:
        self.requests.append(request)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    async def aclose(self) -> None:
        return None


RESULT = GatewayResult(
    text="Your order ships today.",
    usage=Usage(1000, 500, "gateway", None),
    finish_reason="stop",
    response_model="gpt-4o-mini-2024",
    response_id="chatcmpl-1",
    endpoint="http://gw",
    attempts=1,
    latency_s=0.1,
    outcome="ok",
)
TURN = TurnEvent(
    turn_id="t-1",
    tenant_id="acme",
    session_id="s1",
    seq=3,
    occurred_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
    text="Where is my order?",
)


def _pipeline(gw: ScriptedGateway, tenants: dict[str, str] | None = None) -> Pipeline:
    routes = {
        "default": Route("default", "gpt-4o-mini", 256),
        "premium": Route("premium", "gpt-4o", None),
    }
    return Pipeline(
        {"default": gw, "premium": gw},
        Router(routes, "default", tenants),
        PriceTable.load(),
        system_prompt="Be brief.",
    )


def _validated(outputs: tuple[ResponseEvent, CostEvent, AuditEvent]) -> None:
    for ev in outputs:
        assert type(ev).model_validate_json(ev.to_json()) == ev


async def test_a_successful_turn_yields_three_valid_events_with_deterministic_ids() -> None:
    gw = ScriptedGateway(RESULT)
    out = await _pipeline(gw).run(TURN, source_partition=2, source_offset=40)
    _validated(out.all())
    assert out.response.status == "ok" and out.response.text == "Your order ships today."
    assert out.response.event_id == event_id("t-1", "response")
    assert out.cost.event_id == event_id("t-1", "cost")
    assert out.cost.cost == Decimal("0.00045")  # 1000 * 1.5e-7 + 500 * 6e-7
    assert out.audit.input_sha256 and "order" not in out.audit.to_json().decode()
    req = gw.requests[0]
    assert req.request_id == "t-1" and req.model == "gpt-4o-mini" and req.system == "Be brief."
    assert req.max_tokens == 256


async def test_gateway_failure_is_a_failed_response_with_zero_cost() -> None:
    out = await _pipeline(ScriptedGateway(GatewayTimeout("slow", attempts=3))).run(
        TURN, source_partition=0, source_offset=0
    )
    _validated(out.all())
    assert (out.response.status, out.response.reason) == ("failed", "gateway_timeout")
    assert out.cost.cost == 0 and out.cost.usage_source == "none"
    assert out.audit.outcome == "timeout" and out.audit.attempts == 3


async def test_tenant_route_and_turn_model_override_are_honoured() -> None:
    gw = ScriptedGateway(RESULT)
    p = _pipeline(gw, {"acme": "premium"})
    await p.run(TURN, source_partition=0, source_offset=0)
    await p.run(
        TURN.model_copy(update={"model": "gpt-4.1-mini"}), source_partition=0, source_offset=1
    )
    assert [r.model for r in gw.requests] == ["gpt-4o", "gpt-4.1-mini"]


async def test_an_unknown_gateway_is_refused_not_dropped() -> None:
    gw = ScriptedGateway(RESULT)
    out = await _pipeline(gw).run(
        TURN.model_copy(update={"gateway": "nowhere"}), source_partition=0, source_offset=0
    )
    _validated(out.all())
    assert (out.response.status, out.response.reason) == ("refused", "unknown_gateway")
    assert gw.requests == []


@pytest.mark.parametrize("model", ["gpt-4o-mini", "no-such-model"])
def test_prices_are_decimal_and_unknown_models_are_marked_unpriced(model: str) -> None:
    cost = PriceTable.load().cost(model, 3, 7)
    assert isinstance(cost.amount, Decimal)
    assert cost.source == ("bundled" if model == "gpt-4o-mini" else "unpriced")


async def test_a_tenant_over_its_rate_limit_is_refused_when_the_wait_passes_the_deadline() -> None:
    from gwstream.gateways.ratelimit import Limit, RateLimits

    gw = ScriptedGateway(RESULT)
    routes = {"default": Route("default", "gpt-4o-mini", 256, deadline_s=0.5)}
    p = Pipeline(
        {"default": gw},
        Router(routes, "default"),
        PriceTable.load(),
        system_prompt="Be brief.",
        limits=RateLimits({}, {"acme": Limit(rpm=1)}),
    )
    first = await p.run(TURN, source_partition=0, source_offset=0)
    second = await p.run(
        TURN.model_copy(update={"turn_id": "t-2"}), source_partition=0, source_offset=1
    )
    _validated(second.all())
    assert first.response.status == "ok"
    assert (second.response.status, second.response.reason) == ("refused", "rate_limited")
    assert second.audit.outcome == "rate_limited"
    assert len(gw.requests) == 1


async def test_a_turn_asking_for_a_model_outside_the_gateways_matrix_is_refused() -> None:
    gw = ScriptedGateway(RESULT)
    routes = {
        "default": Route("default", "gpt-4o-mini", 256, models=frozenset({"gpt-4o-mini", "gpt-4o"}))
    }
    p = Pipeline({"default": gw}, Router(routes, "default"), PriceTable.load(), system_prompt="x")
    out = await p.run(
        TURN.model_copy(update={"model": "gpt-9-imaginary"}), source_partition=0, source_offset=0
    )
    _validated(out.all())
    assert (out.response.status, out.response.reason) == ("refused", "unknown_model")
    ok = await p.run(
        TURN.model_copy(update={"model": "gpt-4o"}), source_partition=0, source_offset=1
    )
    assert ok.response.status == "ok" and gw.requests[-1].model == "gpt-4o"
