"""The price stage and the spend stage with dated prices, cached tokens and tenant overrides.

Prices per token of gpt-4o-mini here (USD):

    the bundled map (since forever):  input 0.00000015  cached 0.000000075  output 0.0000006
    2026-04.json (from 2026-04-01):   input 0.0000001   cached 0.000000025  output 0.0000004

The scripted gateway answers with 2000 input tokens (1000 of them cached) and 500 output.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.pipeline.scripted import TURN, result
from tests.unit.pipeline.test_stages import Next, ctx

from gwstream.events import CostEvent
from gwstream.gateways.base import GatewayResult, Usage
from gwstream.pipeline import Origin, Outcome, Reason, Route, Session, TurnContext, build_events
from gwstream.pipeline.cache import AnswerCache, CacheStage
from gwstream.pipeline.price import PriceStage
from gwstream.pipeline.spend import SpendLedger, SpendLimit, SpendStage
from gwstream.pipeline.stage import compose
from gwstream.policies import CachePolicy
from gwstream.pricing import (
    ModelPriceSettings,
    PriceBook,
    PriceMapSettings,
    PriceOverrideSettings,
)

D = Decimal
CHANGE = datetime(2026, 4, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 15, 9, tzinfo=UTC)
APRIL = datetime(2026, 4, 2, 9, tzinfo=UTC)
NEW = '{"gpt-4o-mini": {"input_cost_per_token": 1e-07, "output_cost_per_token": 4e-07, "cache_read_input_token_cost": 2.5e-08}}'

# bundled: (2000 - 1000) * 0.00000015 + 1000 * 0.000000075 + 500 * 0.0000006
#        = 0.00015 + 0.000075 + 0.0003 = 0.000525
OLD_COST = D("0.000525")
# 2026-04: (2000 - 1000) * 0.0000001 + 1000 * 0.000000025 + 500 * 0.0000004
#        = 0.0001 + 0.000025 + 0.0002 = 0.000325
NEW_COST = D("0.000325")


def cached_result(tokens: tuple[int, int, int] = (2000, 500, 1000)) -> GatewayResult:
    base = result()
    usage = Usage(tokens[0], tokens[1], "gateway", None, cached_input_tokens=tokens[2])
    return GatewayResult(**{**{f: getattr(base, f) for f in base.__slots__}, "usage": usage})


ANSWER = Outcome.answered(cached_result())


@pytest.fixture
def book(tmp_path: Path) -> PriceBook:
    (tmp_path / "2026-04.json").write_text(NEW)
    return PriceBook.load(
        price_maps=[
            PriceMapSettings(),
            PriceMapSettings(file=tmp_path / "2026-04.json", effective_from=CHANGE),
        ]
    )


def at(when: datetime, tenant: str = "acme", model: str = "gpt-4o-mini") -> TurnContext:
    turn = TURN.model_copy(update={"occurred_at": when, "tenant_id": tenant})
    return ctx(route=Route("default", model, 256), t=turn)


async def test_a_turn_is_priced_with_the_map_in_force_when_it_occurred(book: PriceBook) -> None:
    march = await PriceStage(book)(at(MARCH), Next(ANSWER))
    april = await PriceStage(book)(at(APRIL), Next(ANSWER))
    assert (march.cost, march.price_source) == (OLD_COST, "bundled")
    assert march.price_version is not None and march.price_version.startswith("bundled@")
    assert (april.cost, april.price_source) == (NEW_COST, "2026-04.json")
    assert april.price_version is not None and april.price_version.startswith("2026-04.json@")
    assert march.cached_input_tokens == april.cached_input_tokens == 1000


async def test_a_turn_exactly_at_the_change_gets_the_new_price(book: PriceBook) -> None:
    assert (await PriceStage(book)(at(CHANGE), Next(ANSWER))).cost == NEW_COST
    earlier = at(CHANGE - timedelta(microseconds=1))
    assert (await PriceStage(book)(earlier, Next(ANSWER))).cost == OLD_COST


async def test_the_cost_event_carries_cached_tokens_and_the_price_version(book: PriceBook) -> None:
    c = at(MARCH)
    outcome = await PriceStage(book)(c, Next(ANSWER))
    event = build_events(c.turn, outcome, Origin(0, 0)).cost
    assert (event.input_tokens, event.cached_input_tokens, event.output_tokens) == (2000, 1000, 500)
    assert (event.cost, event.price_source, event.price_version) == (
        OLD_COST,
        "bundled",
        outcome.price_version,
    )
    parsed = CostEvent.model_validate_json(event.to_json())
    assert parsed == event and parsed.cost == OLD_COST


async def test_re_pricing_an_old_event_after_a_price_change_gives_its_old_price(
    tmp_path: Path,
) -> None:
    # priced in March, when the bundled map was the only one
    before = PriceBook.load()
    c = at(MARCH)
    event = build_events(c.turn, await PriceStage(before)(c, Next(ANSWER)), Origin(0, 0)).cost
    # the April map is configured later; re-pricing March's event keeps March's price
    (tmp_path / "2026-04.json").write_text(NEW)
    after = PriceBook.load(
        price_maps=[
            PriceMapSettings(),
            PriceMapSettings(file=tmp_path / "2026-04.json", effective_from=CHANGE),
        ]
    )
    again = after.reprice(event)
    assert (again.amount, again.source, again.version) == (
        event.cost,
        event.price_source,
        event.price_version,
    )
    assert again.amount == OLD_COST
    # the same usage in April is priced at April's price
    april = event.model_copy(update={"occurred_at": APRIL})
    assert after.reprice(april).amount == NEW_COST


async def test_a_tenant_override_prices_its_tenants_turns_and_no_one_elses() -> None:
    override = PriceOverrideSettings(
        version="acme-2026",
        models={
            "gpt-4o-mini": ModelPriceSettings(
                input_cost_per_token=D("1.2e-7"),
                output_cost_per_token=D("4.8e-7"),
                cache_read_input_token_cost=D("3e-8"),
            )
        },
    )
    book = PriceBook.load(price_maps=[PriceMapSettings()], tenants={"acme": [override]})
    acme = await PriceStage(book)(at(MARCH, "acme"), Next(ANSWER))
    globex = await PriceStage(book)(at(MARCH, "globex"), Next(ANSWER))
    # acme: (2000 - 1000) * 0.00000012 + 1000 * 0.00000003 + 500 * 0.00000048
    #     = 0.00012 + 0.00003 + 0.00024 = 0.00039
    assert (acme.cost, acme.price_source, acme.price_version) == (
        D("0.00039"),
        "tenant:acme",
        "acme-2026",
    )
    assert (globex.cost, globex.price_source) == (OLD_COST, "bundled")


async def test_an_unpriced_model_costs_zero_is_marked_unpriced_and_has_no_version(
    book: PriceBook,
) -> None:
    c = at(MARCH, model="house-llm")
    outcome = await PriceStage(book)(c, Next(ANSWER))
    assert (outcome.cost, outcome.price_source, outcome.price_version) == (D(0), "unpriced", None)
    event = build_events(c.turn, outcome, Origin(0, 0)).cost
    assert (event.cost, event.price_source, event.price_version) == (D(0), "unpriced", None)
    assert event.cached_input_tokens == 1000  # the usage is kept, whatever its price


def test_a_cost_event_of_an_older_version_parses_with_no_cached_tokens_and_no_version() -> None:
    old = (
        b'{"event_id":"e","turn_id":"t","tenant_id":"acme","session_id":"s","seq":0,'
        b'"produced_at":"2026-03-15T09:00:01Z","occurred_at":"2026-03-15T09:00:00Z",'
        b'"request_model":"gpt-4o-mini","input_tokens":1000,"output_tokens":500,'
        b'"usage_source":"gateway","cost":"0.00045","currency":"USD","price_source":"bundled"}'
    )
    event = CostEvent.model_validate_json(old)
    assert (event.cached_input_tokens, event.price_version) == (0, None)
    # re-priced today: 1000 * 0.00000015 + 500 * 0.0000006 = 0.00045, as it was
    assert PriceBook.load().reprice(event).amount == event.cost == D("0.00045")


async def test_a_cache_hit_records_the_saved_call_at_the_price_of_its_instant(
    book: PriceBook,
) -> None:
    stage = CacheStage(AnswerCache(100, 1 << 20), lambda _tenant: CachePolicy())
    run = compose([PriceStage(book), stage], Next(Outcome.answered(result(tokens=(1000, 500)))))
    first = await run(_ctx(APRIL, "t-1"))
    hit = await run(_ctx(APRIL, "t-2"))
    assert first.cached is None and hit.cached == "exact"
    # the saved call: 1000 * 0.0000001 + 500 * 0.0000004 = 0.0001 + 0.0002 = 0.0003 (April)
    assert (hit.cost, hit.avoided_cost) == (D(0), D("0.0003"))
    assert hit.price_version == first.price_version


def _ctx(when: datetime, turn_id: str) -> TurnContext:
    turn = TURN.model_copy(update={"occurred_at": when, "turn_id": turn_id})
    return ctx(Session(), route=Route("default", "gpt-4o-mini", 256), t=turn)


async def test_the_spend_stage_settles_a_call_at_the_cost_its_event_carries(
    book: PriceBook,
) -> None:
    noon = datetime(2026, 4, 2, 12, tzinfo=UTC).timestamp()
    ledger = SpendLedger({"acme": SpendLimit(day=D("1.00"))})
    run = compose([PriceStage(book), SpendStage(ledger, book, clock=lambda: noon)], Next(ANSWER))
    c = at(APRIL)
    c.prompt_tokens = 2000
    outcome = await run(c)
    assert outcome.cost == NEW_COST
    assert ledger.spent("acme", "day", noon) == NEW_COST
    assert ledger.reserved("acme", "day", noon) == 0


async def test_names_no_route_confirmed_reach_the_events_with_their_pii_replaced(
    book: PriceBook,
) -> None:
    # A refusal before routing (or at it: an unknown model) publishes the names the
    # turn gave, which are the publisher's free text.
    turn = TURN.model_copy(update={"model": "jane.doe@example.com", "gateway": "+44 20 7946 0958"})
    c = ctx(route=None, t=turn)
    outcome = await PriceStage(book)(c, Next(Outcome.refused(Reason.UNKNOWN_MODEL)))
    assert (outcome.request_model, outcome.gateway) == ("[EMAIL_1]", "[PHONE_1]")
    events = build_events(c.turn, outcome, Origin(0, 0))
    assert events.cost.request_model == events.response.request_model == "[EMAIL_1]"
    assert "jane" not in events.cost.to_json().decode() + events.audit.to_json().decode()
    plain = ctx(route=None, t=TURN.model_copy(update={"model": "house-llm-2"}))
    outcome = await PriceStage(book)(plain, Next(Outcome.refused(Reason.UNKNOWN_MODEL)))
    assert outcome.request_model == "house-llm-2"
