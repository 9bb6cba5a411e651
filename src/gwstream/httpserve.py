"""Serving an aiohttp application on the running event loop (metrics, probes, the sink's API)."""

from __future__ import annotations

from aiohttp import web

from gwstream.errors import ConfigError


async def serve(
    app: web.Application, host: str, port: int, *, setting: str
) -> tuple[web.AppRunner, int]:
    """Listen with ``app`` on ``host:port`` (0: any free port); return the runner (``cleanup()``
    stops it) and the port bound. A port that cannot be bound is a :class:`ConfigError`
    naming ``setting``, the option to change."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"{setting}: cannot listen on {host}:{port}: {exc.strerror}") from None
    sockets = getattr(site._server, "sockets", None) or []  # tells the port when 0 was asked
    return runner, int(sockets[0].getsockname()[1]) if sockets else port
