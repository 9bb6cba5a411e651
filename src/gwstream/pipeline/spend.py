"""Tenant spend limits per UTC day and month, shared by every processor instance.

:class:`SpendLedger` is this instance's view of each limited tenant's spend:
what the cost topic says was spent (every instance's costs, fed in by
:class:`gwstream.spendview.SpendView`), what this instance settled itself
(counted at once, and skipped when the cost topic brings it back), and the
worst-case cost of this instance's calls in flight (reservations). A call
is admitted only if spent + reserved + its own worst case stays within every
limit of the tenant; all of it is synchronous code on one event loop, so no
two admissions interleave (LiteLLM's check-then-increment race cannot
happen). With one instance, and calls that cost no more than their worst
case, no window ever ends above its limit.

With N instances, instance i does not yet see what the others have in flight
or spent within the cost topic's propagation delay d, so a tenant can end a
window above its limit by at most what the others reserve and settle unseen:

    overshoot <= sum over j != i of (in-flight worst cases of j
                                     + costs j settled in the last d)

README's "Budgets" section states it in configuration terms.

:class:`SpendStage` reserves before the call and settles after it with the
real cost (the price map's price of the reported usage), and announces,
once per window, a crossed soft threshold and exhaustion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from gwstream.events import BudgetInfo, CostEvent, event_id, utcnow
from gwstream.pipeline.context import (
    Outcome,
    Reason,
    SpendNotice,
    TurnContext,
)
from gwstream.pipeline.stage import Next
from gwstream.pricing import PriceTable

Period = Literal["day", "month"]
_NO_BUDGET = BudgetInfo()
PERIODS: tuple[Period, ...] = ("day", "month")


@dataclass(frozen=True, slots=True)
class SpendLimit:
    """One tenant's limits (None: no limit in that period)."""

    day: Decimal | None = None
    month: Decimal | None = None
    currency: str = "USD"
    soft_threshold: float = 0.8

    def of(self, period: Period) -> Decimal | None:
        return self.day if period == "day" else self.month


def window_of(period: Period, at: datetime) -> str:
    """The UTC window ``at`` falls in: ``2026-12-01`` for a day, ``2026-12`` for a month."""
    return at.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


