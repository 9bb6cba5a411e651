"""What the simulator says: request validation and deterministic assistant replies.

Pure functions over decoded JSON, so the contract is testable without a server.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gwstream.tokens import TokenCounter

__all__ = [
    "REPLY_TEMPLATES",
    "ReplyBook",
    "RequestProblem",
    "pick_reply_index",
    "validate_chat_request",
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
    model = data.get("model")
    if not isinstance(model, str) or not model:
        return RequestProblem("'model' must be a non-empty string", "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return RequestProblem("'messages' must be a non-empty array", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return RequestProblem(f"messages[{i}] must be an object", f"messages[{i}]")
        if message.get("role") not in _ROLES:
            return RequestProblem(
                f"messages[{i}].role must be one of {sorted(_ROLES)}", f"messages[{i}].role"
            )
        if not isinstance(message.get("content"), str):
            return RequestProblem(
                f"messages[{i}].content must be a string", f"messages[{i}].content"
            )
        name = message.get("name")
        if name is not None and not isinstance(name, str):
            return RequestProblem(f"messages[{i}].name must be a string", f"messages[{i}].name")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        return RequestProblem("'max_tokens' must be an integer >= 1", "max_tokens")
    temperature = data.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float)
        or isinstance(temperature, bool)
        or not 0 <= temperature <= 2
    ):
        return RequestProblem("'temperature' must be a number between 0 and 2", "temperature")
    stream = data.get("stream")
    if stream is not None and not isinstance(stream, bool):
        return RequestProblem("'stream' must be a boolean", "stream")
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

    __slots__ = ("_counter", "_texts", "_tokens")

    def __init__(self, counter: TokenCounter, templates: Sequence[str] = REPLY_TEMPLATES) -> None:
        if not templates:
            raise ValueError("ReplyBook needs at least one template")
        encoding = counter.load()
        self._counter = counter
        self._texts = tuple(templates)
        self._tokens = tuple(encoding.encode_ordinary(t) for t in self._texts)

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
