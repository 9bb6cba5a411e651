"""What `simulate-gateway` and `gateways check --no-probe` say about bad options and
gateways (no broker, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gwstream.cli import app


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_simulate_gateway_names_each_bad_option_on_its_own_line() -> None:
    result = invoke("simulate-gateway", "--latency-ms", "-5", "--hang-rate", "2")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --latency-ms: must be >= 0",
        "error: --hang-rate: must be <= 1",
    ]
    assert "validation error" not in result.output and "pydantic" not in result.output


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("70000", "error: --port: must be between 0 and 65535, not 70000"),
        ("x", "error: --port: must be a whole number, not 'x'"),
    ],
)
def test_simulate_gateway_refuses_a_port_out_of_range_in_one_line(port: str, message: str) -> None:
    result = invoke("simulate-gateway", "--port", port)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]


def test_simulate_gateway_on_a_taken_port_is_a_usage_error_naming_the_option() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = invoke("simulate-gateway", "--port", port)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --port: cannot serve on 127.0.0.1:{port}:")


def test_broker_refuses_a_port_out_of_range() -> None:
    result = invoke("broker", "--port", "70000")
    assert result.exit_code == 2
    assert "65535" in result.output


GATEWAYS = """
gateways:
  good: {protocol: openai, base_urls: ["http://127.0.0.1:9"]}
  versioned: {protocol: openai, base_urls: ["http://127.0.0.1:9/v1"]}
  unread:
    protocol: cognigy.chat
    base_urls: ["http://127.0.0.1:9"]
    oauth: {client_id: cx, client_secret_file: SECRET}
default_gateway: good
"""


def test_no_probe_refuses_what_run_refuses_and_names_every_bad_gateway(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(GATEWAYS.replace("SECRET", str(tmp_path / "missing-secret")))
    result = invoke("gateways", "check", "--no-probe", "-c", str(cfg))
    assert result.exit_code == 2
    assert "configuration valid" not in result.stdout
    assert result.stderr.splitlines() == [
        "error: gateways.versioned: gateway base_url must not end in /v1 "
        "('http://127.0.0.1:9/v1'): the adapter appends /v1/chat/completions; "
        "use 'http://127.0.0.1:9'",
        f"error: gateways.unread: oauth.client_secret_file: cannot read "
        f"{tmp_path / 'missing-secret'}: No such file or directory",
        "invalid: versioned, unread (`gwstream run` would refuse to start)",
    ]


def test_no_probe_passes_gateways_run_would_build(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        GATEWAYS.replace("SECRET", str(secret)).replace("127.0.0.1:9/v1", "127.0.0.1:9/api")
    )
    result = invoke("gateways", "check", "--no-probe", "-c", str(cfg))
    assert result.exit_code == 0, result.output
    assert "Gateways (configuration valid)" in result.stdout


def test_an_invalid_file_is_refused_in_plain_words(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("gateway:\n  good: {base_urls: ['http://127.0.0.1:9']}\n")
    result = invoke("gateways", "check", "--no-probe", "-c", str(cfg))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: invalid configuration:",
        "  gateway: no such setting; did you mean gateways?",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--database", "x.duckdb", "--url", "http://127.0.0.1:1"], "not both"),
        (["--url", "notaurl"], "http:// or https://"),
    ],
)
@pytest.mark.parametrize("command", [["report"], ["export", "spend", "-o", "out.parquet"]])
def test_report_and_export_refuse_a_source_they_cannot_read_as_usage_errors(
    command: list[str], args: list[str], message: str
) -> None:
    result = invoke(*command, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"gwstream {version('gwstream')}\n"


def test_tables_on_a_pipe_are_wide_enough_for_an_endpoint_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gwstream.cli.shared import PIPED_WIDTH, out_console

    # stdout is captured here, as a pipe or a CI log is: rich would assume 80 columns
    assert out_console().width == PIPED_WIDTH


def test_send_names_an_unknown_field_only_when_it_is_a_misspelt_field() -> None:
    import orjson
    from pydantic import ValidationError

    from gwstream.cli.turns import _line_problem
    from gwstream.events import TurnEvent

    base = {
        "turn_id": "t1",
        "tenant_id": "acme",
        "session_id": "s1",
        "seq": 0,
        "occurred_at": "2026-12-01T09:00:00Z",
        "text": "hi",
    }
    said = {}
    for extra in ("txet", "jane.roe@example.com"):
        line = orjson.dumps({**base, extra: "x"})
        try:
            TurnEvent.model_validate_json(line)
        except ValidationError as exc:
            said[extra] = _line_problem(line, exc)
    assert said["txet"] == "'txet' is not a field of a turn (did you mean text?)"
    assert "jane" not in said["jane.roe@example.com"]
    assert "not a turn's" in said["jane.roe@example.com"]
