"""Webhook signatures: HMAC-SHA256 over a timestamp and the exact body.

Every request carries::

    X-Gwstream-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
    X-Gwstream-Event-Id: <event id>

The signed message is the decimal timestamp, a full stop, and the raw body
bytes as sent. A receiver recomputes the HMAC with the tenant's secret over
the body it received (before parsing it), compares in constant time, and
rejects timestamps outside its tolerance window (five minutes by default), so
a captured request cannot be replayed later. Each attempt is signed afresh,
so a retry an hour later still carries a current timestamp; the event id
stays the same across attempts and redeliveries, so receivers dedupe on it.

The header may hold several ``v1=`` entries (for a secret rotation); a
request is genuine when any one matches. Unknown schemes are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "sign",
    "signature_header",
    "verify",
]

SIGNATURE_HEADER = "X-Gwstream-Signature"
EVENT_ID_HEADER = "X-Gwstream-Event-Id"
EVENT_TYPE_HEADER = "X-Gwstream-Event-Type"
DEFAULT_TOLERANCE_S = 300.0

_MAX_HEADER_CHARS = 4_096


def sign(secret: bytes | str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret`` (a str secret,
    as configured, is its UTF-8 bytes)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes | str, timestamp: int, body: bytes) -> str:
    """The ``X-Gwstream-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: bytes | str,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether ``header`` is a genuine, current signature of ``body`` (the receiver's check).

    False when the header is missing or malformed, its timestamp is more than
    ``tolerance_s`` from ``now`` (either way; default: the clock's time now),
    or no ``v1`` entry matches. ``secret`` as configured (a str is taken as its
    UTF-8 bytes) or as bytes.
    """
    if now is None:
        now = time.time()
    if not header or len(header) > _MAX_HEADER_CHARS:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                return False
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if not math.isfinite(now) or abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    # Check every candidate: which one matched must not show in the timing.
    matched = False
    for candidate in candidates:
        if candidate.isascii():  # compare_digest refuses other strings
            matched |= hmac.compare_digest(expected, candidate)
    return matched
