"""What a call costs, against figures computed by hand (Decimal, never float).

The bundled map's gpt-4o-mini: 1.5e-7 per input token, 7.5e-8 per cached input
token, 6e-7 per output token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from gwstream.pricing import BUNDLED, UNPRICED, ModelPrice, PriceTable

D = Decimal
AT = datetime(2026, 3, 15, 12, tzinfo=UTC)
BUNDLED_MAP = PriceTable.load()


def write_map(path: Path, entries: dict[str, dict[str, str]]) -> Path:
    """A LiteLLM-format map whose prices are written as JSON numbers, exactly as given."""
    body = ",".join(
        f'"{model}": {{' + ",".join(f'"{k}": {v}' for k, v in prices.items()) + "}"
        for model, prices in entries.items()
    )
    path.write_text("{" + body + "}")
    json.loads(path.read_text())  # valid JSON
    return path


def test_cached_input_tokens_are_priced_at_the_cached_price_and_the_rest_at_the_input_price() -> (
    None
):
    cost = BUNDLED_MAP.cost("gpt-4o-mini", 1000, 200, cached_input_tokens=600)
    # (1000 - 600) * 0.00000015  = 0.00006
    #        600 * 0.000000075 = 0.000045
    #        200 * 0.0000006   = 0.00012
    #                     total  0.000225
    assert cost.amount == D("0.000225")
    assert (cost.currency, cost.source) == ("USD", BUNDLED)


def test_without_cached_tokens_the_cost_is_input_plus_output() -> None:
    # 1000 * 0.00000015 + 500 * 0.0000006 = 0.00015 + 0.0003 = 0.00045
    assert BUNDLED_MAP.cost("gpt-4o-mini", 1000, 500).amount == D("0.00045")


def test_a_model_without_a_cached_price_prices_cached_tokens_at_its_input_price(
    tmp_path: Path,
) -> None:
    path = write_map(
        tmp_path / "house.json",
        {"house-llm": {"input_cost_per_token": "2e-6", "output_cost_per_token": "8e-6"}},
    )
    table = PriceTable.load(path)
    # 1000 * 0.000002 + 100 * 0.000008 = 0.002 + 0.0008 = 0.0028, cached or not
    assert table.cost("house-llm", 1000, 100, cached_input_tokens=600).amount == D("0.0028")
    assert table.cost("house-llm", 1000, 100).amount == D("0.0028")


def test_cached_tokens_above_the_input_tokens_count_as_the_input_tokens() -> None:
    # all 1000 input tokens cached: 1000 * 0.000000075 = 0.000075; no output
    assert BUNDLED_MAP.cost("gpt-4o-mini", 1000, 0, cached_input_tokens=1500).amount == D(
        "0.000075"
    )


def test_an_unpriced_model_costs_zero_and_is_marked_unpriced_without_a_version() -> None:
    cost = BUNDLED_MAP.cost("house-llm", 1000, 500, cached_input_tokens=100)
    assert (cost.amount, cost.source, cost.version) == (D(0), UNPRICED, None)


def test_costs_are_exact_decimals_where_float_arithmetic_is_not() -> None:
    price = BUNDLED_MAP.price("gpt-4o-mini")
    assert price is not None
    assert all(
        type(p) is Decimal
        for p in (price.input_per_token, price.output_per_token, price.cached_input_per_token)
    )
    # (1600 - 600) * 0.00000015 + 600 * 0.000000075 = 0.00015 + 0.000045 = 0.000195
    amount = price.amount(1600, 0, 600)
    assert type(amount) is Decimal and amount == D("0.000195")
    assert 1000 * 1.5e-7 + 600 * 7.5e-8 != 0.000195  # what float would have billed
    # a million such calls add up to exactly 195 (USD), with no drift
    assert sum((amount for _ in range(1_000_000)), D(0)) == D("195")


def test_prices_are_read_from_the_json_text_not_through_float(tmp_path: Path) -> None:
    path = write_map(
        tmp_path / "odd.json",
        {"m": {"input_cost_per_token": "1.1e-7", "output_cost_per_token": "0.30000000000000004"}},
    )
    price = PriceTable.load(path).price("m")
    assert price == ModelPrice(D("1.1e-7"), D("0.30000000000000004"), None)
    # 3 * 0.00000011 = 0.00000033, and all 17 digits of the output price are kept
    assert price.amount(3, 0) == D("3.3e-7")


def test_nothing_is_rounded_below_a_displayed_precision() -> None:
    # 1 * 0.000000075 (one cached token) + 1 * 0.0000006 = 0.000000675: nine decimals kept
    assert BUNDLED_MAP.cost("gpt-4o-mini", 1, 1, cached_input_tokens=1).amount == D("6.75e-7")
