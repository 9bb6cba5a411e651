"""One price map in the LiteLLM format: model -> price per token, with its name and version.

Each model maps to ``input_cost_per_token`` and ``output_cost_per_token``, and
optionally ``cache_read_input_token_cost`` (the price of a prompt token the
gateway read from its prompt cache), in USD. Numbers are read as ``Decimal``
straight from the JSON text, so no float rounding enters a bill; nothing is
rounded here (only displays round).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from gwstream.errors import ConfigError

CURRENCY = "USD"
#: The source of the price map shipped in the package.
BUNDLED = "bundled"
#: The source of a turn whose model no price map (or override) knew: it costs 0.
UNPRICED = "unpriced"

_INPUT, _OUTPUT, _CACHED = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's prices per token. Without a cached-input price, cached tokens cost the
    input price."""

    input_per_token: Decimal
    output_per_token: Decimal
    cached_input_per_token: Decimal | None = None

    def amount(
        self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> Decimal:
        """What a call with these token counts costs, exactly:

        (input - cached) * input price + cached * cached price + output * output price

        ``input_tokens`` counts every prompt token, cached ones included (as gateways
        report them); ``cached_input_tokens`` above it count as ``input_tokens``.
        """
        cached = min(cached_input_tokens, input_tokens)
        if cached <= 0 or self.cached_input_per_token is None:
            return self.input_per_token * input_tokens + self.output_per_token * output_tokens
        return (
            self.input_per_token * (input_tokens - cached)
            + self.cached_input_per_token * cached
            + self.output_per_token * output_tokens
        )

    @property
    def most_per_input_token(self) -> Decimal:
        """The most one input token can cost (a call's worst case, before it says which of
        its tokens were cached)."""
        cached = self.cached_input_per_token
        return self.input_per_token if cached is None else max(self.input_per_token, cached)


@dataclass(frozen=True, slots=True)
class Cost:
    amount: Decimal
    currency: str
    #: Where the price came from: ``bundled``, a price file's name, ``tenant:<id>`` for a
    #: tenant's override, or ``unpriced`` when none knew the model.
    source: str
    #: Which version of it (None: unpriced).
    version: str | None = None


#: What an unknown model costs.
UNPRICED_COST = Cost(Decimal(0), CURRENCY, UNPRICED, None)


@dataclass(frozen=True, slots=True)
class Quote:
    """A model's price as one price map (or tenant override) states it, named for the
    audit trail."""

    price: ModelPrice
    source: str
    version: str

    def cost(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> Cost:
        amount = self.price.amount(input_tokens, output_tokens, cached_input_tokens)
        return Cost(amount, CURRENCY, self.source, self.version)


def content_version(name: str, content: bytes) -> str:
    """The default version label of a price map: its name and a short content hash."""
    return f"{name}@{hashlib.sha256(content).hexdigest()[:12]}"


class PriceTable:
    """One price map, in force at every instant: model -> price. Unknown models cost zero
    and are marked ``unpriced``.

    ``source`` names the map (``bundled``, a file name, ``tenant:<id>``);
    ``version`` names its content (default: ``source@<sha256[:12]>`` of the file, or
    just ``source`` for a table built in code).
    """

    def __init__(
        self, prices: Mapping[str, ModelPrice], source: str, version: str | None = None
    ) -> None:
        self.source = source
        self.version = version or source
        self._quotes = {m: Quote(p, source, self.version) for m, p in prices.items()}

    @classmethod
    def load(
        cls, path: Path | None = None, *, version: str | None = None, where: str = "prices_file"
    ) -> PriceTable:
        """The map in ``path`` (the bundled one when None); ``where`` names the setting
        in errors."""
        if path is None:
            content = resources.files("gwstream").joinpath("data/prices.json").read_bytes()
            return cls.parse(content, BUNDLED, version=version, where=f"{where} (bundled)")
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from exc
        return cls.parse(content, path.name, version=version, where=f"{where} {path}")

    @classmethod
    def parse(
        cls, content: bytes, source: str, *, version: str | None = None, where: str
    ) -> PriceTable:
        return cls(_parse(content, where), source, version or content_version(source, content))

    def __contains__(self, model: str) -> bool:
        return model in self._quotes

    def __len__(self) -> int:
        return len(self._quotes)

    def price(self, model: str) -> ModelPrice | None:
        quote = self._quotes.get(model)
        return quote.price if quote is not None else None

    def quote(self, model: str, tenant_id: str, at: datetime) -> Quote | None:
        """The model's price (the same for every tenant and instant), or None."""
        return self._quotes.get(model)

    def cost(
        self, model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> Cost:
        quote = self._quotes.get(model)
        if quote is None:
            return UNPRICED_COST
        return quote.cost(input_tokens, output_tokens, cached_input_tokens)


def _parse(content: bytes, where: str) -> dict[str, ModelPrice]:
    try:
        raw = json.loads(content, parse_float=Decimal, parse_int=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object of model -> prices")
    prices: dict[str, ModelPrice] = {}
    for model, entry in raw.items():
        if model == "sample_spec" or not isinstance(entry, dict):
            continue
        inp, out, cached = entry.get(_INPUT), entry.get(_OUTPUT), entry.get(_CACHED)
        if inp is None or out is None:
            continue  # embeddings, images and the like: not chat-priced
        for name, value in ((_INPUT, inp), (_OUTPUT, out), (_CACHED, cached)):
            if value is not None and not (isinstance(value, Decimal) and value >= 0):
                raise ConfigError(
                    f"{where}: {model}: {name} is {value}; "
                    "costs per token must be non-negative numbers"
                )
        prices[model] = ModelPrice(inp, out, cached)
    return prices
