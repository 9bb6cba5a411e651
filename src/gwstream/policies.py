"""Per-tenant policies: session token budgets, spend limits, guardrails, prompts, caching.

Sections of :class:`gwstream.config.Settings` (``tenants.<id>.budget``,
``.spend``, ``.guardrails``, ``.prompts``, ``.cache``, and the defaults
``guardrails``, ``prompts`` and ``cache``), kept apart from
the runtime and connection settings; each validates itself at start.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: A session budget window: ``conversation`` (the session's whole life) or a length
#: such as ``30m``, ``24h``, ``7d``, aligned to the Unix epoch (``24h`` = UTC days).
_WINDOW = re.compile(r"^(?:conversation|([1-9][0-9]{0,5})([mhd]))$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def window_seconds(window: str) -> int | None:
    """Length of a session budget window in seconds; None for ``conversation``."""
    m = _WINDOW.match(window)
    if m is None:
        raise ValueError(
            f"window {window!r}: use 'conversation' or a length such as '30m', '24h', '7d'"
        )
    if m.group(1) is None:
        return None
    return int(m.group(1)) * _UNIT_S[m.group(2)]


class SessionBudgetSettings(_Section):
    """A token budget per session (seed 000): a lighter mode when low, a refusal when spent."""

    session_tokens: int = Field(
        gt=0, description="Tokens (input + output, as the gateway reports them) per window"
    )
    window: str = Field(
        default="24h",
        description="'conversation' (never rolls over) or a length such as '24h' (UTC-aligned)",
    )
    lightweight_below: int = Field(
        default=0,
        ge=0,
        description="Below this many tokens left, the lightweight system prompt is used (0: never)",
    )

    @model_validator(mode="after")
    def _check(self) -> SessionBudgetSettings:
        window_seconds(self.window)
        if self.lightweight_below >= self.session_tokens:
            raise ValueError(
                f"lightweight_below ({self.lightweight_below}) must be less than "
                f"session_tokens ({self.session_tokens})"
            )
        return self

    @property
    def window_s(self) -> int | None:
        return window_seconds(self.window)


#: Currencies a spend limit may be stated in: those the price map prices in.
PRICE_CURRENCIES = frozenset({"USD"})


class SpendLimitSettings(_Section):
    """A tenant's spend limits per UTC day and calendar month, across all instances."""

    daily: Decimal | None = Field(default=None, gt=0, description="Most spent per UTC day")
    monthly: Decimal | None = Field(default=None, gt=0, description="Most spent per UTC month")
    currency: str = Field(default="USD", description="ISO 4217 code; must be the price map's")
    soft_threshold: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="Share of a limit whose crossing is announced on the audit topic",
    )

    @model_validator(mode="after")
    def _check(self) -> SpendLimitSettings:
        if self.daily is None and self.monthly is None:
            raise ValueError("give daily, monthly or both")
        if self.currency not in PRICE_CURRENCIES:
            raise ValueError(
                f"currency {self.currency!r}: prices are in {', '.join(sorted(PRICE_CURRENCIES))}, "
                "so limits must be too"
            )
        if self.daily is not None and self.monthly is not None and self.daily > self.monthly:
            raise ValueError(f"daily ({self.daily}) exceeds monthly ({self.monthly})")
        return self


#: Countries whose national phone formats are recognised unless a policy names others.
DEFAULT_PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "PT", "PL", "SE",
    "IN", "BR", "MX", "AU", "JP", "SG", "ZA", "CA",
)  # fmt: skip
#: What a policy may name: a detector's type, or NATIONAL_ID for every national identity
#: number (the US SSN, the UK NINO, ... as gwstream.guardrails.ids lists them).
PiiType = Literal[
    "EMAIL", "PHONE", "CARD", "IBAN", "IPV4", "IPV6", "NATIONAL_ID",
    "SSN", "NINO", "DNI", "NIE", "CODICE_FISCALE", "AADHAAR", "NIR", "STEUER_ID", "BSN", "CPF",
    "SIN",
]  # fmt: skip
ALL_PII: list[PiiType] = ["EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "IPV4", "IPV6"]


class GuardrailPolicy(_Section):
    """What the guardrails do with a tenant's turns (README "Guardrails")."""

    injection: Literal["off", "flag", "filter", "block"] = Field(
        default="flag",
        description="flag: answer and record it; filter: replace the instruction; "
        "block: refuse blocked_injection without calling the gateway",
    )
    pii: list[PiiType] = Field(
        default_factory=lambda: list(ALL_PII),
        description="PII types redacted from turns before the gateway and the session history",
    )
    output_pii: list[PiiType] = Field(
        default_factory=lambda: list(ALL_PII),
        description="PII types redacted from responses",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="Countries whose national phone formats are recognised "
        "(international +CC numbers are, for every country)",
    )

    @field_validator("phone_regions", mode="before")
    @classmethod
    def _upper_regions(cls, v: object) -> object:
        """``gb`` is GB: region codes are matched in any case."""
        if isinstance(v, list | tuple):
            return [r.upper() if isinstance(r, str) else r for r in v]
        return v

    @model_validator(mode="after")
    def _check_regions(self) -> GuardrailPolicy:
        import phonenumbers

        unknown = sorted(set(self.phone_regions) - set(phonenumbers.SUPPORTED_REGIONS))
        if unknown:
            hint = " (the United Kingdom is GB)" if "UK" in unknown else ""
            raise ValueError(
                f"phone_regions: unknown region codes {unknown} (use ISO 3166 codes){hint}"
            )
        return self


#: A prompt variable's name: what ``${name}`` in a template may say.
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: How far from 1 a split's weights may sum (float rounding of weights like 0.1 + 0.2 + 0.7).
SPLIT_TOLERANCE = 1e-6


class FewShotExample(_Section):
    """One example exchange sent before the conversation (seed 004's few-shot examples)."""

    user: str = Field(min_length=1, max_length=8_000)
    assistant: str = Field(min_length=1, max_length=8_000)


class PromptVersionSettings(_Section):
    """One version of a use case's prompt: templates with ``${variable}`` placeholders."""

    system: str = Field(min_length=1, max_length=8_000, description="System instruction template")
    lightweight: str | None = Field(
        default=None,
        max_length=8_000,
        description="Template used when the session's token budget runs low "
        "(absent: the global lightweight_system_prompt)",
    )
    examples: list[FewShotExample] = Field(
        default_factory=list, description="Few-shot exchanges, oldest first"
    )
    examples_max_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Most tokens the examples may take; the oldest are dropped to fit",
    )


