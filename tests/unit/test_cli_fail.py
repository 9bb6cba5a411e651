"""A command's last error line says which supervised child wrote it."""

from __future__ import annotations

import logging

import pytest
import typer

from gwstream.cli.shared import _fail
from gwstream.errors import BrokerError
from gwstream.supervisor import CHILD_ENV


@pytest.mark.parametrize(("child", "prefix"), [(None, "error: "), ("1", "child 1 error: ")])
def test_the_error_line_names_the_child(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    child: str | None,
    prefix: str,
) -> None:
    # Text logs: no JSON handler left on the root logger by another test in this process.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    if child is None:
        monkeypatch.delenv(CHILD_ENV, raising=False)
    else:
        monkeypatch.setenv(CHILD_ENV, child)
    with pytest.raises(typer.Exit) as done:
        _fail(BrokerError("cannot reach Kafka at 'b:9092'"), 1)
    assert done.value.exit_code == 1
    assert capsys.readouterr().err.strip() == f"{prefix}cannot reach Kafka at 'b:9092'"
