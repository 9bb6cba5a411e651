"""The placeholder numbering a session stores: stable, and useless to whoever reads the changelog;
and the dead-letter scrubber that uses it."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from gwstream.guardrails.pii import find_pii
from gwstream.guardrails.redact import PlaceholderKeys, Placeholders, redact, scrub_bytes

TEXT = "my ssn is 536-22-1234, mail jane@example.com"


def test_the_stored_form_has_the_salt_and_hashes_but_never_the_key() -> None:
    keys = PlaceholderKeys(b"a deployment secret of some length")
    p = Placeholders(keys=keys)
    assert redact(TEXT, find_pii(TEXT), p) == "my ssn is [SSN_1], mail [EMAIL_1]"
    stored = p.to_dict()
    assert set(stored) == {"salt", "known"}
    # What a reader of the changelog could try: hash a guess with anything stored.
    salt = bytes.fromhex(str(stored["salt"]))
    for key in (salt, hashlib.blake2b(salt, digest_size=16).digest()):
        guess = hashlib.blake2b(b"SSN\0536221234", key=key, digest_size=10).hexdigest()
        assert guess not in stored["known"]  # type: ignore[operator]


def test_the_same_secret_keeps_the_numbering_across_processes() -> None:
    p = Placeholders(keys=PlaceholderKeys(b"s" * 32))
    redact(TEXT, find_pii(TEXT), p)
    restored = Placeholders.from_dict(p.to_dict(), PlaceholderKeys(b"s" * 32))
    assert redact("jane@example.com", find_pii("jane@example.com"), restored) == "[EMAIL_1]"


def test_another_secret_gives_new_numbers_and_never_reuses_one() -> None:
    p = Placeholders(keys=PlaceholderKeys(b"s" * 32))
    redact(TEXT, find_pii(TEXT), p)
    restored = Placeholders.from_dict(p.to_dict(), PlaceholderKeys(b"t" * 32))
    assert redact("jane@example.com", find_pii("jane@example.com"), restored) == "[EMAIL_2]"


def test_a_session_stored_with_its_key_is_read_and_its_key_dropped() -> None:
    old = {"key": "00" * 16, "known": {"ab" * 10: "[CARD_1]"}}
    p = Placeholders.from_dict(old)
    assert "key" not in p.to_dict()
    assert redact("4111 1111 1111 1111", find_pii("4111 1111 1111 1111"), p) == "[CARD_2]"


@pytest.mark.parametrize(
    ("raw", "scrubbed"),
    [
        (rb'{"t":"card 4111\u00a01111\u00a01111\u00a01111"}', b'{"t":"card [CARD_1]"}'),
        (rb'{"t":"mail jane.roe\u0040example.com"}', b'{"t":"mail [EMAIL_1]"}'),
        # found both as it is and as a parser reads it: replaced once
        (rb'{"t":"jane@example.com \ud83d\ude00"}', rb'{"t":"[EMAIL_1] \ud83d\ude00"}'),
        # an escaped backslash does not start a JSON escape, but the text it leaves,
        # "jane\u0040example.com", is an address with its "@" escaped: replaced as well
        (rb'{"t":"jane\\u0040example.com"}', rb'{"t":"[EMAIL_1]"}'),
        (b"\xffnot json \\n 4111 1111 1111 1111", b"\xffnot json \\n [CARD_1]"),
    ],
)
def test_scrubbing_finds_pii_written_with_json_escapes(raw: bytes, scrubbed: bytes) -> None:
    assert scrub_bytes([raw]) == [scrubbed]
    if scrubbed.startswith(b"{"):
        assert orjson.loads(scrubbed)  # still JSON
