"""A signal while the command line is still importing ends the process quietly."""

from __future__ import annotations

import signal

import pytest

from gwstream.entry import _before_start


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_an_early_signal_exits_with_its_code_and_no_traceback(sig: int, code: int) -> None:
    with pytest.raises(SystemExit) as done:
        _before_start(sig, None)
    assert done.value.code == code
