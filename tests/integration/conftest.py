"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.helpers import ProcessorProcess


@pytest.fixture
def processes() -> Iterator[list[ProcessorProcess]]:
    """`gwstream run` subprocesses started by a test; killed after it."""
    started: list[ProcessorProcess] = []
    yield started
    for p in started:
        p.close()
