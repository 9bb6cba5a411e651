"""Redaction: PII replaced by typed placeholders that stay the same within a session.

``[EMAIL_1]``, ``[CARD_1]``, ``[PHONE_2]``: the same value gets the same
placeholder for the whole session, so "is [CARD_1] blocked?" still makes
sense three turns later. A session remembers which placeholder a value got
without keeping the value: by a keyed hash (BLAKE2b with a random key of
the session's own), so its state, written to the changelog, holds no raw
PII.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from gwstream.guardrails.pii import EMAIL, IPV4, IPV6, Entity

#: Most values a session keeps placeholders for; later ones get new numbers.
MAX_REMEMBERED = 256


def _canonical(kind: str, value: str) -> str:
    """The value as compared: case and separators do not make a new one."""
    if kind in (EMAIL, IPV4, IPV6):
        return value.strip().lower()
    return "".join(c for c in value.upper() if c.isalnum() or c == "+")


@dataclass(slots=True)
class Placeholders:
    """A session's placeholder numbering: keyed hashes of values -> placeholders."""

    key: bytes = field(default_factory=lambda: os.urandom(16))
    known: dict[str, str] = field(default_factory=dict)

    def label(self, kind: str, value: str) -> str:
        digest = hashlib.blake2b(
            f"{kind}\0{_canonical(kind, value)}".encode(), key=self.key, digest_size=10
        ).hexdigest()
        label = self.known.get(digest)
        if label is None:
            n = 1 + sum(1 for v in self.known.values() if v.startswith(f"[{kind}_"))
            label = f"[{kind}_{n}]"
            if len(self.known) < MAX_REMEMBERED:
                self.known[digest] = label
        return label

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key.hex(), "known": self.known}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Placeholders:
        known = d.get("known")
        return cls(bytes.fromhex(str(d["key"])), dict(known) if isinstance(known, dict) else {})


def redact(text: str, entities: Sequence[Entity], placeholders: Placeholders) -> str:
    """``text`` with each entity (sorted, not overlapping) replaced by its placeholder."""
    if not entities:
        return text
    out: list[str] = []
    last = 0
    for e in entities:
        out.append(text[last : e.start])
        out.append(placeholders.label(e.type, text[e.start : e.end]))
        last = e.end
    out.append(text[last:])
    return "".join(out)


def scrub_bytes(value: bytes, types: Sequence[str] | None = None) -> bytes:
    """``value`` (a record's bytes, maybe not even UTF-8) with every PII value found in it
    replaced by a placeholder; the same bytes when there is none."""
    from gwstream.guardrails.pii import TYPES, find_pii

    text = value.decode("utf-8", "surrogateescape")
    entities = find_pii(text, types if types is not None else TYPES)
    if not entities:
        return value
    return redact(text, entities, Placeholders()).encode("utf-8", "surrogateescape")
