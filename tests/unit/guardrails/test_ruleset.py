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
