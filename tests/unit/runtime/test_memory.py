"""tune_gc: the young threshold set, start-up objects frozen, cyclic garbage still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gwstream.runtime.memory import tune_gc


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_young_threshold_is_set_and_what_exists_is_frozen() -> None:
    _, older, oldest = gc.get_threshold()
    kept = [Node() for _ in range(10)]
    tune_gc(12_345)
    assert gc.get_threshold() == (12_345, older, oldest)
    assert gc.get_freeze_count() >= len(kept)


def test_zero_keeps_the_thresholds() -> None:
    before = gc.get_threshold()
    tune_gc(0)
    assert gc.get_threshold() == before


def test_cycles_made_after_the_freeze_are_still_collected() -> None:
    tune_gc(50_000)
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
