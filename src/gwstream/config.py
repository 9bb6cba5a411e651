"""Configuration: one typed object, from defaults, an optional YAML file and ``GWSTREAM_*``.

Precedence, highest first: explicit overrides (CLI flags), environment
variables (``GWSTREAM_RUNTIME__MAX_IN_FLIGHT=2000``), the YAML file named by
``--config`` or ``GWSTREAM_CONFIG``, then the defaults below. Invalid values
fail at start with a message naming the field.
"""

from __future__ import annotations

import json
import os
import re
import ssl
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from gwstream.errors import ConfigError
from gwstream.gateways.settings import GatewaySettings as GatewaySettings
from gwstream.policies import DEFAULT_PHONE_REGIONS as DEFAULT_PHONE_REGIONS
from gwstream.policies import PRICE_CURRENCIES as PRICE_CURRENCIES
from gwstream.policies import CachePolicy as CachePolicy
from gwstream.policies import CacheSettings as CacheSettings
from gwstream.policies import FewShotExample as FewShotExample
from gwstream.policies import GuardrailPolicy as GuardrailPolicy
from gwstream.policies import PromptSettings as PromptSettings
from gwstream.policies import PromptVersionSettings as PromptVersionSettings
from gwstream.policies import SessionBudgetSettings as SessionBudgetSettings
from gwstream.policies import SpendLimitSettings as SpendLimitSettings
from gwstream.policies import window_seconds as window_seconds
from gwstream.ports import unset_port
from gwstream.pricing.settings import ModelPriceSettings as ModelPriceSettings
from gwstream.pricing.settings import PriceMaps, PriceOverrides
from gwstream.pricing.settings import PriceMapSettings as PriceMapSettings
from gwstream.pricing.settings import PriceOverrideSettings as PriceOverrideSettings
from gwstream.problems import Problem, closest, problems
from gwstream.tracing.settings import TracingSettings as TracingSettings
from gwstream.webhooks.settings import WebhookServiceSettings, WebhookSettings


def _upper(v: Any) -> Any:
    return v.upper() if isinstance(v, str) else v


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


#: A log level in any case (``debug`` as ``DEBUG``).
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]

