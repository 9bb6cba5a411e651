from __future__ import annotations

import hashlib
import hmac
import time

from gwstream.webhooks.signing import sign, signature_header, verify

SECRET = b"whsec-test-0123456789"
BODY = b'{"id":"e-1","type":"turn.completed"}'
NOW = 1_800_000_000


def test_a_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == expected
    assert signature_header(SECRET, NOW, BODY) == f"t=1800000000,v1={expected}"


def test_a_genuine_current_signature_verifies() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW + 299)
    assert verify(SECRET, header, BODY, now=NOW - 299)


def test_a_secret_as_configured_a_str_is_its_utf8_bytes() -> None:
    """Receivers hold the secret as the text they configured; either form verifies."""
    header = signature_header(SECRET, NOW, BODY)
    assert verify(SECRET.decode(), header, BODY, now=NOW)
    assert sign("s\u00e9cret", NOW, BODY) == sign("s\u00e9cret".encode(), NOW, BODY)
    assert not verify("another-secret", header, BODY, now=NOW)


def test_a_changed_body_or_another_secret_does_not_verify() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)
    assert not verify(b"another-secret", header, BODY, now=NOW)


def test_a_timestamp_outside_the_tolerance_does_not_verify() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY, now=NOW + 301)
    assert not verify(SECRET, header, BODY, now=NOW - 301)
    assert verify(SECRET, header, BODY, now=NOW + 1_000, tolerance_s=1_000)


def test_a_replayed_signature_with_a_new_timestamp_does_not_verify() -> None:
    old = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, f"t={NOW + 600},v1={old}", BODY, now=NOW + 600)


def test_any_matching_v1_entry_verifies_so_secrets_can_rotate() -> None:
    good = sign(SECRET, NOW, BODY)
    stale = sign(b"old-secret", NOW, BODY)
    assert verify(SECRET, f"t={NOW},v1={stale},v1={good}", BODY, now=NOW)
    assert verify(SECRET, f"t={NOW},v0=ignored,v1={good}", BODY, now=NOW)


def test_malformed_headers_do_not_verify() -> None:
    good = sign(SECRET, NOW, BODY)
    for header in [
        None,
        "",
        good,
        f"v1={good}",
        f"t={NOW}",
        f"t=abc,v1={good}",
        f"t=-{NOW},v1={good}",
        f"t={NOW},t={NOW},v1={good}",
        f"t={NOW},v1=é{good[1:]}",
        f"t=\uff11\uff18,v1={good}",  # full-width digits: isdigit() but not ASCII
        "t=1," + "v1=x," * 2_000,
    ]:
        assert not verify(SECRET, header, BODY, now=NOW), header


def test_verify_reads_the_clock_when_not_given_now() -> None:
    """As README shows it: verify(secret, header, body)."""
    fresh = signature_header(SECRET, int(time.time()), BODY)
    assert verify(SECRET, fresh, BODY)
    assert not verify(SECRET, signature_header(SECRET, NOW - 10_000_000, BODY), BODY)
