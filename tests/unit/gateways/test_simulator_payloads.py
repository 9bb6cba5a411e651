"""The simulator's pure payload logic: reply pieces, validation, prompts, ledger, cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gwstream.simulator.cognigy import validate_inference_request
from gwstream.simulator.genesys import (
    decode_cursor,
    encode_cursor,
    invocation_messages,
    invoke_messages,
    validate_invocation_request,
    validate_invoke_request,
)
from gwstream.simulator.ledger import Ledger, ServedCall
from gwstream.simulator.replies import ReplyBook
from gwstream.tokens import TokenCounter

USER = {"role": "user", "content": "Where is my order?"}


@pytest.fixture(scope="module")
def book() -> ReplyBook:
    return ReplyBook(TokenCounter())


def test_pieces_join_to_the_reply_one_token_each(book: ReplyBook) -> None:
    counter = TokenCounter()
    pieces, tokens, finish = book.pieces([USER], None)
    text, reply_tokens, _ = book.reply([USER], None)
    assert "".join(pieces) == text
    assert (tokens, finish) == (reply_tokens, "stop")
    assert len(pieces) == tokens == counter.count(text)


def test_pieces_are_cut_at_max_tokens(book: ReplyBook) -> None:
    pieces, tokens, finish = book.pieces([USER], 3)
    assert (len(pieces), tokens, finish) == (3, 3, "length")
    assert "".join(pieces) == book.reply([USER], 3)[0]


def test_multibyte_characters_split_across_tokens_stay_whole() -> None:
    book = ReplyBook(TokenCounter(), templates=("Grüße 🙂🙂 señor",))
    pieces, _, _ = book.pieces([USER], None)
    assert "".join(pieces) == "Grüße 🙂🙂 señor"
    assert all("\ufffd" not in piece for piece in pieces)


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"top_p": 1.5}, "top_p"), ({"context_window": 0}, "context_window"), ({}, None)],
)
def test_inference_requests_check_top_p_and_context_window(
    extra: dict[str, Any], param: str | None
) -> None:
    problem = validate_inference_request({"model": "m", "messages": [USER], **extra})
    assert (problem.param if problem else None) == param


def test_the_seed_inference_body_is_valid() -> None:
    body = {
        "model": "cognigy-llm-v2",
        "messages": [USER],
        "context_window": 16000,
        "temperature": 0.3,
        "max_tokens": None,
        "top_p": 0.9,
        "stream": True,
    }
    assert validate_inference_request(body) is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [USER]}, "modelId"),
        ({"modelId": "m", "messages": []}, "messages"),
        ({"modelId": "m", "messages": [USER], "systemInstruction": 3}, "systemInstruction"),
        ({"modelId": "m", "messages": [USER], "stream": "yes"}, "stream"),
        ({"modelId": "m", "messages": [USER], "maxTokens": 0}, "maxTokens"),
    ],
)
def test_invalid_invokes_name_the_offending_field(body: dict[str, Any], param: str) -> None:
    problem = validate_invoke_request(body)
    assert problem is not None
    assert problem.param == param


def test_system_instruction_leads_the_invoke_conversation() -> None:
    messages = invoke_messages(
        {"modelId": "m", "messages": [USER], "systemInstruction": "Be brief."}
    )
    assert messages == [{"role": "system", "content": "Be brief."}, USER]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"userInput": "hi"}, "promptId"),
        ({"promptId": "p"}, "userInput"),
        ({"promptId": "p", "userInput": 5}, "userInput"),
        ({"promptId": "p", "variables": {"a": [1]}}, "variables"),
        ({"promptId": "p", "userInput": "hi", "options": {"stream": True}}, "options.stream"),
        ({"promptId": "p", "userInput": "hi", "returnTokenUsage": "yes"}, "returnTokenUsage"),
    ],
)
def test_invalid_invocations_name_the_offending_field(body: dict[str, Any], param: str) -> None:
    problem = validate_invocation_request(body)
    assert problem is not None
    assert problem.param == param


def test_the_seed_invocation_body_is_valid() -> None:
    body = {
        "promptId": "p",
        "userInput": "hi",
        "sessionId": "s",
        "options": {"stream": False, "returnTokenUsage": True},
    }
    assert validate_invocation_request(body) is None


def test_an_invocation_prompt_is_its_variables_then_its_input() -> None:
    body = {"promptId": "p", "input": "Translate this.", "variables": {"language": "es", "n": 2}}
    assert invocation_messages(body) == [
        {"role": "user", "content": "language: es\nn: 2\n\nTranslate this."}
    ]


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    assert decode_cursor(encode_cursor(1234)) == 1234
    for garbage in ("", "abc", "%%%", encode_cursor(1)[:-2] + "zz"):
        assert decode_cursor(garbage) is None


def _call(n: int, prompt_id: str | None = None) -> ServedCall:
    return ServedCall(
        request_id=f"r{n}",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        route="genesys.invoke",
        model="m",
        prompt_id=prompt_id,
        prompt_tokens=1,
        completion_tokens=1,
        latency_ms=1.0,
        status=200,
        streamed=False,
    )


def test_ledger_slices_by_absolute_position() -> None:
    ledger = Ledger()
    for n in range(5):
        ledger.record(_call(n))
    assert [c.request_id for c in ledger.slice(3, 6)] == ["r3", "r4"]
    assert len(ledger) == 5


def test_ledger_scan_resumes_at_the_next_kept_call() -> None:
    ledger = Ledger()
    for n in range(6):
        ledger.record(_call(n, "a" if n % 2 else "b"))
    found, resume = ledger.scan(0, 2, lambda c: c.prompt_id == "a")
    assert ([c.request_id for c in found], resume) == (["r1", "r3"], 5)
    found, resume = ledger.scan(5, 2, lambda c: c.prompt_id == "a")
    assert ([c.request_id for c in found], resume) == (["r5"], None)


def test_a_full_ledger_forgets_its_oldest_half_and_keeps_positions() -> None:
    ledger = Ledger(max_entries=4)
    for n in range(5):
        ledger.record(_call(n))
    assert len(ledger) == 5
    assert ledger.slice(0, 2) == []
    assert [c.request_id for c in ledger.slice(0, 5)] == ["r2", "r3", "r4"]
    found, resume = ledger.scan(0, 10, lambda c: True)
    assert ([c.request_id for c in found], resume) == (["r2", "r3", "r4"], None)
