"""Serving an aiohttp application on the running event loop (metrics, probes, the sink's API)."""

from __future__ import annotations

import errno
import socket

from aiohttp import web

from gwstream.errors import ConfigError


async def serve(
    app: web.Application, host: str, port: int, *, setting: str, host_setting: str
) -> tuple[web.AppRunner, int]:
    """Listen with ``app`` on ``host:port`` (0: any free port); return the runner (``cleanup()``
    stops it) and the port bound. What cannot be bound is a :class:`ConfigError` naming
    the option to change: ``host_setting`` for a host that does not resolve or is no
    address of this machine, ``setting`` (the port's) otherwise."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            why = "it does not resolve" if isinstance(exc, socket.gaierror) else exc.strerror
            raise ConfigError(f"{host_setting}: cannot listen on {host!r}: {why}") from None
        raise ConfigError(f"{setting}: cannot listen on {host}:{port}: {exc.strerror}") from None
    sockets = getattr(site._server, "sockets", None) or []  # tells the port when 0 was asked
    return runner, int(sockets[0].getsockname()[1]) if sockets else port