CONFIG_ENV = "GWSTREAM_CONFIG"
_config_file: ContextVar[Path | None] = ContextVar("gwstream_config_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KafkaSettings(_Section):
    """Where the broker is. An empty ``bootstrap_servers`` means the embedded broker."""

    bootstrap_servers: str = Field(
        default="", description="host:port[,host:port]; empty starts the embedded Tansu broker"
    )
    client_id: str = "gwstream"
    group_id: str = Field(default="gwstream-processor", min_length=1)
    session_timeout_ms: int = Field(default=10_000, ge=1_000, le=300_000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    request_timeout_ms: int = Field(
        default=30_000,
        ge=1_000,
        le=300_000,
        description="How long a produce request may wait for the broker before it is sent again",
    )
    close_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How long a stopping consumer may wait to leave its group, and a "
        "stopping producer to deliver what it holds; past it, each closes anyway (the "
        "broker drops the member after session_timeout_ms; undelivered records belong to "
        "uncommitted turns, processed again by the next owner)",
    )
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        default="none",
        description="How gwstream compresses what it publishes; input in any of these "
        "is read whatever this says",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(
        default=None, description="CA bundle for SSL/SASL_SSL (default: the system's CAs)"
    )
    ssl_certfile: Path | None = Field(default=None, description="Client certificate (mutual TLS)")
    ssl_keyfile: Path | None = Field(default=None, description="Client key (mutual TLS)")

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        """Each comma-separated entry is ``host:port`` (``[::1]:9092`` for IPv6) or a bare
        host, which the client takes as port 9092."""
        for entry in filter(None, (e.strip() for e in value.split(","))):
            host, sep, port = entry.rpartition(":")
            if entry.endswith("]") or not sep:
                continue
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(
                    f"{entry!r} is not host:port (a port from 1 to 65535); "
                    "separate several brokers with commas"
                )
        return value

    @field_validator("compression_type", "security_protocol", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        """``GZIP`` and ``sasl_ssl`` mean what Kafka's own clients take them to mean."""
        if not isinstance(value, str):
            return value
        return value.lower() if info.field_name == "compression_type" else value.upper()

    @model_validator(mode="after")
    def _heartbeat_below_session(self) -> KafkaSettings:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        return self

    @model_validator(mode="after")
    def _security(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs sasl_mechanism, sasl_username "
                "and sasl_password (GWSTREAM_KAFKA__SASL_PASSWORD)"
            )
        if not sasl and self.sasl_mechanism:
            raise ValueError(
                f"sasl_mechanism {self.sasl_mechanism} needs security_protocol SASL_SSL or "
                f"SASL_PLAINTEXT, not {self.security_protocol}"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("give both ssl_certfile and ssl_keyfile, or neither")
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by every aiokafka client."""
        opts: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            opts["ssl_context"] = self._ssl_context()
        if self.sasl_mechanism:
            opts["sasl_mechanism"] = self.sasl_mechanism
            opts["sasl_plain_username"] = self.sasl_username
            opts["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        return opts

    def _ssl_context(self) -> ssl.SSLContext:
        """A TLS context verifying the broker (the system's CAs unless ssl_cafile is given)."""
        try:
            context = ssl.create_default_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None
            )
            if self.ssl_certfile is not None and self.ssl_keyfile is not None:
                context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"kafka TLS files: {exc}") from None
        return context


class TopicNames(_Section):
    turns: str = "gw.turns.v1"
    responses: str = "gw.responses.v1"
    costs: str = "gw.costs.v1"
    audit: str = "gw.audit.v1"
    dlq: str = "gw.turns.dlq.v1"
    webhooks_dlq: str = Field(
        default="gw.webhooks.dlq.v1", description="Webhooks given up on (gwstream webhooks)"
    )
    sessions: str = Field(
        default="gw.sessions.v1",
        description="Session state changelog, co-partitioned with turns (compacted)",
    )
    partitions: int = Field(default=8, ge=1, le=1024, description="Partitions of topics we create")
    replication_factor: int = Field(default=1, ge=1, le=7)

    @classmethod
    def prefixed(cls, prefix: str, **fields: Any) -> TopicNames:
        """Names ``<prefix>-turns``, ``<prefix>-responses``, ... (tests and benchmarks)."""
        roles = ("turns", "responses", "costs", "audit", "dlq", "sessions", "webhooks_dlq")
        return cls(**{r: f"{prefix}-{r}" for r in roles}, **fields)

    @model_validator(mode="after")
    def _distinct_names(self) -> TopicNames:
        names = {
            role: getattr(self, role)
            for role in ("turns", "responses", "costs", "audit", "dlq", "sessions", "webhooks_dlq")
        }
        for role, name in names.items():
            if not name.strip():
                raise ValueError(f"topics.{role} is empty: name a topic")
        seen: dict[str, str] = {}
        for role, name in names.items():
            if name in seen:
                raise ValueError(
                    f"topics.{role} and topics.{seen[name]} are both {name!r}: "
                    "every topic must be a different one"
                )
            seen[name] = role
        return self


#: The garbage collector's young-generation threshold gwstream runs with (see
#: :mod:`gwstream.runtime.memory`): ``runtime.gc_young_threshold``, and the sink's.
DEFAULT_GC_YOUNG_THRESHOLD = 50_000


class RuntimeSettings(_Section):
    """Concurrency, backpressure and commit behaviour of the processor."""

    max_in_flight: int = Field(default=2_000, ge=1, le=100_000, description="Handler calls at once")
    loop_lag_target_ms: float = Field(
        default=10.0,
        ge=0,
        le=1_000,
        description="Event-loop lag the in-flight limit keeps under, by holding records back "
        "while turns need more CPU than one core has; 0 keeps max_in_flight fixed",
    )
    gc_young_threshold: int = Field(
        default=DEFAULT_GC_YOUNG_THRESHOLD,
        ge=0,
        le=10_000_000,
        description="Allocations between the garbage collector's young-generation runs "
        "(Python's default, 700, spends a quarter of the CPU in collections at thousands of "
        "turns a second); 0 keeps Python's thresholds",
    )
    pause_above: int = Field(
        default=5_000, ge=1, description="Pause a partition with this many uncommitted records"
    )
    resume_below: int = Field(default=2_500, ge=0, description="Resume it below this many")
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    drain_timeout_s: float = Field(default=10.0, ge=0, le=300)
    max_record_bytes: int = Field(default=256 * 1024, ge=1024)
    fetch_max_records: int = Field(default=1_000, ge=1, le=100_000)
    stats_interval_s: float = Field(default=30.0, gt=0, description="How often progress is logged")
    processes: Annotated[int | Literal["auto"], BeforeValidator(_lower)] = Field(
        default=1,
        description="Processor processes in one consumer group on this machine, supervised "
        "(auto: the cores this process may use); `gwstream run --processes` overrides it",
    )
    restart_backoff_s: float = Field(
        default=1.0, gt=0, le=60, description="First wait before restarting a dead child"
    )
    restart_limit: int = Field(
        default=5, ge=0, description="Restarts within restart_window_s before giving up"
    )
    restart_window_s: float = Field(default=60.0, gt=0)
    broker_check_interval_s: float = Field(
        default=2.0, gt=0, le=60, description="How often the broker is asked for metadata"
    )
    broker_check_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="An answer slower than this is an outage: dispatch pauses, readiness false",
    )
    publish_retry_backoff_s: float = Field(
        default=0.5, gt=0, le=60, description="First wait before publishing again in an outage"
    )
    publish_retry_backoff_max_s: float = Field(default=5.0, gt=0, le=300)

    @field_validator("processes")
    @classmethod
    def _processes(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 1 <= v <= 256:
            raise ValueError("processes must be between 1 and 256, or auto")
        return v

    def process_count(self) -> int:
        """How many processes ``processes`` means on this machine."""
        from gwstream.supervisor import available_cores

        return available_cores() if self.processes == "auto" else int(self.processes)

    @model_validator(mode="after")
    def _water_marks(self) -> RuntimeSettings:
        if self.resume_below >= self.pause_above:
            raise ValueError("resume_below must be lower than pause_above")
        return self


class StateSettings(_Section):
    """Per-session state kept by the processor and its changelog (``topics.sessions``)."""

    enabled: bool = Field(
        default=True, description="Keep session state (history, replay); off: every turn alone"
    )
    idle_expiry_s: float = Field(
        default=4 * 3600.0, gt=0, description="Drop a session's state after this long unchanged"
    )
    expiry_check_s: float = Field(
        default=60.0, gt=0, description="How often idle sessions are looked for"
    )
    snapshot_ratio: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="Snapshot a partition once changes since the last outnumber this times its sessions",
    )
    snapshot_min_changes: int = Field(
        default=10_000, ge=1, description="...and at least this many changes"
    )
    pii_key_env: str | None = Field(
        default=None,
        description="Environment variable holding the secret (16 characters or more) that "
        "keys the hashes by which a session remembers its PII placeholders; unset (and no "
        "pii_key_file): a random one per process start, so a value seen again after a "
        "restart or rebalance gets a new placeholder",
    )
    pii_key_file: Path | None = Field(default=None, description="File holding that secret")

    @model_validator(mode="after")
    def _one_pii_key(self) -> StateSettings:
        if self.pii_key_env and self.pii_key_file:
            raise ValueError("give pii_key_env or pii_key_file, not both")
        return self

    def pii_secret(self) -> bytes | None:
        """The configured placeholder secret (None: none configured); ConfigError naming
        the variable or file when it is missing or short, never the secret."""
        if not self.pii_key_env and self.pii_key_file is None:
            return None
        from gwstream.secrets import load_secret

        what = "state.pii_key_env" if self.pii_key_env else "state.pii_key_file"
        secret = load_secret(env=self.pii_key_env, file=self.pii_key_file, what=what)
        value = secret.get_secret_value().encode()
        if len(value) < 16:
            source = self.pii_key_env or str(self.pii_key_file)
            raise ConfigError(
                f"{what}: the secret in {source} has {len(value)} bytes; give 16 or more "
                "(e.g. openssl rand -hex 32)"
            )
        return value


class ConversationSettings(_Section):
    """What a session remembers of its conversation."""

    history_messages: int = Field(
        default=20,
        ge=0,
        le=1_000,
        description="User and assistant messages kept per session (oldest dropped first)",
    )
    results_kept: int = Field(
        default=8,
        ge=1,
        le=10_000,
        description="Recent turns whose outcome is kept, to answer a redelivered or "
        "republished turn id from state",
    )


class SinkSettings(_Section):
    """The DuckDB sink (`gwstream sink`), its HTTP API and dashboard, and `gwstream report`."""

    database: Path = Path("gwstream.duckdb")
    group_id: str = "gwstream-cost-sink"
    batch_size: int = Field(default=5_000, ge=1, le=1_000_000)
    batch_timeout_ms: int = Field(default=500, ge=1)
    audit: bool = Field(
        default=True,
        description="Also consume the audit topic (outcomes, guardrail findings, budget notices)",
    )
    api_port: int | None = Field(
        default=9480,
        ge=0,
        le=65535,
        description="Port of the sink's HTTP API and dashboard (none: no API; 0: any free port)",
    )
    api_host: str = Field(default="127.0.0.1", description="Where the API listens")
    stats_interval_s: float = Field(default=30.0, gt=0, description="How often progress is logged")
    gc_young_threshold: int = Field(
        default=DEFAULT_GC_YOUNG_THRESHOLD,
        ge=0,
        le=10_000_000,
        description="Allocations between the garbage collector's young-generation runs "
        "(as runtime.gc_young_threshold, for the sink); 0 keeps Python's thresholds",
    )

    @field_validator("api_port", mode="before")
    @classmethod
    def _no_api(cls, v: object) -> object:
        return unset_port(v)


class MetricsSettings(_Section):
    """Prometheus /metrics for `gwstream run`; off unless a port is set."""

    port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "127.0.0.1"

    @field_validator("port", mode="before")
    @classmethod
    def _no_port(cls, v: object) -> object:
        return unset_port(v)


class TenantSettings(_Section):
    """A tenant's gateway (when not the default), rate limits and budgets."""

    gateway: str | None = None
    rpm: int | None = Field(default=None, gt=0, description="Requests per minute")
    tpm: int | None = Field(default=None, gt=0, description="Tokens per minute")
    budget: SessionBudgetSettings | None = Field(
        default=None, description="Token budget of each of the tenant's sessions"
    )
    spend: SpendLimitSettings | None = Field(
        default=None, description="The tenant's spend limits, shared by all instances"
    )
    guardrails: GuardrailPolicy | None = Field(
        default=None, description="The tenant's guardrail policy (the default one when absent)"
    )
    prompts: dict[str, PromptSettings] | None = Field(
        default=None,
        description="The tenant's prompts by use case (the default prompts when absent)",
    )
    cache: CachePolicy | None = Field(
        default=None, description="The tenant's cache policy (the default one when absent)"
    )
    prices: PriceOverrides | None = Field(
        default=None,
        description="The tenant's own prices per model, oldest first, each from its "
        "effective_from; they beat the price maps for this tenant only",
    )
    webhook: WebhookSettings | None = Field(
        default=None, description="The tenant's webhook endpoint (gwstream webhooks)"
    )


class SpendSettings(_Section):
    """How tenant spend limits are enforced (``tenants.<id>.spend`` sets the limits)."""

    input_margin: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Added to a call's counted input tokens when reserving its worst case "
        "(for gateways that count more tokens than tiktoken does)",
    )
    catch_up_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait at start for the spend view to read the costs"
    )
    dedupe_ids: int = Field(
        default=200_000, ge=1_000, description="Cost event ids remembered to skip redeliveries"
    )


