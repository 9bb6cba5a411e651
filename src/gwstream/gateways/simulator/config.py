"""Configuration of the gateway simulator: latency and fault injection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["SimulatorConfig"]


class SimulatorConfig(BaseModel):
    """How the simulator behaves; immutable, replace it to change behaviour at run time.

    Rates are probabilities per chat request, drawn in this order: hang, 429,
    5xx. A rate of 1.0 always fires and 0.0 never does, so both are
    deterministic; ``seed`` makes the rates in between reproducible.
    ``fail_first_n`` answers the first N valid chat requests after the config
    is (re)applied with ``fail_status``, before any rate is drawn: the
    deterministic way to script "fail, then succeed".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float = Field(0.0, ge=0, description="mean added latency per chat request")
    latency_jitter_ms: float = Field(
        0.0, ge=0, description="uniform jitter, +- this many ms around latency_ms"
    )
    error_429_rate: float = Field(0.0, ge=0, le=1, description="share of 429 answers")
    retry_after_s: float = Field(
        1.0, ge=0, description="Retry-After value, in seconds, sent with every 429"
    )
    error_5xx_rate: float = Field(0.0, ge=0, le=1, description="share of 5xx answers")
    error_5xx_status: int = Field(503, ge=500, le=599, description="status of injected 5xx")
    hang_rate: float = Field(
        0.0, ge=0, le=1, description="share of requests that never get an answer"
    )
    hang_s: float = Field(
        3600.0, gt=0, description="how long a hung request waits before giving up"
    )
    fail_first_n: int = Field(
        0, ge=0, description="answer the first N chat requests with fail_status"
    )
    fail_status: int = Field(503, ge=400, le=599, description="status for fail_first_n")
    include_usage: bool = Field(
        True, description="report usage in replies (off: clients must count tokens)"
    )
    api_key: SecretStr | None = Field(
        None, description="if set, require 'Authorization: Bearer <api_key>'"
    )
    seed: int | None = Field(None, description="seed of the fault and latency draws")
