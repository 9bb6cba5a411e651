"""What tokens cost, from a price map in the LiteLLM format.

Each model maps to ``input_cost_per_token`` and ``output_cost_per_token`` (and
optionally ``cache_read_input_token_cost``), in USD. Numbers are read as
``Decimal`` straight from the JSON text, so no float rounding enters a bill.
A bundled map covers common models; ``prices_file`` replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

from gwstream.errors import ConfigError

CURRENCY = "USD"
BUNDLED = "bundled"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_token: Decimal
    output_per_token: Decimal
    cached_input_per_token: Decimal | None = None

    def amount(self, input_tokens: int, output_tokens: int) -> Decimal:
        """What a call with these token counts costs."""
        return self.input_per_token * input_tokens + self.output_per_token * output_tokens


@dataclass(frozen=True, slots=True)
class Cost:
    amount: Decimal
    currency: str
    source: str  # which price map answered, or ``unpriced`` when none knew the model


class PriceTable:
    """Model -> price; unknown models cost zero and are marked ``unpriced``."""

    def __init__(self, prices: dict[str, ModelPrice], source: str) -> None:
        self._prices = prices
        self.source = source

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        if path is None:
            text = resources.files("gwstream").joinpath("data/prices.json").read_text()
            return cls(_parse(text, BUNDLED), BUNDLED)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"prices_file: cannot read {path}: {exc.strerror}") from exc
        return cls(_parse(text, str(path)), path.name)

    def __contains__(self, model: str) -> bool:
        return model in self._prices

    def price(self, model: str) -> ModelPrice | None:
        return self._prices.get(model)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> Cost:
        price = self._prices.get(model)
        if price is None:
            return Cost(Decimal(0), CURRENCY, "unpriced")
        return Cost(price.amount(input_tokens, output_tokens), CURRENCY, self.source)


def _parse(text: str, where: str) -> dict[str, ModelPrice]:
    try:
        raw = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"prices_file {where}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"prices_file {where}: expected an object of model -> prices")
    prices: dict[str, ModelPrice] = {}
    for model, entry in raw.items():
        if model == "sample_spec" or not isinstance(entry, dict):
            continue
        inp, out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
        if inp is None or out is None:
            continue  # embeddings, images and the like: not chat-priced
        if not isinstance(inp, Decimal) or not isinstance(out, Decimal) or inp < 0 or out < 0:
            raise ConfigError(
                f"prices_file {where}: {model}: costs per token must be non-negative numbers"
            )
        cached = entry.get("cache_read_input_token_cost")
        prices[model] = ModelPrice(inp, out, cached if isinstance(cached, Decimal) else None)
    return prices
