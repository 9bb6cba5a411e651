"""Cached prompt tokens in reported usage: read where a protocol reports them, else 0."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from gwstream.gateways.completion import read_sse_chat
from gwstream.gateways.genesys import parse_invocation
from gwstream.gateways.openai import parse_chat_completion
from gwstream.simulator import SimulatorConfig
from gwstream.simulator.config import RouteFaults
from gwstream.simulator.faults import compile_plans


def reply(usage: object) -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-1",
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}],
            "usage": usage,
        }
    )


def test_openai_usage_reports_cached_prompt_tokens_in_prompt_tokens_details() -> None:
    usage = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    }
    parsed = parse_chat_completion(reply(usage))
    assert (parsed.prompt_tokens, parsed.cached_prompt_tokens, parsed.completion_tokens) == (
        2006,
        1920,
        300,
    )


@pytest.mark.parametrize(
    ("details", "cached"),
    [
        (None, 0),
        ({}, 0),
        ({"cached_tokens": None}, 0),
        ({"cached_tokens": -1}, 0),
        ({"cached_tokens": "12"}, 0),
        ({"cached_tokens": True}, 0),
        ({"cached_tokens": 1.5}, 0),
        ({"cached_tokens": 5000}, 100),  # never more than the prompt
        ("not an object", 0),
    ],
)
def test_missing_or_invalid_cached_figures_count_as_none_cached(
    details: object, cached: int
) -> None:
    usage: dict[str, object] = {"prompt_tokens": 100, "completion_tokens": 5}
    if details is not None:
        usage["prompt_tokens_details"] = details
    parsed = parse_chat_completion(reply(usage))
    assert (parsed.prompt_tokens, parsed.cached_prompt_tokens) == (100, cached)


def test_cached_tokens_without_valid_usage_are_ignored() -> None:
    usage = {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 50}}
    parsed = parse_chat_completion(reply(usage))
    assert (parsed.prompt_tokens, parsed.cached_prompt_tokens) == (None, 0)


async def _chunks(*lines: object) -> AsyncIterator[bytes]:
    for line in lines:
        yield line if isinstance(line, bytes) else b"data: " + orjson.dumps(line) + b"\n\n"


async def test_a_stream_reports_cached_tokens_in_its_usage_chunk() -> None:
    delta = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}
    usage = {
        "choices": [],
        "usage": {
            "prompt_tokens": 1500,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 1024},
        },
    }
    done = await read_sse_chat(_chunks(delta, usage, b"data: [DONE]\n\n"), "http://gw")
    assert (done.prompt_tokens, done.cached_prompt_tokens, done.completion_tokens) == (
        1500,
        1024,
        1,
    )


def test_a_genesys_invocation_reports_no_cached_tokens() -> None:
    body = orjson.dumps(
        {"responseId": "inv-1", "output": "Hi", "tokenUsage": {"prompt": 120, "completion": 45}}
    )
    parsed = parse_invocation(body)
    assert (parsed.prompt_tokens, parsed.cached_prompt_tokens) == (120, 0)


def test_the_simulators_cached_share_is_a_knob_with_per_route_overrides() -> None:
    config = SimulatorConfig(
        cached_prompt_share=0.25, routes={"openai.chat": RouteFaults(cached_prompt_share=0.5)}
    )
    plans = compile_plans(config)
    assert plans["openai.chat"].cached_prompt_share == 0.5
    assert plans["cognigy.chat"].cached_prompt_share == 0.25
    assert compile_plans(SimulatorConfig())["openai.chat"].cached_prompt_share == 0.0
