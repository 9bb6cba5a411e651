from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gwstream.config import load_settings
from gwstream.errors import ConfigError
from gwstream.webhooks.settings import WebhookServiceSettings, WebhookSettings

URL = "https://hooks.example.com/gwstream/acme?token=abc"


def test_exactly_one_secret_source_is_required() -> None:
    with pytest.raises(ValidationError, match="exactly one of secret, secret_env or secret_file"):
        WebhookSettings(url=URL)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="exactly one of secret, secret_env or secret_file"):
        WebhookSettings(url=URL, secret="s", secret_env="HOOK_SECRET")  # type: ignore[arg-type]


def test_the_secret_is_read_from_its_one_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_HOOK_SECRET", "from-env")
    by_env = WebhookSettings(url=URL, secret_env="ACME_HOOK_SECRET")  # type: ignore[arg-type]
    assert by_env.signing_secret("acme").get_secret_value() == "from-env"
    path = tmp_path / "secret"
    path.write_text("from-file\n")
    by_file = WebhookSettings(url=URL, secret_file=path)  # type: ignore[arg-type]
    assert by_file.signing_secret("acme").get_secret_value() == "from-file"


def test_a_missing_secret_names_the_tenant_and_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACME_HOOK_SECRET", raising=False)
    settings = WebhookSettings(url=URL, secret_env="ACME_HOOK_SECRET")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"tenants\.acme\.webhook secret.*ACME_HOOK_SECRET"):
        settings.signing_secret("acme")


def test_the_secret_stays_out_of_reprs() -> None:
    settings = WebhookSettings(url=URL, secret="very-secret-value")  # type: ignore[arg-type]
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "URL scheme should be 'http' or 'https'"),
        ({"url": "https://user:pw@hooks.example.com/"}, "must not carry credentials"),
        ({"events": []}, "at least 1 item"),
        ({"events": ["completed", "answered"]}, "'completed', 'failed' or 'budget'"),
        ({"backoff_base_s": 10, "backoff_cap_s": 5}, "backoff_base_s must not exceed"),
        ({"max_attempts": 0}, "greater than or equal to 1"),
        ({"timeout_s": 0}, "greater than 0"),
        ({"retries": 3}, "Extra inputs are not permitted"),
        ({"secret": ""}, "secret is empty"),
    ],
)
def test_invalid_endpoint_settings_say_what_to_fix(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WebhookSettings(**({"url": URL, "secret": "s"} | fields))


def test_the_host_names_no_path_query_or_token() -> None:
    assert WebhookSettings(url=URL, secret="s").host == "hooks.example.com"  # type: ignore[arg-type]
    local = WebhookSettings(url="http://127.0.0.1:8099/h", secret="s")  # type: ignore[arg-type]
    assert local.host == "127.0.0.1:8099"


def test_webhooks_load_from_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        "webhooks:\n  group_id: hooks-a\n  per_tenant_concurrency: 2\n"
        "tenants:\n  acme:\n    webhook:\n"
        "      url: https://hooks.example.com/acme\n"
        "      secret_env: ACME_HOOK_SECRET\n"
        "      events: [failed, budget]\n"
        "      max_attempts: 3\n"
    )
    s = load_settings(cfg)
    hook = s.tenants["acme"].webhook
    assert hook is not None
    assert hook.events == {"failed", "budget"}
    assert hook.max_attempts == 3
    assert s.webhooks.group_id == "hooks-a"
    assert s.webhooks.per_tenant_concurrency == 2


def test_a_missing_secret_does_not_stop_the_configuration_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The processor reads the same file and never needs the webhook secret.
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    monkeypatch.delenv("NOWHERE_SECRET", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        "tenants:\n  acme:\n    webhook: {url: 'https://h.example.com/', secret_env: NOWHERE_SECRET}\n"
    )
    assert load_settings(cfg).tenants["acme"].webhook is not None


def test_an_invalid_webhook_in_the_file_names_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        "tenants:\n  acme:\n    webhook: {url: 'https://h.example.com/', secret: s, timeout_s: -1}\n"
    )
    with pytest.raises(ConfigError, match=r"tenants\.acme\.webhook\.timeout_s"):
        load_settings(cfg)


def test_service_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    monkeypatch.setenv("GWSTREAM_WEBHOOKS__COST_WAIT_S", "0")
    monkeypatch.setenv("GWSTREAM_WEBHOOKS__CONCURRENCY", "32")
    s = load_settings()
    assert s.webhooks.cost_wait_s == 0
    assert s.webhooks.concurrency == 32
    assert WebhookServiceSettings().group_id == "gwstream-webhooks"
