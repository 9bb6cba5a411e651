"""Prices over time and per tenant, against figures computed by hand.

The two maps of these tests, for gpt-4o-mini (per token, USD):

    old.json (since forever):     input 0.00000015  cached 0.000000075  output 0.0000006
    new.json (from 2026-04-01):   input 0.0000001   cached 0.000000025  output 0.0000004

and acme's contract price from 2026-03-01 (no cached price: cached tokens at input):

    acme override:                input 0.00000012                      output 0.00000048

The call priced throughout: 2000 input tokens (1000 of them cached), 500 output.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from gwstream.pricing import (
    Cost,
    ModelPriceSettings,
    PriceBook,
    PriceMapSettings,
    PriceOverrideSettings,
    PriceTable,
)

D = Decimal
CHANGE = datetime(2026, 4, 1, tzinfo=UTC)
USAGE = (2000, 500, 1000)  # input, output, cached input

# old: (2000 - 1000) * 0.00000015 = 0.00015; 1000 * 0.000000075 = 0.000075;
#      500 * 0.0000006 = 0.0003;                       total 0.000525
OLD_COST = D("0.000525")
# new: (2000 - 1000) * 0.0000001 = 0.0001; 1000 * 0.000000025 = 0.000025;
#      500 * 0.0000004 = 0.0002;                       total 0.000325
NEW_COST = D("0.000325")
# acme: 2000 * 0.00000012 = 0.00024 (cached tokens at the input price);
#       500 * 0.00000048 = 0.00024;                    total 0.00048
ACME_COST = D("0.00048")

OLD = '{"gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07, "cache_read_input_token_cost": 7.5e-08}, "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}}'
NEW = '{"gpt-4o-mini": {"input_cost_per_token": 1e-07, "output_cost_per_token": 4e-07, "cache_read_input_token_cost": 2.5e-08}, "gpt-4o": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06}}'


def short_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:12]


@pytest.fixture
def maps(tmp_path: Path) -> list[PriceMapSettings]:
    (tmp_path / "old.json").write_text(OLD)
    (tmp_path / "new.json").write_text(NEW)
    return [
        PriceMapSettings(file=tmp_path / "old.json"),
        PriceMapSettings(file=tmp_path / "new.json", effective_from=CHANGE),
    ]


ACME = [
    PriceOverrideSettings(
        effective_from=datetime(2026, 3, 1, tzinfo=UTC),
        models={
            "gpt-4o-mini": ModelPriceSettings(
                input_cost_per_token=D("1.2e-7"), output_cost_per_token=D("4.8e-7")
            )
        },
    )
]


def cost(book: PriceBook, at: datetime, tenant: str = "globex", model: str = "gpt-4o-mini") -> Cost:
    return book.cost(model, tenant, at, USAGE[0], USAGE[1], USAGE[2])


def test_a_price_change_applies_from_its_instant(maps: list[PriceMapSettings]) -> None:
    book = PriceBook.load(price_maps=maps)
    before, after = (
        cost(book, datetime(2026, 3, 31, 12, tzinfo=UTC)),
        cost(book, CHANGE + timedelta(days=1)),
    )
    assert (before.amount, before.version) == (OLD_COST, f"old.json@{short_hash(OLD.encode())}")
    assert (after.amount, after.version) == (NEW_COST, f"new.json@{short_hash(NEW.encode())}")
    assert before.source == "old.json" and after.source == "new.json"


def test_the_new_price_holds_exactly_at_its_effective_instant_and_not_a_microsecond_before(
    maps: list[PriceMapSettings],
) -> None:
    book = PriceBook.load(price_maps=maps)
    assert cost(book, CHANGE).amount == NEW_COST
    assert cost(book, CHANGE - timedelta(microseconds=1)).amount == OLD_COST
    # the same instant written with another offset is the same instant
    paris = CHANGE.astimezone(datetime.fromisoformat("2026-04-01T02:00:00+02:00").tzinfo)
    assert cost(book, paris).amount == NEW_COST


def test_a_first_map_with_a_date_prices_nothing_before_it(tmp_path: Path) -> None:
    (tmp_path / "new.json").write_text(NEW)
    book = PriceBook.load(
        price_maps=[PriceMapSettings(file=tmp_path / "new.json", effective_from=CHANGE)]
    )
    early = cost(book, CHANGE - timedelta(seconds=1))
    assert (early.amount, early.source, early.version) == (D(0), "unpriced", None)
    assert cost(book, CHANGE).amount == NEW_COST


def test_a_tenant_override_beats_the_map_for_that_tenant_only(maps: list[PriceMapSettings]) -> None:
    book = PriceBook.load(price_maps=maps, tenants={"acme": ACME})
    march = datetime(2026, 3, 15, tzinfo=UTC)
    acme, globex = cost(book, march, "acme"), cost(book, march, "globex")
    assert (acme.amount, acme.source) == (ACME_COST, "tenant:acme")
    assert acme.version is not None and acme.version.startswith("tenant:acme@")
    assert (globex.amount, globex.source) == (OLD_COST, "old.json")


def test_a_tenant_override_applies_from_its_date_and_to_the_models_it_names(
    maps: list[PriceMapSettings],
) -> None:
    book = PriceBook.load(price_maps=maps, tenants={"acme": ACME})
    assert cost(book, datetime(2026, 2, 28, 23, 59, tzinfo=UTC), "acme").amount == OLD_COST
    assert cost(book, datetime(2026, 3, 1, tzinfo=UTC), "acme").amount == ACME_COST
    # gpt-4o is not in the override: the map in force prices it.
    # 2000 * 0.0000025 (no cached price in old.json) + 500 * 0.00001 = 0.005 + 0.005 = 0.01
    other = cost(book, datetime(2026, 3, 15, tzinfo=UTC), "acme", "gpt-4o")
    assert (other.amount, other.source) == (D("0.01"), "old.json")
    # the override outlives the map change: it is the tenant's price until its next one
    assert cost(book, CHANGE + timedelta(days=1), "acme").amount == ACME_COST


def test_a_later_empty_override_ends_the_tenants_prices(maps: list[PriceMapSettings]) -> None:
    ended = PriceOverrideSettings(effective_from=datetime(2026, 5, 1, tzinfo=UTC), models={})
    book = PriceBook.load(price_maps=maps, tenants={"acme": [*ACME, ended]})
    assert cost(book, datetime(2026, 4, 30, tzinfo=UTC), "acme").amount == ACME_COST
    assert cost(book, datetime(2026, 5, 1, tzinfo=UTC), "acme").amount == NEW_COST


def test_an_override_can_price_a_model_no_map_knows() -> None:
    house = PriceOverrideSettings(
        models={
            "house-llm": ModelPriceSettings(
                input_cost_per_token=D("0.000001"),
                output_cost_per_token=D("0.000002"),
                cache_read_input_token_cost=D("0.0000001"),
            )
        }
    )
    book = PriceBook.load(tenants={"acme": [house]})
    at = datetime(2026, 3, 15, tzinfo=UTC)
    # (2000 - 1000) * 0.000001 + 1000 * 0.0000001 + 500 * 0.000002 = 0.001 + 0.0001 + 0.001
    assert cost(book, at, "acme", "house-llm").amount == D("0.0021")
    assert cost(book, at, "globex", "house-llm").source == "unpriced"


def test_versions_name_the_content_or_the_label_given(
    tmp_path: Path, maps: list[PriceMapSettings]
) -> None:
    bundled = resources.files("gwstream").joinpath("data/prices.json").read_bytes()
    assert PriceTable.load().version == f"bundled@{short_hash(bundled)}"
    labelled = [maps[0], maps[1].model_copy(update={"version": "litellm-2026-04"})]
    book = PriceBook.load(price_maps=labelled)
    assert cost(book, CHANGE).version == "litellm-2026-04"
    override = ACME[0].model_copy(update={"version": "acme-contract-7"})
    book = PriceBook.load(price_maps=maps, tenants={"acme": [override]})
    assert cost(book, CHANGE, "acme").version == "acme-contract-7"


def test_an_overrides_default_version_follows_its_prices_not_its_tenant_or_date() -> None:
    def version(tenant: str, override: PriceOverrideSettings) -> str | None:
        book = PriceBook.load(tenants={tenant: [override]})
        return cost(book, datetime(2026, 3, 15, tzinfo=UTC), tenant).version

    same = version("acme", ACME[0].model_copy(update={"effective_from": None}))
    assert same is not None and same == version("acme", ACME[0])
    assert version("globex", ACME[0]) == "tenant:globex@" + same.split("@")[1]
    cheaper = ACME[0].models["gpt-4o-mini"].model_copy(update={"output_cost_per_token": D("4e-7")})
    changed = ACME[0].model_copy(update={"models": {"gpt-4o-mini": cheaper}})
    assert version("acme", changed) != same


def test_prices_file_is_one_map_in_force_at_every_instant(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(OLD)
    book = PriceBook.load(prices_file=tmp_path / "mine.json")
    for at in (datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)):
        priced = cost(book, at)
        assert (priced.amount, priced.source) == (OLD_COST, "mine.json")
    assert PriceBook.load().map_at(CHANGE) is not None  # the bundled map by default


def test_changes_after_lists_the_maps_and_the_tenants_own_instants(
    maps: list[PriceMapSettings],
) -> None:
    ended = PriceOverrideSettings(effective_from=datetime(2026, 5, 1, tzinfo=UTC), models={})
    book = PriceBook.load(price_maps=maps, tenants={"acme": [*ACME, ended]})
    now = datetime(2026, 3, 15, tzinfo=UTC)
    assert book.changes_after("acme", now) == [CHANGE, datetime(2026, 5, 1, tzinfo=UTC)]
    assert book.changes_after("globex", now) == [CHANGE]
    assert book.changes_after("globex", CHANGE) == []
