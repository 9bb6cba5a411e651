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
real cost (the price of the reported usage the price stage gives the cost
event: the tenant's price in force when the turn occurred, cached input
tokens at their price), and announces, once per window, a crossed soft
threshold and exhaustion.

Costs are counted once per turn: a cost read from the topic and a
settlement of this instance are the same cost when they are for the same
turn id (the cost event's id derives from it), so this instance's own costs
coming back, and a replay's republished cost, are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from gwstream.pipeline.context import Outcome, Reason, SpendNotice, TenantSpend, TurnContext
from gwstream.pipeline.stage import Next
from gwstream.pricing import ModelPrice, Prices

log = logging.getLogger(__name__)

Period = Literal["day", "month"]
PERIODS: tuple[Period, ...] = ("day", "month")
Level = Literal["soft_threshold", "exhausted"]


@dataclass(frozen=True, slots=True)
class SpendLimit:
    """One tenant's limits (None: no limit in that period)."""

    day: Decimal | None = None
    month: Decimal | None = None
    currency: str = "USD"
    soft_threshold: float = 0.8

    def of(self, period: Period) -> Decimal | None:
        return self.day if period == "day" else self.month


@lru_cache(maxsize=64)
def _windows(day: int) -> tuple[str, str]:
    at = datetime.fromtimestamp(day * 86_400, UTC)
    return f"{at:%Y-%m-%d}", f"{at:%Y-%m}"


def windows_at(at: float) -> tuple[str, str]:
    """The UTC day and month of ``at`` (Unix seconds): ``("2026-12-01", "2026-12")``."""
    return _windows(int(at // 86_400))


def window_of(period: Period, at: float) -> str:
    """The UTC window of ``at``: ``2026-12-01`` for a day, ``2026-12`` for a month."""
    return windows_at(at)[0 if period == "day" else 1]


@dataclass(slots=True)
class _Window:
    """A tenant's spend and reservations in one window of one limited period."""

    period: Period
    window: str
    cap: Decimal
    soft: Decimal
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)


@dataclass(slots=True)
class _Tenant:
    """A limited tenant's limits and its windows."""

    id: str
    limit: SpendLimit
    #: (period, limit, soft cap), for the periods the tenant limits.
    caps: tuple[tuple[Period, Decimal, Decimal], ...]
    windows: dict[tuple[Period, str], _Window] = field(default_factory=dict)
    #: The windows last asked for, and for which (day, month): most calls ask again.
    last: tuple[tuple[str, str], list[_Window]] | None = None


# Not frozen: built on every turn, and a frozen dataclass takes 3-5 times as long
# to build. Never changed once built.
@dataclass(slots=True)
class Reservation:
    """A call's worst-case cost, held against the windows it was admitted in; its real
    cost is charged to the same windows."""

    tenant: _Tenant
    amount: Decimal
    windows: list[_Window]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call was not admitted: the first limit it would have crossed.

    ``held``: only because of calls in flight (spend alone leaves room for it), so it
    may fit once they settle. ``oversized``: the call's worst case exceeds the whole
    limit, so it never fits, and the limit is not exhausted by it (cheaper calls may
    still be admitted). Otherwise the limit is exhausted for this call.
    """

    period: Period
    window: str
    spend: Decimal
    limit: Decimal
    held: bool = False
    oversized: bool = False


class SpendLedger:
    """This instance's view of limited tenants' spend; see the module docstring."""

    def __init__(self, limits: Mapping[str, SpendLimit], *, dedupe_ids: int = 200_000) -> None:
        self.limits = dict(limits)
        #: How many turn ids to remember, to count each cost once.
        self._dedupe = dedupe_ids
        self._tenants = {
            t: _Tenant(
                t,
                lim,
                tuple(
                    (p, cap, cap * Decimal(str(lim.soft_threshold)))
                    for p in PERIODS
                    if (cap := lim.of(p)) is not None
                ),
            )
            for t, lim in limits.items()
        }
        self._seen: dict[str, None] = {}
        self._announced: set[tuple[str, Period, str, Level]] = set()
        self._current: tuple[str, str] = ("", "")
        #: Calls waiting for a tenant's calls in flight to settle (see :meth:`settled`).
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def limited(self, tenant_id: str) -> SpendLimit | None:
        return self.limits.get(tenant_id)

    def _roll(self, windows: tuple[str, str]) -> None:
        """Forget windows that ended: nothing can be admitted into them again."""
        self._current = windows
        current = dict(zip(PERIODS, windows, strict=True))
        for t in self._tenants.values():
            t.windows = {k: w for k, w in t.windows.items() if k[1] >= current[k[0]]}
            t.last = None
        self._announced = {a for a in self._announced if a[2] >= current[a[1]]}

    def _windows(self, t: _Tenant, windows: tuple[str, str]) -> list[_Window]:
        """The tenant's windows holding ``windows`` = (day, month), one per limited period."""
        last = t.last
        if last is not None and last[0] == windows:
            return last[1]
        out = []
        for period, cap, soft in t.caps:
            window = windows[0] if period == "day" else windows[1]
            w = t.windows.get((period, window))
            if w is None:
                w = t.windows[(period, window)] = _Window(period, window, cap, soft)
            out.append(w)
        t.last = (windows, out)
        return out

    def _count(self, turn_id: str) -> bool:
        """True the first time a turn's cost is seen (remembered for ``dedupe_ids`` turns)."""
        if turn_id in self._seen:
            return False
        self._seen[turn_id] = None
        if len(self._seen) > self._dedupe:
            del self._seen[next(iter(self._seen))]
        return True

    def observe(self, turn_id: str, tenant_id: str, amount: Decimal, at: float) -> None:
        """A turn's cost read from the cost topic (any instance's), produced at ``at`` (Unix
        seconds).
        A zero cost leaves the turn uncounted, so a later real cost still counts."""
        t = self._tenants.get(tenant_id)
        if t is None or not amount or not self._count(turn_id):
            return
        for w in self._windows(t, windows_at(at)):
            w.spent += amount

    def admit(self, tenant_id: str, worst: Decimal, now: float) -> Reservation | Refusal:
        """Reserve ``worst`` if it fits under every limit of the tenant, else say which not."""
        t = self._tenants[tenant_id]
        windows = windows_at(now)
        if windows != self._current:
            self._roll(windows)
        ws = self._windows(t, windows)
        for w in ws:
            if w.spent + w.reserved + worst > w.cap:
                held = w.spent + worst <= w.cap
                return Refusal(w.period, w.window, w.spent, w.cap, held, worst > w.cap)
        for w in ws:
            w.reserved += worst
        return Reservation(t, worst, ws)

    def release(self, res: Reservation) -> None:
        """Give a reservation back without a cost (the call never happened)."""
        for w in res.windows:
            w.reserved -= res.amount
        self._wake(res.tenant.id)

    def _wake(self, tenant_id: str) -> None:
        waiters = self._waiters.pop(tenant_id, None)
        for f in waiters or ():
            if not f.done():
                f.set_result(None)

    async def settled(self, tenant_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) until one of the tenant's calls settles or is released."""
        f = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tenant_id, []).append(f)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(f, timeout_s)

    def settle(self, res: Reservation, turn_id: str, amount: Decimal) -> None:
        """Replace a reservation by the call's real cost, in the windows it was admitted in
        (counted once per turn; a call that cost nothing leaves its turn uncounted, so a
        later real cost still counts)."""
        counted = bool(amount) and self._count(turn_id)
        for w in res.windows:
            w.reserved -= res.amount
            if counted:
                w.spent += amount
        if self._waiters:
            self._wake(res.tenant.id)

    def _window(self, tenant_id: str, period: Period, now: float) -> _Window | None:
        return self._tenants[tenant_id].windows.get((period, window_of(period, now)))

    def spent(self, tenant_id: str, period: Period, now: float) -> Decimal:
        w = self._window(tenant_id, period, now)
        return w.spent if w is not None else Decimal(0)

    def reserved(self, tenant_id: str, period: Period, now: float) -> Decimal:
        w = self._window(tenant_id, period, now)
        return w.reserved if w is not None else Decimal(0)

    def after(self, res: Reservation) -> tuple[TenantSpend, tuple[SpendNotice, ...]]:
        """The tenant's spend in a settled call's windows, and what it newly reached there."""
        return self._report(res.tenant, res.windows, None)

    def state(
        self, tenant_id: str, now: float, refused: Refusal | None = None
    ) -> tuple[TenantSpend, tuple[SpendNotice, ...]]:
        """The tenant's spend in the windows of ``now``, and what it newly reached there
        (with ``refused``, the limit that refusal met counts as reached)."""
        t = self._tenants[tenant_id]
        return self._report(t, self._windows(t, windows_at(now)), refused)

    def notices(
        self, tenant_id: str, now: float, refused: Refusal | None = None
    ) -> tuple[SpendNotice, ...]:
        return self.state(tenant_id, now, refused)[1]

    def _report(
        self, t: _Tenant, windows: list[_Window], refused: Refusal | None
    ) -> tuple[TenantSpend, tuple[SpendNotice, ...]]:
        day = month = None
        notices: tuple[SpendNotice, ...] = ()
        for w in windows:
            if w.period == "day":
                day = w.spent
            else:
                month = w.spent
            if w.spent >= w.soft or _exhausted_in(refused, w.period):
                notices += self._notices(t, w, refused)  # rare: the windows' last stretch
        lim = t.limit
        return TenantSpend(day, lim.day, month, lim.month, lim.currency), notices

    def _notices(self, t: _Tenant, w: _Window, refused: Refusal | None) -> tuple[SpendNotice, ...]:
        """Each once per window and instance: the soft threshold, and exhaustion (a
        refusal, or spend at the limit). Exhaustion comes after the soft threshold's notice
        even when a refusal comes first, below it (a call's worst case larger than what is
        left): whoever alerts on the soft threshold is told before, or with, the limit."""
        levels: list[Level] = []
        exhausted = w.spent >= w.cap or _exhausted_in(refused, w.period)
        if w.spent >= w.soft or exhausted:
            levels.append("soft_threshold")
        if exhausted:
            levels.append("exhausted")
        found = []
        for level in levels:
            key = (t.id, w.period, w.window, level)
            if key in self._announced:
                continue
            self._announced.add(key)
            lim = t.limit
            found.append(
                SpendNotice(
                    t.id,
                    w.period,
                    w.window,
                    level,
                    w.spent,
                    w.cap,
                    lim.soft_threshold,
                    lim.currency,
                )
            )
        return tuple(found)


def _exhausted_in(refused: Refusal | None, period: Period) -> bool:
    """Whether a refusal says the period's limit is reached (not merely held by calls in
    flight, nor a call larger than the whole limit)."""
    return (
        refused is not None
        and not refused.held
        and not refused.oversized
        and refused.period == period
    )


def worst_case(price: ModelPrice, input_tokens: int, output_tokens: int, margin: float) -> Decimal:
    """The most a call can cost: its input (plus ``margin``), none of it cached (or all,
    should a map price cached tokens higher), and all of its output."""
    inp = math.ceil(input_tokens * (1 + margin)) if margin else input_tokens
    return price.most_per_input_token * inp + price.output_per_token * output_tokens


class SpendStage:
    """Reserve a call's worst case against its tenant's limits; settle with the real cost."""

    def __init__(
        self,
        ledger: SpendLedger,
        prices: Prices,
        *,
        input_margin: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._prices = prices
        self._margin = input_margin
        self._clock = clock
        #: (tenant, model, period) whose calls were found larger than the whole limit.
        self._oversized: set[tuple[str, str, Period]] = set()

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        ledger = self._ledger
        if ctx.turn.tenant_id not in ledger.limits:
            return await call_next(ctx)
        route = ctx.route
        assert route is not None, "SpendStage runs inside RouteStage"
        output = route.output_bound
        turn = ctx.turn
        quote = self._prices.quote(route.model, turn.tenant_id, turn.occurred_at)
        if quote is None or output is None:  # the worst case is unknown
            ctx.tenant_spend, _ = ledger.state(ctx.turn.tenant_id, self._clock())
            return Outcome.refused(Reason.UNPRICED_MODEL)
        price = quote.price
        worst = worst_case(price, ctx.prompt_tokens, output, self._margin)
        admitted = ledger.admit(ctx.turn.tenant_id, worst, self._clock())
        if isinstance(admitted, Refusal):
            admitted = await self._wait(ctx, worst, admitted, route.deadline_s)
            if isinstance(admitted, Refusal):
                if admitted.oversized:
                    self._warn_oversized(turn.tenant_id, route.model, worst, admitted)
                ctx.tenant_spend, ctx.notices = ledger.state(
                    ctx.turn.tenant_id, self._clock(), admitted
                )
                return Outcome.refused(Reason.TENANT_BUDGET_EXHAUSTED)
        try:
            outcome = await call_next(ctx)
        except BaseException:
            ledger.release(admitted)
            raise
        cost = price.amount(
            outcome.input_tokens, outcome.output_tokens, outcome.cached_input_tokens
        )
        ledger.settle(admitted, ctx.turn.turn_id, cost)
        ctx.tenant_spend, ctx.notices = ledger.after(admitted)
        return outcome

    def _warn_oversized(self, tenant: str, model: str, worst: Decimal, refused: Refusal) -> None:
        key = (tenant, model, refused.period)
        if key in self._oversized:
            return
        self._oversized.add(key)
        log.warning(
            "tenant %s: a %s call's worst case (%s) exceeds its whole %s limit (%s), so such "
            "calls are always refused tenant_budget_exhausted; set max_tokens lower or raise "
            "the limit (cheaper calls are still admitted; no exhausted notice for these)",
            tenant,
            model,
            format(worst, "f"),
            refused.period,
            format(refused.limit, "f"),
        )

    async def _wait(
        self, ctx: TurnContext, worst: Decimal, refused: Refusal, deadline_s: float
    ) -> Reservation | Refusal:
        """While only calls in flight hold the limit, wait for them to settle and try again,
        within the turn's deadline: a call is refused only when spend leaves no room."""
        deadline = time.monotonic() + deadline_s
        tenant = ctx.turn.tenant_id
        admitted: Reservation | Refusal = refused
        while isinstance(admitted, Refusal) and admitted.held:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await self._ledger.settled(tenant, left)
            admitted = self._ledger.admit(tenant, worst, self._clock())
        return admitted


class SpendReportStage:
    """Every turn of a limited tenant reports the tenant's spend, turns refused before the
    spend stage (by a session budget, routing, the context window) included."""

    def __init__(self, ledger: SpendLedger, *, clock: Callable[[], float] = time.time) -> None:
        self._ledger = ledger
        self._clock = clock

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        outcome = await call_next(ctx)
        if ctx.tenant_spend is None and ctx.turn.tenant_id in self._ledger.limits:
            ctx.tenant_spend, _ = self._ledger.state(ctx.turn.tenant_id, self._clock())
        return outcome
