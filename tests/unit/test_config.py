from __future__ import annotations

from pathlib import Path

import pytest

from gwstream.config import load_settings
from gwstream.errors import ConfigError


def test_defaults_are_valid() -> None:
    s = load_settings()
    assert s.default_gateway in s.gateways
    assert s.runtime.resume_below < s.runtime.pause_above


def test_environment_overrides_nested_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWSTREAM_RUNTIME__MAX_IN_FLIGHT", "123")
    assert load_settings().runtime.max_in_flight == 123


def test_invalid_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWSTREAM_RUNTIME__MAX_IN_FLIGHT", "0")
    with pytest.raises(ConfigError, match=r"runtime\.max_in_flight"):
        load_settings()


def test_yaml_file_is_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        "gateways:\n  main:\n    base_urls: ['http://127.0.0.1:1']\n    model: gpt-4o\n"
        "default_gateway: main\ntenants: {acme: {gateway: main, rpm: 60}}\n"
    )
    s = load_settings(cfg)
    assert s.gateways["main"].model == "gpt-4o"
    cfg.write_text("default_gateway: nowhere\n")
    with pytest.raises(ConfigError, match="default_gateway"):
        load_settings(cfg)


def test_unknown_key_in_yaml_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("runtime:\n  max_inflight: 5\n")
    with pytest.raises(ConfigError, match=r"runtime\.max_inflight"):
        load_settings(cfg)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_the_example_configuration_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "gwstream.yaml"
    s = load_settings(example)
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert s.gateways["default"].base_urls == ["http://127.0.0.1:8089"]


def test_the_example_gateways_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "gateways.yaml"
    s = load_settings(example)
    assert {g.protocol for g in s.gateways.values()} == {
        "openai",
        "cognigy.inference",
        "genesys.invoke",
    }
    assert s.tenants["acme-telecom"].gateway == "cognigy"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sessions": "gw.turns.v1"}, "topics.sessions and topics.turns are both"),
        ({"dlq": "gw.responses.v1"}, "topics.dlq and topics.responses are both"),
        ({"sessions": " "}, "topics.sessions is empty"),
    ],
)
def test_topic_names_must_be_distinct_and_not_empty(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(topics=overrides)


def test_processes_is_a_count_or_auto() -> None:
    from pydantic import ValidationError

    from gwstream.config import RuntimeSettings
    from gwstream.supervisor import available_cores

    assert RuntimeSettings(processes="auto").process_count() == available_cores() >= 1
    assert RuntimeSettings(processes=3).process_count() == 3
    assert RuntimeSettings().process_count() == 1
    with pytest.raises(ValidationError, match="between 1 and 256"):
        RuntimeSettings(processes=0)
