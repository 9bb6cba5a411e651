"""Redaction: PII replaced by typed placeholders that stay the same within a session.

``[EMAIL_1]``, ``[CARD_1]``, ``[PHONE_2]``: the same value gets the same
placeholder for the whole session, so "is [CARD_1] blocked?" still makes
sense three turns later. A session remembers which placeholder a value got
without keeping the value: by a keyed hash (BLAKE2b). The key is derived
from a random salt of the session's own and a secret that never leaves the
process (``state.pii_key_env`` or ``state.pii_key_file``; without one, a
random secret per process start), so the session's state, written to the
changelog, holds neither raw PII nor what would test a guess against its
hashes.
"""

from __future__ import annotations

import hashlib
import os
import re
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


class PlaceholderKeys:
    """Derives each session's hashing key from its salt and a secret kept out of any state.

    ``secret`` None: a random one, so placeholders are stable within this
    process only (a value seen again after a restart or a rebalance gets a
    new number; numbers already given are never reused).
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = hashlib.blake2b(secret if secret is not None else os.urandom(32)).digest()

    def key(self, salt: bytes) -> bytes:
        return hashlib.blake2b(salt, key=self._secret, digest_size=16).digest()


#: The keys of a process without a configured secret.
PROCESS_KEYS = PlaceholderKeys()


@dataclass(slots=True)
class Placeholders:
    """A session's placeholder numbering: keyed hashes of values -> placeholders."""

    salt: bytes = field(default_factory=lambda: os.urandom(16))
    known: dict[str, str] = field(default_factory=dict)
    keys: PlaceholderKeys = PROCESS_KEYS
    _key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._key = self.keys.key(self.salt)

    def label(self, kind: str, value: str) -> str:
        digest = hashlib.blake2b(
            f"{kind}\0{_canonical(kind, value)}".encode(), key=self._key, digest_size=10
        ).hexdigest()
        label = self.known.get(digest)
        if label is None:
            n = 1 + sum(1 for v in self.known.values() if v.startswith(f"[{kind}_"))
            label = f"[{kind}_{n}]"
            if len(self.known) < MAX_REMEMBERED:
                self.known[digest] = label
        return label

    def to_dict(self) -> dict[str, object]:
        """What the session stores: the salt and the hashes, never the key."""
        return {"salt": self.salt.hex(), "known": self.known}

    @classmethod
    def from_dict(cls, d: dict[str, object], keys: PlaceholderKeys = PROCESS_KEYS) -> Placeholders:
        known = d.get("known")
        known = dict(known) if isinstance(known, dict) else {}
        try:
            salt = bytes.fromhex(str(d["salt"]))
        except (KeyError, ValueError):
            # Stored before salts (with its key, which is dropped): a new salt; the numbers
            # already given stay taken, so a value seen again gets a new one.
            return cls(known=known, keys=keys)
        return cls(salt, known, keys)


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


def scrub_name(name: str) -> str:
    """A name a publisher chose and nothing confirmed (a model or gateway no route knows),
    with any PII in it replaced: such names reach the events and the reports."""
    from gwstream.guardrails.pii import find_pii

    found = find_pii(name)
    return redact(name, found, Placeholders()) if found else name


def scrub_bytes(values: Sequence[bytes], types: Sequence[str] | None = None) -> list[bytes]:
    """``values`` (a record's parts: its value, key, header names and values; bytes that may
    not even be UTF-8) with every PII value found in them replaced by a placeholder, numbered
    across all of them (two cards in two parts are [CARD_1] and [CARD_2]); a part without PII
    is returned as it was.

    PII written with JSON escapes (``4111\\u00a01111...``, ``jane\\u0040example.com``) is
    found too, in the text as a JSON parser would read it, and its escaped form replaced.
    """
    from gwstream.guardrails.pii import TYPES, find_pii

    wanted = types if types is not None else TYPES
    placeholders = Placeholders()
    out = []
    for value in values:
        text = value.decode("utf-8", "surrogateescape")
        entities = find_pii(text, wanted)
        if "\\" in text:
            entities = _escaped_pii(text, entities, wanted)
        if entities:
            value = redact(text, entities, placeholders).encode("utf-8", "surrogateescape")
        out.append(value)
    return out


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_JSON_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescaped(text: str) -> tuple[str, list[int]]:
    """``text`` with its JSON escapes decoded, and where each of its characters starts in
    ``text`` (one more entry: ``len(text)``)."""
    pieces: list[str] = []
    starts: list[int] = []
    last = 0
    for m in _JSON_ESCAPE.finditer(text):
        pieces.append(text[last : m.start()])
        starts.extend(range(last, m.start()))
        code, simple = m.groups()
        pieces.append(chr(int(code, 16)) if code else _JSON_SIMPLE.get(simple, simple))
        starts.append(m.start())
        last = m.end()
    pieces.append(text[last:])
    starts.extend(range(last, len(text) + 1))
    return "".join(pieces), starts


def _escaped_pii(text: str, found: list[Entity], wanted: Sequence[str]) -> list[Entity]:
    """``found`` (the PII of ``text`` as it is) with the PII of its JSON-unescaped reading,
    as spans of ``text``; where two overlap, the longer."""
    from gwstream.guardrails.pii import find_pii

    decoded, starts = _unescaped(text)
    if len(decoded) == len(text):
        return found  # nothing was escaped
    more = [Entity(e.type, starts[e.start], starts[e.end]) for e in find_pii(decoded, wanted)]
    merged: list[Entity] = []
    for e in sorted([*found, *more], key=lambda e: (e.start, e.start - e.end)):
        if merged and e.start < merged[-1].end:
            if e.end - e.start > merged[-1].end - merged[-1].start:
                merged[-1] = e
            continue
        merged.append(e)
    return merged
