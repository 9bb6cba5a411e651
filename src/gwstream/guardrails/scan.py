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
    """One output line per input line; ScanError (naming the line) for a malformed one."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ScanError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ScanError(f'line {number}: expected {{"id": ..., "text": "..."}}')
        yield orjson.dumps({"id": item.get("id"), **scan_text(item["text"], policy)})
