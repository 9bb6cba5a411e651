"""Exit codes of `gwstream run`: 2 for configuration or usage only, 1 for a runtime failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gwstream.broker import free_port
from gwstream.config import KafkaSettings

pytestmark = pytest.mark.integration


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    return subprocess.run(
        [sys.executable, "-m", "gwstream", "run"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_broker_nobody_runs_is_a_runtime_failure_exit_1() -> None:
    port = free_port()  # nothing listens there
    done = _run(GWSTREAM_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{port}")
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"cannot reach Kafka at '127.0.0.1:{port}'" in done.stderr


def test_a_security_protocol_the_broker_does_not_speak_is_named_in_the_error(
    kafka: KafkaSettings,
) -> None:
    done = _run(
        GWSTREAM_KAFKA__BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        GWSTREAM_KAFKA__SECURITY_PROTOCOL="SASL_PLAINTEXT",
        GWSTREAM_KAFKA__SASL_MECHANISM="PLAIN",
        GWSTREAM_KAFKA__SASL_USERNAME="user",
        GWSTREAM_KAFKA__SASL_PASSWORD="not-a-real-one",
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "that its listener speaks SASL_PLAINTEXT with PLAIN" in done.stderr
    assert "not-a-real-one" not in done.stderr


def test_a_bad_setting_is_a_configuration_error_exit_2() -> None:
    done = _run(
        GWSTREAM_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:9", GWSTREAM_RUNTIME__MAX_IN_FLIGHT="0"
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "runtime.max_in_flight" in done.stderr


def test_with_json_logs_even_the_last_error_is_a_json_line() -> None:
    import json

    port = free_port()
    done = _run(GWSTREAM_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", GWSTREAM_LOG_FORMAT="json")
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1]["level"] == "ERROR" and lines[-1]["exit_code"] == 1
    assert "cannot reach Kafka" in lines[-1]["message"]


def test_processes_out_of_range_is_a_usage_error_in_one_line() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GWSTREAM_")}
    done = subprocess.run(
        [sys.executable, "-m", "gwstream", "run", "--processes", "0"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --processes must be between 1 and 256, or auto, not 0"
