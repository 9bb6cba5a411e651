"""Each stage alone, with a stand-in for the rest of the pipeline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.unit.pipeline.scripted import RESULT, TURN, ScriptedGateway, turn

from gwstream.errors import GatewayTimeout
from gwstream.gateways.base import ChatMessage
from gwstream.gateways.ratelimit import Limit, RateLimits
from gwstream.pipeline import Outcome, Reason, Route, Router, Session, Status, TurnContext
from gwstream.pipeline.call import CallGateway
from gwstream.pipeline.conversation import ConversationStage
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.ratelimit import RateLimitStage
from gwstream.pipeline.replay import ReplayStage
from gwstream.pipeline.route import RouteStage
from gwstream.pipeline.session import Message
from gwstream.pipeline.stage import compose
from gwstream.pricing import PriceTable
from gwstream.tokens import default_counter

ROUTE = Route("default", "gpt-4o-mini", 256, models={"gpt-4o-mini": 128_000, "gpt-4o": 128_000})
OK = Outcome.answered(RESULT)


def ctx(session: Session | None = None, route: Route | None = ROUTE, t=TURN) -> TurnContext:  # type: ignore[no-untyped-def]
    c = TurnContext(t, session or Session(), "Be brief.")
    c.route = route
    return c


class Next:
    """A stand-in for the rest of the pipeline: returns ``outcome`` and records the contexts."""

    def __init__(self, outcome: Outcome = OK) -> None:
        self.outcome = outcome
        self.seen: list[TurnContext] = []

    async def __call__(self, c: TurnContext) -> Outcome:
        self.seen.append(c)
        return self.outcome


# -- compose ---------------------------------------------------------------------------


async def test_stages_run_outermost_first_and_see_the_outcome_on_the_way_back() -> None:
    trace: list[str] = []

    def stage(name: str):  # type: ignore[no-untyped-def]
        async def run(c: TurnContext, call_next):  # type: ignore[no-untyped-def]
            trace.append(f"{name} in")
            out = await call_next(c)
            trace.append(f"{name} out")
            return out

        return run

    chain = compose([stage("a"), stage("b")], Next())
    assert (await chain(ctx())).status is Status.OK
    assert trace == ["a in", "b in", "b out", "a out"]


# -- replay ----------------------------------------------------------------------------


async def test_a_turn_whose_outcome_is_stored_is_answered_from_state_without_the_next_stage() -> (
    None
):
    session = Session()
    first = Next()
    original = await ReplayStage(keep=8)(ctx(session), first)
    again = Next()
    replayed = await ReplayStage(keep=8)(ctx(session), again)
    assert again.seen == [] and len(first.seen) == 1
    assert replayed.replayed and not original.replayed
    assert replayed.but(replayed=False) == original


async def test_refusals_and_failures_are_remembered_too() -> None:
    session = Session()
    refused = Outcome.refused(Reason.UNKNOWN_MODEL)
    await ReplayStage(keep=8)(ctx(session), Next(refused))
    again = await ReplayStage(keep=8)(ctx(session), Next())
    assert again.status is Status.REFUSED and again.reason is Reason.UNKNOWN_MODEL


async def test_only_the_last_keep_outcomes_are_kept_oldest_dropped_first() -> None:
    session = Session()
    stage = ReplayStage(keep=3)
    for n in range(5):
        await stage(ctx(session, t=turn(n)), Next())
    assert list(session.results) == ["t-2", "t-3", "t-4"]


# -- route -----------------------------------------------------------------------------


def _router(tenants: dict[str, str] | None = None) -> Router:
    routes = {"default": ROUTE, "premium": Route("premium", "gpt-4o", None)}
    return Router(routes, "default", tenants)


async def test_the_tenants_gateway_and_the_turns_model_are_honoured() -> None:
    nxt = Next()
    await RouteStage(_router({"acme": "premium"}))(ctx(route=None), nxt)
    await RouteStage(_router())(ctx(route=None, t=TURN.model_copy(update={"model": "gpt-4o"})), nxt)
    assert [(c.route.gateway, c.route.model) for c in nxt.seen if c.route] == [
        ("premium", "gpt-4o"),
        ("default", "gpt-4o"),
    ]


@pytest.mark.parametrize(
    ("update", "reason"),
    [({"gateway": "nowhere"}, Reason.UNKNOWN_GATEWAY), ({"model": "gpt-9"}, Reason.UNKNOWN_MODEL)],
)
async def test_a_turn_naming_an_unknown_gateway_or_model_is_refused(
    update: dict[str, str], reason: Reason
) -> None:
    nxt = Next()
    out = await RouteStage(_router())(ctx(route=None, t=TURN.model_copy(update=update)), nxt)
    assert (out.status, out.reason) == (Status.REFUSED, reason) and nxt.seen == []
    # an unknown model's turn still names the gateway it went to (its reports count it there)
    assert out.gateway == (None if reason is Reason.UNKNOWN_GATEWAY else "default")


# -- conversation ----------------------------------------------------------------------

COUNTER = default_counter()


def _history(pairs: int, words: int = 20) -> Session:
    session = Session()
    for i in range(pairs):
        for role in ("user", "assistant"):
            text = f"{role} message {i} " + "lorem ipsum " * words
            session.history.append(Message(role, text, COUNTER.count(text), f"t-{i}"))
    return session


def _request_tokens(c: TurnContext) -> int:
    messages = [ChatMessage("system", c.system), *c.history, ChatMessage("user", c.turn.text)]
    return COUNTER.count_messages(messages)


async def test_the_whole_history_goes_with_the_turn_when_it_fits() -> None:
    c = ctx(_history(3))
    nxt = Next()
    out = await ConversationStage(COUNTER, max_messages=20)(c, nxt)
    assert [m.content for m in c.history] == [m.content for m in _history(3).history]
    assert out.history_messages == 6
    assert c.prompt_tokens == _request_tokens(c)


@pytest.mark.parametrize("window", range(560, 900, 23))
async def test_the_oldest_exchanges_are_dropped_first_to_fit_the_window_minus_the_reserved_output(
    window: int,
) -> None:
    session = _history(10)
    route = Route("default", "small", 200, models={"small": window})
    before = list(session.history)
    c = ctx(session, route=route)
    out = await ConversationStage(COUNTER, max_messages=50)(c, Next())
    kept = len(c.history)
    assert 0 < kept < 20 and out.history_messages == kept
    assert [m.content for m in c.history] == [m.content for m in before[-kept:]]
    assert c.history[0].role == "user", "an answer went without its question"
    assert _request_tokens(c) == c.prompt_tokens <= window - 200
    # one more exchange would not have fitted
    one_more = ctx(session, route=route)
    one_more.history = tuple(ChatMessage(m.role, m.content) for m in before[-kept - 2 :])
    assert _request_tokens(one_more) > window - 200


async def test_a_turn_that_cannot_fit_with_the_system_instruction_alone_is_refused() -> None:
    route = Route("default", "tiny", 200, models={"tiny": 210})
    nxt = Next()
    out = await ConversationStage(COUNTER, max_messages=20)(ctx(_history(2), route=route), nxt)
    assert (out.status, out.reason) == (Status.REFUSED, Reason.CONTEXT_OVERFLOW)
    assert nxt.seen == []


@pytest.mark.parametrize(
    "text", ["   ", " \n\t ", "\u200b\u200b", "\ufeff", "\x00", "\u00a0\u2060"]
)
async def test_a_turn_with_nothing_to_read_is_refused_without_a_call(text: str) -> None:
    nxt = Next()
    c = ctx(_history(2), t=TURN.model_copy(update={"text": text}))
    out = await ConversationStage(COUNTER, max_messages=20)(c, nxt)
    assert (out.status, out.reason) == (Status.REFUSED, Reason.EMPTY_TEXT)
    assert nxt.seen == []


@pytest.mark.parametrize("text", ["?", "\U0001f642", "  ok ", "\u200bhi"])
async def test_a_turn_with_anything_visible_is_sent(text: str) -> None:
    nxt = Next()
    c = ctx(t=TURN.model_copy(update={"text": text}))
    out = await ConversationStage(COUNTER, max_messages=20)(c, nxt)
    assert out.status == Status.OK and len(nxt.seen) == 1


async def test_an_answered_turn_joins_the_history_and_the_history_stays_bounded() -> None:
    session = _history(2)
    stage = ConversationStage(COUNTER, max_messages=5)
    await stage(ctx(session), Next())
    assert len(session.history) == 4  # within 5, whole exchanges only
    assert session.history[0].role == "user"
    assert [(m.role, m.content) for m in session.history[-2:]] == [
        ("user", TURN.text),
        ("assistant", RESULT.text),
    ]
    assert session.history[-2].tokens == COUNTER.count(TURN.text)
    assert session.history[-1].tokens == RESULT.usage.output_tokens  # the gateway's own count


@pytest.mark.parametrize(
    "outcome",
    [Outcome.refused(Reason.RATE_LIMITED), Outcome(Status.FAILED, Reason.GATEWAY_TIMEOUT)],
)
async def test_refused_and_failed_turns_do_not_enter_the_history(outcome: Outcome) -> None:
    session = _history(1)
    await ConversationStage(COUNTER, max_messages=20)(ctx(session), Next(outcome))
    assert len(session.history) == 2


# -- price, rate limits, call ------------------------------------------------------------


async def test_the_outcome_is_priced_in_decimal_with_its_route_and_latency() -> None:
    out = await PriceStage(PriceTable.load())(ctx(), Next())
    assert out.cost == Decimal("0.00045")  # 1000 * 1.5e-7 + 500 * 6e-7
    assert (out.gateway, out.request_model, out.price_source) == (
        "default",
        "gpt-4o-mini",
        "bundled",
    )
    assert out.latency_ms >= 0


async def test_a_tenant_over_its_rate_limit_is_refused_when_the_wait_passes_the_deadline() -> None:
    route = Route("default", "gpt-4o-mini", 256, deadline_s=0.2)
    stage = RateLimitStage(RateLimits({}, {"acme": Limit(rpm=1)}))
    nxt = Next()
    first = await stage(ctx(route=route), nxt)
    second = await stage(ctx(route=route), nxt)
    assert first.status is Status.OK
    assert (second.status, second.reason) == (Status.REFUSED, Reason.RATE_LIMITED)
    assert second.gateway_outcome == "not_called"  # not a gateway's 429
    assert len(nxt.seen) == 1


async def test_the_gateway_gets_system_history_and_turn_in_order() -> None:
    gw = ScriptedGateway(RESULT)
    c = ctx()
    c.history = (ChatMessage("user", "hi"), ChatMessage("assistant", "hello"))
    out = await CallGateway({"default": gw})(c)
    req = gw.requests[0]
    assert out.status is Status.OK and out.text == RESULT.text
    assert [m.content for m in req.messages] == ["hi", "hello", TURN.text]
    assert (req.system, req.request_id, req.model, req.max_tokens) == (
        "Be brief.",
        "t-1",
        "gpt-4o-mini",
        256,
    )


async def test_a_gateway_failure_is_a_failed_outcome_naming_it() -> None:
    gw = ScriptedGateway(GatewayTimeout("slow", attempts=3))
    out = await CallGateway({"default": gw})(ctx())
    assert (out.status, out.reason, out.gateway_outcome, out.attempts) == (
        Status.FAILED,
        Reason.GATEWAY_TIMEOUT,
        "timeout",
        3,
    )


async def test_an_auth_failure_is_logged_with_what_to_fix_other_failures_without_their_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gwstream.errors import GatewayAuthError

    fix = "https://gw answered HTTP 403: OAuth client 'cc' lacks scope 'ai:gateway:write'"
    denied = GatewayAuthError(
        f"{fix} (gateway said: request was {{'content': 'my address is 1 Elm St'}})",
        attempts=1,
        summary=fix,
    )
    refused = GatewayAuthError("https://gw answered HTTP 401: echo of my order 5512", attempts=1)
    with caplog.at_level("WARNING", logger="gwstream.pipeline.call"):
        await CallGateway({"default": ScriptedGateway(denied)})(ctx())
        await CallGateway(
            {"default": ScriptedGateway(GatewayTimeout("echo: my card", attempts=2))}
        )(ctx())
        await CallGateway({"default": ScriptedGateway(refused)})(ctx())
    first, second, third = (r.getMessage() for r in caplog.records)
    assert "lacks scope 'ai:gateway:write'" in first and "auth after 1 attempts" in first
    assert "Elm St" not in first  # what the gateway said may echo the turn's text
    assert second.endswith("timeout after 2 attempts") and "my card" not in second
    assert third.endswith("auth after 1 attempts") and "5512" not in third  # no summary
