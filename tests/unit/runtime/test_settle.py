"""Publishing waits for every acknowledgement, even after one failed."""

from __future__ import annotations

import asyncio
import gc

import pytest

from gwstream.kafkaio import settle


async def test_every_future_is_awaited_and_the_first_failure_raised() -> None:
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[int]] = [loop.create_future() for _ in range(3)]
    futures[0].set_exception(ConnectionError("first"))
    futures[1].set_exception(TimeoutError("second"))
    futures[2].set_result(3)
    unretrieved: list[object] = []
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:
        with pytest.raises(ConnectionError, match="first"):
            await settle(futures)
        del futures
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert unretrieved == []  # no "Future exception was never retrieved"


async def test_all_acknowledged_returns_the_results_in_order() -> None:
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[int]] = [loop.create_future() for _ in range(2)]
    for i, f in enumerate(futures):
        f.set_result(i)
    assert await settle(futures) == [0, 1]
