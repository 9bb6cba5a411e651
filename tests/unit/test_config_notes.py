"""`gateways check`'s notes on valid but doubtful settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from gwstream.config import load_settings
from gwstream.gateways.overview import config_notes


def test_a_secret_in_the_file_and_a_timeout_past_the_deadline_are_noted(tmp_path: Path) -> None:
    config = tmp_path / "gwstream.yaml"
    config.write_text(
        "gateways:\n"
        "  default:\n"
        "    protocol: openai\n"
        "    base_urls: [https://gw.example]\n"
        "    api_key: sk-written-here\n"
        "    timeout_s: 60\n"
        "    deadline_s: 5\n"
    )
    notes = config_notes(load_settings(config), config)
    assert notes == [
        "gateways.default: timeout_s 60 is longer than deadline_s 5, so an attempt is cut at "
        "the deadline (and never retried)",
        f"gateways.default.api_key is written in {config}: keep secrets out of files that are "
        "shared or committed; set GWSTREAM_GATEWAYS__DEFAULT__API_KEY instead, or api_key_file",
    ]
    assert not any("sk-written" in n for n in notes)


def test_a_clean_configuration_has_no_notes(tmp_path: Path) -> None:
    config = tmp_path / "gwstream.yaml"
    config.write_text(
        "gateways:\n  default:\n    protocol: openai\n    base_urls: [https://gw.example]\n"
        "    api_key_file: /run/secrets/key\n"
    )
    assert config_notes(load_settings(config), config) == []


def test_gateways_check_refuses_a_placeholder_secret_run_would_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gwstream.cli import app

    config = tmp_path / "gwstream.yaml"
    config.write_text("state:\n  pii_key_env: GW_TEST_NO_SUCH_KEY\n")
    monkeypatch.delenv("GW_TEST_NO_SUCH_KEY", raising=False)
    done = CliRunner().invoke(app, ["gateways", "check", "--no-probe", "-c", str(config)])
    assert done.exit_code == 2
    assert "state.pii_key_env: environment variable GW_TEST_NO_SUCH_KEY is not set" in done.output
