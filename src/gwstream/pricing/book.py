"""Prices over time: dated price maps, and per-tenant overrides that beat them.

A turn is priced at the instant it occurred (its ``occurred_at``) with the
price in force then: the tenant's override for its model if one is in force
and names the model, else the price map in force. Each map and override is
in force from its ``effective_from`` (inclusive) until the next one's, so
re-pricing an old cost event from its own fields gives the price it was
given, whatever maps were added since.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from gwstream.events import CostEvent
from gwstream.pricing.settings import PriceMapSettings, PriceOverrideSettings
from gwstream.pricing.table import (
    UNPRICED_COST,
    Cost,
    ModelPrice,
    PriceTable,
    Quote,
    content_version,
)

__all__ = ["PriceBook", "Prices", "Timeline"]


class Prices(Protocol):
    """What prices a turn: a model's price for a tenant at an instant (None: unpriced)."""

    def quote(self, model: str, tenant_id: str, at: datetime) -> Quote | None: ...


class Timeline:
    """Price tables, each in force from its start (None: since forever) until the next's."""

    __slots__ = ("_starts", "_tables")

    def __init__(self, entries: Sequence[tuple[datetime | None, PriceTable]]) -> None:
        if not entries:
            raise ValueError("a timeline needs at least one table")
        starts = [s for s, _ in entries]
        if any(s is None for s in starts[1:]):
            raise ValueError("only the first table of a timeline may have no start")
        dated = [s for s in starts if s is not None]
        if any(a >= b for a, b in pairwise(dated)):
            raise ValueError("a timeline's starts must increase")
        self._tables: list[PriceTable | None] = [t for _, t in entries]
        #: Starts of the dated tables; the table since forever (None: none) sits before them.
        self._starts = dated
        if starts[0] is not None:
            self._tables.insert(0, None)

    def at(self, at: datetime) -> PriceTable | None:
        """The table in force at ``at`` (None before the first start)."""
        return self._tables[bisect_right(self._starts, at)]

    def starts(self) -> list[datetime]:
        return list(self._starts)

    def tables(self) -> list[PriceTable]:
        return [t for t in self._tables if t is not None]


class PriceBook:
    """Dated price maps plus per-tenant dated overrides; see the module docstring."""

    def __init__(self, maps: Timeline, overrides: Mapping[str, Timeline] | None = None) -> None:
        self._maps = maps
        self._overrides = dict(overrides or {})

    @classmethod
    def load(
        cls,
        *,
        prices_file: Path | None = None,
        price_maps: Sequence[PriceMapSettings] | None = None,
        tenants: Mapping[str, Sequence[PriceOverrideSettings]] | None = None,
    ) -> PriceBook:
        """Read the maps (``price_maps``, else ``prices_file``, else the bundled map) and
        build the tenants' overrides; ConfigError names the entry that cannot be used."""
        if price_maps:
            maps = Timeline(
                [
                    (
                        m.effective_from,
                        PriceTable.load(m.file, version=m.version, where=f"price_maps[{i}]"),
                    )
                    for i, m in enumerate(price_maps)
                ]
            )
        else:
            maps = Timeline([(None, PriceTable.load(prices_file))])
        overrides = {
            tenant: Timeline([(o.effective_from, _override(tenant, o)) for o in entries])
            for tenant, entries in (tenants or {}).items()
            if entries
        }
        return cls(maps, overrides)

    def quote(self, model: str, tenant_id: str, at: datetime) -> Quote | None:
        """The price of ``model`` for ``tenant_id`` at ``at``: the tenant's override in force
        if it names the model, else the map in force; None if neither knows it."""
        overrides = self._overrides.get(tenant_id)
        if overrides is not None:
            override = overrides.at(at)
            if override is not None:
                quote = override.quote(model, tenant_id, at)
                if quote is not None:
                    return quote
        table = self._maps.at(at)
        return table.quote(model, tenant_id, at) if table is not None else None

    def map_at(self, at: datetime) -> PriceTable | None:
        """The price map in force at ``at`` (None before the first one's instant)."""
        return self._maps.at(at)

    def cost(
        self,
        model: str,
        tenant_id: str,
        at: datetime,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
    ) -> Cost:
        """What a call cost at ``at`` (0, ``unpriced``, no version, for an unknown model)."""
        quote = self.quote(model, tenant_id, at)
        if quote is None:
            return UNPRICED_COST
        return quote.cost(input_tokens, output_tokens, cached_input_tokens)

    def reprice(self, event: CostEvent) -> Cost:
        """A cost event priced again from its own fields: the same cost and version as
        when it was first priced, unless the configuration of its instant changed."""
        return self.cost(
            event.request_model,
            event.tenant_id,
            event.occurred_at,
            event.input_tokens,
            event.output_tokens,
            event.cached_input_tokens,
        )

    def changes_after(self, tenant_id: str, at: datetime) -> list[datetime]:
        """The instants after ``at`` where a price of ``tenant_id`` may change, in order."""
        starts = set(self._maps.starts())
        overrides = self._overrides.get(tenant_id)
        if overrides is not None:
            starts.update(overrides.starts())
        return sorted(s for s in starts if s > at)


def _override(tenant_id: str, o: PriceOverrideSettings) -> PriceTable:
    prices = {
        model: ModelPrice(
            p.input_cost_per_token, p.output_cost_per_token, p.cache_read_input_token_cost
        )
        for model, p in o.models.items()
    }
    source = f"tenant:{tenant_id}"
    return PriceTable(prices, source, o.version or content_version(source, _canonical(o)))


def _canonical(o: PriceOverrideSettings) -> bytes:
    """The override's prices as canonical JSON (sorted, decimals as written), for its hash."""
    return json.dumps(
        {
            model: {k: str(v) for k, v in p.model_dump(exclude_none=True).items()}
            for model, p in o.models.items()
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
