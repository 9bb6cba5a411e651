"""A small trained model of prompt injection, beside the rules: words, weighed.

The rules find the attacks they were written for and little else: on a set of
text written by someone who had read neither them nor the corpus, they found
two attacks in three (tests/guardrails/README.md). Attackers' words carry
further than their phrasings ("restrictions", "verbatim", "character",
"unrestricted"), so a logistic regression over the words of the normalised
text (as the rules see it: lower case, leetspeak folded) adds what the rules
miss.

It was trained by ``scripts/train_injection_model.py`` on our labelled sets
and ships as ``data/injection_model.json``: each word's weight (the ones that
matter, a few thousand), the bias, and the probability from which a turn
counts as an attack, chosen for few false positives on benign turns. Scoring
a turn is a dictionary lookup per word: about 4 microseconds.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from importlib import resources

import orjson

from gwstream.guardrails.encodings import COMMON

MODEL_RESOURCE = "data/injection_model.json"

_WORD = re.compile(r"[a-z']+")
#: The share of a text's words that must be everyday English for the model to judge it. It
#: learnt English: in a German complaint it sees only words attackers used in German, and
#: the rules for other languages are the judges there.
MIN_ENGLISH = 0.2
_IS_COMMON = COMMON.__contains__
_ZEROS = itertools.repeat(0.0)


def features(folded: str) -> list[str]:
    """The words of ``folded`` (normalised, lower case, leetspeak folded): what the model
    weighs, each once. (Pairs of words found 1.4 points more of the sixth blind set's
    attacks and cost twice the CPU: 9 us a turn against 4.)"""
    return _WORD.findall(folded)


class Model:
    """Weights of words, a bias, and the probability from which a text is an attack."""

    __slots__ = ("bias", "threshold", "weights")

    def __init__(self, weights: dict[str, float], bias: float, threshold: float) -> None:
        self.weights = weights
        self.bias = bias
        self.threshold = threshold

    def probability(self, folded: str) -> float:
        """How likely ``folded`` is an injection, by the model (each word counted once);
        0 for text that is not English enough to judge (:data:`MIN_ENGLISH`)."""
        words = features(folded)
        n = len(words)
        if not n or sum(map(_IS_COMMON, words)) < MIN_ENGLISH * n:
            return 0.0
        z = self.bias + sum(map(self.weights.get, set(words), _ZEROS))
        if z < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def from_json(cls, raw: bytes) -> Model:
        data = orjson.loads(raw)
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
        )


@functools.cache
def shipped() -> Model:
    """The model in the package (loaded once, offline)."""
    return Model.from_json(resources.files("gwstream").joinpath(MODEL_RESOURCE).read_bytes())