class _FileAndEnv(BaseSettings):
    """Settings read from init values, then GWSTREAM_* variables, then the YAML file."""

    model_config = SettingsConfigDict(
        env_prefix="GWSTREAM_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        if path is None:
            return (init_settings, env_settings)
        file = YamlConfigSettingsSource(settings_cls, yaml_file=path)
        return (init_settings, _EnvMatchingFileIds(settings_cls, env_settings, file), file)


class _EnvMatchingFileIds(PydanticBaseSettingsSource):
    """The GWSTREAM_* variables, with the ids the YAML file defines (tenants, gateways, use
    cases) matched across what a variable name cannot carry: ``GWSTREAM_TENANTS__NORTHWIND_BANK
    __SPEND__DAILY`` sets tenant ``northwind-bank`` when the file defines it and no
    ``northwind_bank`` (names are matched ignoring case and with ``-`` read as ``_``)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env: PydanticBaseSettingsSource,
        file: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._env, self._file = env, file

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        matched = _match_ids(self._env(), self._file())
        return matched if isinstance(matched, dict) else {}


def _match_ids(env: Any, file: Any) -> Any:
    """``env`` with each key the file has under another spelling renamed to the file's."""
    if not isinstance(env, dict) or not isinstance(file, dict):
        return env
    spelled = {str(k).lower().replace("-", "_"): k for k in file}
    out: dict[Any, Any] = {}
    for key, value in env.items():
        if key not in file:
            key = spelled.get(str(key).lower().replace("-", "_"), key)
        out[key] = _match_ids(value, file.get(key))
    return out


class Settings(_FileAndEnv):
    """Everything gwstream reads at start."""

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicNames = TopicNames()
    runtime: RuntimeSettings = RuntimeSettings()
    state: StateSettings = StateSettings()
    conversation: ConversationSettings = ConversationSettings()
    gateways: dict[str, GatewaySettings] = Field(
        default_factory=lambda: {"default": GatewaySettings(base_urls=["http://127.0.0.1:8089"])}
    )
    default_gateway: str = "default"
    tenants: dict[str, TenantSettings] = Field(
        default_factory=dict, description="Per-tenant gateway choice and rate limits"
    )
    system_prompt: str = Field(
        default="You are a helpful, concise contact-center assistant.", max_length=8_000
    )
    lightweight_system_prompt: str = Field(
        default="You are a contact-center assistant. Answer in one or two short sentences.",
        max_length=8_000,
        description="Replaces system_prompt when a session's token budget runs low",
    )
    spend: SpendSettings = SpendSettings()
    guardrails: GuardrailPolicy = Field(
        default_factory=GuardrailPolicy, description="Guardrail policy of tenants without their own"
    )
    prompts: dict[str, PromptSettings] = Field(
        default_factory=dict,
        description="Prompts by use case for tenants without their own (empty: system_prompt)",
    )
    cache: CacheSettings = Field(
        default_factory=CacheSettings,
        description="The answer cache's memory bound, and the policy of tenants without one",
    )
    prices_file: Path | None = Field(
        default=None,
        description="LiteLLM-format price map in force at every instant; the bundled one when "
        "absent (price_maps gives maps with effective dates instead)",
    )
    price_maps: PriceMaps | None = Field(
        default=None,
        description="LiteLLM-format price maps oldest first, each in force from its "
        "effective_from until the next one's (replaces prices_file)",
    )
    sink: SinkSettings = SinkSettings()
    webhooks: WebhookServiceSettings = WebhookServiceSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per line, ids as fields"
    )

    def guardrails_for(self, tenant_id: str) -> GuardrailPolicy:
        t = self.tenants.get(tenant_id)
        return t.guardrails if t is not None and t.guardrails is not None else self.guardrails

    def prompts_for(self, tenant_id: str) -> dict[str, PromptSettings]:
        t = self.tenants.get(tenant_id)
        return t.prompts if t is not None and t.prompts is not None else self.prompts

    def cache_for(self, tenant_id: str) -> CachePolicy:
        t = self.tenants.get(tenant_id)
        return t.cache if t is not None and t.cache is not None else self.cache

    @model_validator(mode="after")
    def _one_price_setting(self) -> Settings:
        if self.prices_file is not None and self.price_maps is not None:
            raise ValueError(
                "prices_file and price_maps are both set: use price_maps alone "
                f"(- file: {self.prices_file} is the map prices_file names)"
            )
        return self

    @model_validator(mode="after")
    def _gateways_exist(self) -> Settings:
        names = set(self.gateways)
        if self.default_gateway not in names:
            raise ValueError(
                f"{_setting('default_gateway')}: {self.default_gateway!r} "
                f"is not one of gateways: {sorted(names)}"
            )
        for tenant, t in self.tenants.items():
            if t.gateway is not None and t.gateway not in names:
                raise ValueError(
                    f"{_setting('tenants', tenant, 'gateway')}: "
                    f"{t.gateway!r} is not one of gateways: {sorted(names)}"
                )
        return self


