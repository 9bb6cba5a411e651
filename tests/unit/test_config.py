from __future__ import annotations

import math
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


def test_a_bad_gateway_set_by_a_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GWSTREAM_DEFAULT_GATEWAY", "nowhere")
    with pytest.raises(ConfigError, match=r"default_gateway \(GWSTREAM_DEFAULT_GATEWAY\): 'nowh"):
        load_settings()


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("kafka:\n  bootstrap_servers: x\n bad: [1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg)
    message = str(caught.value)
    assert message.startswith(f"config file {cfg}, line 3, column 2: ")
    assert "block mapping at line 1" in message and "unicode string" not in message


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


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "200000 100000\n"}, 2.0),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3.0),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_auto_processes_heed_a_container_s_cpu_quota(
    tmp_path: Path, files: dict[str, str], quota: float | None
) -> None:
    from gwstream.supervisor import available_cores, cpu_quota

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpu_quota(tmp_path) == quota
    cores = available_cores(tmp_path / "none")
    expected = cores if quota is None else max(1, min(cores, math.ceil(quota)))
    assert available_cores(tmp_path) == expected


def test_processes_is_a_count_or_auto() -> None:
    from pydantic import ValidationError

    from gwstream.config import RuntimeSettings
    from gwstream.supervisor import available_cores

    assert RuntimeSettings(processes="auto").process_count() == available_cores() >= 1
    assert RuntimeSettings(processes="Auto").processes == "auto"
    assert RuntimeSettings(processes=3).process_count() == 3
    assert RuntimeSettings().process_count() == 1
    with pytest.raises(ValidationError, match="between 1 and 256"):
        RuntimeSettings(processes=0)


def _refusal(tmp_path: Path, yaml: str) -> str:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(yaml)
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg)
    return str(caught.value)


@pytest.mark.parametrize(
    ("yaml", "line"),
    [
        ("runtime:\n  max_in_flight: 0\n", "  runtime.max_in_flight: must be >= 1"),
        ("runtime:\n  max_in_flight: lots\n", "  runtime.max_in_flight: must be a whole number"),
        ("runtime:\n  processes: many\n", "  runtime.processes: must be a whole number or 'auto'"),
        ("state:\n  enabled: maybe\n", "  state.enabled: must be true or false"),
        ("kafka:\n  group_id: ''\n", "  kafka.group_id: must not be empty"),
        (
            "kafka:\n  security_protocol: TLS\n",
            "  kafka.security_protocol: must be one of 'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' "
            "or 'SASL_SSL'",
        ),
        (
            "kafka:\n  heartbeat_interval_ms: 9000\n",
            "  kafka: heartbeat_interval_ms must be at most a third of session_timeout_ms",
        ),
        ("runtime: 5\n", "  runtime: must be a mapping of settings (name: value)"),
        ("gateways:\n  g: {model: gpt-4o}\n", "  gateways.g.base_urls: required but not set"),
        (
            "default_gateway: nowhere\n",
            # set in the file: no environment variable to name
            "  default_gateway: 'nowhere' is not one of gateways: ['default']",
        ),
        (
            "tenants:\n  acme:\n    gateway: nosuch\n",
            "  tenants.acme.gateway: 'nosuch' is not one of gateways: ['default']",
        ),
    ],
)
def test_configuration_errors_are_plain_sentences_naming_the_setting(
    tmp_path: Path, yaml: str, line: str
) -> None:
    message = _refusal(tmp_path, yaml)
    assert message.splitlines() == ["invalid configuration:", line]
    for pydantic_speak in ("Value error", "(root)", "Input should", "pydantic.dev", "[type="):
        assert pydantic_speak not in message


