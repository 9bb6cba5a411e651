"""A listener that cannot be bound names the setting to change: the host's or the port's."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from gwstream.errors import ConfigError
from gwstream.httpserve import serve


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.1"])
async def test_a_host_that_is_not_this_machines_names_the_host_setting(host: str) -> None:
    with pytest.raises(ConfigError, match=rf"^metrics\.host: cannot listen on '{host}'"):
        await serve(web.Application(), host, 0, setting="metrics.port", host_setting="metrics.host")


async def test_a_taken_port_names_the_port_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            ConfigError, match=rf"^metrics\.port: cannot listen on 127\.0\.0\.1:{port}"
        ):
            await serve(
                web.Application(),
                "127.0.0.1",
                port,
                setting="metrics.port",
                host_setting="metrics.host",
            )
