"""The SSE and JSON-lines decoders on byte fixtures cut at every awkward place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson
import pytest

from gwstream.gateways.completion import ChatDeltaAccumulator
from gwstream.gateways.streams import (
    JSONLinesDecoder,
    MalformedChunk,
    SSEDecoder,
    SSEEvent,
    StreamCut,
    iter_json_lines,
    iter_sse_json,
)

SSE_FIXTURE = (
    ": keep-alive\n"
    'data: {"choices":[{"delta":{"content":"Grüße "}}]}\n\n'
    "event: ping\ndata: {}\n\n"
    'data: {"choices":[{"delta":{"content":"日本 😀"}}]}\r\n\r\n'
    'data: {"choices":\ndata:[{"delta":{"content":"!"}}]}\n\n'
    "data: [DONE]\n\n"
).encode()
SSE_EVENTS = [
    SSEEvent('{"choices":[{"delta":{"content":"Grüße "}}]}'),
    SSEEvent("{}", event="ping"),
    SSEEvent('{"choices":[{"delta":{"content":"日本 😀"}}]}'),
    SSEEvent('{"choices":\n[{"delta":{"content":"!"}}]}'),
    SSEEvent("[DONE]"),
]

JSONL_FIXTURE = (
    b'{"choices":[{"delta":{"content":"Ol\xc3\xa1 "}}]}\n'
    b"\n"
    b'{"choices":[{"delta":{"content":"\xe2\x82\xac5"}}]}\r\n'
    b'{"usage":{"prompt_tokens":9,"completion_tokens":3}}\n'
)


def splits(data: bytes) -> Iterable[list[bytes]]:
    """The fixture whole, byte by byte, and cut in two at every position."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]


def decode_sse(chunks: list[bytes]) -> tuple[list[SSEEvent], bool]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    events += decoder.close()
    return events, decoder.truncated


async def agen(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def collect(iterator: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item async for item in iterator]


def test_sse_events_come_out_the_same_however_the_bytes_are_cut() -> None:
    for chunks in splits(SSE_FIXTURE):
        assert decode_sse(chunks) == (SSE_EVENTS, False), chunks


def test_sse_line_ends_may_be_lf_crlf_or_cr_even_split_between_chunks() -> None:
    for data in (b"data: a\r\n\r\n", b"data: a\r\r", b"data: a\n\n"):
        for chunks in splits(data):
            assert decode_sse(chunks) == ([SSEEvent("a")], False)


def test_sse_ignores_comments_unknown_fields_and_a_leading_bom() -> None:
    data = b"\xef\xbb\xbf: hello\nretry: 10\nfoo: bar\ndata:x\nid: 7\n\n"
    for chunks in splits(data):
        assert decode_sse(chunks) == ([SSEEvent("x", id="7")], False)


def test_sse_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode_sse([b"\n\n: c\n\nevent: e\n\n"]) == ([], False)


def test_an_sse_event_without_its_blank_line_is_dropped_and_reported_truncated() -> None:
    assert decode_sse([b"data: a\n\ndata: [DONE]\n"]) == ([SSEEvent("a")], True)
    assert decode_sse([b"data: a\n\ndata: [DO"]) == ([SSEEvent("a")], True)


def test_an_sse_line_split_inside_a_utf8_character_decodes_whole() -> None:
    data = "data: ünïcödé €\n\n".encode()
    for cut in range(len(data)):
        assert decode_sse([data[:cut], data[cut:]])[0] == [SSEEvent("ünïcödé €")]


def test_invalid_utf8_is_a_malformed_chunk() -> None:
    with pytest.raises(MalformedChunk, match="UTF-8"):
        SSEDecoder().feed(b"data: \xff\xfe\n\n")


def test_an_overlong_line_is_refused_before_it_is_buffered_whole() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    decoder.feed(b"data: 0123456789")
    with pytest.raises(MalformedChunk, match="exceeds 16 bytes"):
        decoder.feed(b"abcdef")


async def test_sse_json_yields_objects_until_done() -> None:
    for chunks in splits(SSE_FIXTURE):
        objects = await collect(iter_sse_json(agen(chunks)))
        assert [o["choices"][0]["delta"]["content"] for o in objects] == ["Grüße ", "日本 😀", "!"]


async def test_sse_json_stops_reading_at_done() -> None:
    data = b"data: {}\n\ndata: [DONE]\n\ndata: not json\n\n"
    assert await collect(iter_sse_json(agen([data]))) == [{}]


async def test_a_stream_without_done_is_cut_not_complete() -> None:
    data = SSE_FIXTURE[: SSE_FIXTURE.index(b"data: [DONE]")]
    for chunks in splits(data):
        with pytest.raises(StreamCut, match=r"\[DONE\]"):
            await collect(iter_sse_json(agen(chunks)))


async def test_a_stream_cut_inside_the_done_event_is_cut() -> None:
    with pytest.raises(StreamCut):
        await collect(iter_sse_json(agen([b"data: {}\n\ndata: [DONE]"])))


@pytest.mark.parametrize("data", [b"data: {nope\n\n", b"data: [1, 2]\n\n", b'data: "x"\n\n'])
async def test_sse_data_that_is_not_a_json_object_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedChunk):
        await collect(iter_sse_json(agen([data, b"data: [DONE]\n\n"])))


