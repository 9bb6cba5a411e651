"""`gateways check`'s probe waits as long as `gwstream run` would: the gateway's timeout_s."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gwstream.config import Settings
from gwstream.gateways.health import check_gateways

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def silent_url() -> AsyncIterator[str]:
    """A loopback HTTP port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0, family=socket.AF_INET)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()


async def test_the_probe_uses_the_gateways_timeout_unless_one_is_given(silent_url: str) -> None:
    settings = Settings(
        gateways={
            "default": {"protocol": "openai", "base_urls": [silent_url], "timeout_s": 0.3}  # type: ignore[dict-item]
        }
    )
    [own] = await check_gateways(settings)
    assert not own.ok and own.outcome == "timeout"
    assert "within 0.3s" in own.detail, own.detail
    [given] = await check_gateways(settings, timeout_s=0.2)
    assert "within 0.2s" in given.detail, given.detail
