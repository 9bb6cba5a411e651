"""Cognigy adapters' pure parts: request bodies and the inference stream reader."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from gwstream.errors import ConfigError, GatewayRateLimited, GatewayServerError
from gwstream.gateways import (
    ChatMessage,
    ClientCredentialsAuth,
    CognigyChatGateway,
    CognigyInferenceGateway,
    GatewayRequest,
)
from gwstream.gateways.cognigy import (
    build_chat_payload,
    build_inference_payload,
    read_inference_stream,
)
from gwstream.gateways.streams import MalformedChunk, StreamCut

AUTH = {"client_id": "c", "client_secret": "s"}


def request(**overrides: object) -> GatewayRequest:
    fields: dict[str, object] = {
        "messages": (ChatMessage("user", "Hi"),),
        "model": "gpt-4o-mini",
        "request_id": "t",
        "system": "Be brief.",
    }
    fields.update(overrides)
    return GatewayRequest(**fields)  # type: ignore[arg-type]


def lines(*objects: object) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in objects)


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def delta(text: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


STREAM = lines(
    delta("Olá, "),
    delta("wörld"),
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}},
)


def test_chat_body_is_openai_shaped_and_never_streamed() -> None:
    payload = build_chat_payload(request(stream=True, max_tokens=50, temperature=0.1), "m")
    assert payload == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "stream": False,
        "max_tokens": 50,
        "temperature": 0.1,
    }


def test_inference_body_asks_for_a_stream_without_openai_stream_options() -> None:
    payload = build_inference_payload(request(), "m")
    assert payload["stream"] is True
    assert "stream_options" not in payload
    assert payload["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
async def test_inference_stream_yields_text_finish_and_usage(size: int) -> None:
    reply = await read_inference_stream(chunks(STREAM, size), "http://e")
    assert (reply.text, reply.finish_reason) == ("Olá, wörld", "stop")
    assert (reply.prompt_tokens, reply.completion_tokens) == (12, 4)


async def test_inference_stream_stops_reading_at_its_usage_line() -> None:
    data = STREAM + b"not json at all\n"
    assert (await read_inference_stream(chunks(data), "http://e")).text == "Olá, wörld"


async def test_inference_stream_without_usage_is_cut() -> None:
    data = STREAM[: STREAM.index(b'{"usage"')]
    with pytest.raises(StreamCut, match="final usage line"):
        await read_inference_stream(chunks(data), "http://e")


async def test_inference_usage_line_without_figures_is_malformed() -> None:
    data = lines(delta("x"), {"usage": {"prompt_tokens": "12"}})
    with pytest.raises(MalformedChunk, match="usage"):
        await read_inference_stream(chunks(data), "http://e")


@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        (
            {"message": "boom", "type": "server_error", "code": "stream_interrupted"},
            GatewayServerError,
            502,
        ),
        ({"message": "slow down", "type": "rate_limit_exceeded"}, GatewayRateLimited, 429),
        ({"message": "overloaded", "status": 503}, GatewayServerError, 503),
        ("plain text error", GatewayServerError, 502),
    ],
)
async def test_an_error_line_is_classified_like_an_http_status(
    error: object, kind: type[Exception], status: int
) -> None:
    data = lines(delta("x"), {"error": error})
    with pytest.raises(kind) as info:
        await read_inference_stream(chunks(data), "http://e")
    assert getattr(info.value, "status_code", None) == status
    assert "http://e reported an error mid-stream" in str(info.value)


def test_cognigy_adapters_need_credentials() -> None:
    with pytest.raises(ConfigError, match=r"auth=ClientCredentialsAuth\.cognigy"):
        CognigyChatGateway(base_url="http://c.example")


def test_cognigy_chat_has_no_streamed_form_and_inference_no_buffered_one() -> None:
    auth = ClientCredentialsAuth.cognigy("http://c.example", **AUTH)
    with pytest.raises(ConfigError, match="no streamed form"):
        CognigyChatGateway(base_url="http://c.example", auth=auth, stream=True)
    with pytest.raises(ConfigError, match="no buffered form"):
        CognigyInferenceGateway(base_url="http://c.example", auth=auth, stream=False)


def test_the_gateway_repr_shows_the_client_but_never_the_secret() -> None:
    auth = ClientCredentialsAuth.cognigy(
        "http://c.example", client_id="cid", client_secret="S3CRET"
    )
    gateway = CognigyInferenceGateway(base_url="http://c.example", auth=auth)
    assert "S3CRET" not in repr(gateway) and "'cid'" in repr(gateway)