class AnalystSettings(_FileAndEnv):
    """The sections `gwstream report` and `gwstream export` read.

    Only ``sink`` and ``log_level``: the other sections of the same file and
    environment are ignored, not validated, so an analyst needs no gateway
    secrets and no broker to read reports.
    """

    model_config = SettingsConfigDict(extra="ignore")

    sink: SinkSettings = SinkSettings()
    log_level: LogLevel = "INFO"


def _check_yaml_shape(path: Path) -> None:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_yaml_problem(path, exc)) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"config file {path}: the top level must be a mapping of sections "
            f"(kafka:, runtime:, gateways:, ...), not a {type(data).__name__}"
        )


def _yaml_problem(path: Path, exc: yaml.MarkedYAMLError) -> str:
    """A YAML syntax error as ``config file F, line L, column C: problem (context)``."""
    where = f"config file {path}"
    if exc.problem_mark is not None:
        where += f", line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
    what = exc.problem or "not valid YAML"
    if exc.context:
        context = exc.context
        if exc.context_mark is not None:
            context += f" at line {exc.context_mark.line + 1}"
        what += f" ({context})"
    return f"{where}: {what}"


#: GWSTREAM_* variables that are not settings (tests, simulator, the config file path).
_OTHER_ENV = ("GWSTREAM_CONFIG", "GWSTREAM_TEST_", "GWSTREAM_SIMULATOR_", "GWSTREAM_CHILD")


