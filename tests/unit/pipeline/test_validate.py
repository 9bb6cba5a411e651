"""Input validation: the decoder and the published JSON Schema agree on every input,
every kind of poison is named, and a dead letter's detail never quotes the record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from gwstream.errors import PoisonRecord
from gwstream.events import MAX_SEQ, TurnEvent
from gwstream.pipeline.validate import decode_turn
from gwstream.runtime import InRecord

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "topics" / "gw.turns.v1.schema.json"
SCHEMA = Draft202012Validator(
    json.loads(SCHEMA_FILE.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER
)

TURN: dict[str, Any] = {
    "turn_id": "t-1",
    "tenant_id": "acme",
    "session_id": "s1",
    "seq": 0,
    "occurred_at": "2026-11-20T08:00:00+00:00",
    "text": "my card 4111 1111 1111 1111 was stolen",
}
EMAIL = "john.doe@example.com"


def _rec(value: bytes, key: bytes | None = b"acme:s1") -> InRecord:
    return InRecord("gw.turns.v1", 0, 5, key, value, (), 0)


def _turn(**changes: Any) -> bytes:
    return orjson.dumps({**TURN, **changes})


def _without(field: str) -> bytes:
    return orjson.dumps({k: v for k, v in TURN.items() if k != field})


def _with_raw(field: str, json_text: str) -> bytes:
    """The turn with ``field`` written as ``json_text`` verbatim (``3e0``, ``NaN``, ...)."""
    return _turn(**{field: "\x00"}).replace(b'"\\u0000"', json_text.encode())


def _key_of(value: bytes) -> bytes:
    """The key a publisher would give ``value``, so key_mismatch never decides a case."""
    try:
        obj = orjson.loads(value)
        return f"{obj['tenant_id']}:{obj['session_id']}".encode()
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return b"acme:s1"


def _schema_accepts(value: bytes) -> bool:
    try:
        return SCHEMA.is_valid(orjson.loads(value))
    except orjson.JSONDecodeError:
        return False


def _decoder_accepts(value: bytes) -> bool:
    try:
        decode_turn(_rec(value, _key_of(value)))
    except PoisonRecord:
        return False
    return True


_FULL = {
    "channel": "voice",
    "language": "en-GB",
    "gateway": "openai-eu",
    "model": "gpt-4o",
    "metadata": {"queue": "billing"},
}
_ID128 = "a._-Z9" * 21 + "xx"

AGREEMENT = [
    # valid
    pytest.param(_turn(), True, id="a typical turn"),
    pytest.param(_turn(**_FULL), True, id="every optional field"),
    pytest.param(_turn(language=None, gateway=None, model=None), True, id="optional fields null"),
    pytest.param(_turn(seq=MAX_SEQ), True, id="seq at its maximum"),
    pytest.param(_turn(seq=3.0), True, id="seq 3.0 is a JSON integer"),
    pytest.param(_with_raw("seq", "3e0"), True, id="seq 3e0 is a JSON integer"),
    pytest.param(_with_raw("seq", "-0.0"), True, id="seq -0.0 is zero"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00Z"), True, id="time in Z"),
    pytest.param(_turn(occurred_at="2026-11-20t08:00:00z"), True, id="time with lower t and z"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00.123456789Z"), True, id="nanoseconds"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00-05:30"), True, id="negative offset"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00-00:00"), True, id="unknown offset"),
    pytest.param(_turn(occurred_at="2024-02-29T08:00:00Z"), True, id="a leap day"),
    pytest.param(_turn(text="\U0001f600" * 32_000), True, id="text of 32000 code points"),
    pytest.param(_turn(text="line 1\nline 2"), True, id="text with a newline"),
    pytest.param(_turn(metadata={f"k{i}": "v" for i in range(32)}), True, id="32 metadata"),
    pytest.param(_turn(turn_id=_ID128), True, id="an id of 128 characters"),
    pytest.param(_turn(channel="sms"), True, id="channel sms"),
    # seq
    pytest.param(_turn(seq="3"), False, id="seq as a string"),
    pytest.param(_turn(seq=True), False, id="seq true"),
    pytest.param(_turn(seq=False), False, id="seq false"),
    pytest.param(_turn(seq=3.5), False, id="seq with a fraction"),
    pytest.param(_turn(seq=-1), False, id="seq negative"),
    pytest.param(_turn(seq=MAX_SEQ + 1), False, id="seq past its maximum"),
    pytest.param(_turn(seq=1e300), False, id="seq a huge float"),
    pytest.param(_with_raw("seq", "18446744073709551616"), False, id="seq past 64 bits"),
    pytest.param(_with_raw("seq", "NaN"), False, id="seq NaN"),
    pytest.param(_turn(seq=None), False, id="seq null"),
    pytest.param(_turn(seq=[1]), False, id="seq a list"),
    pytest.param(_without("seq"), False, id="seq missing"),
    # occurred_at
    pytest.param(_turn(occurred_at=1764583200), False, id="time as a number"),
    pytest.param(_turn(occurred_at="2026-11-20 08:00:00Z"), False, id="time with a space"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00Z"), False, id="time without seconds"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00"), False, id="time without offset"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00+0000"), False, id="offset no colon"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00+00"), False, id="offset in hours"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00,5Z"), False, id="decimal comma"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00Z\n"), False, id="time then newline"),
    pytest.param(_turn(occurred_at="2026-12-31T23:59:60Z"), False, id="a leap second"),
    pytest.param(_turn(occurred_at="2026-02-29T08:00:00Z"), False, id="no such leap day"),
    pytest.param(_turn(occurred_at="2026-04-31T08:00:00Z"), False, id="April 31st"),
    pytest.param(_turn(occurred_at="0000-01-01T00:00:00Z"), False, id="year zero"),
    pytest.param(_turn(occurred_at="2026-11-20T24:00:00Z"), False, id="hour 24"),
    pytest.param(_turn(occurred_at="2026-11-20T08:00:00+24:00"), False, id="offset 24 hours"),
    pytest.param(_turn(occurred_at="20261120T080000Z"), False, id="ISO basic format"),
    pytest.param(_turn(occurred_at="2026-11-20"), False, id="a date alone"),
    pytest.param(_turn(occurred_at="\uff12026-11-20T08:00:00Z"), False, id="a fullwidth digit"),
    pytest.param(_turn(occurred_at=None), False, id="time null"),
    # ids
    pytest.param(_turn(tenant_id="a b"), False, id="id with a space"),
    pytest.param(_turn(session_id="s1\n"), False, id="id then newline"),
    pytest.param(_turn(turn_id=""), False, id="empty id"),
    pytest.param(_turn(turn_id=_ID128 + "x"), False, id="id of 129 characters"),
    pytest.param(_turn(tenant_id="café"), False, id="id not ASCII"),
    pytest.param(_turn(turn_id="\u0663"), False, id="id an Arabic-Indic digit"),
    pytest.param(_turn(tenant_id=None), False, id="id null"),
    pytest.param(_turn(turn_id=7), False, id="id a number"),
    # text
    pytest.param(_turn(text=""), False, id="empty text"),
    pytest.param(_turn(text="\U0001f600" * 32_001), False, id="text of 32001 code points"),
    pytest.param(_turn(text=None), False, id="text null"),
    pytest.param(_turn(text=42), False, id="text a number"),
    # metadata
    pytest.param(_turn(metadata={f"k{i}": "v" for i in range(33)}), False, id="33 metadata"),
    pytest.param(_turn(metadata={"queue": 7}), False, id="metadata value a number"),
    pytest.param(_turn(metadata={"queue": None}), False, id="metadata value null"),
    pytest.param(_turn(metadata=["queue"]), False, id="metadata a list"),
    pytest.param(_turn(metadata=None), False, id="metadata null"),
    # channel, language, gateway, model
    pytest.param(_turn(channel="fax"), False, id="unknown channel"),
    pytest.param(_turn(channel="Chat"), False, id="channel in another case"),
    pytest.param(_turn(channel=None), False, id="channel null"),
    pytest.param(_turn(language="x" * 17), False, id="language of 17 characters"),
    pytest.param(_turn(language=1), False, id="language a number"),
    pytest.param(_turn(gateway="g" * 65), False, id="gateway of 65 characters"),
    pytest.param(_turn(model="m" * 129), False, id="model of 129 characters"),
    pytest.param(_turn(model=True), False, id="model a boolean"),
    # the document
    pytest.param(_turn(extra=1), False, id="an unknown field"),
    pytest.param(_turn(extra=None), False, id="an unknown field null"),
    pytest.param(_with_raw("seq", '"x", "seq": 1'), True, id="a repeated key: the last wins"),
    pytest.param(orjson.dumps([TURN]), False, id="an array"),
    pytest.param(orjson.dumps("turn"), False, id="a string"),
    pytest.param(b"42", False, id="a number"),
    pytest.param(b"null", False, id="null"),
]


def test_the_schema_validator_checks_date_time_formats() -> None:
    assert "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers


@pytest.mark.parametrize(("value", "valid"), AGREEMENT)
def test_the_decoder_accepts_exactly_what_the_published_schema_accepts(
    value: bytes, valid: bool
) -> None:
    assert (_decoder_accepts(value), _schema_accepts(value)) == (valid, valid)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_turn(seq="3"), id="seq as a string"),
        pytest.param(_turn(seq=True), id="seq true"),
        pytest.param(_turn(occurred_at=1764583200), id="time as a number"),
    ],
)
def test_values_pydantic_would_coerce_are_invalid_schema(value: bytes) -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(value))
    assert info.value.reason == "invalid_schema"


@pytest.mark.parametrize(("levels", "ok"), [(200, True), (201, False)])
def test_a_turn_nested_more_than_200_levels_deep_is_not_json(levels: int, ok: bool) -> None:
    # The turn's object is one level, response_schema's the second (README, schema).
    schema = '{"a":' * (levels - 1) + "1" + "}" * (levels - 1)
    value = _with_raw("response_schema", schema)
    if ok:
        assert decode_turn(_rec(value)).response_schema is not None
    else:
        with pytest.raises(PoisonRecord) as info:
            decode_turn(_rec(value))
        assert info.value.reason == "not_json"
        assert "nested deeper than 200 levels" in info.value.detail


def test_a_valid_turn_decodes() -> None:
    turn = decode_turn(_rec(_turn()))
    assert turn.key == "acme:s1"
    assert turn.seq == 0
    assert turn.occurred_at == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_an_integral_number_seq_decodes_as_an_int() -> None:
    seq = decode_turn(_rec(_turn(seq=3.0))).seq
    assert (seq, type(seq)) == (3, int)


@pytest.mark.parametrize(
    "occurred_at",
    [
        datetime(2026, 11, 20, 8, tzinfo=UTC),
        datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_a_turn_built_in_python_round_trips_through_decode(occurred_at: datetime) -> None:
    turn = TurnEvent(
        turn_id="t-1",
        tenant_id="acme",
        session_id="s1",
        seq=3,
        occurred_at=occurred_at,
        text="hello",
        metadata={"queue": "billing"},
    )
    assert decode_turn(_rec(turn.to_json())) == turn


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        (b"\xff\xfe{}", b"acme:s1", "bad_utf8"),
        (b"{not json", b"acme:s1", "not_json"),
        (b"", b"acme:s1", "not_json"),
        (_with_raw("seq", "NaN"), b"acme:s1", "not_json"),
        (_turn(seq=-1), b"acme:s1", "invalid_schema"),
        (orjson.dumps([1, 2]), b"acme:s1", "invalid_schema"),
        (_turn(), b"acme:other", "key_mismatch"),
        (_turn(), None, "key_mismatch"),
    ],
)
def test_poison_is_classified(value: bytes, key: bytes | None, reason: str) -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(value, key))
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        (b"acme:other", "the record key's session_id differs from the payload's"),
        (b"umbrella:s1", "the record key's tenant_id differs from the payload's"),
        (b"umbrella:other", "the record key's tenant_id and session_id differ"),
        (b"acme-s1", "the record key is not tenant_id:session_id (it holds no ':')"),
    ],
)
def test_a_key_mismatch_says_which_part_differs(key: bytes, detail: str) -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(_turn(), key))
    assert info.value.reason == "key_mismatch"
    assert info.value.detail.startswith(detail), info.value.detail


@pytest.mark.parametrize(
    ("value", "key"),
    [
        pytest.param(_turn(), f"{EMAIL}:s1".encode(), id="key"),
        pytest.param(_turn(seq="4111 1111 1111 1111"), b"acme:s1", id="seq value"),
        pytest.param(_turn(**{EMAIL: 1}), b"acme:s1", id="unknown field name"),
        pytest.param(_turn(metadata={EMAIL: 7}), b"acme:s1", id="metadata key"),
        pytest.param(
            _turn(metadata={f"{EMAIL}{i}": "v" for i in range(40)}), b"acme:s1", id="metadata keys"
        ),
        pytest.param(_turn(tenant_id=EMAIL), f"{EMAIL}:s1".encode(), id="id value"),
        pytest.param(_turn(text=EMAIL * 2000), b"acme:s1", id="text value"),
        pytest.param(_turn(occurred_at=EMAIL), b"acme:s1", id="time value"),
        pytest.param(_turn(channel=EMAIL), b"acme:s1", id="channel value"),
        pytest.param(f'{{"text": "{EMAIL}"'.encode(), b"acme:s1", id="broken JSON"),
    ],
)
def test_dead_letter_details_never_quote_the_key_or_the_payload(value: bytes, key: bytes) -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(value, key))
    for secret in ("john", "example.com", "4111"):
        assert secret not in str(info.value)


def test_details_name_the_offending_field() -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(_turn(seq="4111 1111 1111 1111")))
    assert info.value.detail == "seq: Input should be an integer"


def test_details_show_five_errors_and_count_the_rest() -> None:
    with pytest.raises(PoisonRecord) as info:
        decode_turn(_rec(b"{}"))
    assert info.value.detail.count("Field required") == 5
    assert info.value.detail.endswith("; and 1 more")


def test_a_tombstone_and_an_empty_value_are_told_apart() -> None:
    details = []
    for value in (None, b""):
        with pytest.raises(PoisonRecord) as info:
            decode_turn(InRecord("gw.turns.v1", 0, 5, b"acme:s1", value, (), 0))
        assert info.value.reason == "not_json"
        details.append(info.value.detail)
    assert details == [
        "the record's value is a tombstone (null)",
        "the record's value is empty",
    ]
