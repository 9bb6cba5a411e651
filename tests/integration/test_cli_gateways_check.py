"""`gwstream gateways check` as a user runs it: real processes, real simulator."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gwstream.broker import free_port

pytestmark = pytest.mark.integration

CONFIG = """
gateways:
  openai: {{protocol: openai, base_urls: ["{url}"]}}
  cognigy:
    protocol: cognigy.chat
    base_urls: ["{url}"]
    oauth: {{client_id: cognigy-sim, client_secret: cognigy-sim-secret}}
  genesys:
    protocol: genesys.invocations
    base_urls: ["{url}"]
    prompt_id: p-1
    oauth: {{client_id: genesys-sim, client_secret: genesys-sim-secret}}
  {extra}
default_gateway: openai
"""


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    yield from _simulator()


@pytest.fixture(scope="module")
def keyed_simulator_url() -> Iterator[str]:
    """A simulator whose OpenAI-compatible route wants the bearer key ``k-1``."""
    yield from _simulator("--api-key", "k-1")


def _simulator(*options: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gwstream", "simulate-gateway", "--port", "0", *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        # It prints its URL once it is serving: wait for that line (bounded).
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline() if ready else ""
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"simulator did not start: {line!r}"
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait()


def _check(tmp_path: Path, url: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(CONFIG.format(url=url, extra=extra))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")} | {
        "COLUMNS": "200"
    }
    return subprocess.run(
        [sys.executable, "-m", "gwstream", "gateways", "check", "-c", str(cfg), "--timeout-s", "5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_healthy_gateways_of_every_vendor_pass(tmp_path: Path, simulator_url: str) -> None:
    done = _check(tmp_path, simulator_url)
    assert done.returncode == 0, done.stderr
    for name in ("openai", "cognigy", "genesys"):
        assert re.search(rf"{name}\s+│\s+http://\S+\s+│\s+ok\s", done.stdout), done.stdout


def test_a_gateway_with_no_reachable_endpoint_fails_the_check(
    tmp_path: Path, simulator_url: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    extra = f'dead: {{protocol: openai, base_urls: ["{dead}"]}}'
    done = _check(tmp_path, simulator_url, extra)
    assert done.returncode == 1
    assert "no healthy endpoint for: dead" in done.stderr
    assert "transport" in done.stdout


def test_bad_credentials_are_reported_as_auth(tmp_path: Path, simulator_url: str) -> None:
    extra = (
        f'badauth: {{protocol: cognigy.chat, base_urls: ["{simulator_url}"], '
        "oauth: {client_id: cognigy-sim, client_secret: wrong}}"
    )
    done = _check(tmp_path, simulator_url, extra)
    assert done.returncode == 1
    assert "auth" in done.stdout and "wrong" not in done.stdout + done.stderr


def test_an_invalid_definition_is_named_before_any_probe(
    tmp_path: Path, simulator_url: str
) -> None:
    done = _check(tmp_path, simulator_url, 'bad: {protocol: openai, base_urls: ["x"], rpm: 0}')
    assert done.returncode == 2
    assert "gateways.bad" in done.stderr


def test_a_gateway_run_would_refuse_is_named_while_the_others_are_probed(
    tmp_path: Path, simulator_url: str
) -> None:
    extra = (
        f'versioned: {{protocol: openai, base_urls: ["{simulator_url}/v1"]}}\n'
        f'  unread: {{protocol: openai, base_urls: ["{simulator_url}"], '
        f'api_key_file: "{tmp_path / "no-key"}"}}'
    )
    done = _check(tmp_path, simulator_url, extra)
    assert done.returncode == 2
    assert "gateways.versioned: gateway base_url must not end in /v1" in done.stderr
    assert f"gateways.unread: api_key_file: cannot read {tmp_path / 'no-key'}" in done.stderr
    assert "invalid: versioned, unread" in done.stderr
    for name in ("openai", "cognigy", "genesys"):
        assert re.search(rf"{name}\s+│\s+http://\S+\s+│\s+ok\s", done.stdout), done.stdout
    assert not re.search(r"(versioned|unread)\s+│\s+http", done.stdout), "never probed"


def test_a_gateway_refused_for_want_of_an_api_key_is_told_where_the_key_goes(
    tmp_path: Path, simulator_url: str, keyed_simulator_url: str
) -> None:
    extra = f'nokey: {{protocol: openai, base_urls: ["{keyed_simulator_url}"]}}'
    done = _check(tmp_path, simulator_url, extra)
    assert done.returncode == 1
    assert "no healthy endpoint for: nokey" in done.stderr
    assert (
        "hint: gateways.nokey has no API key and its endpoints want one: set "
        "GWSTREAM_GATEWAYS__NOKEY__API_KEY, or api_key_file to a file holding it"
    ) in done.stderr
    assert "hint: gateways.openai" not in done.stderr


def test_vendor_metrics_are_pulled_and_reconciled_from_the_command_line(
    tmp_path: Path, simulator_url: str
) -> None:
    assert _check(tmp_path, simulator_url).returncode == 0  # serves one call per gateway
    cfg, db = tmp_path / "gw.yaml", tmp_path / "costs.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}

    def gw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gwstream", "gateways", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    pulled = gw("pull-metrics", "-c", str(cfg), "--database", str(db))
    assert pulled.returncode == 0, pulled.stderr
    assert re.search(r"^cognigy\t[1-9]\d* new rows$", pulled.stdout, re.M)
    assert re.search(r"^genesys\t[1-9]\d* new rows$", pulled.stdout, re.M)
    again = gw("pull-metrics", "-c", str(cfg), "--database", str(db))
    assert re.search(r"^cognigy\t0 new rows$", again.stdout, re.M), "a second pull adds nothing"
    report = gw("reconcile", "--database", str(db), "--format", "json")
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)
    assert {r["gateway"] for r in rows} == {"cognigy", "genesys"}
    # The probes' request ids are not gwstream turns: the vendor saw calls gwstream did not cost.
    assert all(r["only_vendor"] >= 1 and r["matched"] == 0 for r in rows)


def test_a_spend_limit_on_a_model_without_a_price_fails_the_check_before_any_probe(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        "gateways:\n"
        "  house:\n"
        '    {protocol: openai, base_urls: ["http://127.0.0.1:9"], model: house-llm,\n'
        "     models: {house-llm: {context_window: 8000, max_output_tokens: 1000}}}\n"
        "default_gateway: house\n"
        "tenants:\n"
        '  acme: {spend: {daily: "5"}}\n'
        "  globex: {budget: {session_tokens: 9000, window: conversation}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    args = [sys.executable, "-m", "gwstream", "gateways", "check", "-c", str(cfg), "--no-probe"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2
    assert "tenants.acme.spend: model 'house-llm' of gateway 'house' has no price" in done.stderr
    cfg.write_text(cfg.read_text().replace('acme: {spend: {daily: "5"}}', "acme: {rpm: 60}"))
    done = subprocess.run(
        args, capture_output=True, text=True, env=env | {"COLUMNS": "200"}, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"globex\s+│\s+house\s+│\s+│\s+9000 tokens per conversation", done.stdout)
