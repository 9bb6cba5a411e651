"""``gwstream webhooks``: what it says when it cannot start (no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gwstream.cli import app
from gwstream.errors import GwstreamError


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)


def invoke(config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["webhooks", "--config", str(config)])
    return result.exit_code, " ".join(result.output.split())


def test_without_any_tenant_webhook_it_says_where_to_configure_one(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("kafka: {bootstrap_servers: '127.0.0.1:1'}\n")
    code, output = invoke(cfg)
    assert code == 2
    assert "no tenant has a webhook" in output and "tenants.<id>.webhook" in output


def test_a_missing_secret_is_named_before_anything_connects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_HOOK_SECRET", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        "kafka: {bootstrap_servers: '127.0.0.1:1'}\n"
        "tenants:\n  acme:\n    webhook: {url: 'https://h.example.com/x', secret_env: ACME_HOOK_SECRET}\n"
    )
    code, output = invoke(cfg)
    assert code == 2
    assert "tenants.acme.webhook secret" in output and "ACME_HOOK_SECRET" in output


def test_it_needs_a_cluster(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("tenants:\n  acme:\n    webhook: {url: 'https://h.example.com/x', secret: s}\n")
    result = CliRunner().invoke(app, ["webhooks", "--config", str(cfg)])
    assert isinstance(result.exception, GwstreamError)
    assert "kafka.bootstrap_servers is empty" in str(result.exception)
