"""What `gateways check --no-probe` says about each tenant's prompts and cache."""

from __future__ import annotations

from gwstream.config import Settings
from gwstream.gateways.overview import cache_cell, prompts_cell

SPLIT = {
    "default": {
        "versions": {"v1": {"system": "a"}, "v2": {"system": "b"}},
        "split": {"v1": 0.25, "v2": 0.75},
    },
    "billing": {"versions": {"b1": {"system": "c"}}},
}


def test_each_use_case_lists_its_versions_with_their_shares() -> None:
    s = Settings(tenants={"acme": {"prompts": SPLIT}, "globex": {}})
    assert prompts_cell(s, "acme") == "default: v1 25%, v2 75%; billing: b1 100%"
    assert prompts_cell(s, "globex") == "system_prompt"
    shared = Settings(prompts=SPLIT, tenants={"globex": {}})
    assert prompts_cell(shared, "globex").endswith("(default)")


def test_the_cache_column_names_the_kinds_on_and_their_ttls() -> None:
    s = Settings(
        tenants={
            "acme": {"cache": {"intent": True, "intent_ttl_s": 600}},
            "off": {"cache": {"exact": False}},
            "globex": {},
        }
    )
    assert cache_cell(s, "acme") == "exact 3600s, intent 600s"
    assert cache_cell(s, "off") == "off"
    assert cache_cell(s, "globex") == "exact 3600s (default)"


def test_the_tenants_overview_stays_readable_on_a_narrow_console() -> None:
    from rich.console import Console

    from gwstream.gateways.overview import tenants_table

    s = Settings(
        tenants={
            "acme": {"prompts": SPLIT, "rpm": 60, "guardrails": {"phone_regions": ["GB", "IE"]}},
            "globex": {},
        }
    )
    narrow = Console(width=80, record=True)
    narrow.print(tenants_table(s, narrow.width))
    text = narrow.export_text()
    assert "Tenant acme" in text and "Tenant globex" in text
    assert "guardrails" in text and "injection flag" in text  # headers are not folded
    assert "default: v1 25%, v2 75%; billing: b1 100%" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    assert "GB, IE regions" in flat and "the 22 default regions" in flat
    wide = Console(width=200, record=True)
    wide.print(tenants_table(s, wide.width))
    assert "Tenants" in wide.export_text() and "Tenant acme" not in wide.export_text()
