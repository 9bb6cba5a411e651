"""Fixtures: real simulators on loopback and real gateways pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from gwstream.gateways import OpenAIChatGateway, RetryPolicy
from gwstream.simulator import GatewaySimulator

# Tiny waits so retry tests stay fast; the deadline is generous so only the
# behaviour under test decides the outcome.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.005, deadline_s=20.0)

SimulatorFactory = Callable[..., Awaitable[GatewaySimulator]]
GatewayFactory = Callable[..., OpenAIChatGateway]


@pytest_asyncio.fixture
async def simulator(start_simulator: SimulatorFactory) -> GatewaySimulator:
    """One well-behaved simulator with no latency and no faults."""
    return await start_simulator()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """The retry policy gateways get from make_gateway unless a test passes its own."""
    return FAST_RETRY


@pytest_asyncio.fixture
async def make_gateway() -> AsyncIterator[GatewayFactory]:
    """Build gateways (fast retries unless overridden); all are closed after the test."""
    made: list[OpenAIChatGateway] = []

    def make(**kwargs: Any) -> OpenAIChatGateway:
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("timeout_s", 10.0)
        gateway = OpenAIChatGateway(**kwargs)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()
