"""The session state's encoding: round trips, versions, bounds, corruption."""

from __future__ import annotations

import dataclasses
import zlib
from decimal import Decimal

import orjson
import pytest

from gwstream.pipeline import Outcome, Reason, Session, Status
from gwstream.pipeline.session import SESSION_VERSION, Message, SessionDecodeError, stored_json


def test_a_session_round_trips_through_its_bytes() -> None:
    s = Session([Message("user", "hi", 1, "t-1"), Message("assistant", "hello", 1, "t-1")])
    s.remember("t-1", Outcome(Status.OK, text="hello").to_dict(), keep=4)
    s.last_position, s.turns = 41, 1
    back = Session.decode(s.encode())
    assert back == s
    assert Outcome.from_dict(back.results["t-1"]) == Outcome.from_dict(s.results["t-1"])


def test_no_bytes_is_a_new_session() -> None:
    assert Session.decode(None) == Session()


def test_fields_of_a_newer_version_are_kept_and_written_back() -> None:
    raw = orjson.dumps({"v": SESSION_VERSION + 1, "history": [], "variant": {"id": 7}})
    s = Session.decode(raw)
    assert orjson.loads(stored_json(s.encode()))["variant"] == {"id": 7}


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"v": 1, "history": [[1]]}'])
def test_unreadable_bytes_raise_a_session_decode_error(raw: bytes) -> None:
    with pytest.raises(SessionDecodeError):
        Session.decode(raw)


def test_an_outcome_survives_the_session_with_its_money_and_time_exact() -> None:
    out = Outcome.refused(Reason.CONTEXT_OVERFLOW).but(cost=Decimal("0.1"))
    assert Outcome.from_dict(orjson.loads(orjson.dumps(out.to_dict()))) == out


def _exchange(s: Session, n: int, answer: str, keep: int = 8, max_messages: int = 20) -> None:
    s.add_exchange(
        Message("user", f"q{n}", 2, f"t-{n}"),
        Message("assistant", answer, 3, f"t-{n}"),
        max_messages,
    )
    s.remember(f"t-{n}", Outcome(Status.OK, text=answer).to_dict(), keep)


def test_an_answer_in_the_history_is_stored_once_and_recalled_whole() -> None:
    s = Session()
    _exchange(s, 0, "a long answer " * 20)
    assert "text" not in s.results["t-0"]
    assert s.recall("t-0")["text"] == "a long answer " * 20  # type: ignore[index]
    assert Session.decode(s.encode()).recall("t-0") == s.recall("t-0")


def test_an_answer_dropped_from_the_history_stays_with_its_stored_outcome() -> None:
    s = Session()
    for n in range(4):
        _exchange(s, n, f"answer {n}", keep=8, max_messages=2)
    assert [m.turn_id for m in s.history] == ["t-3", "t-3"]
    assert [s.recall(f"t-{n}")["text"] for n in range(4)] == [  # type: ignore[index]
        f"answer {n}" for n in range(4)
    ]


def test_a_stored_session_is_compressed_and_plain_json_still_reads() -> None:
    s = Session()
    for n in range(6):
        _exchange(s, n, "Your order left the warehouse yesterday and arrives Friday.")
    raw = s.encode()
    assert raw[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    plain = stored_json(raw)
    assert len(raw) < len(plain) / 2
    assert Session.decode(plain) == s


def test_a_session_stored_by_an_earlier_version_with_zlib_still_reads() -> None:
    s = Session()
    _exchange(s, 0, "Your order left the warehouse yesterday.")
    earlier = zlib.compress(stored_json(s.encode()), 1)
    assert Session.decode(earlier) == s


def test_a_corrupt_zstd_frame_raises_a_session_decode_error() -> None:
    raw = Session().encode()
    with pytest.raises(SessionDecodeError):
        Session.decode(raw[:-3])


def test_the_history_never_starts_with_an_answer_whose_question_was_dropped() -> None:
    s = Session()
    for n in range(3):
        _exchange(s, n, f"answer {n}", max_messages=3)
    assert [m.role for m in s.history] == ["user", "assistant"]
    assert s.recall("t-1")["text"] == "answer 1"  # type: ignore[index]


def test_but_copies_every_field_but_the_changed_ones_and_names_an_unknown_one() -> None:
    out = Outcome.refused(Reason.CONTEXT_OVERFLOW, text="no", attempts=2)
    changed = out.but(cost=Decimal("0.1"), replayed=True)
    assert changed == dataclasses.replace(out, cost=Decimal("0.1"), replayed=True)
    assert out.cost == 0 and not out.replayed  # the original is untouched
    with pytest.raises(TypeError, match="no field 'costs'"):
        out.but(costs=Decimal(1))
