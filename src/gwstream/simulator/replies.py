"""What the simulator says: request validation and deterministic assistant replies.

Pure functions over decoded JSON, so the contract is testable without a server.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import tiktoken

from gwstream.tokens import TokenCounter

__all__ = [
    "REPLY_TEMPLATES",
    "ReplyBook",
    "RequestProblem",
    "check_bool",
    "check_int",
    "check_number",
    "check_string",
    "pick_reply_index",
    "validate_chat_request",
    "validate_messages",
]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})

REPLY_TEMPLATES: tuple[str, ...] = (
    "Thanks for reaching out. I can see your order in our system; it left our warehouse "
    "yesterday and should arrive within two business days. Is there anything else I can "
    "help you with today?",
    "I'm sorry to hear about the double charge. I've flagged the duplicate transaction for "
    "a refund, which usually appears on your statement within three to five business days.",
    "I can help you reset your password. I've sent a secure reset link to the email address "
    "on file; it expires in 30 minutes. Let me know if it doesn't arrive.",
    "Your current plan includes unlimited calls and 20 GB of data per month. Upgrading to "
    "the premium plan would add international roaming for an extra 10 dollars a month.",
    "I understand how frustrating that must be. Let me connect you with a specialist from "
    "our technical team who can look into the connection issue in more detail.",
    "I've updated the delivery address on your account. Future orders will ship to the new "
    "address, and I've sent a confirmation to your email.",
    "Your appointment is confirmed for Tuesday at 10:30 AM. You'll receive a reminder text "
    "the day before. Would you like me to add any notes for the technician?",
    "To cancel your subscription, I just need to confirm the last four digits of the card on "
    "file. Once confirmed, the cancellation takes effect at the end of this billing period.",
)


@dataclass(frozen=True, slots=True)
class RequestProblem:
    """Why a chat request is invalid: a message and the offending parameter."""

    message: str
    param: str | None


def validate_chat_request(data: object) -> RequestProblem | None:
    """The first way ``data`` breaks the chat-completions contract, or None.

    Requires ``model`` (non-empty string) and ``messages`` (non-empty list of
    objects with a known ``role`` and string ``content``); checks the optional
    ``max_tokens`` (integer >= 1), ``temperature`` (0..2) and ``stream`` (bool).
    """
    if not isinstance(data, dict):
        return RequestProblem("request body must be a JSON object", None)
    return (
        check_string(data, "model")
        or validate_messages(data.get("messages"), "messages")
        or check_int(data, "max_tokens", 1)
        or check_number(data, "temperature", 0, 2)
        or check_bool(data, "stream")
    )


def validate_messages(messages: object, param: str) -> RequestProblem | None:
    """``messages`` must be a non-empty list of ``{role, content[, name]}`` objects."""
    if not isinstance(messages, list) or not messages:
        return RequestProblem(f"'{param}' must be a non-empty array", param)
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return RequestProblem(f"{param}[{i}] must be an object", f"{param}[{i}]")
        if message.get("role") not in _ROLES:
            return RequestProblem(
                f"{param}[{i}].role must be one of {sorted(_ROLES)}", f"{param}[{i}].role"
            )
        if not isinstance(message.get("content"), str):
            return RequestProblem(f"{param}[{i}].content must be a string", f"{param}[{i}].content")
        name = message.get("name")
        if name is not None and not isinstance(name, str):
            return RequestProblem(f"{param}[{i}].name must be a string", f"{param}[{i}].name")
    return None


def check_string(
    data: Mapping[str, object], key: str, *, required: bool = True
) -> RequestProblem | None:
    """``data[key]`` must be a non-empty string (or absent/null when not ``required``)."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        return RequestProblem(f"'{key}' must be a non-empty string", key)
    return None


def check_int(data: Mapping[str, object], key: str, minimum: int) -> RequestProblem | None:
    """Optional ``data[key]`` must be an integer >= ``minimum`` (null counts as absent)."""
    value = data.get(key)
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or value < minimum
    ):
        return RequestProblem(f"'{key}' must be an integer >= {minimum}", key)
    return None


def check_number(
    data: Mapping[str, object], key: str, low: float, high: float
) -> RequestProblem | None:
    """Optional ``data[key]`` must be a number between ``low`` and ``high``."""
    value = data.get(key)
    if value is not None and (
        not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high
    ):
        return RequestProblem(f"'{key}' must be a number between {low:g} and {high:g}", key)
    return None


def check_bool(data: Mapping[str, object], key: str) -> RequestProblem | None:
    """Optional ``data[key]`` must be a boolean."""
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        return RequestProblem(f"'{key}' must be a boolean", key)
    return None


def pick_reply_index(messages: Sequence[Mapping[str, str]], n_templates: int) -> int:
    """Template index for a conversation: a stable hash of its last user message.

    CRC-32 rather than ``hash()``, which is salted per process: the same prompt
    must get the same reply in every run.
    """
    key = ""
    for message in reversed(messages):
        if message["role"] == "user":
            key = message["content"]
            break
    else:
        key = messages[-1]["content"] if messages else ""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % n_templates


class ReplyBook:
    """The reply templates with their token ids, tokenised once so replies cost no counting."""

    __slots__ = ("_counter", "_pieces", "_texts", "_tokens")

    def __init__(self, counter: TokenCounter, templates: Sequence[str] = REPLY_TEMPLATES) -> None:
        if not templates:
            raise ValueError("ReplyBook needs at least one template")
        encoding = counter.load()
        self._counter = counter
        self._texts = tuple(templates)
        self._tokens = tuple(encoding.encode_ordinary(t) for t in self._texts)
        self._pieces = tuple(_token_pieces(encoding, tokens) for tokens in self._tokens)

    def reply(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int | None
    ) -> tuple[str, int, str]:
        """``(text, completion_tokens, finish_reason)`` for a conversation.

        A reply longer than ``max_tokens`` is cut to that many tokens with
        finish_reason ``length``, as a real model would.
        """
        index = pick_reply_index(messages, len(self._texts))
        tokens = self._tokens[index]
        if max_tokens is not None and max_tokens < len(tokens):
            text = self._counter.load().decode(tokens[:max_tokens])
            return text, max_tokens, "length"
        return self._texts[index], len(tokens), "stop"

    def pieces(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int | None
    ) -> tuple[tuple[str, ...], int, str]:
        """``(pieces, completion_tokens, finish_reason)``: :meth:`reply` split for streaming.

        One piece per token (tokens that only together form a character share
        a piece), so the pieces join to exactly the text :meth:`reply` returns.
        """
        index = pick_reply_index(messages, len(self._texts))
        tokens = self._tokens[index]
        if max_tokens is not None and max_tokens < len(tokens):
            return _token_pieces(self._counter.load(), tokens[:max_tokens]), max_tokens, "length"
        return self._pieces[index], len(tokens), "stop"


def _token_pieces(encoding: tiktoken.Encoding, tokens: Sequence[int]) -> tuple[str, ...]:
    pieces: list[str] = []
    pending = b""
    for token in tokens:
        pending += encoding.decode_single_token_bytes(token)
        try:
            pieces.append(pending.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    return tuple(pieces)