class PromptSettings(_Section):
    """A tenant's prompt for one use case: its versions and the split across them."""

    versions: dict[str, PromptVersionSettings] = Field(min_length=1)
    split: dict[str, float] | None = Field(
        default=None,
        description="Version -> share of new sessions; the shares sum to 1 "
        "(absent: the only version gets every session)",
    )
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values substituted into the templates"
    )
    turn_variables: list[str] = Field(
        default_factory=list,
        description="Variables each turn supplies in its metadata; a turn without one is "
        "refused missing_prompt_variable",
    )

    @model_validator(mode="after")
    def _check(self) -> PromptSettings:
        import string

        for version in self.versions:
            if not _VERSION.match(version):
                raise ValueError(f"version id {version!r}: use letters, digits, '.', '-', '_'")
        names = set(self.variables) | set(self.turn_variables)
        for name in names:
            if not _VARIABLE.match(name):
                raise ValueError(f"variable name {name!r}: use letters, digits and '_'")
        both = sorted(set(self.variables) & set(self.turn_variables))
        if both:
            raise ValueError(f"variables {both} are given both in variables and turn_variables")
        for version, v in self.versions.items():
            for what, text in (("system", v.system), ("lightweight", v.lightweight)):
                if text is None:
                    continue
                template = string.Template(text)
                if not template.is_valid():
                    raise ValueError(
                        f"versions.{version}.{what}: not a valid template (write $$ for a "
                        "literal $, and ${name} for a variable)"
                    )
                missing = sorted(set(template.get_identifiers()) - names)
                if missing:
                    raise ValueError(
                        f"versions.{version}.{what}: variables {missing} are not defined; "
                        "add them to variables, or to turn_variables when each turn supplies them"
                    )
        if self.split is None:
            if len(self.versions) > 1:
                raise ValueError(
                    f"{len(self.versions)} versions need a split saying which share of "
                    "sessions gets each"
                )
            return self
        unknown = sorted(set(self.split) - set(self.versions))
        if unknown:
            raise ValueError(f"split names unknown versions {unknown}")
        if any(w < 0 for w in self.split.values()):
            raise ValueError("split weights must not be negative")
        total = sum(self.split.values())
        if abs(total - 1.0) > SPLIT_TOLERANCE:
            raise ValueError(f"split weights sum to {total:g}; they must sum to 1")
        return self


class CachePolicy(_Section):
    """Which of a tenant's turns are answered from the cache (README "Caching")."""

    exact: bool = Field(
        default=True,
        description="Answer a request identical to an earlier one (model, instruction, "
        "history, parameters) from the cache",
    )
    exact_ttl_s: float = Field(default=3600.0, gt=0, description="How long an exact entry lives")
    intent: bool = Field(
        default=False,
        description="Answer a session's opening turn whose normalised text was asked before",
    )
    intent_ttl_s: float = Field(default=86400.0, gt=0, description="How long an intent entry lives")
    charge_hits: bool = Field(
        default=False,
        description="Charge a cache hit's tokens to the session's token budget",
    )


class CacheSettings(CachePolicy):
    """The instance's answer cache: its memory bound, and the policy of tenants without one."""

    max_entries: int = Field(default=100_000, ge=0, description="0 turns the cache off")
    max_mb: float = Field(default=64.0, gt=0, description="Memory the cached answers may take")
