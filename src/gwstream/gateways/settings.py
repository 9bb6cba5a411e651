"""How gateways are declared in configuration, and their validation at start-up.

Each gateway names a protocol, endpoints tried in order, a default model,
credentials (an API key for OpenAI-compatible endpoints; OAuth2 client
credentials for Cognigy and Genesys), limits and resilience knobs. At start
every gateway is checked against the model matrix (context window and max
output tokens per model: the bundled LiteLLM price map's limits, overridden
or extended by the gateway's own ``models``), and protocol requirements are
enforced, so a bad definition fails before the first turn, naming the field.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gwstream.errors import ConfigError
from gwstream.gateways.protocols import PROTOCOLS as PROTOCOL_FACTS
from gwstream.secrets import header_problem, load_secret

Protocol = Literal[
    "openai", "cognigy.chat", "cognigy.inference", "genesys.invoke", "genesys.invocations"
]
PROTOCOLS: tuple[str, ...] = Protocol.__args__  # type: ignore[attr-defined]

# Protocol names are listed above for the configuration's schema; their facts (answer
# forms, vendor, scopes, token endpoint) are gwstream.gateways.protocols.PROTOCOLS, which
# a test keeps equal to this list.


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def missing_secret(what: str, *, prefix: str = "", needs: str = "") -> PydanticCustomError:
    """A client secret that is not given, as error type ``missing_secret``: its context
    names the option and the file option (relative to where the error is), so the
    configuration loader can name the environment variable that sets it."""
    secret, file = f"{prefix}client_secret", f"{prefix}client_secret_file"
    also = f"{needs}, and " if needs else ""
    return PydanticCustomError(
        "missing_secret",
        f"{what}: set {also}{secret} or {file}",
        {"what": what, "needs": needs, "secret": secret, "file": file},
    )


def safe_url(url: str) -> str:
    """``url`` fit for a log line, an error or a table: no user, password, query or fragment
    (an API key often rides in one), which show as ``***``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    if not parts.scheme or not host:
        return "(not a URL)"
    user = "***@" if parts.username or parts.password else ""
    rest = ("?***" if parts.query else "") + ("#***" if parts.fragment else "")
    return f"{parts.scheme}://{user}{host}{port}{parts.path}{rest}"


def _same_endpoint(url: str) -> tuple[str, str, int | None, str]:
    """What makes two base URLs one endpoint: scheme and host in any case, port, path."""
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port, parts.path.rstrip("/")


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a gateway endpoint (never quoting it), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  raises on a port that is no number
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "must not carry credentials: give them as api_key/api_key_file or oauth"
    if parts.query or parts.fragment:
        return "must not have a query or fragment: give credentials as api_key/api_key_file"
    return None


class ModelLimits(_Section):
    context_window: int = Field(gt=0, description="Prompt + output tokens the model accepts")
    max_output_tokens: int = Field(gt=0)


