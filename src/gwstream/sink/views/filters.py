"""What a read of a view narrows the tables to: :class:`Filters`, and the WITH clause
(:func:`sources`) that defines the relations every view reads under them.

Filters (:class:`Filters`): a tenant, a UTC date range (inclusive; the turn's
``occurred_at`` for costs, the event's ``produced_at`` for audits and
notices; the budget views, ``budgets`` and ``limits``, group and narrow costs
by the day the processor handled a turn, ``produced_at``, since that is the
window its limits count), a model and a gateway (audits have no model: they are matched to
the turns of that model in the cost table; budget notices are per tenant and
ignore model and gateway), and a row limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from gwstream.sink.schema import (
    AUDIT_TABLE,
    COST_TABLE,
    NOTICE_TABLE,
    PULLS_TABLE,
    VENDOR_TABLE,
)

#: The most rows a read may ask for (DuckDB's LIMIT is a 64-bit integer; no view has more).
MAX_LIMIT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Filters:
    """What a read narrows the tables to; None: no narrowing."""

    tenant: str | None = None
    since: date | None = None
    """First UTC day included."""
    until: date | None = None
    """Last UTC day included."""
    model: str | None = None
    gateway: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError(f"the range ends ({self.until}) before it starts ({self.since})")
        if self.limit is not None and not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT:,}, not {self.limit}")

    def as_query(self) -> dict[str, str]:
        """The filters as HTTP query parameters (the API's names)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[_PARAM_NAMES.get(f.name, f.name)] = str(value)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Filters from HTTP query parameters; ValueError names a bad one."""
        unknown = set(query) - set(_PARAM_NAMES.values()) - {"format"}
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"filters are {', '.join(_PARAM_NAMES.values())}"
            )
        getall = getattr(query, "getall", None)  # a multidict: a parameter may come twice
        if getall is not None:
            repeated = sorted(k for k in set(query) if len(getall(k)) > 1)
            if repeated:
                raise ValueError(
                    f"give each parameter once: {', '.join(repeated)} came more than once "
                    "(a view takes one format, and filters by one tenant, model or gateway "
                    "at a time)"
                )

        def day(name: str) -> date | None:
            text = query.get(name)
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{name} must be a date like 2026-12-01, not {text!r}") from None

        limit = query.get("limit")
        if limit:
            try:
                n: int | None = int(limit)
            except ValueError:
                raise ValueError(f"limit must be a whole number, not {limit!r}") from None
        else:
            n = None
        return cls(
            tenant=query.get("tenant") or None,
            since=day("from"),
            until=day("to"),
            model=query.get("model") or None,
            gateway=query.get("gateway") or None,
            limit=n,
        )


#: Read everything.
NO_FILTERS = Filters()

_PARAM_NAMES = {
    "tenant": "tenant",
    "since": "from",
    "until": "to",
    "model": "model",
    "gateway": "gateway",
    "limit": "limit",
}


def _day_start(d: date) -> str:
    return f"{d.isoformat()} 00:00:00+00"


def sources(f: Filters, cost_time: str = "occurred_at") -> tuple[str, dict[str, Any]]:
    """The WITH clause defining ``costs``, ``audits`` and ``notices`` under ``f``; a date
    range narrows costs by ``cost_time`` (when the turn happened, or ``produced_at``: when
    the processor handled it)."""
    params: dict[str, Any] = {}
    cost_where: list[str] = []
    audit_where: list[str] = []
    notice_where: list[str] = []
    vendor_where: list[str] = []
    pull_where: list[str] = []
    if f.tenant is not None:
        params["tenant"] = f.tenant
        for where in (cost_where, audit_where, notice_where):
            where.append("tenant_id = $tenant")
    if f.since is not None:
        params["since"] = _day_start(f.since)
        cost_where.append(f"{cost_time} >= CAST($since AS TIMESTAMPTZ)")
        vendor_where.append("ts >= CAST($since AS TIMESTAMPTZ)")
        audit_where.append("produced_at >= CAST($since AS TIMESTAMPTZ)")
        notice_where.append("produced_at >= CAST($since AS TIMESTAMPTZ)")
    if f.until is not None:
        params["until"] = _day_start(f.until + timedelta(days=1))
        cost_where.append(f"{cost_time} < CAST($until AS TIMESTAMPTZ)")
        vendor_where.append("ts < CAST($until AS TIMESTAMPTZ)")
        audit_where.append("produced_at < CAST($until AS TIMESTAMPTZ)")
        notice_where.append("produced_at < CAST($until AS TIMESTAMPTZ)")
    if f.gateway is not None:
        params["gateway"] = f.gateway
        cost_where.append("gateway = $gateway")
        audit_where.append("gateway = $gateway")
        vendor_where.append("gateway = $gateway")
        pull_where.append("gateway = $gateway")
    if f.model is not None:
        params["model"] = f.model
        cost_where.append("request_model = $model")
        audit_where.append(
            f"turn_id IN (SELECT turn_id FROM {COST_TABLE} WHERE request_model = $model)"
        )

    def select(table: str, where: list[str]) -> str:
        return f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")

    return (
        f"WITH costs AS ({select(COST_TABLE, cost_where)}),\n"
        f"audits AS ({select(AUDIT_TABLE, audit_where)}),\n"
        f"notices AS ({select(NOTICE_TABLE, notice_where)}),\n"
        f"vendor AS ({select(VENDOR_TABLE, vendor_where)}),\n"
        f"pulls AS ({select(PULLS_TABLE, pull_where)})\n",
        params,
    )