@pytest.mark.parametrize(
    ("yaml", "hint"),
    [
        ("runtim:\n  max_in_flight: 3\n", "  runtim: no such setting; did you mean runtime?"),
        (
            "runtime:\n  max_inflight: 3\n",
            "  runtime.max_inflight: no such setting; did you mean runtime.max_in_flight?",
        ),
        (
            "tenants:\n  acme: {rpmm: 60}\n",
            "  tenants.acme.rpmm: no such setting; did you mean tenants.acme.rpm?",
        ),
        (
            "gateways:\n  default: {base_urls: ['http://127.0.0.1:1'], api_kye: k}\n",
            "  gateways.default.api_kye: no such setting; did you mean gateways.default.api_key?",
        ),
        (
            "metrics:\n  zzz: 1\n",
            "  metrics.zzz: no such setting; metrics takes port, host",
        ),
    ],
)
def test_a_mistyped_name_in_the_file_gets_the_closest_known_one(
    tmp_path: Path, yaml: str, hint: str
) -> None:
    assert _refusal(tmp_path, yaml).splitlines()[1] == hint


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        (
            "GWSTREAM_RUNTIM__MAX_IN_FLIGHT",
            "environment variable GWSTREAM_RUNTIM__MAX_IN_FLIGHT: no setting 'runtim'; "
            "did you mean GWSTREAM_RUNTIME__MAX_IN_FLIGHT?",
        ),
        (
            "GWSTREAM_RUNTIME_MAX_IN_FLIGHT",
            "environment variable GWSTREAM_RUNTIME_MAX_IN_FLIGHT: no setting "
            "'runtime_max_in_flight'; did you mean GWSTREAM_RUNTIME__MAX_IN_FLIGHT "
            "(two underscores between levels)?",
        ),
        (
            "GWSTREAM_RUNTIME__MAX_INFLIGHT",
            "invalid configuration:\n  runtime.max_inflight (GWSTREAM_RUNTIME__MAX_INFLIGHT): "
            "no such setting; did you mean GWSTREAM_RUNTIME__MAX_IN_FLIGHT?",
        ),
    ],
)
def test_a_mistyped_environment_variable_gets_the_closest_known_one(
    monkeypatch: pytest.MonkeyPatch, name: str, hint: str
) -> None:
    monkeypatch.setenv(name, "3")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == hint


def test_kubernetes_service_links_are_not_taken_for_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What Kubernetes sets for Services named gwstream and gwstream-sink in every pod."""
    for name, value in {
        "GWSTREAM_SERVICE_HOST": "10.0.0.2",
        "GWSTREAM_SERVICE_PORT": "9464",
        "GWSTREAM_PORT": "tcp://10.0.0.2:9464",
        "GWSTREAM_SINK_SERVICE_PORT_API": "9480",
        "GWSTREAM_SINK_PORT": "tcp://10.0.0.1:9480",
        "GWSTREAM_SINK_PORT_9480_TCP": "tcp://10.0.0.1:9480",
        "GWSTREAM_SINK_PORT_9480_TCP_ADDR": "10.0.0.1",
        "GWSTREAM_SINK_PORT_9480_TCP_PROTO": "tcp",
    }.items():
        monkeypatch.setenv(name, value)
    assert load_settings().sink.api_port == 9480
    # A typo of a setting is still one: it holds no tcp:// address.
    monkeypatch.setenv("GWSTREAM_METRICS_PORT", "9464")
    with pytest.raises(ConfigError, match="did you mean GWSTREAM_METRICS__PORT"):
        load_settings()


def test_a_bad_value_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GWSTREAM_RUNTIME__MAX_IN_FLIGHT", "-3")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).splitlines()[1] == (
        "  runtime.max_in_flight (GWSTREAM_RUNTIME__MAX_IN_FLIGHT): must be >= 1"
    )


def test_a_list_in_the_environment_that_is_not_json_names_the_variable_not_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GWSTREAM_GATEWAYS__G__BASE_URLS", "http://secret-host.example")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(
        "environment variable GWSTREAM_GATEWAYS__G__BASE_URLS: not valid JSON"
    )
    assert "secret-host" not in message


COGNIGY = (
    "gateways:\n  {name}:\n    protocol: cognigy.chat\n    base_urls: ['http://127.0.0.1:1']\n"
)


def test_a_missing_client_secret_names_the_variable_to_set_or_the_file_option(
    tmp_path: Path,
) -> None:
    yaml = COGNIGY.format(name="cog") + "    oauth: {client_id: cx}\ndefault_gateway: cog\n"
    assert _refusal(tmp_path, yaml).splitlines()[1] == (
        "  gateways.cog.oauth: no client secret: set GWSTREAM_GATEWAYS__COG__OAUTH__CLIENT_SECRET "
        "in the environment, or client_secret_file to a file holding it"
    )


def test_the_variable_the_missing_secret_message_names_is_the_one_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        COGNIGY.format(name="cog") + "    oauth: {client_id: cx}\ndefault_gateway: cog\n"
    )
    monkeypatch.setenv("GWSTREAM_GATEWAYS__COG__OAUTH__CLIENT_SECRET", "s3cret")
    oauth = load_settings(cfg).gateways["cog"].oauth
    assert oauth is not None and oauth.resolved_secret() == "s3cret"


def test_a_gateway_without_its_oauth_section_is_told_what_to_set(tmp_path: Path) -> None:
    yaml = COGNIGY.format(name="cog") + "default_gateway: cog\n"
    assert _refusal(tmp_path, yaml).splitlines()[1] == (
        "  gateways.cog: protocol cognigy.chat needs oauth: set oauth.client_id, and "
        "GWSTREAM_GATEWAYS__COG__OAUTH__CLIENT_SECRET in the environment, or "
        "oauth.client_secret_file to a file holding it"
    )


def test_a_gateway_named_with_capitals_and_hyphens_is_told_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yaml = COGNIGY.format(name="Cog-EU") + "    oauth: {client_id: cx}\ndefault_gateway: Cog-EU\n"
    assert _refusal(tmp_path, yaml).splitlines()[1] == (
        "  gateways.Cog-EU.oauth: no client secret: set "
        "GWSTREAM_GATEWAYS__COG_EU__OAUTH__CLIENT_SECRET in the environment, or "
        "client_secret_file to a file holding it"
    )
    # And that variable does reach it.
    monkeypatch.setenv("GWSTREAM_GATEWAYS__COG_EU__OAUTH__CLIENT_SECRET", "s3cret")
    (tmp_path / "g.yaml").write_text(yaml)
    settings = load_settings(tmp_path / "g.yaml")
    oauth = settings.gateways["Cog-EU"].oauth
    assert oauth is not None and oauth.client_secret is not None
    assert oauth.client_secret.get_secret_value() == "s3cret"


def test_variables_reach_ids_the_file_spells_with_hyphens_or_capitals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable name cannot hold '-' and is read in lower case: NORTHWIND_BANK is the
    file's northwind-bank (not a new tenant northwind_bank), ACMETEL its AcmeTel."""
    config = tmp_path / "t.yaml"
    config.write_text(
        'tenants:\n  northwind-bank: {spend: {daily: "0.003"}}\n  AcmeTel: {rpm: 10}\n'
    )
    monkeypatch.setenv("GWSTREAM_TENANTS__NORTHWIND_BANK__SPEND__DAILY", "600")
    monkeypatch.setenv("GWSTREAM_TENANTS__ACMETEL__RPM", "5")
    monkeypatch.setenv("GWSTREAM_TENANTS__NEW_ONE__RPM", "7")
    settings = load_settings(config)
    assert sorted(settings.tenants) == ["AcmeTel", "new_one", "northwind-bank"]
    spend = settings.tenants["northwind-bank"].spend
    assert spend is not None and str(spend.daily) == "600"
    assert settings.tenants["AcmeTel"].rpm == 5
    assert settings.tenants["new_one"].rpm == 7  # no such id in the file: taken as written