class OAuthSettings(_Section):
    """OAuth2 client credentials. The secret comes from the environment or a file, never logged."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scopes: list[str] | None = Field(default=None, description="Default: what the protocol needs")
    token_url: str | None = Field(
        default=None, description="Default: the vendor's path on the first base URL"
    )
    credentials_in: Literal["form", "basic"] | None = Field(
        default=None, description="Default: form for Cognigy, HTTP Basic for Genesys"
    )

    @model_validator(mode="after")
    def _one_secret(self) -> OAuthSettings:
        if self.client_secret is None and self.client_secret_file is None:
            raise missing_secret("no client secret")
        if self.client_secret is not None and self.client_secret_file is not None:
            raise ValueError("give client_secret or client_secret_file, not both")
        return self

    def resolved_secret(self) -> str:
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        assert self.client_secret_file is not None
        secret = load_secret(file=self.client_secret_file, what="oauth.client_secret_file")
        return secret.get_secret_value()


class GatewaySettings(_Section):
    """One gateway: protocol, endpoints in fallback order, credentials, limits."""

    protocol: Protocol = "openai"
    base_urls: list[str] = Field(min_length=1, description="Endpoints, tried in order")
    model: str = "gpt-4o-mini"
    stream: bool | None = Field(
        default=None, description="Use the streamed form; default: the protocol's usual form"
    )
    prompt_id: str | None = Field(
        default=None, description="genesys.invocations: the prompt to run"
    )
    api_key: SecretStr | None = None
    api_key_file: Path | None = Field(default=None, description="File holding the API key")
    oauth: OAuthSettings | None = None
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    max_attempts: int = Field(default=4, ge=1, le=20)
    deadline_s: float = Field(default=60.0, gt=0, le=3600)
    max_connections: int = Field(default=1_000, ge=1, le=100_000)
    max_tokens: int | None = Field(default=512, ge=1)
    rpm: int | None = Field(
        default=None, gt=0, description="Requests per minute across all tenants (none: unlimited)"
    )
    tpm: int | None = Field(default=None, gt=0, description="Tokens per minute (none: unlimited)")
    retry_budget: float = Field(
        default=0.2, ge=0, le=10, description="Retries allowed as a share of calls, gateway-wide"
    )
    retry_on_status: list[int] | None = Field(
        default=None,
        description="HTTP statuses retried on the same endpoint (408, 429 and 5xx only; "
        "default: 408, 429 and every 5xx but 501 and 505)",
    )
    fallback_on_status: list[int] | None = Field(
        default=None,
        description="HTTP statuses after which the next endpoint is tried (408, 429 and 5xx "
        "only; default: 408 and every 5xx but 501 and 505)",
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open an endpoint (per model)"
    )
    breaker_open_s: float = Field(default=10.0, gt=0, description="How long an open endpoint rests")
    models: dict[str, ModelLimits] = Field(
        default_factory=dict, description="Model matrix entries (beside the bundled ones)"
    )

    @field_validator("api_key")
    @classmethod
    def _key_not_empty(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        key = v.get_secret_value().strip()  # a trailing newline from a mounted Secret
        if not key:
            # An empty variable (a secret not mounted) would mean calls without a key.
            raise ValueError("is empty: give the key, or leave api_key out for no key")
        problem = header_problem(key)
        if problem is not None:
            raise ValueError(problem)
        return SecretStr(key)

    @field_validator("retry_on_status", "fallback_on_status")
    @classmethod
    def _retryable_statuses(cls, v: list[int] | None) -> list[int] | None:
        if v is not None:
            bad = sorted(s for s in v if not (s in (408, 429) or 500 <= s <= 599))
            if bad:
                raise ValueError(f"only 408, 429 and 5xx statuses may be listed; remove {bad}")
        return v

    @property
    def vendor(self) -> str:
        return self.protocol.split(".", 1)[0]

    @model_validator(mode="after")
    def _protocol_requirements(self) -> GatewaySettings:
        for i, url in enumerate(self.base_urls):
            problem = base_url_problem(url)
            if problem is not None:
                shown = safe_url(url)
                where = f"base_urls[{i}]" + ("" if shown.startswith("(") else f" ({shown})")
                raise ValueError(f"{where}: {problem}")
            if _same_endpoint(url) in {_same_endpoint(u) for u in self.base_urls[:i]}:
                raise ValueError(
                    f"base_urls[{i}] repeats an earlier URL: a fallback to the same endpoint "
                    "adds nothing (retries on one endpoint are max_attempts)"
                )
        needs_oauth = PROTOCOL_FACTS[self.protocol].oauth
        if needs_oauth and (self.api_key is not None or self.api_key_file is not None):
            raise ValueError(
                f"protocol {self.protocol} authenticates with oauth; api_key and api_key_file "
                "are not used: remove them (from the file, or unset the GWSTREAM_..._API_KEY "
                "variable that sets one)"
            )
        if needs_oauth and self.oauth is None:
            raise missing_secret(
                f"protocol {self.protocol} needs oauth", prefix="oauth.", needs="oauth.client_id"
            )
        if not needs_oauth and self.oauth is not None:
            raise ValueError(f"protocol {self.protocol} uses api_key or api_key_file, not oauth")
        forms = PROTOCOL_FACTS[self.protocol].stream_forms
        if self.stream is not None and self.stream not in forms:
            raise ValueError(
                f"protocol {self.protocol} has no {'streamed' if self.stream else 'buffered'} form; drop stream"
            )
        if self.protocol == "genesys.invocations" and not self.prompt_id:
            raise ValueError("protocol genesys.invocations needs prompt_id")
        limits = self.model_limits(self.model)
        if limits is None:
            raise ValueError(
                f"model {self.model!r} is not in the model matrix: add it under models "
                "with context_window and max_output_tokens"
            )
        if self.max_tokens is not None and self.max_tokens > limits.max_output_tokens:
            raise ValueError(
                f"max_tokens {self.max_tokens} exceeds {self.model}'s max output of {limits.max_output_tokens}"
            )
        return self

    def known_models(self) -> set[str]:
        """Every model this gateway may be asked for: the bundled matrix plus its own."""
        return set(bundled_model_matrix()) | set(self.models)

    def model_limits(self, model: str) -> ModelLimits | None:
        return self.models.get(model) or bundled_model_matrix().get(model)

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_file is not None:
            key = load_secret(file=self.api_key_file, what="api_key_file").get_secret_value()
            problem = header_problem(key)
            if problem is not None:
                raise ConfigError(f"api_key_file: {problem}")
            return key
        return None

    def token_url(self) -> str | None:
        if self.oauth is None:
            return None
        path = PROTOCOL_FACTS[self.protocol].token_path
        assert path is not None, "oauth is only accepted for protocols with a token endpoint"
        return self.oauth.token_url or self.base_urls[0].rstrip("/") + path

    def scopes(self) -> list[str]:
        if self.oauth is not None and self.oauth.scopes is not None:
            return self.oauth.scopes
        return list(PROTOCOL_FACTS[self.protocol].scopes)


@lru_cache(maxsize=1)
def bundled_model_matrix() -> dict[str, ModelLimits]:
    """Context window and max output per model, from the bundled LiteLLM price map."""
    raw = json.loads(resources.files("gwstream").joinpath("data/prices.json").read_text())
    matrix: dict[str, ModelLimits] = {}
    for model, entry in raw.items():
        ctx, out = entry.get("max_input_tokens"), entry.get("max_output_tokens")
        if isinstance(ctx, int) and isinstance(out, int):
            matrix[model] = ModelLimits(context_window=ctx, max_output_tokens=out)
    return matrix
