"""OpenAI streaming: the request body and the SSE reply reader, on byte fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from gwstream.errors import GatewayRateLimited, GatewayServerError
from gwstream.gateways import ChatMessage, GatewayRequest, OpenAIChatGateway
from gwstream.gateways.completion import read_sse_chat
from gwstream.gateways.openai import build_payload
from gwstream.gateways.streams import MalformedChunk, StreamCut


def request(**overrides: object) -> GatewayRequest:
    fields: dict[str, object] = {
        "messages": (ChatMessage("user", "Hi"),),
        "model": "gpt-4o-mini",
        "request_id": "t",
    }
    fields.update(overrides)
    return GatewayRequest(**fields)  # type: ignore[arg-type]


def event(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, object]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


STREAM = (
    event({**chunk(""), "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    + b": keep-alive\n\n"
    + event(chunk("Hello"))
    + event(chunk(" there 👋"))
    + event(chunk(finish="stop"))
    + event(
        {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}
    )
    + b"data: [DONE]\n\n"
)


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_a_streamed_request_asks_for_usage_in_the_last_chunk() -> None:
    payload = build_payload(request(stream=True), "m")
    assert payload["stream"] is True
    assert payload["stream_options"] == {"include_usage": True}


def test_a_buffered_request_sends_no_stream_options() -> None:
    payload = build_payload(request(), "m")
    assert payload["stream"] is False and "stream_options" not in payload
    assert build_payload(request(), "m", stream=True)["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("size", [1, 2, 5, 13, 4096])
async def test_the_reply_is_the_same_however_the_stream_is_cut(size: int) -> None:
    reply = await read_sse_chat(chunks(STREAM, size), "http://e")
    assert (reply.text, reply.finish_reason, reply.id, reply.model) == (
        "Hello there 👋",
        "stop",
        "chatcmpl-1",
        "gpt-4o-mini-2024-07-18",
    )
    assert (reply.prompt_tokens, reply.completion_tokens) == (9, 4)


async def test_a_stream_without_a_usage_chunk_leaves_usage_unknown() -> None:
    data = STREAM.replace(
        STREAM[STREAM.index(b'data: {"id":"chatcmpl-1","choices":[]') :], b"data: [DONE]\n\n"
    )
    reply = await read_sse_chat(chunks(data, 7), "http://e")
    assert reply.text == "Hello there 👋"
    assert (reply.prompt_tokens, reply.completion_tokens) == (None, None)


async def test_a_stream_without_done_is_cut_even_after_its_usage() -> None:
    data = STREAM[: STREAM.index(b"data: [DONE]")]
    with pytest.raises(StreamCut):
        await read_sse_chat(chunks(data, 7), "http://e")


async def test_a_malformed_event_is_reported() -> None:
    data = STREAM.replace(event(chunk(" there 👋")), b'data: {"choices":[{"delta":{"content":\n\n')
    with pytest.raises(MalformedChunk):
        await read_sse_chat(chunks(data, 7), "http://e")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            {"message": "x", "type": "server_error", "code": "stream_interrupted"},
            GatewayServerError,
        ),
        ({"message": "x", "code": "rate_limit_exceeded"}, GatewayRateLimited),
    ],
)
async def test_an_error_event_ends_the_stream_with_its_classified_error(
    error: object, kind: type[Exception]
) -> None:
    data = event(chunk("Hel")) + event({"error": error})
    with pytest.raises(kind, match="mid-stream"):
        await read_sse_chat(chunks(data, 7), "http://e")


def test_a_gateway_streams_when_the_request_or_its_setting_asks() -> None:
    default = OpenAIChatGateway(base_url="http://o.example")
    streaming = OpenAIChatGateway(base_url="http://o.example", stream=True)
    assert (default.streams(request()), default.streams(request(stream=True))) == (False, True)
    assert streaming.streams(request()) is True