#: What Kubernetes sets for a Service (named gwstream, gwstream-sink, ...) in every pod of its
#: namespace unless the pod says enableServiceLinks: false: GWSTREAM_SINK_SERVICE_HOST,
#: GWSTREAM_SINK_SERVICE_PORT[_NAME], GWSTREAM_SINK_PORT=tcp://..., GWSTREAM_SINK_PORT_9480_TCP
#: [_PROTO|_PORT|_ADDR]. Not settings, and never a typo of one (those hold no tcp:// URL).
_SERVICE_LINK = re.compile(
    r"^GWSTREAM(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
    r"|PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$"
)
_SERVICE_LINK_URL = re.compile(r"^(tcp|udp|sctp)://", re.IGNORECASE)


def _service_link(name: str, value: str) -> bool:
    upper = name.upper()
    if "__" in upper:
        return False
    if _SERVICE_LINK.match(upper):
        return True
    return upper.endswith("_PORT") and bool(_SERVICE_LINK_URL.match(value))


def _check_env_names() -> None:
    """Catch typos in section names, which pydantic-settings would silently ignore."""
    known = sorted(Settings.model_fields)
    for name, value in os.environ.items():
        if not name.upper().startswith("GWSTREAM_") or name.upper().startswith(_OTHER_ENV):
            continue
        if _service_link(name, value):
            continue
        section = name[len("GWSTREAM_") :].split("__", 1)[0].lower()
        if section not in known:
            raise ConfigError(f"environment variable {name}: {_no_section(name, section, known)}")


