"""Scoring the guardrails like a detector: a labelled corpus in, precision and recall out.

A corpus item is ``{"id", "text", "category", "injection", "evasion", "attack",
"entities": [{"type", "start", "end"}]}`` (tests/guardrails/corpus.jsonl); a
result is what ``gwstream guardrails scan`` prints for it. :func:`score`
compares them:

- **PII leaked**: labelled entities not covered by any entity found (a
  leak, whatever type the detector gave it), over all labelled entities;
- **near misses flagged**: near-miss items (order numbers, dates, prices,
  invalid cards and IBANs) with any entity found;
- **injection recall** per evasion and per attack kind, and the false
  positive rate on everything that is not an injection (benign turns, hard
  look-alikes, PII, near misses), with precision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    entities: int = 0
    leaked: int = 0
    leaked_by_type: Counter[str] = field(default_factory=Counter)
    entities_by_type: Counter[str] = field(default_factory=Counter)
    spurious: int = 0  # entities found where none was labelled
    near_misses: int = 0
    near_misses_flagged: int = 0
    attacks: Counter[str] = field(default_factory=Counter)  # by evasion and by attack kind
    caught: Counter[str] = field(default_factory=Counter)
    clean: Counter[str] = field(default_factory=Counter)  # non-injections by category
    false_alarms: Counter[str] = field(default_factory=Counter)

    @property
    def leak_rate(self) -> float:
        return self.leaked / self.entities if self.entities else 0.0

    @property
    def near_miss_rate(self) -> float:
        return self.near_misses_flagged / self.near_misses if self.near_misses else 0.0

    def recall(self, key: str) -> float:
        return self.caught[key] / self.attacks[key] if self.attacks[key] else 0.0

    @property
    def injection_recall(self) -> float:
        total = sum(v for k, v in self.attacks.items() if k.startswith("evasion:"))
        hit = sum(v for k, v in self.caught.items() if k.startswith("evasion:"))
        return hit / total if total else 0.0

    @property
    def false_positive_rate(self) -> float:
        total = sum(self.clean.values())
        return sum(self.false_alarms.values()) / total if total else 0.0

    @property
    def precision(self) -> float:
        hit = sum(v for k, v in self.caught.items() if k.startswith("evasion:"))
        flagged = hit + sum(self.false_alarms.values())
        return hit / flagged if flagged else 1.0

    def lines(self) -> list[str]:
        out = [
            f"PII: {self.leaked} of {self.entities} entities leaked ({self.leak_rate:.2%}); "
            f"{self.near_misses_flagged} of {self.near_misses} near misses flagged "
            f"({self.near_miss_rate:.2%}); {self.spurious} entities found where none was",
        ]
        for kind in sorted(self.entities_by_type):
            n, lost = self.entities_by_type[kind], self.leaked_by_type[kind]
            out.append(f"  {kind:<14} {n - lost:>4}/{n:<4} found ({(n - lost) / n:.1%})")
        out.append(
            f"injection: recall {self.injection_recall:.1%}, precision {self.precision:.1%}, "
            f"false positives {sum(self.false_alarms.values())} of {sum(self.clean.values())} "
            f"non-injections ({self.false_positive_rate:.2%})"
        )
        for key in sorted(self.attacks):
            out.append(
                f"  {key:<28} {self.caught[key]:>4}/{self.attacks[key]:<4} ({self.recall(key):.1%})"
            )
        for category in sorted(self.clean):
            n, bad = self.clean[category], self.false_alarms[category]
            out.append(f"  false positives, {category:<11} {bad:>4}/{n:<4} ({bad / n:.2%})")
        return out


def score(items: Iterable[Mapping[str, Any]], results: Mapping[Any, Mapping[str, Any]]) -> Report:
    """Compare corpus ``items`` with scan ``results`` (by id)."""
    r = Report()
    for item in items:
        found = results[item["id"]]
        spans = [(e["start"], e["end"]) for e in found["entities"]]
        for e in item["entities"]:
            r.entities += 1
            r.entities_by_type[e["type"]] += 1
            if not any(s <= e["start"] and e["end"] <= t for s, t in spans):
                r.leaked += 1
                r.leaked_by_type[e["type"]] += 1
        labelled = [(e["start"], e["end"]) for e in item["entities"]]
        r.spurious += sum(1 for s, t in spans if not any(a < t and s < b for a, b in labelled))
        if item["category"] == "near_miss":
            r.near_misses += 1
            r.near_misses_flagged += bool(spans)
        if item["injection"]:
            for key in (f"evasion:{item['evasion']}", f"attack:{item['attack']}"):
                r.attacks[key] += 1
                r.caught[key] += bool(found["flagged"])
        else:
            r.clean[item["category"]] += 1
            r.false_alarms[item["category"]] += bool(found["flagged"])
    return r
