"""RuleSet's gates only skip work: on every corpus text it finds exactly the rules a plain
search of every pattern finds."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from gwstream.guardrails.normalize import fold_for_rules, normalize
from gwstream.guardrails.rules import RULES
from gwstream.guardrails.ruleset import RuleSet

CORPUS = Path(__file__).parents[2] / "guardrails" / "corpus.jsonl"


def test_gated_matching_finds_what_searching_every_pattern_finds() -> None:
    ruleset = RuleSet(RULES)
    compiled = [(kind, re.compile(pattern)) for kind, _, pattern in RULES]
    texts = [fold_for_rules(normalize(orjson.loads(line)["text"]).text)
             for line in CORPUS.read_bytes().splitlines()]  # fmt: skip
    fired = 0
    for text in texts:
        expected = sorted(i for i, (_, p) in enumerate(compiled) if p.search(text))
        found = ruleset.match(text)
        assert len(found) == len(expected), text
        assert sorted(kind for _, kind, _, _ in found) == sorted(compiled[i][0] for i in expected)
        fired += len(found)
    assert fired > 500  # the corpus exercises the rules


def test_every_injection_rule_is_gated_by_literals_no_single_letter() -> None:
    # A rule without gates runs on every turn, and one gated by a single letter (a regex
    # whose alternatives share their first letter, factored out by the parser) at nearly
    # every position: each cost the typical turn several microseconds when it slipped in.
    from gwstream.guardrails.injection import _RULESET

    ungated = [i for i in _RULESET._always]
    single = [
        (i, sorted(g for g in gates[0] if len(g) == 1 and g.isalpha()))
        for i, (*_, gates) in enumerate(_RULESET._rules)
        if gates and any(len(g) == 1 and g.isalpha() for g in gates[0])
    ]
    assert ungated == [] and single == [], (ungated, single)


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