def test_list_entries_are_named_as_the_file_nests_them(tmp_path: Path) -> None:
    yaml = "price_maps:\n  - {}\n  - {efective_from: 2026-04-01}\n"
    assert _refusal(tmp_path, yaml).splitlines()[1] == (
        "  price_maps[1].efective_from: no such setting; did you mean price_maps[1].effective_from?"
    )


def test_kafka_tls_gets_a_context_with_the_system_cas() -> None:
    import ssl

    from gwstream.config import KafkaSettings

    opts = KafkaSettings(bootstrap_servers="b:9093", security_protocol="SSL").client_options()
    assert isinstance(opts["ssl_context"], ssl.SSLContext)
    assert opts["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert "ssl_context" not in KafkaSettings(bootstrap_servers="b:9092").client_options()


def test_kafka_tls_files_that_cannot_be_read_are_a_configuration_error(tmp_path: Path) -> None:
    from gwstream.config import KafkaSettings

    settings = KafkaSettings(
        bootstrap_servers="b:9093", security_protocol="SSL", ssl_cafile=tmp_path / "none.pem"
    )
    with pytest.raises(ConfigError, match="kafka TLS files"):
        settings.client_options()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"security_protocol": "SASL_SSL"},
            "needs sasl_mechanism, sasl_username and sasl_password",
        ),
        ({"sasl_mechanism": "PLAIN"}, "needs security_protocol SASL_SSL or SASL_PLAINTEXT"),
        ({"ssl_certfile": "/c.pem"}, "both ssl_certfile and ssl_keyfile"),
    ],
)
def test_kafka_security_settings_that_cannot_work_are_refused(
    fields: dict[str, str], message: str
) -> None:
    from pydantic import ValidationError

    from gwstream.config import KafkaSettings

    with pytest.raises(ValidationError, match=message):
        KafkaSettings(bootstrap_servers="b:9093", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("unset", ["", "null", "None"])
def test_an_environment_variable_can_turn_the_api_and_metrics_ports_off(
    unset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GWSTREAM_SINK__API_PORT", unset)
    monkeypatch.setenv("GWSTREAM_METRICS__PORT", unset)
    s = load_settings(None)
    assert (s.sink.api_port, s.metrics.port) == (None, None)


def test_the_sink_has_its_own_collector_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWSTREAM_SINK__GC_YOUNG_THRESHOLD", "0")
    s = load_settings(None)
    assert (s.sink.gc_young_threshold, s.runtime.gc_young_threshold) == (0, 50_000)
    monkeypatch.setenv("GWSTREAM_SINK__API_PORT", "not a port")
    with pytest.raises(ConfigError):
        load_settings(None)


def test_compression_and_security_protocol_are_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GWSTREAM_KAFKA__COMPRESSION_TYPE", "ZSTD")
    monkeypatch.setenv("GWSTREAM_KAFKA__SECURITY_PROTOCOL", "ssl")
    kafka = load_settings().kafka
    assert (kafka.compression_type, kafka.security_protocol) == ("zstd", "SSL")
    monkeypatch.setenv("GWSTREAM_KAFKA__COMPRESSION_TYPE", "brotli")
    with pytest.raises(ConfigError, match="compression_type"):
        load_settings()


@pytest.mark.parametrize("servers", ["localhost:9092x", "h:0", "h:70000", ":9092", "a:1,b:"])
def test_a_bootstrap_address_that_is_not_host_port_is_a_configuration_error(
    servers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GWSTREAM_KAFKA__BOOTSTRAP_SERVERS", servers)
    with pytest.raises(ConfigError, match=r"GWSTREAM_KAFKA__BOOTSTRAP_SERVERS.*not host:port"):
        load_settings()


@pytest.mark.parametrize("servers", ["", "localhost", "a:1, b:2", "[::1]:9092", "[::1]"])
def test_bootstrap_addresses_clients_take_are_taken(
    servers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GWSTREAM_KAFKA__BOOTSTRAP_SERVERS", servers)
    assert load_settings().kafka.bootstrap_servers == servers


def test_the_placeholder_secret_is_read_from_its_variable_and_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gwstream.config import StateSettings
    from gwstream.errors import ConfigError

    assert StateSettings().pii_secret() is None
    state = StateSettings(pii_key_env="GW_TEST_PII_KEY")
    monkeypatch.delenv("GW_TEST_PII_KEY", raising=False)
    with pytest.raises(ConfigError, match="GW_TEST_PII_KEY is not set"):
        state.pii_secret()
    monkeypatch.setenv("GW_TEST_PII_KEY", "short-secret")
    with pytest.raises(ConfigError, match="12 bytes; give 16 or more") as err:
        state.pii_secret()
    assert "short-secret" not in str(err.value)
    monkeypatch.setenv("GW_TEST_PII_KEY", "a" * 32)
    assert state.pii_secret() == b"a" * 32
    (tmp_path / "key").write_text("b" * 20 + "\n")
    assert StateSettings(pii_key_file=tmp_path / "key").pii_secret() == b"b" * 20
    with pytest.raises(ValueError, match="not both"):
        StateSettings(pii_key_env="X", pii_key_file=tmp_path / "key")


def test_children_of_one_supervisor_share_a_placeholder_secret_unless_one_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gwstream.config import StateSettings
    from gwstream.supervisor import SHARED_PII_KEY_ENV, shared_pii_key

    env = shared_pii_key(StateSettings())
    assert env["GWSTREAM_STATE__PII_KEY_ENV"] == SHARED_PII_KEY_ENV
    assert len(env[SHARED_PII_KEY_ENV]) == 64 and env != shared_pii_key(StateSettings())
    for name, value in env.items():  # what a child reads
        monkeypatch.setenv(name, value)
    state = load_settings().state
    assert state.pii_secret() == env[SHARED_PII_KEY_ENV].encode()
    assert shared_pii_key(StateSettings(pii_key_env="MY_KEY")) == {}


def test_a_secret_given_where_its_variable_or_file_name_belongs_is_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gwstream.config import StateSettings

    secret = "4f1c9a0e7b2d4c6e8f0a1b3c5d7e9f11"
    for state in (StateSettings(pii_key_env=secret), StateSettings(pii_key_file=Path(secret))):
        with pytest.raises(ConfigError) as err:
            state.pii_secret()
        assert secret not in str(err.value)
        assert str(err.value).startswith("state.pii_key_")
    monkeypatch.setenv("GW_TEST_EMPTY_KEY", " ")
    with pytest.raises(
        ConfigError, match=r"state\.pii_key_env: environment variable GW_TEST_EMPTY_KEY is empty"
    ):
        StateSettings(pii_key_env="GW_TEST_EMPTY_KEY").pii_secret()


def test_a_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWSTREAM_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"
