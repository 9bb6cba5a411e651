"""``gwstream guardrails scan``: a policy tried on transcripts, one JSON line in, one out.

Input lines are ``{"id": ..., "text": ...}``; each output line has the
``id``, the injection verdict (``flagged``, ``score``, ``rule``) and the PII
``entities`` the policy's types select, as ``{"type", "start", "end"}``
character offsets into the original text (end exclusive). Raw values are
never printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from gwstream.guardrails.injection import detect
from gwstream.guardrails.normalize import normalize
from gwstream.guardrails.pii import find_pii
from gwstream.policies import GuardrailPolicy


class ScanError(ValueError):
    """An input line that is not ``{"id": ..., "text": "..."}``."""


def scan_text(text: str, policy: GuardrailPolicy) -> dict[str, Any]:
    n = normalize(text)
    verdict = detect(text, n)
    entities = find_pii(text, policy.pii, regions=policy.phone_regions, normalized=n)
    return {
        "flagged": verdict.flagged,
        "score": verdict.score,
        "rule": verdict.rule,
        "entities": [{"type": e.type, "start": e.start, "end": e.end} for e in entities],
    }


def scan_lines(lines: Iterable[str | bytes], policy: GuardrailPolicy) -> Iterator[bytes]:
    """One output line per input line. Every line is read and checked first: ScanError
    naming each malformed one (the first :data:`MAX_REPORTED`), before anything is out."""
    items = read_items(lines)
    for item_id, text in items:
        yield orjson.dumps({"id": item_id, **scan_text(text, policy)})


#: Malformed lines a ScanError names at most.
MAX_REPORTED = 20


def read_items(lines: Iterable[str | bytes]) -> list[tuple[Any, str]]:
    """The ``(id, text)`` of every non-blank line; ScanError naming the malformed ones."""
    items: list[tuple[Any, str]] = []
    problems: list[str] = []
    bad = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problem = f"line {number}: not JSON ({exc})"
        else:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                items.append((item.get("id"), item["text"]))
                continue
            problem = f'line {number}: expected {{"id": ..., "text": "..."}}'
        bad += 1
        if len(problems) < MAX_REPORTED:
            problems.append(problem)
    if problems:
        more = f"\n(and {bad - len(problems)} more)" if bad > len(problems) else ""
        raise ScanError(
            f"{bad} malformed line{'s' if bad > 1 else ''}, nothing scanned:\n"
            + "\n".join(problems)
            + more
        )
    return items
