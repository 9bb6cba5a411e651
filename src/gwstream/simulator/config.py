"""Configuration of the gateway simulator: latency, fault injection and OAuth clients."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gwstream.problems import closest
from gwstream.simulator.routes import ROUTE_NAMES

__all__ = ["DEFAULT_CLIENTS", "RouteFaults", "SimulatorConfig"]

DEFAULT_CLIENTS: dict[str, str] = {
    "cognigy-sim": "cognigy-sim-secret",
    "genesys-sim": "genesys-sim-secret",
}
"""The demo OAuth clients (client_id -> secret) a default config accepts at both token
endpoints."""


class RouteFaults(BaseModel):
    """One route's overrides of the global fault knobs; a field left None inherits the global.

    See :class:`SimulatorConfig` for what each knob does. ``cut_stream_rate``,
    ``stream_error_rate`` and ``malformed_chunk_rate`` only affect streaming
    answers (openai.chat with ``stream``, cognigy.inference, genesys.invoke
    with ``stream``); ``cached_prompt_share`` only openai.chat (the only
    contract that reports cached prompt tokens).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float | None = Field(None, ge=0)
    latency_jitter_ms: float | None = Field(None, ge=0)
    error_429_rate: float | None = Field(None, ge=0, le=1)
    retry_after_s: float | None = Field(None, ge=0)
    retry_after_http_date: bool | None = None
    error_5xx_rate: float | None = Field(None, ge=0, le=1)
    error_5xx_status: int | None = Field(None, ge=500, le=599)
    hang_rate: float | None = Field(None, ge=0, le=1)
    hang_s: float | None = Field(None, gt=0)
    fail_first_n: int | None = Field(None, ge=0)
    fail_status: int | None = Field(None, ge=400, le=599)
    cut_stream_rate: float | None = Field(None, ge=0, le=1)
    stream_error_rate: float | None = Field(None, ge=0, le=1)
    malformed_chunk_rate: float | None = Field(None, ge=0, le=1)
    include_usage: bool | None = None
    cached_prompt_share: float | None = Field(None, ge=0, le=1)


class SimulatorConfig(BaseModel):
    """How the simulator behaves; immutable, replace it to change behaviour at run time.

    Fault knobs apply to every route; ``routes`` overrides them per route
    (keys are route names such as ``"cognigy.inference"``, see
    :mod:`.routes`). Per request, after auth and body validation, a route
    first answers its first ``fail_first_n`` requests with ``fail_status``
    (counted per route, restarted whenever the config is applied: the
    deterministic way to script "fail, then succeed"), then draws, in this
    order, hang, 429, 5xx; a streaming answer then draws cut, stream error,
    malformed chunk. A rate of 1.0 always fires and 0.0 never does (and is
    not drawn at all), so both are deterministic; ``seed`` makes the rates
    in between reproducible, with one random stream per route.

    OAuth: ``clients`` are the client credentials both token endpoints
    accept (empty: any non-empty id and secret). Tokens live
    ``token_ttl_s`` seconds. A scope in ``revoked_scopes`` is never granted
    and every call that needs it is refused with 403, whatever its token
    says.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float = Field(0.0, ge=0, description="mean added latency per request")
    latency_jitter_ms: float = Field(
        0.0, ge=0, description="uniform jitter, +- this many ms around latency_ms"
    )
    error_429_rate: float = Field(0.0, ge=0, le=1, description="share of 429 answers")
    retry_after_s: float = Field(
        1.0, ge=0, description="Retry-After value, in seconds, sent with every 429"
    )
    retry_after_http_date: bool = Field(
        False, description="send Retry-After as an HTTP-date (rounded up) instead of seconds"
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
        0, ge=0, description="answer the first N valid requests of each route with fail_status"
    )
    fail_status: int = Field(503, ge=400, le=599, description="status for fail_first_n")
    cut_stream_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of streams that stop mid-way: the connection closes with no usage/[DONE]",
    )
    stream_error_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of streams that send an error line mid-way, then end",
    )
    malformed_chunk_rate: float = Field(
        0.0, ge=0, le=1, description="share of streams with one extra line that is not JSON"
    )
    include_usage: bool = Field(
        True, description="report usage in replies (off: clients must count tokens)"
    )
    cached_prompt_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of each prompt's tokens openai.chat reports as read from a prompt "
        "cache (usage.prompt_tokens_details.cached_tokens, rounded down; 0: no details sent)",
    )
    api_key: SecretStr | None = Field(
        None, description="if set, openai.chat requires 'Authorization: Bearer <api_key>'"
    )
    seed: int | None = Field(None, description="seed of the fault and latency draws")
    clients: dict[str, SecretStr] = Field(
        default_factory=lambda: {k: SecretStr(v) for k, v in DEFAULT_CLIENTS.items()},
        description='OAuth clients as JSON {"client_id": "secret"}; {} accepts any pair',
    )
    token_ttl_s: int = Field(3600, ge=1, description="lifetime (expires_in) of issued tokens")
    revoked_scopes: frozenset[str] = Field(
        frozenset(), description="scopes never granted and refused with 403 (space-separated)"
    )
    routes: dict[str, RouteFaults] = Field(
        default_factory=dict,
        description='per-route fault overrides as JSON {"cognigy.chat": {"error_429_rate": 1}}',
    )
    record_requests: int = Field(
        0,
        ge=0,
        le=10_000,
        description="keep the last N completion requests (route, request id, JSON body) for "
        "GET /requests, to see what a client sent; 0: off, at most 10000 (read at start)",
    )

    @field_validator("revoked_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(s for s in re.split(r"[\s,]+", value) if s)
        return value

    @field_validator("clients")
    @classmethod
    def _non_empty_client_ids(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for client_id, secret in value.items():
            if not client_id or not secret.get_secret_value():
                raise ValueError("client ids and secrets must be non-empty")
        return value

    @field_validator("routes")
    @classmethod
    def _known_routes(cls, value: dict[str, RouteFaults]) -> dict[str, RouteFaults]:
        known = sorted(ROUTE_NAMES)
        unknown = sorted(set(value) - ROUTE_NAMES)
        if unknown:
            guesses = {name: closest(name, known) for name in unknown}
            named = ", ".join(
                f"{name!r}" + (f" (did you mean {guess!r}?)" if guess else "")
                for name, guess in guesses.items()
            )
            hint = "" if all(guesses.values()) else f"; known routes: {known}"
            raise ValueError(f"unknown route {named}{hint}")
        return value
