"""Per-tenant policies: session token budgets, spend limits, guardrails.

Sections of :class:`gwstream.config.Settings` (``tenants.<id>.budget``,
``.spend``, ``.guardrails``, and the default ``guardrails``), kept apart from
the runtime and connection settings; each validates itself at start.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
PiiType = Literal["EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IPV4", "IPV6"]
ALL_PII: list[PiiType] = ["EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IPV4", "IPV6"]


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

    @model_validator(mode="after")
    def _check_regions(self) -> GuardrailPolicy:
        import phonenumbers

        unknown = sorted(set(self.phone_regions) - set(phonenumbers.SUPPORTED_REGIONS))
        if unknown:
            raise ValueError(f"phone_regions: unknown region codes {unknown} (use ISO 3166 codes)")
        return self
