"""Incremental parsers for streamed gateway replies: Server-Sent Events and JSON lines.

Gateways stream a reply as bytes cut wherever the network pleases: mid-line,
mid-field, even inside a multi-byte UTF-8 character. The decoders here are
pure state machines fed those chunks; they split on line ends *as bytes* and
decode only whole lines, so a character split across chunks is never seen
half-way. Nothing here does I/O, knows an endpoint or retries.

A streamed reply is complete only when the protocol says so (an SSE
``data: [DONE]`` event, a final usage line). A stream that simply stops is a
dropped stream, and :class:`StreamCut` makes it impossible to mistake for a
short but complete reply. :class:`MalformedChunk` reports data that breaks
the framing or is not JSON. Adapters turn both into
:class:`~gwstream.errors.GatewayError` subclasses.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "SSE_DONE",
    "JSONLinesDecoder",
    "MalformedChunk",
    "SSEDecoder",
    "SSEEvent",
    "StreamCut",
    "StreamError",
    "iter_json_lines",
    "iter_sse_json",
]

SSE_DONE = "[DONE]"
DEFAULT_MAX_LINE_BYTES = 1024 * 1024
"""Longest line either decoder buffers: a gateway cannot make us hold unbounded bytes."""

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")


class StreamError(Exception):
    """A streamed reply broke its framing or ended early; the message never holds reply text."""


class StreamCut(StreamError):
    """The stream ended before its terminator (or final usage): the reply is incomplete."""


class MalformedChunk(StreamError):
    """A line or event is not valid UTF-8, not JSON, not an object, or too long."""


class _LineSplitter:
    """Splits a byte stream into lines ended by CRLF, LF or CR, one chunk at a time.

    A CR at the very end of a chunk is held back: it may be the first half of
    a CRLF whose LF arrives in the next chunk.
    """

    __slots__ = ("_buffer", "_max_line_bytes", "_started")

    def __init__(self, max_line_bytes: int) -> None:
        self._buffer = bytearray()
        self._max_line_bytes = max_line_bytes
        self._started = False

    @property
    def pending(self) -> bool:
        """Whether bytes of an unfinished line are buffered."""
        return bool(self._buffer)

    def feed(self, chunk: bytes) -> list[str]:
        buffer = self._buffer
        buffer += chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(bytes(buffer)):
                return []
            if buffer.startswith(_BOM):
                del buffer[: len(_BOM)]
            self._started = True
        lines: list[str] = []
        start = 0
        end = len(buffer)
        for match in _LINE_END.finditer(buffer):
            if match.group() == b"\r" and match.end() == end:
                break  # maybe half of a CRLF split across chunks
            lines.append(self._decode(buffer[start : match.start()]))
            start = match.end()
        del buffer[:start]
        if len(buffer) > self._max_line_bytes:
            raise MalformedChunk(f"a line exceeds {self._max_line_bytes} bytes")
        return lines

    def close(self) -> tuple[list[str], bool]:
        """Lines still buffered at end of stream, and whether the last one lacked its line
        end (a CR held back from the last chunk was a complete line end after all)."""
        buffer, self._buffer = self._buffer, bytearray()
        if not buffer:
            return [], False
        if buffer.endswith(b"\r"):
            return [self._decode(buffer[:-1])], False
        return [self._decode(buffer)], True

    def _decode(self, raw: bytes | bytearray) -> str:
        if len(raw) > self._max_line_bytes:
            raise MalformedChunk(f"a line exceeds {self._max_line_bytes} bytes")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedChunk(f"a line is not valid UTF-8 (byte {exc.start})") from None


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched Server-Sent Event; ``data`` joins its ``data:`` lines with newlines."""

    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Server-Sent Events, as the WHATWG spec frames them, fed in arbitrary chunks.

    Handles ``data:`` lines (joined with ``\\n`` when an event has several),
    ``event:`` and ``id:`` fields, ``:`` comments (keep-alives), an optional
    space after the colon, CRLF/LF/CR line ends and a leading BOM. An event is
    dispatched at the blank line that ends it; one still open when the stream
    ends is discarded, as the spec requires, and :attr:`truncated` says so.
    """

    __slots__ = ("_data", "_event", "_id", "_lines", "_truncated")

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._lines = _LineSplitter(max_line_bytes)
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._truncated = False

    @property
    def truncated(self) -> bool:
        """After :meth:`close`: whether the stream stopped inside a line or an event."""
        return self._truncated

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Events completed by ``chunk``, in order."""
        events: list[SSEEvent] = []
        for line in self._lines.feed(chunk):
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """Signal end of stream. Returns events a final unterminated line completed (none:
        without its blank line an event is never complete) and sets :attr:`truncated`."""
        events: list[SSEEvent] = []
        tail, partial = self._lines.close()
        for line in tail:
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._truncated = partial or bool(self._data) or bool(self._event)
        self._data, self._event = [], ""
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        # "retry" and unknown fields are ignored: reconnection is the Retrier's job.
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SSEEvent("\n".join(data), event or "message", self._id)


class JSONLinesDecoder:
    """JSON lines (one JSON value per line) fed in arbitrary chunks.

    Blank lines are skipped; a last line without its newline still counts
    (the format allows it). Any other line that is not valid JSON raises
    :class:`MalformedChunk`: skipping it would silently drop reply text.
    """

    __slots__ = ("_lines",)

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._lines = _LineSplitter(max_line_bytes)

    def feed(self, chunk: bytes) -> list[Any]:
        """Values completed by ``chunk``, in order."""
        return [_loads(line) for line in self._lines.feed(chunk) if line.strip()]

    def close(self) -> list[Any]:
        """Signal end of stream; returns the value on a final line that had no newline."""
        return [_loads(line) for line in self._lines.close()[0] if line.strip()]


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedChunk(f"a chunk is not JSON ({exc.msg})") from None


async def iter_sse_json(
    chunks: AsyncIterable[bytes],
    *,
    done: str = SSE_DONE,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> AsyncIterator[dict[str, Any]]:
    """The JSON object in each SSE event's data, until the ``done`` sentinel event.

    Returns normally only after ``done``; raises :class:`StreamCut` if the
    bytes end first and :class:`MalformedChunk` if an event's data is not a
    JSON object. Events named other than ``message`` (e.g. ``ping``) and
    comment lines are skipped.
    """
    decoder = SSEDecoder(max_line_bytes=max_line_bytes)
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            if event.event != "message":
                continue
            if event.data.strip() == done:
                return
            yield _json_object(event.data)
    decoder.close()
    raise StreamCut(f"the event stream ended without its {done} event")


async def iter_json_lines(
    chunks: AsyncIterable[bytes], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> AsyncIterator[dict[str, Any]]:
    """Each line's JSON object, until the bytes end.

    JSON lines have no terminator of their own, so reaching the end says
    nothing about completeness; the caller decides (e.g. from a final usage
    line) and raises :class:`StreamCut` itself.
    """
    decoder = JSONLinesDecoder(max_line_bytes=max_line_bytes)
    async for chunk in chunks:
        for value in decoder.feed(chunk):
            yield _object(value)
    for value in decoder.close():
        yield _object(value)


def _json_object(text: str) -> dict[str, Any]:
    return _object(_loads(text))


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedChunk(f"a chunk is a JSON {type(value).__name__}, not an object")
    return value
