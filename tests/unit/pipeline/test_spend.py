"""Tenant spend limits: the ledger's arithmetic, notices, and the spend stage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.unit.pipeline.scripted import TURN, result, turn
from tests.unit.pipeline.test_stages import Next, ctx

from gwstream.config import Settings, SpendLimitSettings
from gwstream.errors import ConfigError
from gwstream.pipeline import Outcome, Reason, Route, Status, TurnContext
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.spend import (
    Refusal,
    Reservation,
    SpendLedger,
    SpendLimit,
    SpendStage,
    window_of,
    windows_at,
    worst_case,
)
from gwstream.pipeline.stage import compose
from gwstream.pricing import PriceTable

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp()
D = Decimal
PRICES = PriceTable.load()
# gpt-4o-mini: 1.5e-7 per input token, 6e-7 per output token
ROUTE = Route("default", "gpt-4o-mini", 256, models={"gpt-4o-mini": 128_000})


def ledger(day: str | None = "1.00", month: str | None = None) -> SpendLedger:
    limit = SpendLimit(D(day) if day else None, D(month) if month else None)
    return SpendLedger({"acme": limit})


# -- the ledger ---------------------------------------------------------------------------


def test_a_call_is_admitted_while_spent_plus_reserved_plus_its_worst_case_stays_within() -> None:
    led = ledger("1.00")
    a = led.admit("acme", D("0.40"), NOON)
    b = led.admit("acme", D("0.60"), NOON)  # exactly at the limit: admitted
    c = led.admit("acme", D("0.01"), NOON)
    assert isinstance(a, Reservation) and isinstance(b, Reservation)
    assert c == Refusal("day", "2026-12-01", D(0), D("1.00"), held=True)  # by calls in flight
    assert led.reserved("acme", "day", NOON) == D("1.00")


def test_settling_replaces_the_reservation_by_the_real_cost_once_per_turn() -> None:
    led = ledger("1.00")
    res = led.admit("acme", D("0.50"), NOON)
    assert isinstance(res, Reservation)
    led.settle(res, "cost-1", D("0.10"))
    assert (led.spent("acme", "day", NOON), led.reserved("acme", "day", NOON)) == (D("0.10"), 0)
    led.observe("cost-1", "acme", D("0.10"), NOON)  # our own cost, read back from the topic
    led.observe("cost-2", "acme", D("0.30"), NOON)  # another instance's
    led.observe("cost-2", "acme", D("0.30"), NOON)  # redelivered
    assert led.spent("acme", "day", NOON) == D("0.40")


def test_a_released_reservation_frees_its_room_and_a_free_call_leaves_its_id_uncounted() -> None:
    led = ledger("1.00")
    res = led.admit("acme", D("0.90"), NOON)
    assert isinstance(res, Reservation)
    led.release(res)
    again = led.admit("acme", D("0.90"), NOON)
    assert isinstance(again, Reservation)
    led.settle(again, "cost-1", D(0))  # a failed call costs nothing...
    led.observe("cost-1", "acme", D("0.20"), NOON)  # ...its retry, republished, does
    assert led.spent("acme", "day", NOON) == D("0.20")


def test_days_roll_over_at_utc_midnight_and_the_month_keeps_counting() -> None:
    led = ledger("1.00", "1.50")
    late = datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC).timestamp()
    led.observe("c1", "acme", D("0.90"), late)
    assert isinstance(led.admit("acme", D("0.20"), late), Refusal)
    next_day = datetime(2026, 12, 2, tzinfo=UTC).timestamp()
    assert led.spent("acme", "day", next_day) == 0
    assert isinstance(led.admit("acme", D("0.50"), next_day), Reservation)
    refused = led.admit("acme", D("0.20"), next_day)  # 0.90 + 0.50 + 0.20 > 1.50 this month
    assert isinstance(refused, Refusal) and refused.period == "month"
    assert (refused.window, refused.spend) == ("2026-12", D("0.90"))


def test_windows_are_utc_days_and_months() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC).timestamp()
    assert (window_of("day", at), window_of("month", at)) == ("2026-12-31", "2026-12")


def test_the_soft_threshold_and_exhaustion_are_noticed_once_per_window() -> None:
    led = ledger("1.00")
    led.observe("c1", "acme", D("0.79"), NOON)
    assert led.notices("acme", NOON) == ()
    led.observe("c2", "acme", D("0.01"), NOON)
    (soft,) = led.notices("acme", NOON)
    assert (soft.level, soft.period, soft.window, soft.spend) == (
        "soft_threshold",
        "day",
        "2026-12-01",
        D("0.80"),
    )
    assert led.notices("acme", NOON) == ()
    refused = led.admit("acme", D("0.50"), NOON)
    assert isinstance(refused, Refusal)
    (exhausted,) = led.notices("acme", NOON, refused)
    assert exhausted.level == "exhausted"
    assert led.notices("acme", NOON, refused) == ()
    tomorrow = datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()
    led.observe("c3", "acme", D("1.00"), tomorrow)
    led.admit("acme", D(0), tomorrow)  # rolls the day over
    assert [n.level for n in led.notices("acme", tomorrow)] == ["soft_threshold", "exhausted"]


def test_the_worst_case_is_the_input_with_its_margin_plus_all_the_output() -> None:
    price = PRICES.price("gpt-4o-mini")
    assert price is not None
    assert worst_case(price, 1000, 256, 0.0) == D("0.0003036")
    assert worst_case(price, 1000, 256, 0.1) == D("0.0003186")


# -- one instance never goes past the limit ------------------------------------------------

# An operation: admit a call with this worst case (in micro-dollars), settle the oldest
# outstanding one at this share of its worst case, or release it (the call failed).
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), st.integers(1, 400_000)),
        st.tuples(st.just("settle"), st.integers(0, 100)),
        st.tuples(st.just("release"), st.just(0)),
    ),
    max_size=120,
)


@given(_ops, st.integers(1, 2_000_000))
def test_no_interleaving_of_admissions_and_settlements_takes_one_instance_past_its_limit(
    ops: list[tuple[str, int]], limit_micros: int
) -> None:
    limit = D(limit_micros) / 10**6
    led = ledger(str(limit))
    outstanding: list[Reservation] = []
    for i, (op, n) in enumerate(ops):
        if op == "admit":
            res = led.admit("acme", D(n) / 10**6, NOON)
            if isinstance(res, Reservation):
                outstanding.append(res)
        elif outstanding:
            res = outstanding.pop(0)
            if op == "settle":
                led.settle(res, f"c{i}", res.amount * n / 100)
            else:
                led.release(res)
        spent, reserved = led.spent("acme", "day", NOON), led.reserved("acme", "day", NOON)
        assert spent + reserved <= limit
        assert reserved == sum((r.amount for r in outstanding), D(0))


@st.composite
def _calls(draw) -> tuple[list[int], list[int]]:  # type: ignore[no-untyped-def]
    """Output tokens of each call, and the order the calls finish in (all drawn up front:
    a draw inside the test could abort it with calls still in flight)."""
    outputs = draw(st.lists(st.integers(100, 3000), min_size=1, max_size=30))
    return outputs, draw(st.permutations(range(len(outputs))))


@settings(max_examples=50)
@given(_calls())
async def test_concurrent_calls_of_one_instance_never_spend_past_the_limit_in_any_order(
    calls: tuple[list[int], list[int]],
) -> None:
    """Every call is in flight at once; they finish in an order hypothesis picks."""
    outputs, order = calls
    led = ledger("0.005")
    stage = SpendStage(led, PRICES, clock=lambda: NOON)
    gates = [asyncio.Event() for _ in outputs]

    def call(i: int, output: int):  # type: ignore[no-untyped-def]
        async def run(c: TurnContext) -> Outcome:
            await gates[i].wait()
            return Outcome.answered(result(tokens=(c.prompt_tokens, output)))

        return run

    async def one(i: int, output: int) -> Outcome:
        c = ctx(route=Route("default", "gpt-4o-mini", 3000), t=turn(i))
        c.prompt_tokens = 500
        return await stage(c, call(i, output))

    tasks = [asyncio.create_task(one(i, o)) for i, o in enumerate(outputs)]
    await asyncio.sleep(0)  # let every call reach its admission (a yield, not a wait)
    for i in order:
        gates[i].set()
    outcomes = await asyncio.gather(*tasks)
    billed = sum(
        (PRICES.cost("gpt-4o-mini", o.input_tokens, o.output_tokens).amount for o in outcomes),
        D(0),
    )
    assert billed == led.spent("acme", "day", NOON) <= D("0.005")
    assert led.reserved("acme", "day", NOON) == 0
    refused = [o for o in outcomes if o.status is Status.REFUSED]
    assert all(o.reason is Reason.TENANT_BUDGET_EXHAUSTED for o in refused)


# -- the stage ----------------------------------------------------------------------------


def spend_stage(led: SpendLedger):  # type: ignore[no-untyped-def]
    """The spend stage inside the price stage, which puts the budget on the outcome."""
    inner = SpendStage(led, PRICES, clock=lambda: NOON)

    async def run(c: TurnContext, nxt) -> Outcome:  # type: ignore[no-untyped-def]
        return await compose([PriceStage(PRICES), inner], nxt)(c)

    return run


async def test_a_call_past_the_limit_is_refused_uncalled_with_the_spend_and_a_notice() -> None:
    led = ledger("0.001")
    led.observe("c0", "acme", D("0.0009"), NOON)
    nxt = Next()
    out = await spend_stage(led)(_priced_ctx(), nxt)
    assert (out.status, out.reason) == (Status.REFUSED, Reason.TENANT_BUDGET_EXHAUSTED)
    assert nxt.seen == []
    assert out.budget is not None
    assert (out.budget.tenant_spend_day, out.budget.tenant_limit_day) == (D("0.0009"), D("0.001"))
    assert [n.level for n in out.notices] == ["soft_threshold", "exhausted"]


def _priced_ctx(model: str = "gpt-4o-mini") -> TurnContext:
    c = ctx(route=Route("default", model, 256))
    c.prompt_tokens = 1000
    return c


async def test_an_admitted_call_is_settled_at_its_real_cost_and_reports_the_spend() -> None:
    led = ledger("1.00")
    out = await spend_stage(led)(_priced_ctx(), Next())
    # the scripted answer used 1000 + 500 tokens
    assert led.spent("acme", "day", NOON) == D("0.00045")
    assert led.reserved("acme", "day", NOON) == 0
    assert out.budget is not None and out.budget.tenant_spend_day == D("0.00045")
    # the cost topic brings the same cost back: not counted again
    led.observe(TURN.turn_id, "acme", D("0.00045"), NOON)
    assert led.spent("acme", "day", NOON) == D("0.00045")


async def test_a_model_without_a_price_is_refused_for_a_limited_tenant() -> None:
    nxt = Next()
    out = await spend_stage(ledger())(_priced_ctx("house-model"), nxt)
    assert (out.status, out.reason) == (Status.REFUSED, Reason.UNPRICED_MODEL)
    assert nxt.seen == []


async def test_a_call_that_raises_gives_its_reservation_back() -> None:
    led = ledger("1.00")

    async def boom(c: TurnContext) -> Outcome:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await SpendStage(led, PRICES, clock=lambda: NOON)(_priced_ctx(), boom)
    assert led.reserved("acme", "day", NOON) == 0


async def test_an_unlimited_tenant_passes_untouched() -> None:
    c = _priced_ctx()
    c.turn = TURN.model_copy(update={"tenant_id": "other"})
    out = await spend_stage(ledger())(c, Next())
    assert out.status is Status.OK and out.budget is None


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give daily, monthly or both"),
        ({"daily": "0"}, "greater than 0"),
        ({"daily": "-5"}, "greater than 0"),
        ({"daily": "10", "currency": "EUR"}, "prices are in USD"),
        ({"daily": "100", "monthly": "50"}, "daily .100. exceeds monthly .50."),
        ({"daily": "10", "soft_threshold": 1.2}, "less than 1"),
    ],
)
def test_spend_limits_are_validated_at_start(fields: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=message):
        SpendLimitSettings(**fields)


def test_a_limited_tenant_whose_model_has_no_price_is_a_start_up_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gwstream.app import build_pipeline

    prices = tmp_path / "prices.json"
    prices.write_text('{"gpt-4o": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}')
    settings = Settings(
        gateways={"default": {"protocol": "openai", "base_urls": ["http://gw"]}},
        tenants={"acme": {"spend": {"daily": "5"}}},
        prices_file=prices,
    )
    with pytest.raises(ConfigError, match=r"tenants.acme.spend: model 'gpt-4o-mini'"):
        build_pipeline(settings, {})


# -- a call held by calls in flight waits for them ----------------------------------------


async def _held_call(led: SpendLedger, deadline_s: float = 30.0) -> tuple[asyncio.Task, Next]:  # type: ignore[type-arg]
    """Admit one call that fills the limit, then start a second one behind it."""
    c = ctx(route=Route("default", "gpt-4o-mini", 256, deadline_s=deadline_s), t=turn(2))
    c.prompt_tokens = 1000
    nxt = Next()
    task = asyncio.create_task(spend_stage(led)(c, nxt))
    await asyncio.sleep(0)  # a yield: the call reaches its admission and waits
    return task, nxt


async def test_a_call_held_by_calls_in_flight_is_admitted_when_they_settle_for_less() -> None:
    led = ledger("0.0005")  # room for one worst case (0.0003036), not two
    first = led.admit("acme", D("0.0003036"), NOON)
    assert isinstance(first, Reservation)
    task, nxt = await _held_call(led)
    assert not task.done() and nxt.seen == []
    led.settle(first, "t-1", D("0.0001"))  # it cost less than its worst case
    out = await task
    assert out.status is Status.OK and len(nxt.seen) == 1
    assert led.spent("acme", "day", NOON) == D("0.00055")  # 0.0001 + the scripted 0.00045


async def test_a_held_call_is_refused_when_the_calls_before_it_leave_no_room() -> None:
    led = ledger("0.0005")
    first = led.admit("acme", D("0.0003036"), NOON)
    assert isinstance(first, Reservation)
    task, nxt = await _held_call(led)
    led.settle(first, "t-1", D("0.0003"))
    out = await task
    assert (out.status, out.reason) == (Status.REFUSED, Reason.TENANT_BUDGET_EXHAUSTED)
    assert nxt.seen == []
    # 0.0003 is under the soft 0.0004, and the limit is reached for this call: whoever
    # alerts on the soft threshold hears of it with the exhaustion, not never
    assert [(n.level, n.spend) for n in out.notices] == [
        ("soft_threshold", D("0.0003")),
        ("exhausted", D("0.0003")),
    ]


async def test_a_held_call_waits_no_longer_than_its_deadline_and_announces_nothing() -> None:
    led = ledger("0.0005")
    assert isinstance(led.admit("acme", D("0.0003036"), NOON), Reservation)
    task, nxt = await _held_call(led, deadline_s=0.05)
    out = await task  # the first call never settles
    assert (out.status, out.reason) == (Status.REFUSED, Reason.TENANT_BUDGET_EXHAUSTED)
    assert nxt.seen == [] and out.notices == ()


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_windows_are_the_utc_day_and_month_of_any_instant(naive: datetime) -> None:
    at = naive.replace(tzinfo=UTC)
    assert windows_at(at.timestamp()) == (f"{at:%Y-%m-%d}", f"{at:%Y-%m}")


async def test_every_turn_of_a_tenant_with_budgets_reports_both_refused_or_not() -> None:
    from tests.unit.pipeline.scripted import ScriptedGateway

    from gwstream.app import build_pipeline
    from gwstream.pipeline import Session
    from gwstream.pipeline.context import NOT_CALLED

    settings = Settings(
        gateways={"default": {"protocol": "openai", "base_urls": ["http://gw"], "max_tokens": 50}},
        tenants={
            "acme": {
                "budget": {"session_tokens": 1550, "window": "conversation"},
                "spend": {"daily": "5"},
            }
        },
    )
    gw = ScriptedGateway(result(tokens=(1000, 500)))
    pipeline = build_pipeline(settings, {"default": gw}, clock=lambda: NOON)
    session = Session()
    first = await pipeline.run(turn(1), session)
    second = await pipeline.run(turn(2), session)  # 50 tokens left: cannot fit
    elsewhere = await pipeline.run(turn(3).model_copy(update={"gateway": "nowhere"}), session)
    assert first.status is Status.OK and len(gw.requests) == 1
    assert (second.reason, elsewhere.reason) == (Reason.BUDGET_EXHAUSTED, Reason.UNKNOWN_GATEWAY)
    for out in (first, second, elsewhere):
        assert out.budget is not None
        assert out.budget.session_tokens_used == 1500
        assert out.budget.tenant_spend_day == D("0.00045")
        assert out.budget.tenant_limit_day == D("5")
    assert second.gateway_outcome == elsewhere.gateway_outcome == NOT_CALLED


async def test_a_call_larger_than_the_whole_limit_is_refused_without_an_exhausted_notice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Spend 0 and a limit below one call's worst case: that call never fits, but the
    limit is not exhausted (a cheaper call is still admitted), and an operator is told."""
    led = ledger("0.0001")  # gpt-4o-mini, 1000 in + 256 out: about 0.0003 worst case
    nxt = Next()
    with caplog.at_level("WARNING", logger="gwstream.pipeline.spend"):
        out = await spend_stage(led)(_priced_ctx(), nxt)
        await spend_stage(led)(_priced_ctx(), Next())
    assert (out.status, out.reason) == (Status.REFUSED, Reason.TENANT_BUDGET_EXHAUSTED)
    assert nxt.seen == [] and out.notices == ()
    assert "exceeds its whole day limit" in caplog.text
    small = _priced_ctx()
    small.prompt_tokens = 10
    small.route = Route("default", "gpt-4o-mini", 16)
    admitted = await spend_stage(led)(small, Next())
    assert admitted.status is Status.OK
