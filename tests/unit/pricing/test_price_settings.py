"""Price configuration as an operator writes it (YAML), and the errors that name the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gwstream.app import load_prices
from gwstream.config import Settings, load_settings
from gwstream.errors import ConfigError

D = Decimal
MAP = '{"gpt-4o-mini": {"input_cost_per_token": 1e-07, "output_cost_per_token": 4e-07}}'


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)


def settings(tmp_path: Path, yaml: str) -> Settings:
    (tmp_path / "2026-04.json").write_text(MAP)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(yaml.replace("DIR", str(tmp_path)))
    return load_settings(cfg)


def test_price_maps_and_tenant_overrides_are_read_from_yaml_with_exact_decimals(
    tmp_path: Path,
) -> None:
    s = settings(
        tmp_path,
        """
price_maps:
  - {}
  - file: DIR/2026-04.json
    effective_from: 2026-04-01
    version: litellm-2026-04
tenants:
  acme:
    prices:
      - effective_from: 2026-03-01T12:00:00+01:00
        models:
          gpt-4o-mini:
            input_cost_per_token: "1.2e-7"
            output_cost_per_token: 4.8e-7
            cache_read_input_token_cost: 3e-8
""",
    )
    assert s.price_maps is not None and s.tenants["acme"].prices is not None
    assert s.price_maps[1].effective_from == datetime(2026, 4, 1, tzinfo=UTC)
    override = s.tenants["acme"].prices[0]
    assert override.effective_from == datetime(2026, 3, 1, 11, tzinfo=UTC)
    price = override.models["gpt-4o-mini"]
    # a quoted string, a YAML float and a YAML string (1e-7 without a dot) all come out exact
    assert (
        price.input_cost_per_token,
        price.output_cost_per_token,
        price.cache_read_input_token_cost,
    ) == (D("1.2e-7"), D("4.8e-7"), D("3e-8"))
    book = load_prices(s)
    # from 2026-04-01 00:00 UTC: 1000 * 0.0000001 + 100 * 0.0000004 = 0.0001 + 0.00004
    april = book.cost("gpt-4o-mini", "globex", datetime(2026, 4, 1, tzinfo=UTC), 1000, 100)
    assert (april.amount, april.version) == (D("0.00014"), "litellm-2026-04")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "price_maps:\n  - {effective_from: 2026-04-01}\n  - {effective_from: 2026-04-01}\n",
            r"price_maps: price_maps\[1\]\.effective_from 2026-04-01T00:00:00\+00:00 "
            r"is not after price_maps\[0\]\.effective_from 2026-04-01T00:00:00\+00:00",
        ),
        (
            "price_maps:\n  - {effective_from: 2026-05-01}\n  - {effective_from: 2026-04-01}\n",
            r"price_maps\[1\]\.effective_from .* is not after .*: list them oldest first",
        ),
        (
            "price_maps:\n  - {}\n  - {version: v2}\n",
            r"price_maps\[1\] has no effective_from: only the first entry may omit it",
        ),
        (
            "price_maps:\n  - {}\n  - {effective_from: '2026-04-01T00:00:00'}\n",
            r"price_maps\[1\]\.effective_from: 2026-04-01T00:00:00 has no UTC offset",
        ),
        (
            "price_maps:\n  - {version: v1}\n  - {effective_from: 2026-04-01, version: v1}\n",
            r"price_maps\[1\]\.version 'v1' is also price_maps\[0\]'s",
        ),
        (
            "price_maps:\n  - {efective_from: 2026-04-01}\n",
            r"price_maps\[0\]\.efective_from: no such setting; "
            r"did you mean price_maps\[0\]\.effective_from\?",
        ),
        ("price_maps: []\n", r"price_maps: must not be empty"),
        (
            "prices_file: DIR/2026-04.json\nprice_maps:\n  - {}\n",
            r"prices_file and price_maps are both set: use price_maps alone",
        ),
        (
            "tenants:\n  acme:\n    prices:\n      - models:\n          gpt-4o-mini:\n"
            "              {input_cost_per_token: -1e-7, output_cost_per_token: 1e-7}\n",
            r"tenants\.acme\.prices\[0\]\.models\.gpt-4o-mini\.input_cost_per_token: "
            r"must be >= 0",
        ),
        (
            "tenants:\n  acme:\n    prices:\n      - models:\n          gpt-4o-mini:\n"
            "              {input_cost_per_token: 1e-7, output_cost: 1e-7}\n",
            r"tenants\.acme\.prices\[0\]\.models\.gpt-4o-mini\.output_cost: no such setting; "
            r"did you mean .*\.output_cost_per_token\?",
        ),
        (
            "tenants:\n  acme:\n    prices:\n      - {effective_from: 2026-03-01, models: {}}\n"
            "      - {effective_from: 2026-03-01, models: {}}\n",
            r"tenants\.acme\.prices: prices\[1\]\.effective_from .* is not after",
        ),
    ],
)
def test_bad_price_configuration_is_refused_naming_the_entry(
    tmp_path: Path, yaml: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, yaml)


def test_an_unreadable_price_map_names_its_entry_and_the_file(tmp_path: Path) -> None:
    s = settings(
        tmp_path, "price_maps:\n  - {}\n  - {file: DIR/missing.json, effective_from: 2026-04-01}\n"
    )
    with pytest.raises(
        ConfigError, match=r"price_maps\[1\]: cannot read .*missing\.json: No such file"
    ):
        load_prices(s)


def test_a_negative_price_in_a_price_map_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(
        '{"gpt-4o-mini": {"input_cost_per_token": 1e-07, "output_cost_per_token": 4e-07,'
        ' "cache_read_input_token_cost": -2.5e-08}}'
    )
    s = settings(tmp_path, "price_maps:\n  - {file: DIR/bad.json}\n")
    with pytest.raises(
        ConfigError,
        match=r"price_maps\[0\] .*bad\.json: gpt-4o-mini: cache_read_input_token_cost is "
        r"-2\.5E-8; costs per token must be non-negative",
    ):
        load_prices(s)


SPEND = """
gateways:
  house:
    protocol: openai
    base_urls: ["http://127.0.0.1:9"]
    model: house-llm
    models: {house-llm: {context_window: 8000, max_output_tokens: 1000}}
