"""Which gateways a metrics pull reads, decided before any I/O."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gwstream.config import GatewaySettings, Settings
from gwstream.errors import ConfigError
from gwstream.gateways.settings import OAuthSettings
from gwstream.reconcile.pull import pull_vendor_metrics

URL = "http://127.0.0.1:9"  # never contacted: every case fails or returns before I/O


def settings(**gateways: GatewaySettings) -> Settings:
    return Settings(gateways={"default": GatewaySettings(base_urls=[URL]), **gateways})


def cognigy() -> GatewaySettings:
    return GatewaySettings(
        protocol="cognigy.chat",
        base_urls=[URL],
        oauth=OAuthSettings(client_id="cognigy-sim", client_secret="cognigy-sim-secret"),
    )


async def test_only_openai_gateways_means_nothing_to_pull_and_no_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "costs.duckdb"

    with caplog.at_level(logging.INFO, logger="gwstream.reconcile.pull"):
        assert await pull_vendor_metrics(settings(), database) == {}

    assert not database.exists()
    assert "gateway 'default' (openai) publishes no metrics endpoint: skipped" in caplog.text


async def test_naming_an_unknown_gateway_lists_the_configured_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown gateway\(s\) 'nope'.*'default', 'cog'"):
        await pull_vendor_metrics(
            settings(cog=cognigy()), tmp_path / "c.duckdb", gateways=["cog", "nope"]
        )


async def test_naming_an_openai_gateway_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'default' uses protocol openai"):
        await pull_vendor_metrics(settings(), tmp_path / "c.duckdb", gateways=["default"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pages": 0}, "max_pages must be >= 1"),
        ({"page_size": 0}, "page_size must be >= 1"),
        ({"scopes": {"other": ["x:read"]}}, "scopes names gateway"),
    ],
)
async def test_bad_options_fail_naming_the_option(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    database = tmp_path / "c.duckdb"

    with pytest.raises(ConfigError, match=message):
        await pull_vendor_metrics(settings(cog=cognigy()), database, **options)  # type: ignore[arg-type]

    assert not database.exists()
