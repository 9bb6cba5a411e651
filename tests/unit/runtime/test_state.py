"""The state store's bookkeeping, by moving clocks."""

from __future__ import annotations

from gwstream.runtime import KeyState, StateStore


def test_a_key_state_records_whether_the_handler_changed_it() -> None:
    s = KeyState(b"old")
    assert not s.changed
    s.set(b"new")
    assert (s.value, s.changed) == (b"new", True)
    s.delete()
    assert (s.value, s.changed) == (None, True)


def test_changes_apply_in_order_and_a_tombstone_removes_the_key() -> None:
    store = StateStore()
    store.apply(b"k", b"1", at=10.0)
    store.apply(b"k", b"2", at=11.0)
    store.apply(b"j", b"x", at=11.0)
    store.apply(b"j", None, at=12.0)
    assert (store.get(b"k"), store.get(b"j"), len(store)) == (b"2", None, 1)
    assert store.changes_since_snapshot == 4


def test_keys_unchanged_for_longer_than_the_idle_limit_are_idle() -> None:
    store = StateStore()
    store.apply(b"old", b"1", at=100.0)
    store.apply(b"new", b"1", at=150.0)
    assert list(store.idle(now=170.0, max_idle_s=60.0)) == [b"old"]
    store.apply(b"old", b"2", at=165.0)  # touched again
    assert list(store.idle(now=170.0, max_idle_s=60.0)) == []


def test_a_snapshot_is_due_once_changes_outnumber_ratio_times_live_keys_and_the_minimum() -> None:
    store = StateStore()
    for i in range(100):
        store.apply(b"k%d" % i, b"v", at=0.0)
    assert not store.snapshot_due(min_changes=150, ratio=1.0)  # 100 changes
    for i in range(60):
        store.apply(b"k%d" % i, b"w", at=0.0)
    assert store.snapshot_due(min_changes=150, ratio=1.0)  # 160 changes, 100 keys
    assert not store.snapshot_due(min_changes=150, ratio=2.0)  # needs 200