def _no_section(name: str, section: str, known: list[str]) -> str:
    rest = name[len("GWSTREAM_") :].split("__", 1)[1:]
    # GWSTREAM_RUNTIME_MAX_IN_FLIGHT: one underscore where the levels need two.
    for k in sorted(known, key=len, reverse=True):
        if section.startswith(k + "_"):
            fixed = env_name(k, section[len(k) + 1 :], *rest)
            return f"no setting {section!r}; did you mean {fixed} (two underscores between levels)?"
    guess = closest(section, known)
    if guess is not None:
        return f"no setting {section!r}; did you mean {env_name(guess, *rest)}?"
    return f"no setting {section!r}; known: {', '.join(known)}"


def _unparsable_env(exc: SettingsError) -> str:
    """Which variable is not the JSON a list or mapping needs (never its value)."""
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        for name, value in os.environ.items():
            if name.upper().startswith("GWSTREAM_") and value == cause.doc:
                return (
                    f"environment variable {name}: not valid JSON ({cause.msg}); lists and "
                    'mappings are written in JSON there: ["http://a", "http://b"] or {"key": 1}'
                )
    return f"invalid configuration: {exc}"


def env_name(*path: str | int) -> str:
    """The environment variable that sets ``path`` (``GWSTREAM_RUNTIME__MAX_IN_FLIGHT``; an id
    such as tenant ``northwind-bank`` is written ``NORTHWIND_BANK``, see :class:`_EnvMatchingFileIds`)."""
    return "GWSTREAM_" + "__".join(str(p).upper().replace("-", "_") for p in path)


