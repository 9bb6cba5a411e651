from __future__ import annotations

import random

import pytest

from gwstream.runtime.offsets import OffsetTracker, decode_done, encode_done


def test_nothing_fetched_means_nothing_to_commit() -> None:
    assert OffsetTracker().committable() is None


def test_commit_point_is_first_unfinished_record_not_max_done_plus_one() -> None:
    t = OffsetTracker()
    for o in range(10, 15):
        t.add(o)
    t.mark_done(12)
    t.mark_done(14)
    assert t.committable() == 10
    t.mark_done(10)
    assert t.committable() == 11
    t.mark_done(11)
    assert t.committable() == 13
    t.mark_done(13)
    assert t.committable() == 15
    assert len(t) == 0


def test_gaps_in_offsets_are_allowed() -> None:
    t = OffsetTracker()
    for o in (3, 7, 8):
        t.add(o)
    t.mark_done(3)
    assert t.committable() == 7
    t.mark_done(8)
    t.mark_done(7)
    assert t.committable() == 9


def test_offsets_must_increase() -> None:
    t = OffsetTracker()
    t.add(5)
    with pytest.raises(ValueError, match="must increase"):
        t.add(5)
    t.mark_done(5)
    with pytest.raises(ValueError, match="must increase"):
        t.add(4)
    t.add(6)


@pytest.mark.parametrize("seed", range(20))
def test_any_completion_order_commits_only_a_finished_prefix(seed: int) -> None:
    rng = random.Random(seed)
    t = OffsetTracker()
    offsets = list(range(100))
    for o in offsets:
        t.add(o)
    order = offsets[:]
    rng.shuffle(order)
    done: set[int] = set()
    for o in order:
        t.mark_done(o)
        done.add(o)
        c = t.committable()
        assert c is not None
        assert all(x in done for x in range(c)), "committed past an unfinished record"
        assert c == 100 or c not in done, "commit point lags a finished prefix"
    assert t.committable() == 100


# -- finished offsets in the commit metadata --------------------------------------------


def test_finished_offsets_above_the_commit_point_round_trip_through_the_metadata() -> None:
    done = {105, 106, 110, 1_900}
    meta = encode_done(100, done)
    assert meta.startswith("gw1:100:")
    assert decode_done(100, meta) == done


def test_the_tracker_reports_what_finished_above_its_commit_point() -> None:
    t = OffsetTracker()
    for o in range(10, 15):
        t.add(o)
    for o in (10, 12, 14):
        t.mark_done(o)
    assert (t.committable(), t.done_above()) == (11, {12, 14})


def test_metadata_too_large_keeps_the_lowest_offsets_and_stays_under_the_cap() -> None:

    done = set(random.Random(1).sample(range(1, 2_000_000), 50_000))
    meta = encode_done(0, done, max_chars=3_000)
    got = decode_done(0, meta)
    assert len(meta) <= 3_000 and got and got <= done
    assert max(got) < min(done - got)  # what was cut is above what was kept


def test_metadata_for_another_commit_point_or_unreadable_names_nothing() -> None:
    meta = encode_done(100, {101})
    assert decode_done(99, meta) == set()
    assert decode_done(100, "gw1:100:!!!") == set()
    assert decode_done(100, "") == set()
    assert encode_done(100, set()) == ""
