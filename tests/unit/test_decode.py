"""Input validation: every kind of poison is named, and the payload never leaks into the reason."""

from __future__ import annotations

import orjson
import pytest

from gwstream.app import decode_turn
from gwstream.errors import PoisonRecord
from gwstream.runtime import InRecord

TURN = {
    "turn_id": "t-1",
    "tenant_id": "acme",
    "session_id": "s1",
    "seq": 0,
    "occurred_at": "2026-11-20T08:00:00+00:00",
    "text": "my card 4111 1111 1111 1111 was stolen",
}


def _rec(value: bytes, key: bytes | None = b"acme:s1") -> InRecord:
    return InRecord("gw.turns.v1", 0, 5, key, value, (), 0)


def test_a_valid_turn_decodes() -> None:
    turn = decode_turn(_rec(orjson.dumps(TURN)))
    assert turn.key == "acme:s1"
    assert turn.seq == 0


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        (b"\xff\xfe{}", b"acme:s1", "bad_utf8"),
        (b"{not json", b"acme:s1", "not_json"),
        (orjson.dumps({**TURN, "seq": -1}), b"acme:s1", "invalid_schema"),
        (orjson.dumps([1, 2]), b"acme:s1", "invalid_schema"),
        (orjson.dumps(TURN), b"acme:other", "key_mismatch"),
    ],
)
def test_poison_is_classified(value: bytes, key: bytes, reason: str) -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(value, key))
    assert info.value.reason == reason


def test_reasons_never_echo_the_payload() -> None:
    bad = {**TURN, "seq": "4111 1111 1111 1111"}
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(orjson.dumps(bad)))
    assert "4111" not in str(info.value)
    assert "seq" in info.value.detail
