"""What gwstream remembers of a conversation: the session state, versioned.

The runtime stores a session as opaque bytes per key and writes every change
to the changelog (``gw.sessions.v1``); this module owns what the bytes mean.
The encoding is JSON (orjson) with a version number ``v``, compressed with
zstd at level 1 (sessions repeat field names and values turn after turn, and
live sessions are what the processor's memory and a restore are made of;
zstd compresses them a little smaller than zlib did, in a quarter of its
CPU, which mattered since every turn writes its session). A reader keeps
fields it does not know and writes them back, so a rolling upgrade never
loses what a newer version added; older versions are migrated on read.
Sessions written by earlier versions (zlib) and uncompressed JSON are read
too; the form is told by the first bytes.

A session holds the recent conversation (user and assistant messages with
their token counts, bounded by the conversation stage), the outcomes of its
recent turns by turn id (so a replayed or republished turn is answered from
state, never from the gateway again), the last input position applied, and
the token budget's window and charge, and the PII placeholders (keyed
hashes, never values), and the prompt version of each of its use cases.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import zstandard

from gwstream.errors import GwstreamError

SESSION_VERSION = 1

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Codec(threading.local):
    """A zstd compressor and decompressor per thread (neither may be shared between
    threads), made once: setting up a context costs more than compressing a session."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=1)
        self.decompressor = zstandard.ZstdDecompressor()


_codec = _Codec()


def stored_json(raw: bytes) -> bytes:
    """The JSON of a stored session, whichever form it was stored in."""
    if raw[:1] == b"{":
        return raw
    if raw[:4] == _ZSTD_MAGIC:
        return _codec.decompressor.decompress(raw)
    return zlib.decompress(raw)  # written before 2026-12-07


#: A stored outcome whose text is the assistant message of its turn in the history.
_TEXT_IN_HISTORY = "text_in_history"


class SessionDecodeError(GwstreamError):
    """Stored session bytes that cannot be read (corrupt, or not a session)."""


@dataclass(slots=True)
class Message:
    """One message of the history, with its tokens counted once when it was added."""

    role: str
    content: str
    tokens: int
    turn_id: str


@dataclass(slots=True)
class Session:
    """One conversation's state; the stages change it in place."""

    history: list[Message] = field(default_factory=list)
    #: turn id -> the stored outcome (a JSON dict; see Outcome.from_dict), oldest first.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The position of the last input record applied (set by the handler, not by stages).
    last_position: int | None = None
    turns: int = 0
    #: The session token budget: [window start (Unix seconds; 0 for the conversation),
    #: tokens charged in it]; None until the first charge.
    budget: list[int] | None = None
    #: The session's PII placeholders: a random key and keyed hashes of the values
    #: replaced, so the same value keeps its placeholder (see gwstream.guardrails.redact).
    placeholders: dict[str, Any] | None = None
    #: The prompt version each use case of the session got (use case -> version id),
    #: chosen once so that a conversation keeps its variant.
    variants: dict[str, str] | None = None
    #: Fields written by a newer version, kept and written back untouched.
    extra: dict[str, Any] = field(default_factory=dict)

    def remember(self, turn_id: str, result: dict[str, Any], keep: int) -> None:
        """Store a turn's outcome (a JSON dict), dropping the oldest beyond ``keep``.

        An answer's text that is also the turn's assistant message in the
        history is stored once, in the history.
        """
        text = result.get("text")
        last = self.history[-1] if self.history else None
        if (
            text is not None
            and last is not None
            and last.turn_id == turn_id
            and last.role == "assistant"
            and last.content == text
        ):
            result = {k: v for k, v in result.items() if k != "text"}
            result[_TEXT_IN_HISTORY] = True
        results = self.results
        results.pop(turn_id, None)
        results[turn_id] = result
        while len(results) > keep:
            del results[next(iter(results))]

    def recall(self, turn_id: str) -> dict[str, Any] | None:
        """The stored outcome of ``turn_id`` (text included), or None."""
        result = self.results.get(turn_id)
        if result is None or not result.get(_TEXT_IN_HISTORY):
            return result
        text = next(
            (
                m.content
                for m in reversed(self.history)
                if m.turn_id == turn_id and m.role == "assistant"
            ),
            None,  # cannot happen: add_exchange hands the text back before dropping it
        )
        return {**{k: v for k, v in result.items() if k != _TEXT_IN_HISTORY}, "text": text}

    def add_exchange(self, user: Message, assistant: Message, max_messages: int) -> None:
        """Append a turn and its answer; drop the oldest messages beyond ``max_messages``."""
        self.history.append(user)
        self.history.append(assistant)
        excess = len(self.history) - max_messages
        if 0 < excess < len(self.history) and self.history[excess].role == "assistant":
            excess += 1  # never start the history with an answer whose question is gone
        if excess > 0:
            for m in self.history[:excess]:
                result = self.results.get(m.turn_id)
                if m.role == "assistant" and result is not None and result.get(_TEXT_IN_HISTORY):
                    del result[_TEXT_IN_HISTORY]
                    result["text"] = m.content  # the outcome keeps its text
            del self.history[:excess]

    def encode(self) -> bytes:
        doc: dict[str, Any] = dict(self.extra)
        doc.update(
            v=SESSION_VERSION,
            history=[[m.role, m.content, m.tokens, m.turn_id] for m in self.history],
            results=self.results,
            last_position=self.last_position,
            turns=self.turns,
        )
        if self.budget is not None:
            doc["budget"] = self.budget
        if self.placeholders is not None:
            doc["placeholders"] = self.placeholders
        if self.variants is not None:
            doc["variants"] = self.variants
        return _codec.compressor.compress(orjson.dumps(doc))

    @classmethod
    def decode(cls, raw: bytes | None) -> Session:
        """The session stored as ``raw``; a new one for None."""
        if raw is None:
            return cls()
        try:
            doc = orjson.loads(stored_json(raw))
            if not isinstance(doc, dict):
                raise TypeError("not an object")
            version = doc.pop("v", 0)
            if not isinstance(version, int):
                raise TypeError("no version")
            history = [Message(r, c, int(t), tid) for r, c, t, tid in doc.pop("history", ())]
            results = doc.pop("results", {})
            if not isinstance(results, dict):
                raise TypeError("results is not an object")
            last_position = doc.pop("last_position", None)
            turns = int(doc.pop("turns", 0))
            budget = doc.pop("budget", None)
            if budget is not None:
                start, used = budget
                budget = [int(start), int(used)]
            placeholders = doc.pop("placeholders", None)
            if placeholders is not None and not isinstance(placeholders, dict):
                raise TypeError("placeholders is not an object")
            variants = doc.pop("variants", None)
            if variants is not None and not (
                isinstance(variants, dict) and all(isinstance(v, str) for v in variants.values())
            ):
                raise TypeError("variants is not an object of strings")
        except (
            orjson.JSONDecodeError,
            zlib.error,
            zstandard.ZstdError,
            TypeError,
            ValueError,
        ) as exc:
            raise SessionDecodeError(f"stored session state is unreadable: {exc}") from None
        return cls(history, results, last_position, turns, budget, placeholders, variants, doc)