def test_json_lines_come_out_the_same_however_the_bytes_are_cut() -> None:
    expected = [orjson.loads(line) for line in JSONL_FIXTURE.splitlines() if line.strip()]
    for chunks in splits(JSONL_FIXTURE):
        decoder = JSONLinesDecoder()
        values = [v for chunk in chunks for v in decoder.feed(chunk)] + decoder.close()
        assert values == expected, chunks


def test_a_last_json_line_without_newline_still_counts() -> None:
    decoder = JSONLinesDecoder()
    assert decoder.feed(b'{"a":1}\n{"b"') == [{"a": 1}]
    assert decoder.feed(b":2}") == []
    assert decoder.close() == [{"b": 2}]


def test_a_json_line_that_is_not_json_is_malformed() -> None:
    with pytest.raises(MalformedChunk, match="not JSON"):
        JSONLinesDecoder().feed(b'{"a":1}\n{oops\n')


async def test_json_lines_refuse_non_objects() -> None:
    with pytest.raises(MalformedChunk, match="list"):
        await collect(iter_json_lines(agen([b"[1]\n"])))


async def test_json_lines_end_with_the_bytes_leaving_completeness_to_the_caller() -> None:
    cut = JSONL_FIXTURE[: JSONL_FIXTURE.index(b'{"usage"')]
    lines = await collect(iter_json_lines(agen([cut])))
    assert len(lines) == 2 and all("usage" not in line for line in lines)


def test_deltas_accumulate_text_metadata_and_the_last_chunks_usage() -> None:
    deltas = ChatDeltaAccumulator()
    chunks: list[dict[str, Any]] = [
        {"id": "c1", "model": "m", "choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"content": "lo"}, "finish_reason": None}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 2}},
    ]
    for chunk in chunks:
        deltas.add(chunk)
    assert (deltas.text, deltas.id, deltas.model, deltas.finish_reason) == (
        "Hello",
        "c1",
        "m",
        "stop",
    )
    assert (deltas.prompt_tokens, deltas.completion_tokens, deltas.has_usage) == (11, 2, True)


@pytest.mark.parametrize(
    "usage", [None, {"prompt_tokens": 3}, {"prompt_tokens": -1, "completion_tokens": 2}]
)
def test_deltas_without_valid_usage_leave_it_unknown(usage: object) -> None:
    deltas = ChatDeltaAccumulator()
    deltas.add({"choices": [{"delta": {"content": "x"}}], "usage": usage})
    assert not deltas.has_usage


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": "nope"},
        {"choices": [1]},
        {"choices": [{"delta": "x"}]},
        {"choices": [{"delta": {"content": 5}}]},
    ],
)
def test_deltas_of_the_wrong_shape_are_malformed(chunk: dict[str, Any]) -> None:
    with pytest.raises(MalformedChunk):
        ChatDeltaAccumulator().add(chunk)
