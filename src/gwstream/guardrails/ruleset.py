"""Many regular expressions over one text, tried only where they can match.

Python's regex engine tries an alternation at every position of the text, so
running some hundred and seventy rules over every turn would cost more than the
turn. A :class:`RuleSet` splits each pattern into its top-level alternatives
and reads each one's parse tree for the literals every match must contain (its
*gates*: the words it opens with, and those of the next mandatory elements).
The rarest gate of each alternative opens it: its literals, and the selective
ones of the other gates, are found in one Aho-Corasick pass (in C). An
alternative runs only when every gate of it is there, and then only with
``match`` at the positions where a literal of its first gate starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

Hit = tuple[float, str, int, int]  # weight, rule kind, start, end


def _gate(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """Literals one of which every match of the parsed pattern ``items`` must contain (the
    start of each alternative it opens with), or None when there are none to check."""
    gates = _gates(items, 1)
    return gates[0] if gates else None


def _gates(items: list[tuple[Any, Any]], most: int = 3) -> list[frozenset[str]]:
    """Up to ``most`` literal sets that every match of ``items`` must contain, one per
    mandatory element it opens with (literal runs and alternations of them; spaces,
    word boundaries, negative lookarounds and optional parts are stepped over).

    Python's regex engine tries an alternation at every position of the text; checking
    a few substrings first (``in``, in C) skips most rules for most turns.
    """
    gates: list[frozenset[str]] = []
    i, n = 0, len(items)
    while i < n and len(gates) < most:
        op, av = items[i]
        if op is _AT or op is _ASSERT_NOT or (op is _IN and _is_space(av)):
            i += 1
        elif op is _LITERAL:
            run = []
            while i < n and items[i][0] is _LITERAL:
                run.append(chr(items[i][1]))
                i += 1
            gates.append(frozenset(["".join(run)]))
        elif op in (_MAX_REPEAT, _MIN_REPEAT):
            inner = list(av[2])
            if av[0] == 0 or (len(inner) == 1 and inner[0][0] is _IN and _is_space(inner[0][1])):
                i += 1  # optional, or whitespace: no constraint, go on
            else:
                found = _gate(inner)
                if found is None:
                    break
                gates.append(found)
                break  # a repeat: what follows may start anywhere inside it
        elif op is _SUBPATTERN or op is _BRANCH:
            alternatives = [list(av[-1])] if op is _SUBPATTERN else [list(a) for a in av[1]]
            if op is _SUBPATTERN and len(alternatives[0]) == 1 and alternatives[0][0][0] is _BRANCH:
                alternatives = [list(a) for a in alternatives[0][0][1][1]]
            union: set[str] = set()
            for alternative in alternatives:
                found = _gate(alternative)
                if found is None:
                    return gates
                union |= found
            gates.append(frozenset(union))
            i += 1
        else:
            break
    return gates


def _is_space(av: Any) -> bool:
    return any(
        (o is _CATEGORY and a is _CATEGORY_SPACE) or (o is _LITERAL and a in (9, 32)) for o, a in av
    )


_AT, _LITERAL, _SUBPATTERN, _BRANCH = (
    _constants.AT,
    _constants.LITERAL,
    _constants.SUBPATTERN,
    _constants.BRANCH,
)
_MAX_REPEAT, _MIN_REPEAT = _constants.MAX_REPEAT, _constants.MIN_REPEAT
_ASSERT_NOT = _constants.ASSERT_NOT  # a negative lookaround: matches no text, so no gate
_IN, _CATEGORY, _CATEGORY_SPACE = _constants.IN, _constants.CATEGORY, _constants.CATEGORY_SPACE

# A literal of three characters or fewer, or a word nearly every turn has, would be found
# everywhere: such a literal is looked for (``in``, ``find``) when an alternative still
# standing needs it, and indexed only when it opens one that has nothing rarer.
_COMMON = frozenset(
    "the you your all and are can not has have with what for but any its this that from "
    "will was were".split()
)
#: How many rare literals a frequent one counts as, choosing the gate that opens a rule.
_OFTEN = 10
#: Gates read from a pattern at most (the rarest opens it, the others must be there too).
_MOST_GATES = 6

_Gate = tuple[frozenset[str], tuple[str, ...]]  # literals found in the pass, looked for


def _selective(literal: str, frequent: frozenset[str]) -> bool:
    word = literal.strip()
    return len(word) >= 4 and word not in _COMMON and word not in frequent


class RuleSet:
    """Weighted rules ``(kind, weight, pattern)``; :meth:`match` says which match a text."""

    def __init__(
        self, rules: Sequence[tuple[str, float, str]], *, frequent: frozenset[str] = frozenset()
    ) -> None:
        """``frequent``: words most texts hold, which make a poor gate to open a rule by."""
        self._rules = [(kind, weight, re.compile(pattern)) for kind, weight, pattern in rules]
        # Each alternative of a rule's pattern ("A|B|C") is gated on its own: the union of
        # their gates would let the commonest word of any one of them open the whole rule.
        # An alternative is opened by its rarest gate (its opener) when a literal of it is
        # found, kept if its other gates are there too, and tried where a literal of its
        # first gate starts. The openers' literals and the selective ones of the other
        # gates are found in one Aho-Corasick pass (in C).
        parsed: list[tuple[int, str, list[frozenset[str]], int]] = []
        for rule, (_, _, pattern) in enumerate(self._rules):
            for source in split_alternatives(pattern.pattern):
                gates = _gates(list(_parser.parse(source)), _MOST_GATES)
                opener = _opener(gates, frequent) if gates else -1
                parsed.append((rule, source, gates, opener))
        opened_by: dict[str, list[int]] = {}
        indexed: set[str] = set()
        for i, (_, _, gates, opener) in enumerate(parsed):
            for k, gate in enumerate(gates):
                indexed.update(x for x in gate if k == opener or _selective(x, frequent))
                if k == opener:
                    for literal in gate:
                        opened_by.setdefault(literal, []).append(i)
        #: Per alternative: its rule, its pattern, its first gate, and its other gates but
        #: the opener.
        self._alternatives: list[tuple[int, re.Pattern[str], _Gate, tuple[_Gate, ...]]] = []
        self._always: list[int] = []
        for i, (rule, source, gates, opener) in enumerate(parsed):
            if not gates:
                self._always.append(i)
            split = [
                (frozenset(x for x in g if x in indexed), tuple(x for x in g if x not in indexed))
                for g in gates
            ]
            first = split[0] if split else (frozenset(), ())
            others = tuple(g for k, g in enumerate(split) if k != opener)
            self._alternatives.append((rule, re.compile(source), first, others))
        # Each literal's value: itself, its length, and the alternatives it opens.
        self._literals = ahocorasick.Automaton()
        for literal in indexed:
            opens = tuple(opened_by.get(literal, ()))
            self._literals.add_word(literal, (literal, len(literal), opens))
        self._literals.make_automaton()

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, text: str) -> list[Hit]:
        """Every rule matching ``text``, with its weight, kind and first match's span (the
        earliest of its alternatives' matches; at one place, the first alternative's)."""
        # literal -> where it starts in the text; and the alternatives its finding opens
        starts: dict[str, list[int]] = {}
        opened: set[int] = set(self._always)
        for end, (literal, length, opens) in self._literals.iter(text):
            found = starts.get(literal)
            if found is None:
                starts[literal] = [end - length + 1]
                opened.update(opens)
            else:
                found.append(end - length + 1)
        present = set(starts)
        # rule -> its earliest match so far (alternatives come in rule order)
        matched: dict[int, re.Match[str]] = {}
        alternatives = self._alternatives
        for index in sorted(opened):
            rule, pattern, (first, first_looked_for), others = alternatives[index]
            if others and not _satisfied(others, present, text):
                continue
            if not (first or first_looked_for):
                m = pattern.search(text)
            else:
                where = [at for literal in first.intersection(starts) for at in starts[literal]]
                for literal in first_looked_for:
                    at = text.find(literal)
                    while at >= 0:
                        where.append(at)
                        at = text.find(literal, at + 1)
                m = None
                for pos in sorted(set(where)) if len(where) > 1 else where:
                    m = pattern.match(text, pos)
                    if m is not None:
                        break
            if m is not None:
                earlier = matched.get(rule)
                if earlier is None or m.start() < earlier.start():
                    matched[rule] = m
        rules = self._rules
        return [(rules[r][1], rules[r][0], m.start(), m.end()) for r, m in matched.items()]


def _opener(gates: Sequence[frozenset[str]], frequent: frozenset[str]) -> int:
    """The gate that opens an alternative: the one least likely to be in an ordinary turn.
    Each literal counts by how common it is (a frequent word or three letters, more for
    one or two characters), a gate by their sum; of two alike, the earlier."""

    def commonness(gate: frozenset[str]) -> int:
        return sum(
            1
            if _selective(x, frequent)
            else _OFTEN**2
            if len(x.strip()) <= 2 or x.strip() in _COMMON
            else _OFTEN
            for x in gate
        )

    return min(range(len(gates)), key=lambda k: (commonness(gates[k]), k))


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern`` ("a|b(c|d)" is "a" and "b(c|d)"), each
    a pattern of its own (no rule refers back, or sets a flag, across them)."""
    parts: list[str] = []
    depth = start = i = 0
    n = len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):  # a "]" first in a class is one of its characters
                i += 1
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _satisfied(gates: tuple[_Gate, ...], present: set[str], text: str) -> bool:
    """Whether each gate has a literal in the text: ``present`` (found in the pass), or
    looked for."""
    for indexed, looked_for in gates:
        if indexed.isdisjoint(present):
            for literal in looked_for:
                if literal in text:
                    break
            else:
                return False
    return True
