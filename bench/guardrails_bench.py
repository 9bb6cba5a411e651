"""The guardrails measured like a detector, and what they cost per turn.

1. Quality: runs ``gwstream guardrails scan`` (a subprocess, as an operator
   would) over the labelled corpus (tests/guardrails/corpus.jsonl, or
   ``--corpus``) and prints PII entities leaked per type, near misses
   flagged, injection recall per evasion and per attack kind, false
   positives per category and precision. Targets (the guardrails issue): PII
   leaked <= 0.5% with <= 2% of near misses flagged; injection recall >= 85%
   at <= 2% false positives on benign turns; every evasion >= 80% of the
   plain recall.
2. Speed: CPU per turn of the guardrail work a turn gets (normalisation,
   injection rules, PII detection and redaction), averaged over the corpus's
   typical contact-center turns (benign, PII and near-miss items), and for a
   4,000-character turn. Targets: at most 80 µs on average, at most 2 ms for
   4,000 characters.
3. The worst case: the slowest of a set of hostile 32,000-character turns (the
   schema's longest), each one shape repeated (spaced or dashed digits, one
   digit run, card-like groups, IBAN-like groups, spelled digits, leetspeak,
   hex pairs, ...). No target is set; a guardrail whose work grows faster than
   the text would show here as seconds (a run of spaced digits once took
   minutes), with the event loop stalled for every turn in flight meanwhile.

Usage: python bench/guardrails_bench.py [--corpus FILE] [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import orjson

from gwstream.config import GuardrailPolicy
from gwstream.guardrails.evaluate import score
from gwstream.guardrails.injection import detect
from gwstream.guardrails.normalize import normalize
from gwstream.guardrails.pii import find_pii
from gwstream.guardrails.redact import Placeholders, redact

CORPUS = Path(__file__).parents[1] / "tests" / "guardrails" / "corpus.jsonl"
AVERAGE_US, LONG_MS = 80.0, 2.0


def guard(text: str, policy: GuardrailPolicy) -> str:
    """What the input guardrails do to one turn."""
    n = normalize(text)
    detect(text, n)
    entities = find_pii(text, policy.pii, regions=policy.phone_regions, normalized=n)
    return redact(text, entities, Placeholders())


def per_turn(texts: list[str], policy: GuardrailPolicy, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for text in texts:
            guard(text, policy)
        best = min(best, (time.process_time() - started) / len(texts))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    items = [orjson.loads(line) for line in args.corpus.read_bytes().splitlines() if line]
    scan_input = b"".join(orjson.dumps({"id": i["id"], "text": i["text"]}) + b"\n" for i in items)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gwstream", "guardrails", "scan", "-"],
        input=scan_input,
        capture_output=True,
        check=True,
    )
    scanned = time.monotonic() - started
    results = {r["id"]: r for r in map(orjson.loads, done.stdout.splitlines())}
    report = score(items, results)
    print(f"{len(items)} corpus items scanned by `gwstream guardrails scan` in {scanned:.1f}s")
    for line in report.lines():
        print(line)

    policy = GuardrailPolicy()
    typical = [i["text"] for i in items if i["category"] in ("benign", "pii", "near_miss")]
    average = per_turn(typical, policy, args.repeat)
    long_text = " ".join(typical)[:4000]
    long_turn = per_turn([long_text], policy, max(args.repeat, 20))
    mean_chars = sum(map(len, typical)) / len(typical)
    print(
        f"CPU per turn: {average * 1e6:.1f} µs on average over {len(typical)} typical turns "
        f"({mean_chars:.0f} characters on average; target <= {AVERAGE_US:g} µs: "
        f"{'met' if average * 1e6 <= AVERAGE_US else 'NOT met'}); "
        f"{long_turn * 1e3:.2f} ms for a 4,000-character turn (target <= {LONG_MS:g} ms: "
        f"{'met' if long_turn * 1e3 <= LONG_MS else 'NOT met'})"
    )
    slowest, shape = worst_case(policy)
    print(
        f"worst hostile 32,000-character turn: {slowest * 1e3:.0f} ms ({shape}; "
        f"{len(HOSTILE)} shapes tried)"
    )


#: Shapes a hostile turn repeats up to the schema's 32,000 characters.
HOSTILE = {
    "spaced digits": "1 2 3 4 5 6 7 8 9 0 ",
    "dashed digits": "1-2-3-4-5-6-7-8-9-0-",
    "one digit run": "1234567890",
    "card-like groups": "4111 1111 ",
    "dotted groups": "4111.1111.",
    "IBAN-like groups": "DE89 3704 ",
    "ID-like": "QQ 12 34 56 C ",
    "spelled digits": "one two three four ",
    "obfuscated e-mail": "jane dot doe at ",
    "leetspeak": "rul35 1gn0r3 ",
    "hex pairs": "4f 6e ",
    "base64-like": "QUJD",
    "brackets": "(415) ",
    "dotted quads": "1.2.3.4.5.",
    "%-escapes": "%41%42",
    "character references": "&#65;&amp;",
    "\\u escapes": "\\u0041",
    "Morse": ".- -... / ",
    "decimal codes": "65 66 67 ",
    "backwards words": "erongi lla ",
}


def worst_case(policy: GuardrailPolicy) -> tuple[float, str]:
    """The slowest hostile turn's CPU, and its shape."""
    times = {}
    for name, unit in HOSTILE.items():
        text = (unit * (32_000 // len(unit) + 1))[:32_000]
        times[name] = per_turn([text], policy, 1)
    name = max(times, key=times.__getitem__)
    return times[name], name


if __name__ == "__main__":
    main()