default_gateway: house
tenants:
  acme:
    spend: {daily: "5"}
"""
HOUSE = (
    '{"house-llm": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}, '
    '"gpt-4o-mini": {"input_cost_per_token": 1e-07, "output_cost_per_token": 4e-07}}'
)


def test_a_spend_limit_needs_a_price_from_every_price_change_configured_ahead(
    tmp_path: Path,
) -> None:
    (tmp_path / "house.json").write_text(HOUSE)
    s = settings(
        tmp_path,
        SPEND + "price_maps:\n  - {file: DIR/house.json}\n"
        "  - {file: DIR/2026-04.json, effective_from: 2026-04-01, version: v2}\n",
    )
    march = datetime(2026, 3, 15, tzinfo=UTC)
    with pytest.raises(
        ConfigError,
        match=r"tenants\.acme\.spend: model 'house-llm' of gateway 'house' has no price in "
        r"price map 'v2' of price_maps \(in force from 2026-04-01T00:00:00\+00:00\)",
    ):
        load_prices(s, now=march)
    # once the change has passed, it is the map in force now
    with pytest.raises(ConfigError, match=r"price map 'v2' of price_maps \(in force now\)"):
        load_prices(s, now=datetime(2026, 4, 15, tzinfo=UTC))


def test_a_tenant_override_can_supply_the_price_a_spend_limit_needs(tmp_path: Path) -> None:
    (tmp_path / "house.json").write_text(HOUSE)
    s = settings(
        tmp_path,
        SPEND
        + "    prices:\n      - models:\n          house-llm:\n"
        + '            {input_cost_per_token: "1e-6", output_cost_per_token: "2e-6"}\n'
        + "price_maps:\n  - {file: DIR/2026-04.json}\n",
    )
    book = load_prices(s, now=datetime(2026, 3, 15, tzinfo=UTC))
    at = datetime(2026, 3, 15, tzinfo=UTC)
    # 1000 * 0.000001 + 100 * 0.000002 = 0.001 + 0.0002
    assert book.cost("house-llm", "acme", at, 1000, 100).amount == D("0.0012")


def test_a_spend_limit_below_one_calls_worst_case_is_refused_at_start(tmp_path: Path) -> None:
    """Every turn would be refused tenant_budget_exhausted: 512 output tokens (the gateway's
    max_tokens) of house-llm at 2e-6 cost 0.001024, so a daily limit of 0.001 never admits
    one."""
    (tmp_path / "house.json").write_text(HOUSE)
    maps = "price_maps:\n  - {file: DIR/house.json}\n"
    tiny = SPEND.replace('daily: "5"', 'daily: "0.001"')
    with pytest.raises(
        ConfigError,
        match=r"tenants\.acme\.spend\.daily: 0\.001 USD is less than one call can cost "
        r"\(0\.001024: 512 output tokens of 'house-llm', gateways\.house\.max_tokens\)",
    ):
        load_prices(settings(tmp_path, tiny + maps))
    assert load_prices(settings(tmp_path, SPEND.replace('"5"', '"0.001024"') + maps))


def test_a_session_budget_that_cannot_hold_one_turns_output_is_refused_at_start(
    tmp_path: Path,
) -> None:
    base = SPEND.replace('spend: {daily: "5"}', "budget: {session_tokens: TOKENS}")
    with pytest.raises(
        ConfigError,
        match=r"tenants\.acme\.budget\.session_tokens: 512 cannot admit a single turn, "
        r"which reserves up to 512 output tokens \(gateways\.house\.max_tokens\) plus a "
        r"prompt of at least 22 ",
    ):
        load_prices(settings(tmp_path, base.replace("TOKENS", "512")))
    # One output bound plus one token admits nothing either: the system instruction and the
    # turn's own message take tokens too: 22 with the default system instruction.
    with pytest.raises(ConfigError, match="at least 22 "):
        load_prices(settings(tmp_path, base.replace("TOKENS", "513")))
    assert load_prices(settings(tmp_path, base.replace("TOKENS", str(512 + 22))))
    assert load_prices(settings(tmp_path, base.replace("TOKENS", "5000")))
