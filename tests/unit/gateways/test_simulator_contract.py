"""The simulator's pure parts: request validation, reply choice, configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gwstream.simulator import SimulatorConfig
from gwstream.simulator.replies import (
    REPLY_TEMPLATES,
    ReplyBook,
    pick_reply_index,
    validate_chat_request,
)
from gwstream.tokens import TokenCounter

USER = {"role": "user", "content": "Where is my order?"}


def test_a_well_formed_request_is_valid() -> None:
    data = {"model": "m", "messages": [USER], "max_tokens": 10, "temperature": 0.7, "stream": False}
    assert validate_chat_request(data) is None


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ([], None),
        ({"messages": [USER]}, "model"),
        ({"model": "", "messages": [USER]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "m", "messages": [USER, {"role": "user", "content": 1}]}, "messages[1].content"),
        ({"model": "m", "messages": [USER], "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": [USER], "max_tokens": True}, "max_tokens"),
        ({"model": "m", "messages": [USER], "temperature": 3}, "temperature"),
        ({"model": "m", "messages": [USER], "stream": "yes"}, "stream"),
    ],
)
def test_invalid_requests_name_the_offending_parameter(data: object, param: str | None) -> None:
    problem = validate_chat_request(data)
    assert problem is not None
    assert problem.param == param


def test_reply_choice_depends_only_on_the_last_user_message() -> None:
    n = len(REPLY_TEMPLATES)
    first = pick_reply_index([{"role": "system", "content": "A"}, USER], n)
    second = pick_reply_index(
        [{"role": "system", "content": "B"}, USER, {"role": "assistant", "content": "ok"}], n
    )
    assert first == second


def test_different_prompts_reach_different_templates() -> None:
    n = len(REPLY_TEMPLATES)
    indices = {pick_reply_index([{"role": "user", "content": f"q{i}"}], n) for i in range(50)}
    assert len(indices) > 1


def test_reply_reports_the_token_count_of_its_text() -> None:
    counter = TokenCounter()
    text, tokens, finish = ReplyBook(counter).reply([USER], None)
    assert text in REPLY_TEMPLATES
    assert tokens == counter.count(text)
    assert finish == "stop"


def test_reply_is_cut_at_max_tokens() -> None:
    counter = TokenCounter()
    text, tokens, finish = ReplyBook(counter).reply([USER], 5)
    assert (tokens, finish) == (5, "length")
    assert counter.count(text) == 5


def test_config_rejects_rates_outside_zero_to_one() -> None:
    with pytest.raises(ValidationError):
        SimulatorConfig(error_5xx_rate=1.5)


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        SimulatorConfig(latency=5)  # type: ignore[call-arg]


def test_config_hides_its_api_key() -> None:
    assert "sk-sim-secret" not in repr(SimulatorConfig(api_key="sk-sim-secret"))
