"""``gwstream webhooks``: send the tenants' webhooks from the output topics."""

from __future__ import annotations

from gwstream.cli.shared import ConfigOpt, _require_cluster, _run, _settings, app


@app.command()
def webhooks(config: ConfigOpt = None) -> None:
    """Send the tenants' webhooks from the output topics until SIGTERM/SIGINT."""
    from gwstream.webhooks.service import serve

    settings = _settings(config)
    _require_cluster(settings)
    _run(lambda stop: serve(settings, stop))
