"""The ``tracing`` section: where spans go, if anywhere.

Tracing is on only when ``otlp_endpoint`` is set; unset, the processor builds
the same stage list as ever and never imports OpenTelemetry.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["TRACES_PATH", "TracingSettings"]

#: Where an OTLP/HTTP collector takes spans, below its base URL.
TRACES_PATH = "/v1/traces"


class TracingSettings(BaseModel):
    """OpenTelemetry spans of every turn, exported over OTLP; off unless an endpoint is set."""

    model_config = ConfigDict(extra="forbid")

    otlp_endpoint: str | None = Field(
        default=None,
        description="The OTLP/HTTP collector's base URL, e.g. http://otel-collector:4318 "
        f"(spans go to its {TRACES_PATH}); unset: no tracing",
    )
    protocol: Literal["http/protobuf"] = Field(
        default="http/protobuf",
        description="OTLP transport: http/protobuf (collectors take it on port 4318)",
    )
    service_name: str = Field(default="gwstream", min_length=1, description="service.name")
    sample_ratio: float = Field(
        default=1.0, ge=0, le=1, description="Share of turns traced (1: every turn)"
    )
    stage_spans: bool = Field(
        default=True,
        description="A span per stage inside the turn span; off: the turn and the gateway "
        "call only (two spans a turn instead of up to fourteen)",
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Sent with every export (a tracing vendor's API key); never logged",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=60, description="Per export request")

    @property
    def enabled(self) -> bool:
        return self.otlp_endpoint is not None

    @property
    def traces_url(self) -> str:
        """The URL spans are POSTed to: the endpoint's /v1/traces (or the endpoint itself
        when it names that path already)."""
        assert self.otlp_endpoint is not None, "tracing is enabled"
        url = self.otlp_endpoint.rstrip("/")
        return url if url.endswith(TRACES_PATH) else url + TRACES_PATH

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if not v:
            return None  # an empty variable, as a deployment template leaves it: off
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{v!r} is not an http(s) URL; give the collector's OTLP/HTTP base URL, "
                "e.g. http://otel-collector:4318"
            )
        return v
