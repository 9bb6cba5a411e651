"""How prices are configured: dated price maps, and per-tenant overrides (README "Prices").

```yaml
price_maps:                       # oldest first; each in force until the next one's date
  - {}                            # the bundled map, in force since forever
  - file: prices-2026-04.json     # a LiteLLM-format map, from its instant on
    effective_from: 2026-04-01    # a date is 00:00 UTC; or 2026-04-01T12:00:00Z
    version: litellm-2026-04      # default: prices-2026-04.json@<sha256[:12]>
tenants:
  acme:
    prices:                       # the tenant's contract prices, beating the maps
      - effective_from: 2026-03-01
        models:
          gpt-4o-mini: {input_cost_per_token: "1.2e-7", output_cost_per_token: "4.8e-7"}
```

Only the first entry of a list may omit ``effective_from`` (in force since
forever); every later one must start strictly after the one before it, so a
list reads as a timeline with no overlaps.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

__all__ = [
    "ModelPriceSettings",
    "PriceMapSettings",
    "PriceMaps",
    "PriceOverrideSettings",
    "PriceOverrides",
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_is_midnight_utc(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), UTC)
    if isinstance(value, str) and _DATE.match(value.strip()):
        return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{value.isoformat()} has no UTC offset; write a date (00:00 UTC) or an instant "
            "with one, e.g. 2026-04-01T00:00:00Z"
        )
    return value.astimezone(UTC)


#: An instant prices change at: a date (00:00 UTC that day) or a date-time with an offset.
EffectiveFrom = Annotated[
    datetime, BeforeValidator(_date_is_midnight_utc), AfterValidator(_aware_utc)
]

#: A cost per token: a non-negative decimal. Quote it in YAML ("1.5e-7"): unquoted,
#: YAML reads 1.5e-7 as a float (converted through its shortest repr, so exact for
#: what was written) and 1e-7 as a string.
CostPerToken = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]

Version = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S+$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceMapSettings(_Section):
    """One LiteLLM-format price map and the instant it takes effect."""

    file: Path | None = Field(
        default=None, description="A LiteLLM-format price map; the bundled one when absent"
    )
    effective_from: EffectiveFrom | None = Field(
        default=None,
        description="When the map takes effect (UTC; a date is its 00:00); only the first "
        "map may omit it (in force since forever)",
    )
    version: Version | None = Field(
        default=None,
        description="The label cost events carry (default: the file name, or bundled, "
        "@ the first 12 hex digits of the file's SHA-256)",
    )


class ModelPriceSettings(_Section):
    """A model's prices per token, named as in the LiteLLM price map."""

    input_cost_per_token: CostPerToken
    output_cost_per_token: CostPerToken
    cache_read_input_token_cost: CostPerToken | None = Field(
        default=None,
        description="Price of a prompt token read from the gateway's prompt cache "
        "(absent: the input price)",
    )


class PriceOverrideSettings(_Section):
    """A tenant's own prices for some models, from an instant until its next override."""

    effective_from: EffectiveFrom | None = Field(
        default=None,
        description="When the override takes effect (UTC; a date is its 00:00); only the first "
        "may omit it (in force since forever)",
    )
    version: Version | None = Field(
        default=None,
        description="The label cost events carry (default: tenant:<id>@<sha256[:12]> of the "
        "prices)",
    )
    models: dict[str, ModelPriceSettings] = Field(
        description="Model -> prices; other models keep the price maps' prices (empty: the "
        "tenant's earlier override ends)"
    )


class _Dated(Protocol):
    @property
    def effective_from(self) -> datetime | None: ...

    @property
    def version(self) -> str | None: ...


_D = TypeVar("_D", bound=_Dated)


def _timeline(entries: list[_D], info: ValidationInfo) -> list[_D]:
    """Entries oldest first, each from a later instant than the one before; only the first
    may omit its instant; an explicit version names one entry."""
    name = info.field_name or "prices"
    for i, entry in enumerate(entries[1:], start=1):
        start, before = entry.effective_from, entries[i - 1].effective_from
        if start is None:
            raise ValueError(
                f"{name}[{i}] has no effective_from: only the first entry may omit it "
                "(in force since forever)"
            )
        if before is not None and start <= before:
            raise ValueError(
                f"{name}[{i}].effective_from {start.isoformat()} is not after "
                f"{name}[{i - 1}].effective_from {before.isoformat()}: list them oldest first, "
                "each from a later instant (each is in force until the next one starts)"
            )
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if entry.version is None:
            continue
        if entry.version in seen:
            raise ValueError(
                f"{name}[{i}].version {entry.version!r} is also {name}[{seen[entry.version]}]'s: "
                "a version label names one entry"
            )
        seen[entry.version] = i
    return entries


#: The ``price_maps`` setting: price maps oldest first.
PriceMaps = Annotated[list[PriceMapSettings], Field(min_length=1), AfterValidator(_timeline)]
#: A tenant's ``prices`` setting: its overrides oldest first.
PriceOverrides = Annotated[
    list[PriceOverrideSettings], Field(min_length=1), AfterValidator(_timeline)
]
