"""TokenCounter's memo of message contents: the same counts, bounded, oldest forgotten first."""

from __future__ import annotations

from gwstream.tokens import TokenCounter


def conversation(turns: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "You are Acme's assistant. Be brief."}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Where is order {i}? It was due on day {i}."})
        messages.append({"role": "assistant", "content": f"Order {i} ships tomorrow. 🚚"})
    return messages


def test_a_memo_gives_the_counts_of_no_memo_turn_after_turn() -> None:
    plain = TokenCounter()
    remembering = TokenCounter(memo_size=8)
    for turns in range(12):  # the history grows past the memo, repeating older contents
        messages = conversation(turns)
        assert remembering.count_messages(messages) == plain.count_messages(messages)


def test_the_memo_holds_at_most_its_size_forgetting_the_oldest() -> None:
    counter = TokenCounter(memo_size=3)
    for text in ("one", "two", "three", "four"):
        counter.count_messages([{"role": "user", "content": text}])
    assert counter._memo is not None
    assert list(counter._memo) == ["two", "three", "four"]


def test_long_contents_are_counted_but_never_remembered() -> None:
    counter = TokenCounter(memo_size=4)
    long_text = "word " * 1_000
    assert counter.count_messages([{"role": "user", "content": long_text}]) == (
        TokenCounter().count_messages([{"role": "user", "content": long_text}])
    )
    assert counter._memo == {}
