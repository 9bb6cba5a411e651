"""RuleSet's gates only skip work: on every corpus text it finds exactly the rules a plain
search of every pattern finds."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from gwstream.guardrails.encodings import COMMON
from gwstream.guardrails.normalize import fold_for_rules, normalize
from gwstream.guardrails.rules import RULES
from gwstream.guardrails.ruleset import RuleSet, split_alternatives

CORPUS = Path(__file__).parents[2] / "guardrails" / "corpus.jsonl"


def test_gated_matching_finds_what_searching_every_pattern_finds() -> None:
    ruleset = RuleSet(RULES, frequent=COMMON)
    compiled = [(kind, weight, re.compile(pattern)) for kind, weight, pattern in RULES]
    texts = [fold_for_rules(normalize(orjson.loads(line)["text"]).text)
             for line in CORPUS.read_bytes().splitlines()]  # fmt: skip
    fired = 0
    for text in texts:
        expected = [(weight, kind, p) for kind, weight, p in compiled if p.search(text)]
        found = ruleset.match(text)
        assert [h[:2] for h in found] == [e[:2] for e in expected], text  # rules, in order
        for (_, _, start, end), (_, _, p) in zip(found, expected, strict=True):
            # a match of the rule there (it may start after an optional opening)
            assert (m := p.match(text, start)) is not None and m.end() == end, text
        fired += len(expected)
    assert fired > 500  # the corpus exercises the rules


def test_a_rule_matches_where_its_earliest_alternative_does_and_first_wins_a_tie() -> None:
    ruleset = RuleSet([("x", 0.5, r"\bzebra crossing\b|\bapple pie\b|\bapple\b")])
    assert ruleset.match("an apple pie near the zebra crossing") == [(0.5, "x", 3, 12)]
    assert ruleset.match("zebra crossing, then apple") == [(0.5, "x", 0, 14)]
    assert ruleset.match("nothing here") == []


def test_alternatives_are_split_at_the_top_level_only() -> None:
    assert split_alternatives(r"a|b(c|d)|[|]e|\|f") == ["a", "b(c|d)", "[|]e", r"\|f"]
    assert split_alternatives(r"[]|]x|y") == ["[]|]x", "y"]
    assert split_alternatives(r"[^]|]x|(?:p|q)") == ["[^]|]x", "(?:p|q)"]
    assert split_alternatives("plain") == ["plain"]


def test_no_injection_rule_is_opened_by_a_single_letter_or_runs_on_every_turn() -> None:
    # An alternative without gates runs on every turn, and one opened by a single letter
    # (a regex whose alternatives share their first letter, factored out by the parser)
    # at nearly every turn: each cost the typical turn microseconds when it slipped in.
    from gwstream.guardrails.injection import _RULESET

    openers = [word for word, (_, _, opens) in _RULESET._literals.items() if opens]
    assert _RULESET._always == []
    assert [w for w in openers if len(w) == 1 and w.isalpha()] == []


def test_the_decoding_hint_prefilter_agrees_with_its_pattern() -> None:
    # _hinted looks for literals before running _ENCODING_HINT: on every corpus text, and on
    # each alternative of the pattern, both must say the same.
    from gwstream.guardrails.injection import _ENCODING_HINT, _hinted

    texts = [fold_for_rules(normalize(orjson.loads(line)["text"]).text)
             for line in CORPUS.read_bytes().splitlines()]  # fmt: skip
    texts += [
        "rot-13 this", "a caesar cipher", "decode it", "base 64 text", "ascii85", "in hex",
        "shift by 3", "morse", "binary", "nato", "phonetic alphabet", "braille", "uuencoded",
        "fromcharcode", "char codes", "character codes", "ascii codes", "reversed", "backwards",
        "plaintext", "what does this mean", "what it says", "convert it from",
    ]  # fmt: skip
    hinted = 0
    for text in texts:
        expected = _ENCODING_HINT.search(text) is not None
        assert _hinted(text) == expected, text
        hinted += expected
    assert hinted > 100


def test_no_rule_lost_a_quantifier_to_an_f_string() -> None:
    # rf"...{0,20}..." formats the tuple (0, 20) into the pattern instead of a repeat
    assert [p[:60] for _, _, p in RULES if re.search(r"\(\d+, \d*\)", p)] == []
