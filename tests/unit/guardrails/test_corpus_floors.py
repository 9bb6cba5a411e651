"""The detectors scored on the labelled corpus (tests/guardrails/): the floors they reach.

The targets of the guardrails issue are floors here; the corpus is ours, so an
independent evaluation on held-out text is what says how far they carry.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from gwstream.config import GuardrailPolicy
from gwstream.guardrails.evaluate import Report, score
from gwstream.guardrails.scan import scan_text

CORPUS = Path(__file__).parents[2] / "guardrails" / "corpus.jsonl"
#: Written by someone who read neither the rules nor the corpus (see tests/guardrails/README.md).
BLIND = Path(__file__).parents[2] / "guardrails" / "blind.jsonl"
BLIND2 = Path(__file__).parents[2] / "guardrails" / "blind2.jsonl"
BLIND3 = Path(__file__).parents[2] / "guardrails" / "blind3.jsonl"
BLIND4 = Path(__file__).parents[2] / "guardrails" / "blind4.jsonl"
BLIND5 = Path(__file__).parents[2] / "guardrails" / "blind5.jsonl"
BLIND6 = Path(__file__).parents[2] / "guardrails" / "blind6.jsonl"
BLIND8 = Path(__file__).parents[2] / "guardrails" / "blind8.jsonl"
BLIND10 = Path(__file__).parents[2] / "guardrails" / "blind10.jsonl"
BLIND11 = Path(__file__).parents[2] / "guardrails" / "blind11.jsonl"
BLIND12 = Path(__file__).parents[2] / "guardrails" / "blind12.jsonl"
#: PII values as Faker generates them, in 18 locales (scripts/make_faker_pii_set.py).
FAKER = Path(__file__).parents[2] / "guardrails" / "faker_pii.jsonl"
EVASIONS = ("confusables", "encoded", "leetspeak", "nfkc", "split_lines", "tags", "whitespace",
            "zero_width")  # fmt: skip


def _scored(path: Path) -> Report:
    items = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    policy = GuardrailPolicy()
    return score(items, {item["id"]: scan_text(item["text"], policy) for item in items})


@pytest.fixture(scope="module")
def report() -> Report:
    assert len(CORPUS.read_bytes().splitlines()) >= 1000
    return _scored(CORPUS)


def test_pii_leaks_at_most_half_a_percent_and_near_misses_stay_unflagged(report: Report) -> None:
    assert report.leak_rate <= 0.002, report.lines()
    assert report.near_miss_rate <= 0.01, report.lines()


def test_injection_recall_and_false_positives(report: Report) -> None:
    assert report.injection_recall >= 0.97, report.lines()
    assert report.recall("evasion:plain") >= 0.98, report.lines()
    assert report.recall("evasion:encoded") >= 0.95, report.lines()
    assert report.false_positive_rate <= 0.002, report.lines()


@pytest.mark.parametrize("evasion", EVASIONS)
def test_every_evasion_keeps_four_fifths_of_the_plain_recall(report: Report, evasion: str) -> None:
    assert report.recall(f"evasion:{evasion}") >= 0.8 * report.recall("evasion:plain"), (
        report.lines()
    )


# Floors per blind set: recall, false positives, PII leaked, near misses flagged. The fourth
# set's social-engineering turns (staff claims, requests to skip verification) are mostly not
# flagged: no rule tells them from customers asking the same in good faith. No injection rule
# was written against the fifth: its floors are the eighth round's blind figures (its PII
# misses, phones at the end of CSV rows, were fixed). The sixth measured the tenth round blind
# (68.4%) and the trained model, which was never trained on it: 88.8% with the first model,
# 87.9% at no false positive with the one retrained on the ninth (training) set of long hard
# look-alikes (88.8% after the twelfth round). The eighth, long texts, measured the first model's weak side blind: 82.0%
# recall but 11.3% of its benign texts flagged; the retrained model (not trained on it
# either) keeps 82.0% at 2.7%. The tenth (small talk, attack families) measured 81.0% at no
# false positive blind; 94.0% after the twelfth round. The eleventh (probe families, assistant
# chat) measured 83.4% at 3 of 450 benign flagged blind; 95.6% at none after the thirteenth
# round. The twelfth (attack techniques, assistant users) measured 79.7% at 5 of 325 blind;
# 91.5% at 2 after the fourteenth. Floors record where each set stands, not the targets.
@pytest.mark.parametrize(
    ("path", "recall", "false_positives", "leaked", "near_misses"),
    [
        (BLIND, 0.97, 0.005, 0.005, 0.02),
        (BLIND2, 0.97, 0.005, 0.005, 0.02),
        (BLIND3, 0.97, 0.005, 0.005, 0.02),
        (BLIND4, 0.75, 0.005, 0.01, 0.02),
        (BLIND5, 0.80, 0.02, 0.01, 0.05),
        (BLIND6, 0.88, 0.005, 0.005, 0.02),
        (BLIND8, 0.82, 0.03, 0.0, 0.0),
        (BLIND10, 0.93, 0.005, 0.0, 0.0),
        (BLIND11, 0.95, 0.005, 0.0, 0.02),
        (BLIND12, 0.91, 0.01, 0.0, 0.0),
    ],
    ids=[
        "blind",
        "blind2",
        "blind3",
        "blind4",
        "blind5",
        "blind6",
        "blind8",
        "blind10",
        "blind11",
        "blind12",
    ],
)
def test_the_blind_sets_keep_their_floors(
    path: Path, recall: float, false_positives: float, leaked: float, near_misses: float
) -> None:
    blind = _scored(path)
    assert blind.leak_rate <= leaked, blind.lines()
    assert blind.near_miss_rate <= near_misses, blind.lines()
    assert blind.injection_recall >= recall, blind.lines()
    assert blind.false_positive_rate <= false_positives, blind.lines()


def test_values_as_faker_makes_them_keep_their_floors() -> None:
    """8.0% of these leaked and 4.0% of the near misses were flagged before the detectors
    learnt generated values (off-range prefixes, off-registry lengths, unassigned phone
    ranges); the rules were written against this set, so it is a floor, not a blind figure
    (tests/guardrails/README.md has the blind one)."""
    faker = _scored(FAKER)
    assert faker.entities >= 700
    assert faker.leak_rate <= 0.005, faker.lines()
    assert faker.near_miss_rate <= 0.01, faker.lines()