def _dotted(path: tuple[str | int, ...]) -> str:
    """``price_maps[1].effective_from``: the path as the YAML file nests it."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _setting(*path: str | int) -> str:
    """``tenants.acme.gateway``, with the environment variable that set it, if one did."""
    env = _from_env(path)
    return f"{_dotted(path)} ({env})" if env else _dotted(path)


def _from_env(path: tuple[str | int, ...]) -> str | None:
    """The environment variable that gave the value at ``path`` (or a mapping holding it)."""
    present = {k.lower(): k for k in os.environ if k.upper().startswith("GWSTREAM_")}
    for end in range(len(path), 0, -1):
        head = path[:end]
        if all(isinstance(p, str) for p in head):
            found = present.get(env_name(*head).lower())
            if found is not None:
                return found
    return None


def _describe(problem: Problem) -> str:
    """One line of ``invalid configuration``: where, then what to do."""
    path, where = problem.path, _dotted(problem.path)
    env = _from_env(path) if path else None
    if problem.type == "extra_forbidden":
        message = "no such setting"
        if problem.suggestion is not None:
            meant = (*path[:-1], problem.suggestion)
            message += f"; did you mean {env_name(*meant) if env else _dotted(meant)}?"
        elif problem.known:
            message += f"; {_dotted(path[:-1]) or 'the top level'} takes {', '.join(problem.known)}"
    elif problem.type == "missing_secret":
        message = _missing_secret(path, problem.ctx)
    else:
        message = problem.message
    if not where:  # the configuration as a whole: its message names the settings
        return f"  {message}"
    return f"  {_setting(*path)}: {message}"


def _missing_secret(path: tuple[str | int, ...], ctx: Mapping[str, Any]) -> str:
    """A missing secret: the environment variable to set, or the file option."""
    what, needs = str(ctx["what"]), str(ctx.get("needs") or "")
    secret, file = str(ctx["secret"]).split("."), str(ctx["file"])
    first = f"{needs}, and " if needs else ""
    variable = env_name(*path, *secret)
    return f"{what}: set {first}{variable} in the environment, or {file} to a file holding it"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, raising :class:`ConfigError` that names each bad field."""
    return _load(Settings, config_file, overrides)


def load_analyst_settings(config_file: Path | None = None) -> AnalystSettings:
    """The settings reports read (:class:`AnalystSettings`), from the same file and variables."""
    return _load(AnalystSettings, config_file, {})


_S = TypeVar("_S", Settings, AnalystSettings)


def _load(model: type[_S], config_file: Path | None, overrides: dict[str, Any]) -> _S:
    if config_file is None and os.environ.get(CONFIG_ENV):
        config_file = Path(os.environ[CONFIG_ENV])
    if config_file is not None and not config_file.is_file():
        what = "is a directory, not a file" if config_file.is_dir() else "does not exist"
        raise ConfigError(f"config file {config_file} {what}")
    if config_file is not None:
        _check_yaml_shape(config_file)
    _check_env_names()
    token = _config_file.set(config_file)
    try:
        return model(**overrides)
    except ValidationError as exc:
        lines = [_describe(p) for p in problems(model, exc)]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
    except SettingsError as exc:  # a variable that should hold JSON does not
        raise ConfigError(_unparsable_env(exc)) from None
    except (ValueError, yaml.YAMLError) as exc:  # YAML syntax errors and the like
        raise ConfigError(f"invalid configuration: {exc}") from None
    finally:
        _config_file.reset(token)
