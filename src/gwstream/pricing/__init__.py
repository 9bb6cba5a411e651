"""What tokens cost: LiteLLM-format price maps with effective dates, and tenant overrides.

:class:`PriceTable` is one price map; :class:`PriceBook` holds the maps over
time and the tenants' overrides, and prices a turn at the instant it occurred.
Money is ``Decimal`` throughout and never rounded here. README "Prices" has
the configuration, the formula and the version labels.
"""

from gwstream.pricing.book import PriceBook, Prices, Timeline
from gwstream.pricing.settings import (
    ModelPriceSettings,
    PriceMaps,
    PriceMapSettings,
    PriceOverrides,
    PriceOverrideSettings,
)
from gwstream.pricing.table import (
    BUNDLED,
    CURRENCY,
    UNPRICED,
    UNPRICED_COST,
    Cost,
    ModelPrice,
    PriceTable,
    Quote,
    content_version,
)

__all__ = [
    "BUNDLED",
    "CURRENCY",
    "UNPRICED",
    "UNPRICED_COST",
    "Cost",
    "ModelPrice",
    "ModelPriceSettings",
    "PriceBook",
    "PriceMapSettings",
    "PriceMaps",
    "PriceOverrideSettings",
    "PriceOverrides",
    "PriceTable",
    "Prices",
    "Quote",
    "Timeline",
    "content_version",
]
