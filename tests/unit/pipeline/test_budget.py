"""The session token budget: windows, the lightweight switch, refusals, charge-once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.unit.pipeline.scripted import TURN, result, turn
from tests.unit.pipeline.test_stages import COUNTER, Next, _history, ctx

from gwstream.config import SessionBudgetSettings, window_seconds
from gwstream.pipeline import Outcome, Reason, Route, Session, Status, TurnContext
from gwstream.pipeline.budget import SessionBudget, SessionBudgetStage, tokens_used
from gwstream.pipeline.conversation import ConversationStage
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.replay import ReplayStage
from gwstream.pipeline.stage import compose
from gwstream.pricing import PriceTable

LIGHT = "Answer in one sentence."
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now.timestamp()


def stage(budget: SessionBudget, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    """The budget stage inside the price stage, which puts the budget on the outcome."""
    inner = SessionBudgetStage({"acme": budget}, LIGHT, clock=clock or Clock())

    async def run(c: TurnContext, nxt: Next) -> Outcome:
        return await compose([PriceStage(PriceTable.load()), inner], nxt)(c)

    return run


def answer(tokens: tuple[int, int] = (1000, 500)) -> Outcome:
    return Outcome.answered(result(tokens=tokens))


DAY = SessionBudget(10_000, 86_400, lightweight_below=2_000)


async def test_an_answer_is_charged_its_input_and_output_and_the_outcome_says_what_is_left() -> (
    None
):
    session = Session()
    out = await stage(DAY)(ctx(session), Next(answer()))
    assert session.budget == [int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()), 1500]
    assert out.budget is not None
    assert (out.budget.mode, out.budget.session_tokens_used, out.budget.session_tokens_left) == (
        "standard",
        1500,
        8500,
    )
    assert out.budget.session_window_start == datetime(2026, 12, 1, tzinfo=UTC)


async def test_below_the_threshold_the_lightweight_instruction_replaces_the_standard_one() -> None:
    session = Session(budget=[int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()), 8_001])
    nxt = Next(answer((100, 50)))
    c = ctx(session)
    out = await stage(DAY)(c, nxt)
    assert nxt.seen[0].system == LIGHT and nxt.seen[0].mode == "lightweight"
    assert nxt.seen[0].token_allowance == 1_999
    assert out.budget is not None and out.budget.mode == "lightweight"
    assert out.budget.session_tokens_used == 8_151


async def test_at_the_threshold_the_standard_instruction_stays() -> None:
    session = Session(budget=[int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()), 8_000])
    nxt = Next(answer((10, 10)))
    await stage(DAY)(ctx(session), nxt)
    assert nxt.seen[0].system == "Be brief." and nxt.seen[0].mode == "standard"


async def test_refusals_and_failures_are_charged_nothing_but_still_report_the_budget() -> None:
    session = Session()
    for outcome in (Outcome.refused(Reason.RATE_LIMITED), Outcome(Status.FAILED)):
        out = await stage(DAY)(ctx(session), Next(outcome))
        assert out.budget is not None and out.budget.session_tokens_used == 0
    assert session.budget is None


async def test_the_window_rolls_over_at_utc_midnight() -> None:
    clock = Clock(datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC))
    session = Session()
    s = stage(DAY, clock)
    await s(ctx(session), Next(answer((6000, 3000))))
    before = Next(answer((10, 10)))
    await s(ctx(session), before)
    assert before.seen[0].mode == "lightweight"  # 1,000 left of the day
    clock.now = datetime(2026, 12, 2, 0, 0, 0, tzinfo=UTC)
    after = Next(answer((10, 10)))
    out = await s(ctx(session), after)
    assert after.seen[0].mode == "standard" and after.seen[0].token_allowance == 10_000
    assert out.budget is not None and out.budget.session_tokens_used == 20
    assert out.budget.session_window_start == clock.now


async def test_a_conversation_window_never_rolls_over() -> None:
    budget = SessionBudget(10_000, None)
    clock = Clock()
    session = Session()
    s = stage(budget, clock)
    await s(ctx(session), Next(answer((4000, 1000))))
    clock.now += timedelta(days=400)
    out = await s(ctx(session), Next(answer((10, 10))))
    assert out.budget is not None
    assert (out.budget.session_tokens_used, out.budget.session_window_start) == (5020, None)


async def test_a_tenant_without_a_budget_passes_untouched() -> None:
    c = ctx()
    c.turn = TURN.model_copy(update={"tenant_id": "other"})
    nxt = Next()
    out = await stage(DAY)(c, nxt)
    assert out.budget is None and nxt.seen[0].token_allowance is None


# -- with the conversation stage: what fits the allowance --------------------------------


async def _through_conversation(session: Session, allowance_left: int, route: Route) -> tuple:  # type: ignore[type-arg]
    budget = SessionBudget(100_000, None)
    session.budget = [0, 100_000 - allowance_left]
    nxt = Next(answer((10, 10)))
    chain = compose(
        [
            PriceStage(PriceTable.load()),
            SessionBudgetStage({"acme": budget}, LIGHT),
            ConversationStage(COUNTER, max_messages=50),
        ],
        nxt,
    )
    c = TurnContext(TURN, session, "Be brief.", route)
    return await chain(c), nxt


async def test_history_is_dropped_to_fit_what_the_session_has_left() -> None:
    route = Route("default", "gpt-4o-mini", 200, models={"gpt-4o-mini": 128_000})
    out, nxt = await _through_conversation(_history(10), 700, route)
    assert out.status is Status.OK
    seen = nxt.seen[0]
    assert 0 < len(seen.history) < 20
    assert seen.prompt_tokens + 200 <= 700


async def test_a_turn_the_budget_cannot_cover_with_its_reserved_output_is_refused_uncalled() -> (
    None
):
    route = Route("default", "gpt-4o-mini", 200, models={"gpt-4o-mini": 128_000})
    out, nxt = await _through_conversation(_history(2), 210, route)
    assert (out.status, out.reason) == (Status.REFUSED, Reason.BUDGET_EXHAUSTED)
    assert nxt.seen == []
    assert out.budget is not None and out.budget.session_tokens_left == 210


# -- charge once ------------------------------------------------------------------------


@given(st.lists(st.integers(0, 7), min_size=1, max_size=40))
async def test_a_session_is_charged_once_per_turn_however_often_turns_are_redelivered(
    deliveries: list[int],
) -> None:
    session = Session()
    chain = compose(
        [ReplayStage(keep=16), SessionBudgetStage({"acme": SessionBudget(10**9, None)}, LIGHT)],
        Next(answer((100, 23))),
    )
    for n in deliveries:
        await chain(TurnContext(turn(n), session, "Be brief."))
    assert tokens_used(session, 0) == 123 * len(set(deliveries))


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_a_24h_window_is_the_utc_day_and_holds_the_instant(naive: datetime) -> None:
    now = naive.replace(tzinfo=UTC)
    start = DAY.window_start(now.timestamp())
    assert start <= now.timestamp() < start + 86_400
    assert datetime.fromtimestamp(start, UTC) == now.replace(
        hour=0, minute=0, second=0, microsecond=0
    )


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "seconds"), [("conversation", None), ("30m", 1800), ("24h", 86_400), ("7d", 604_800)]
)
def test_windows_are_read_as_lengths(window: str, seconds: int | None) -> None:
    assert window_seconds(window) == seconds


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"session_tokens": 1000, "lightweight_below": 1000}, "must be less than session_tokens"),
        ({"session_tokens": 0}, "greater than 0"),
        ({"session_tokens": 1000, "window": "1 day"}, "use 'conversation' or a length"),
        ({"session_tokens": 1000, "window": "0h"}, "use 'conversation' or a length"),
        ({"session_tokens": 1000, "lightweight_below": -1}, "greater than or equal to 0"),
    ],
)
def test_a_session_budget_is_validated_at_start(fields: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=message):
        SessionBudgetSettings(**fields)
