from __future__ import annotations

import asyncio

import pytest

from gwstream.runtime.limiter import DECREASE, INITIAL_LIMIT, InFlightLimit
from gwstream.runtime.records import RuntimeStats


def test_starts_below_a_large_maximum_and_at_a_small_one() -> None:
    assert InFlightLimit(2_000, 0.005).limit == INITIAL_LIMIT
    assert InFlightLimit(100, 0.005).limit == 100


def test_one_late_timer_is_not_a_queue_two_in_a_row_are() -> None:
    stats = RuntimeStats()
    lim = InFlightLimit(1_000, 0.005, stats=stats)
    start = lim.limit
    lim.observe(0.050)  # a garbage collection
    assert lim.limit == start
    lim.observe(0.001)
    lim.observe(0.020)
    assert lim.limit == start
    lim.observe(0.030)
    assert lim.limit == pytest.approx(start * DECREASE)
    assert stats.in_flight_limit == int(lim.limit)
    assert stats.loop_lag_s == pytest.approx(0.030)


def test_never_below_minimum_nor_above_maximum() -> None:
    lim = InFlightLimit(600, 0.005, minimum=8)
    for _ in range(100):
        lim.observe(1.0)
    assert lim.limit == 8
    lim._held_back = True
    for _ in range(200):
        lim._held_back = True
        lim.observe(0.0)
    assert lim.limit == 600


def test_grows_only_when_the_limit_held_records_back() -> None:
    lim = InFlightLimit(2_000, 0.005)
    for _ in range(10):
        lim.observe(0.0)
    assert lim.limit == INITIAL_LIMIT  # nothing waited: no reason to grow
    lim._held_back = True
    lim.observe(0.0)
    assert lim.limit > INITIAL_LIMIT
    grown = lim.limit
    lim._held_back = True
    lim.observe(0.004)  # under the target but over half of it: hold
    assert lim.limit == grown


def test_target_zero_keeps_the_maximum() -> None:
    lim = InFlightLimit(2_000, 0.0)
    for _ in range(10):
        lim.observe(1.0)
    assert lim.limit == 2_000


def test_peak_lag_is_reported_and_reset() -> None:
    lim = InFlightLimit(10, 0.005)
    lim.observe(0.002)
    lim.observe(0.009)
    lim.observe(0.001)
    assert lim.take_peak_lag() == pytest.approx(0.009)
    assert lim.take_peak_lag() == 0.0


async def test_gate_admits_in_arrival_order_as_slots_free() -> None:
    lim = InFlightLimit(2, 0.0)
    await lim.acquire()
    await lim.acquire()
    admitted: list[int] = []

    async def take(i: int) -> None:
        await lim.acquire()
        admitted.append(i)

    waiting = [asyncio.create_task(take(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert admitted == [] and lim.busy == 2
    lim.release()
    await asyncio.wait_for(waiting[0], 1)
    assert admitted == [0]
    lim.release()
    lim.release()
    await asyncio.wait_for(asyncio.gather(*waiting[1:]), 1)
    assert admitted == [0, 1, 2] and lim.busy == 2


async def test_a_cancelled_waiter_gives_its_place_and_slot_back() -> None:
    lim = InFlightLimit(1, 0.0)
    await lim.acquire()
    first = asyncio.create_task(lim.acquire())
    second = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    lim.release()
    await asyncio.wait_for(second, 1)
    assert lim.busy == 1
    # Cancelled after release() handed it the slot: the slot goes to the next waiter.
    third = asyncio.create_task(lim.acquire())
    fourth = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0)
    lim.release()
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    await asyncio.wait_for(fourth, 1)
    assert lim.busy == 1


async def test_growth_admits_waiters_at_once() -> None:
    lim = InFlightLimit(100, 0.005, minimum=1)
    lim.limit = 1.0
    await lim.acquire()
    waiter = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    lim.observe(0.0)
    await asyncio.wait_for(waiter, 1)
    assert lim.busy == 2
