"""Webhook configuration: one endpoint per tenant, one section for the service.

A tenant's endpoint lives under ``tenants.<id>.webhook``
(:class:`WebhookSettings`); how the ``gwstream webhooks`` service consumes,
queues and commits lives under ``webhooks`` (:class:`WebhookServiceSettings`).

The signing secret is read only by the webhook service, when it starts
(:meth:`WebhookSettings.signing_secret`): the processor reads the same
configuration file and must not need, or fail on, a secret it never uses.
Loading checks only that exactly one source is named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yarl
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from gwstream.ports import unset_port
from gwstream.secrets import load_secret

__all__ = ["WebhookEventClass", "WebhookServiceSettings", "WebhookSettings"]

WebhookEventClass = Literal["completed", "failed", "budget"]
"""What a tenant subscribes to: ``completed`` (a turn answered, status ``ok``),
``failed`` (refused, failed or invalid_output, with the reason), ``budget``
(a spend limit's soft threshold crossed or the limit reached)."""

_ALL_CLASSES: frozenset[WebhookEventClass] = frozenset({"completed", "failed", "budget"})


class WebhookSettings(BaseModel):
    """One tenant's webhook endpoint, what it receives, and how hard delivery tries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl = Field(description="Where events are POSTed (http or https)")
    secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 signing secret (prefer secret_env or secret_file)"
    )
    secret_env: str | None = Field(
        default=None, min_length=1, description="Environment variable holding the secret"
    )
    secret_file: Path | None = Field(default=None, description="File holding the secret")
    events: frozenset[WebhookEventClass] = Field(
        default=_ALL_CLASSES, min_length=1, description="completed, failed, budget"
    )
    include_text: bool = Field(
        default=False,
        description="Send the answer text of completed turns (PII replaced by the guardrails, "
        "but an answer may still repeat what the customer said: off by default)",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="Per attempt, all included")
    max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts before the event is dead-lettered"
    )
    backoff_base_s: float = Field(
        default=1.0, ge=0, le=3_600, description="Upper bound of the first retry's wait"
    )
    backoff_cap_s: float = Field(
        default=300.0, ge=0, le=86_400, description="Largest wait between two attempts"
    )
    retry_after_cap_s: float = Field(
        default=600.0, ge=0, le=86_400, description="Longest Retry-After honoured"
    )
    concurrency: int | None = Field(
        default=None,
        ge=1,
        le=1_000,
        description="Deliveries at once to this tenant "
        "(webhooks.per_tenant_concurrency when absent)",
    )

    @model_validator(mode="after")
    def _check(self) -> WebhookSettings:
        if self.secret is not None and not self.secret.get_secret_value().strip():
            raise ValueError("secret is empty: give the secret, or use secret_env or secret_file")
        sources = [self.secret, self.secret_env, self.secret_file]
        if sum(s is not None for s in sources) != 1:
            raise ValueError("give exactly one of secret, secret_env or secret_file")
        if self.url.username is not None or self.url.password is not None:
            raise ValueError(
                "url must not carry credentials (user:password@): receivers authenticate "
                "gwstream by the signature"
            )
        if self.backoff_base_s > self.backoff_cap_s:
            raise ValueError("backoff_base_s must not exceed backoff_cap_s")
        return self

    @property
    def host(self) -> str:
        """``host[:port]`` of the endpoint: what logs and dead letters name (never the path,
        which may carry a token)."""
        url = yarl.URL(str(self.url))
        host = url.host or ""
        return f"{host}:{url.explicit_port}" if url.explicit_port is not None else host

    def signing_secret(self, tenant_id: str) -> SecretStr:
        """Read the secret from its one source; ConfigError names the source, never the value."""
        return load_secret(
            self.secret,
            env=self.secret_env,
            file=self.secret_file,
            what=f"tenants.{tenant_id}.webhook secret",
        )


class WebhookServiceSettings(BaseModel):
    """The ``gwstream webhooks`` service: its consumer group, concurrency and bounds."""

    model_config = ConfigDict(extra="forbid")

    group_id: str = Field(default="gwstream-webhooks", min_length=1)
    start_from: Literal["latest", "earliest"] = Field(
        default="latest",
        description="Where the group starts the first time, before it has committed anything: "
        "latest sends only what is published from then on; earliest also every retained event "
        "(days of history, to every tenant); later starts resume where it left off",
    )
    concurrency: int = Field(
        default=256, ge=1, le=10_000, description="Webhook requests in flight, all tenants"
    )
    per_tenant_concurrency: int = Field(
        default=8, ge=1, le=1_000, description="Deliveries at once to one tenant's endpoint"
    )
    max_queued_per_tenant: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Events waiting for one tenant's endpoint; beyond it new ones are "
        "dead-lettered (backlog_full), so one stuck endpoint cannot stall the others",
    )
    max_in_hand: int = Field(
        default=20_000,
        ge=1,
        le=10_000_000,
        description="Events taken and not yet delivered or dead-lettered, all tenants; "
        "fetching pauses above it",
    )
    max_pending: int = Field(
        default=1_000_000,
        ge=1,
        le=100_000_000,
        description="Records read and not yet committable (each waits for the oldest "
        "unfinished event of its partition; about 100 bytes each); fetching pauses above it",
    )
    cost_wait_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a turn's webhook waits for its cost event, so the body carries "
        "the cost; 0: the costs topic is not read and cost is null",
    )
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    drain_timeout_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="At shutdown, how long deliveries in hand may still finish",
    )
    stats_interval_s: float = Field(default=30.0, gt=0, description="How often progress is logged")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve /metrics, /healthz and /readyz on this port (off when unset)",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Where metrics_port listens (0.0.0.0: every interface)"
    )

    dedupe_ids: int = Field(
        default=100_000,
        ge=0,
        le=10_000_000,
        description="Recently delivered event ids remembered, so redelivered records are "
        "not sent again",
    )

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _no_port(cls, v: object) -> object:
        return unset_port(v)
