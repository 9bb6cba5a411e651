"""Many regular expressions over one text, tried only where they can match.

Python's regex engine tries an alternation at every position of the text, so
running some sixty rules over every turn would cost more than the turn. A
:class:`RuleSet` reads each compiled pattern's parse tree for the literals
every match must contain (its *gates*: the words each alternative opens
with, and those of the next mandatory elements). All gate literals are found
in one Aho-Corasick pass (in C); a rule runs only when every gate of it is
there, and then only with ``match`` at the positions where a literal of its
first gate starts.
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

# A literal of one or two characters, or a word nearly every turn has, would be found
# everywhere: such literals are checked with ``in`` when a rule needs them, not indexed.
_COMMON = frozenset(
    "the the  you you  your all and are can not has have with what what  for but any "
    "its this that from will was were".split(" ")
)


def _indexed(literal: str) -> bool:
    return len(literal.strip()) >= 3 and literal not in _COMMON


class RuleSet:
    """Weighted rules ``(kind, weight, pattern)``; :meth:`match` says which match a text."""

    def __init__(self, rules: Sequence[tuple[str, float, str]]) -> None:
        self._rules = [
            (kind, weight, re.compile(pattern), tuple(_gates(list(_parser.parse(pattern)))))
            for kind, weight, pattern in rules
        ]
        # The literals of every rule's first gate, and the selective ones of its other
        # gates, found in one pass; a rule is a candidate where a first-gate literal starts.
        # Each literal's value: itself, its length, and the rules its finding opens.
        self._literals = ahocorasick.Automaton()
        opened_by: dict[str, list[int]] = {}
        indexed: set[str] = set()
        self._always: list[int] = []
        for i, (*_, gates) in enumerate(self._rules):
            for k, gate in enumerate(gates):
                indexed.update(x for x in gate if k == 0 or _indexed(x))
            if not gates:
                self._always.append(i)
            for literal in gates[0] if gates else ():
                opened_by.setdefault(literal, []).append(i)
        for literal in indexed:
            opens = tuple(opened_by.get(literal, ()))
            self._literals.add_word(literal, (literal, len(literal), opens))
        self._literals.make_automaton()
        # Each rule's later gates as (indexed literals, the others): the first looked up
        # in what the automaton found, the others with ``in``.
        self._later = [
            tuple(
                (frozenset(x for x in g if _indexed(x)), tuple(x for x in g if not _indexed(x)))
                for g in gates[1:]
            )
            for *_, gates in self._rules
        ]

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, text: str) -> list[Hit]:
        """Every rule matching ``text``, with its weight, kind and first match's span."""
        present: set[str] = set()
        # rule -> positions where a match may start (None: search the text)
        candidates: dict[int, list[int] | None] = dict.fromkeys(self._always)
        for end, (literal, length, opens) in self._literals.iter(text):
            present.add(literal)
            for index in opens:
                opened = candidates.get(index, _NEW)
                if opened is _NEW:
                    candidates[index] = [end - length + 1]
                elif opened is not None:
                    opened.append(end - length + 1)
        hits: list[Hit] = []
        later, rules = self._later, self._rules
        for index in sorted(candidates):
            gates = later[index]
            if gates and not _satisfied(gates, present, text):
                continue
            kind, weight, pattern, _ = rules[index]
            where = candidates[index]
            if where is None:
                m = pattern.search(text)
            else:
                m = None
                for pos in sorted(set(where)) if len(where) > 1 else where:
                    m = pattern.match(text, pos)
                    if m is not None:
                        break
            if m is not None:
                hits.append((weight, kind, m.start(), m.end()))
        return hits


_NEW: list[int] = []  # a rule not yet a candidate (a sentinel, never filled)


def _satisfied(
    gates: tuple[tuple[frozenset[str], tuple[str, ...]], ...], present: Any, text: str
) -> bool:
    for indexed, short in gates:
        if indexed.isdisjoint(present) and not any(literal in text for literal in short):
            return False
    return True
