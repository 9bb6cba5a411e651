"""What a gateway answered, whatever the protocol: text, metadata and reported usage.

:class:`Completion` is what every adapter's reader returns.
:class:`ChatDeltaAccumulator` folds OpenAI-style stream chunks
(``choices[0].delta``), which OpenAI, Genesys invoke and Cognigy inference
streams all use, and :func:`stream_error` classifies an error object a
gateway sends inside a stream it already answered 200 to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from gwstream.errors import GatewayError
from gwstream.gateways.failures import classify_status
from gwstream.gateways.streams import MalformedChunk, iter_sse_json

__all__ = [
    "ChatDeltaAccumulator",
    "Completion",
    "cached_prompt_tokens",
    "completion_from_deltas",
    "read_sse_chat",
    "stream_error",
    "token_count",
]

_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class Completion:
    """The parts of a gateway's answer gwstream uses, whatever the protocol.

    Token figures are None when the gateway did not report (valid) usage;
    ``cached_prompt_tokens`` (of ``prompt_tokens``, those read from the
    gateway's prompt cache) is 0 when it did not say.
    """

    text: str
    finish_reason: str | None
    model: str | None
    id: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_prompt_tokens: int = 0


def token_count(value: object) -> int | None:
    """``value`` if it is a valid token figure (a non-negative int), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def cached_prompt_tokens(usage: dict[str, Any]) -> object:
    """The cached prompt tokens an OpenAI-style ``usage`` reports
    (``prompt_tokens_details.cached_tokens``), unvalidated; None when absent."""
    details = usage.get("prompt_tokens_details")
    return details.get("cached_tokens") if isinstance(details, dict) else None


class ChatDeltaAccumulator:
    """Folds OpenAI-style stream chunks into one reply.

    Each chunk may carry ``choices[0].delta.content`` (text to append),
    ``choices[0].finish_reason``, ``id``, ``model`` and ``usage`` (with
    ``prompt_tokens`` and ``completion_tokens``, and optionally
    ``prompt_tokens_details.cached_tokens``; OpenAI sends it in a last chunk
    whose ``choices`` is empty). Usage counts only when both figures are
    non-negative integers. Chunks that break this shape raise
    :class:`MalformedChunk`.
    """

    __slots__ = (
        "_parts",
        "cached_prompt_tokens",
        "completion_tokens",
        "finish_reason",
        "id",
        "model",
        "prompt_tokens",
    )

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.finish_reason: str | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.cached_prompt_tokens = 0

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def has_usage(self) -> bool:
        return self.prompt_tokens is not None and self.completion_tokens is not None

    def add(self, chunk: dict[str, Any]) -> None:
        choices = chunk.get("choices")
        if choices:
            if not isinstance(choices, list) or not isinstance(choices[0], dict):
                raise MalformedChunk("a chunk's choices is not a list of objects")
            choice = choices[0]
            delta = choice.get("delta")
            if delta is not None:
                if not isinstance(delta, dict):
                    raise MalformedChunk("a chunk's delta is not an object")
                content = delta.get("content")
                if isinstance(content, str):
                    self._parts.append(content)
                elif content is not None:
                    raise MalformedChunk("a chunk's delta content is not a string")
            finish = choice.get("finish_reason")
            if isinstance(finish, str):
                self.finish_reason = finish
        for key in ("id", "model"):
            value = chunk.get(key)
            if isinstance(value, str) and getattr(self, key) is None:
                setattr(self, key, value)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.add_usage(
                usage.get("prompt_tokens"),
                usage.get("completion_tokens"),
                cached_prompt_tokens(usage),
            )

    def add_usage(
        self, prompt_tokens: object, completion_tokens: object, cached_tokens: object = None
    ) -> None:
        """Record reported usage if both figures are valid; ignore it otherwise. Cached
        tokens count when valid, at most the prompt's (else 0)."""
        prompt, completion = token_count(prompt_tokens), token_count(completion_tokens)
        if prompt is not None and completion is not None:
            self.prompt_tokens, self.completion_tokens = prompt, completion
            self.cached_prompt_tokens = min(token_count(cached_tokens) or 0, prompt)


_ERROR_KINDS = (
    ("rate_limit", 429),
    ("too_many", 429),
    ("quota", 429),
    ("timeout", 504),
    ("overload", 503),
    ("unavailable", 503),
    ("invalid_request", 400),
    ("bad_request", 400),
    ("context_length", 400),
    ("unauthorized", 401),
    ("authentication", 401),
    ("forbidden", 403),
    ("permission", 403),
)


def stream_error(error: object, *, endpoint: str) -> GatewayError:
    """The GatewayError for an error object a gateway sent inside a 200 stream.

    Classified like an HTTP status so retries and fallback treat it the same:
    a numeric ``status``/``code``/``statusCode`` when present, else the error
    ``type``/``code`` words (rate limit -> 429, overloaded -> 503, ...), else
    a server error (502: the model failed mid-answer).
    """
    fields: dict[str, Any] = error if isinstance(error, dict) else {"message": error}
    message = fields.get("message")
    detail = " ".join(message.split())[:_MAX_DETAIL_CHARS] if isinstance(message, str) else ""
    status: int | None = None
    for key in ("status", "statusCode", "code", "http_status"):
        value = fields.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
            status = value
            break
    if status is None:
        words = " ".join(str(fields.get(k, "")).lower() for k in ("type", "code", "error", "name"))
        status = next((s for word, s in _ERROR_KINDS if word in words), 502)
    error_obj = classify_status(status, detail, endpoint=endpoint)
    error_obj.args = (f"{endpoint} reported an error mid-stream (as HTTP {status}): {detail}",)
    return error_obj


def completion_from_deltas(deltas: ChatDeltaAccumulator) -> Completion:
    return Completion(
        text=deltas.text,
        finish_reason=deltas.finish_reason,
        model=deltas.model,
        id=deltas.id,
        prompt_tokens=deltas.prompt_tokens,
        completion_tokens=deltas.completion_tokens,
        cached_prompt_tokens=deltas.cached_prompt_tokens,
    )


async def read_sse_chat(chunks: AsyncIterator[bytes], endpoint: str) -> Completion:
    """An OpenAI-style SSE chat stream (``data:`` delta chunks, then ``data: [DONE]``).

    Usage is taken from whichever chunk carries it (OpenAI: the last one,
    with ``stream_options.include_usage``). A chunk with an ``error`` object
    ends the read with that error, classified.
    """
    deltas = ChatDeltaAccumulator()
    async for chunk in iter_sse_json(chunks):
        if chunk.get("error") is not None:
            raise stream_error(chunk["error"], endpoint=endpoint)
        deltas.add(chunk)
    return completion_from_deltas(deltas)
