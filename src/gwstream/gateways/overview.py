"""What `gwstream gateways check` shows besides the probes: which gateways `run` would refuse
to build, where a missing API key goes, and the tenants' policies at a glance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gwstream.config import DEFAULT_PHONE_REGIONS, Settings, env_name
from gwstream.errors import ConfigError


def invalid_gateways(settings: Settings) -> dict[str, str]:
    """Each gateway `run` would refuse to build, with why: the same construction, secret
    files read, no network."""
    from gwstream.gateways.factory import gateway_from_settings

    invalid = {}
    for name, gw in settings.gateways.items():
        try:
            gateway_from_settings(name, gw)
        except ConfigError as exc:
            invalid[name] = str(exc)
    return invalid


def missing_key_hint(settings: Settings, name: str) -> str:
    """Where the API key goes, for a gateway refused as unauthenticated that has none."""
    from gwstream.config import env_name

    gw = settings.gateways[name]
    if gw.oauth is not None or gw.api_key or gw.api_key_file:
        return ""
    what = f"gateways.{name} has no API key and its endpoints want one"
    if name != name.lower():  # environment names are read in lower case
        return f"{what}: set api_key_file to a file holding it"
    variable = env_name("gateways", name, "api_key")
    return f"{what}: set {variable}, or api_key_file to a file holding it"


#: Columns of the tenants overview, in order.
TENANT_COLUMNS = (
    "gateway",
    "rate limits",
    "session budget",
    "spend limits",
    "guardrails",
    "prompts",
    "cache",
)
#: Narrower consoles get one small table per tenant instead of one wide table.
WIDE_TENANTS = 140


def tenant_rows(settings: Settings) -> list[tuple[str, tuple[str, ...]]]:
    """Each tenant with its :data:`TENANT_COLUMNS` values."""
    rows: list[tuple[str, tuple[str, ...]]] = []
    for tenant, t in settings.tenants.items():
        rates = ", ".join(f"{v} {unit}" for v, unit in ((t.rpm, "rpm"), (t.tpm, "tpm")) if v)
        b, sp = t.budget, t.spend
        budget = (
            f"{b.session_tokens} tokens per {b.window}, lightweight below {b.lightweight_below}"
            if b is not None
            else ""
        )
        spend = (
            ", ".join(
                f"{v} {sp.currency} {per}"
                for v, per in ((sp.daily, "a day"), (sp.monthly, "a month"))
                if v is not None
            )
            + f" (notice at {sp.soft_threshold:.0%})"
            if sp is not None
            else ""
        )
        g = settings.guardrails_for(tenant)
        regions = (
            f"the {len(DEFAULT_PHONE_REGIONS)} default"
            if tuple(g.phone_regions) == DEFAULT_PHONE_REGIONS
            else ", ".join(g.phone_regions) or "no"
        )
        guard = (
            f"injection {g.injection}; PII {', '.join(g.pii) or 'none'}; "
            f"national phones of {regions} regions"
            + ("" if t.guardrails is not None else " (default)")
        )
        values = (
            t.gateway or settings.default_gateway,
            rates,
            budget,
            spend,
            guard,
            prompts_cell(settings, tenant),
            cache_cell(settings, tenant),
        )
        rows.append((tenant, values))
    return rows


def tenants_table(settings: Settings, width: int = WIDE_TENANTS) -> Any:
    """The tenants' policies: one table on a wide console, one per tenant on a narrow one
    (eight columns in 80 characters fold every header)."""
    from rich.console import Group
    from rich.table import Table

    rows = tenant_rows(settings)
    if width >= WIDE_TENANTS:
        table = Table(title="Tenants")
        for col in ("tenant", *TENANT_COLUMNS):
            table.add_column(col, overflow="fold")
        for tenant, values in rows:
            table.add_row(tenant, *values)
        return table
    tables = []
    for tenant, values in rows:
        table = Table(title=f"Tenant {tenant}", show_header=False, title_justify="left")
        table.add_column("setting", no_wrap=True)
        table.add_column("value", overflow="fold")
        for col, value in zip(TENANT_COLUMNS, values, strict=True):
            table.add_row(col, value or "-")
        tables.append(table)
    return Group(*tables)


def prompts_cell(settings: Settings, tenant: str) -> str:
    """Each use case's versions with their shares, e.g. ``default: v1 50%, v2 50%``."""
    t = settings.tenants.get(tenant)
    cases = settings.prompts_for(tenant)
    if not cases:
        return "system_prompt"
    parts = []
    for name, p in cases.items():
        split = p.split if p.split is not None else {next(iter(p.versions)): 1.0}
        parts.append(f"{name}: " + ", ".join(f"{v} {w:.0%}" for v, w in split.items()))
    own = t is not None and t.prompts is not None
    return "; ".join(parts) + ("" if own else " (default)")


def cache_cell(settings: Settings, tenant: str) -> str:
    c = settings.cache_for(tenant)
    kinds = [
        f"{kind} {ttl:g}s"
        for kind, on, ttl in (
            ("exact", c.exact, c.exact_ttl_s),
            ("intent", c.intent, c.intent_ttl_s),
        )
        if on
    ]
    t = settings.tenants.get(tenant)
    own = t is not None and t.cache is not None
    return (", ".join(kinds) or "off") + ("" if own else " (default)")


#: Secrets a configuration file should not hold, and the setting that reads one from a file.
_SECRET_KEYS = {
    "api_key": "api_key_file",
    "client_secret": "client_secret_file",
    "secret": "secret_file",
    "sasl_password": None,
}


def config_notes(settings: Settings, config_file: Path | None) -> list[str]:
    """Doubtful but valid settings: secrets written in the file, and an attempt timeout
    its gateway's deadline cuts short."""
    notes = []
    for name, gw in settings.gateways.items():
        if gw.timeout_s > gw.deadline_s:
            notes.append(
                f"gateways.{name}: timeout_s {gw.timeout_s:g} is longer than deadline_s "
                f"{gw.deadline_s:g}, so an attempt is cut at the deadline (and never retried)"
            )
    if config_file is not None and config_file.is_file():
        try:
            doc = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            doc = None
        for where in _inline_secrets(doc, ()):
            from_file = _SECRET_KEYS[where.rsplit(".", 1)[-1]]
            notes.append(
                f"{where} is written in {config_file}: keep secrets out of files that are "
                f"shared or committed; set {env_name(*where.split('.'))} instead"
                + (f", or {from_file}" if from_file else "")
            )
    return notes


def _inline_secrets(doc: object, path: tuple[str, ...]) -> Iterator[str]:
    if not isinstance(doc, dict):
        return
    for key, value in doc.items():
        here = (*path, str(key))
        if key in _SECRET_KEYS and isinstance(value, str | int) and str(value):
            yield ".".join(here)
        else:
            yield from _inline_secrets(value, here)
