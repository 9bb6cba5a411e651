"""Writing a streamed answer, with its faults.

A stream is ``head`` lines (e.g. OpenAI's role chunk), one line per content
piece, then ``tail`` lines (usage, ``[DONE]``). Faults, each deterministic
in where it strikes:

- **cut**: the first half of the pieces (at least one) is sent, then the
  connection is closed without the terminating chunk: no tail, and the
  client's read fails with an incomplete-body error.
- **error**: the first half of the pieces, then one error line, then a clean
  end: no tail.
- **malformed**: one extra line that is not valid JSON right after the first
  piece; every piece is still sent.

The body goes out in a single write (the simulator's latency comes before
the first byte), so streaming costs about what a plain answer does.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from gwstream.simulator.faults import StreamFaults

__all__ = ["NDJSON", "SSE", "write_stream"]

SSE = "text/event-stream"
NDJSON = "application/x-ndjson"


async def write_stream(
    request: web.Request,
    *,
    content_type: str,
    head: Sequence[bytes],
    pieces: Sequence[bytes],
    tail: Sequence[bytes],
    error_line: bytes,
    malformed_line: bytes,
    faults: StreamFaults,
) -> tuple[web.StreamResponse, int]:
    """Send the stream; return the response and how many pieces were sent."""
    sent = len(pieces)
    if faults.cut or faults.error:
        sent = max(1, len(pieces) // 2)
    lines = [*head, *pieces[:sent]]
    if faults.malformed and pieces:
        lines.insert(len(head) + 1, malformed_line)
    if faults.error:
        lines.append(error_line)
    elif not faults.cut:
        lines.extend(tail)

    response = web.StreamResponse(
        headers={"Content-Type": content_type, "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    await response.write(b"".join(lines))
    if faults.cut:
        transport = request.transport
        if transport is not None:
            transport.close()  # flushes what was written, never sends the last chunk
        return response, sent
    await response.write_eof()
    return response, sent