@dataclass(slots=True)
class _Tally:
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A call's worst-case cost, held against the windows it was admitted in."""

    tenant_id: str
    amount: Decimal
    windows: tuple[tuple[Period, str], ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call was not admitted: the first limit it would have crossed."""

    period: Period
    window: str
    spend: Decimal
    limit: Decimal


@dataclass(slots=True)
class SpendLedger:
    """This instance's view of limited tenants' spend; see the module docstring."""

    limits: Mapping[str, SpendLimit]
    #: How many cost event ids to remember, to count each cost once.
    dedupe_ids: int = 200_000
    _tallies: dict[tuple[str, Period, str], _Tally] = field(default_factory=dict)
    _seen: dict[str, None] = field(default_factory=dict)
    _announced: set[tuple[str, Period, str, str]] = field(default_factory=set)
    #: The current window of each period, to drop old tallies when it changes.
    _current: dict[Period, str] = field(default_factory=dict)

    def limited(self, tenant_id: str) -> SpendLimit | None:
        return self.limits.get(tenant_id)

    def _windows(self, limit: SpendLimit, at: datetime) -> tuple[tuple[Period, str], ...]:
        return tuple((p, window_of(p, at)) for p in PERIODS if limit.of(p) is not None)

    def _tally(self, tenant_id: str, period: Period, window: str) -> _Tally:
        key = (tenant_id, period, window)
        t = self._tallies.get(key)
        if t is None:
            t = self._tallies[key] = _Tally()
        return t

    def _roll(self, now: datetime) -> None:
        """Forget windows that ended: nothing can be admitted into them again."""
        for period in PERIODS:
            current = window_of(period, now)
            if self._current.get(period) != current:
                self._current[period] = current
                self._tallies = {
                    k: t for k, t in self._tallies.items() if k[1] != period or k[2] >= current
                }
                self._announced = {a for a in self._announced if a[1] != period or a[2] >= current}

    def _count(self, cost_event_id: str) -> bool:
        """True the first time a cost event id is seen (remembered up to ``dedupe_ids``)."""
        if cost_event_id in self._seen:
            return False
        self._seen[cost_event_id] = None
        if len(self._seen) > self.dedupe_ids:
            del self._seen[next(iter(self._seen))]
        return True

    def observe(self, cost_event_id: str, tenant_id: str, amount: Decimal, at: datetime) -> None:
        """A cost read from the cost topic (any instance's), produced at ``at``."""
        limit = self.limits.get(tenant_id)
        if limit is None or not amount or not self._count(cost_event_id):
            return
        for period, window in self._windows(limit, at):
            self._tally(tenant_id, period, window).spent += amount

    def admit(self, tenant_id: str, worst: Decimal, now: datetime) -> Reservation | Refusal:
        """Reserve ``worst`` if it fits under every limit of the tenant, else say which not."""
        limit = self.limits[tenant_id]
        self._roll(now)
        windows = self._windows(limit, now)
        for period, window in windows:
            t = self._tally(tenant_id, period, window)
            cap = limit.of(period)
            assert cap is not None
            if t.spent + t.reserved + worst > cap:
                return Refusal(period, window, t.spent, cap)
        for period, window in windows:
            self._tally(tenant_id, period, window).reserved += worst
        return Reservation(tenant_id, worst, windows)

    def release(self, res: Reservation) -> None:
        """Give a reservation back without a cost (the call never happened)."""
        for period, window in res.windows:
            t = self._tallies.get((res.tenant_id, period, window))
            if t is not None:
                t.reserved -= res.amount

    def settle(self, res: Reservation, cost_event_id: str, amount: Decimal, at: datetime) -> None:
        """Replace a reservation by the call's real cost (counted once by event id; a call
        that cost nothing leaves its id uncounted, so a later real cost still counts)."""
        self.release(res)
        if amount and self._count(cost_event_id):
            limit = self.limits[res.tenant_id]
            for period, window in self._windows(limit, at):
                self._tally(res.tenant_id, period, window).spent += amount

    def spent(self, tenant_id: str, period: Period, now: datetime) -> Decimal:
        t = self._tallies.get((tenant_id, period, window_of(period, now)))
        return t.spent if t is not None else Decimal(0)

    def reserved(self, tenant_id: str, period: Period, now: datetime) -> Decimal:
        t = self._tallies.get((tenant_id, period, window_of(period, now)))
        return t.reserved if t is not None else Decimal(0)

    def state(self, tenant_id: str, now: datetime, base: BudgetInfo | None) -> BudgetInfo:
        """``base`` with the tenant's spend and limits in the windows of ``now``."""
        limit = self.limits[tenant_id]
        return (base or _NO_BUDGET).model_copy(
            update={
                "tenant_spend_day": self.spent(tenant_id, "day", now) if limit.day else None,
                "tenant_limit_day": limit.day,
                "tenant_spend_month": self.spent(tenant_id, "month", now) if limit.month else None,
                "tenant_limit_month": limit.month,
                "currency": limit.currency,
            }
        )

    def notices(
        self, tenant_id: str, now: datetime, refused: Refusal | None = None
    ) -> tuple[SpendNotice, ...]:
        """What this tenant has newly reached in the windows of ``now``, each once per window
        and instance: the soft threshold, and exhaustion (a refusal, or spend at the limit)."""
        limit = self.limits[tenant_id]
        found: list[SpendNotice] = []
        for period in PERIODS:
            cap = limit.of(period)
            if cap is None:
                continue
            window = window_of(period, now)
            spend = self.spent(tenant_id, period, now)
            exhausted = spend >= cap or (refused is not None and refused.period == period)
            levels: list[Literal["soft_threshold", "exhausted"]] = []
            if spend >= cap * Decimal(str(limit.soft_threshold)):
                levels.append("soft_threshold")
            if exhausted:
                levels.append("exhausted")
            for level in levels:
                key = (tenant_id, period, window, level)
                if key in self._announced:
                    continue
                self._announced.add(key)
                found.append(
                    SpendNotice(
                        tenant_id,
                        period,
                        window,
                        level,
                        spend,
                        cap,
                        limit.soft_threshold,
                        limit.currency,
                    )
                )
        return tuple(found)


def worst_case(
    prices: PriceTable, model: str, input_tokens: int, output_tokens: int, margin: float
) -> Decimal | None:
    """The most a call can cost: its input (plus ``margin``) and all of its output at the
    model's price; None when the model has no price."""
    price = prices.price(model)
    if price is None:
        return None
    inp = math.ceil(input_tokens * (1 + margin))
    return price.input_per_token * inp + price.output_per_token * output_tokens


class SpendStage:
    """Reserve a call's worst case against its tenant's limits; settle with the real cost."""

    def __init__(
        self,
        ledger: SpendLedger,
        prices: PriceTable,
        *,
        input_margin: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ledger = ledger
        self._prices = prices
        self._margin = input_margin
        self._clock = clock

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        tenant = ctx.turn.tenant_id
        ledger = self._ledger
        if ledger.limited(tenant) is None:
            return await call_next(ctx)
        route = ctx.route
        assert route is not None, "SpendStage runs inside RouteStage"
        output = route.output_bound
        worst = (
            worst_case(self._prices, route.model, ctx.prompt_tokens, output, self._margin)
            if output is not None
            else None
        )
        now = self._clock()
        if worst is None:  # no price, or no bound on the output: the worst case is unknown
            outcome = Outcome.refused(Reason.UNPRICED_MODEL)
            return outcome.but(budget=ledger.state(tenant, now, None))
        admitted = ledger.admit(tenant, worst, now)
        if isinstance(admitted, Refusal):
            return Outcome.refused(
                Reason.TENANT_BUDGET_EXHAUSTED,
                budget=ledger.state(tenant, now, None),
                notices=ledger.notices(tenant, now, admitted),
            )
        try:
            outcome = await call_next(ctx)
        except BaseException:
            ledger.release(admitted)
            raise
        cost = self._prices.cost(route.model, outcome.input_tokens, outcome.output_tokens)
        now = self._clock()
        ledger.settle(admitted, event_id(ctx.turn.turn_id, CostEvent.kind), cost.amount, now)
        return outcome.but(
            budget=ledger.state(tenant, now, outcome.budget),
            notices=outcome.notices + ledger.notices(tenant, now),
        )
