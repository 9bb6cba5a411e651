"""Normalisation before matching, with a map from the normalised text back to the original.

Detectors match on :class:`Normalized` text, and what they find is reported
(and redacted) as spans of the original text, so a caller never sees the
normalised form. :func:`normalize` does what every detector needs:

- Unicode tag characters (U+E0020-U+E007E, invisible in most renderers) are
  decoded to the ASCII they encode, so a hidden instruction becomes visible;
  the tag block's other code points are removed;
- zero-width and other invisible format characters are removed, and so are
  terminal escape sequences (``ESC [32m``: colours glued to a word hide it);
- NFKC folds compatibility forms (fullwidth letters U+FF41..., mathematical
  alphanumerics U+1D400..., ligatures, circled digits) to plain ones, and
  combining marks are dropped; the enclosed capitals NFKC leaves alone
  (negative circled and squared, regional indicators) are read as letters;
- Cyrillic and Greek letters that look Latin are folded to Latin;
- runs of whitespace (line breaks included) collapse to one space.

:func:`fold_for_rules` goes further, for the injection rules only: lower
case, simple leetspeak (``1gn0r3`` → ``ignore``) in words that also hold
letters. Pure ASCII text without runs of whitespace, the common case, passes
through without a per-character loop.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

#: Punctuation a word of a folded turn may carry ("instructions.", "(you"), stripped to read it.
PUNCTUATION = ".,;:!?\"'()"

# Cyrillic and Greek letters that render like Latin ones (the confusables that matter for
# English instructions: U+0430 a, U+0435 e, U+043E o, U+0440 p, U+03BF o, ...), written as
# escapes so that this file shows none of them, and what they fold to.
_CONFUSABLES = dict(
    zip(
        (
            "\u0430\u0432\u0435\u0451\u04bb\u0456\u0457\u0458\u043a\u043c"
            "\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0455\u0501\u051b"
            "\u051d\u04af\u0261\u0131\u0410\u0412\u0415\u0401\u04ba\u0406"
            "\u0407\u0408\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423"
            "\u0425\u0405\u0500\u051a\u051c\u04ae\u03b1\u03b2\u03b3\u03b5"
            "\u03b7\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03c9"
            "\u03c2\u03c3\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c"
            "\u039d\u039f\u03a1\u03a4\u03a5\u03a7"
        ),
        ("abeehiijkmhopctyxsdqwygiABEEHIIJKMHOPCTYXSDQWYabyenikvoptuxwsoABEZHIKMNOPTYX"),
        strict=True,
    )
)

#: Invisible characters removed outright (zero-width, joiners, word joiner, BOM, ...).
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f"
    "\u3164\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c"
    "\ufe0d\ufe0e\ufe0f\ufeff\uffa0"
)
_TAG_FIRST, _TAG_LAST = 0xE0000, 0xE007F
# Capital letters in circles and squares that NFKC leaves alone: the negative circled
# (U+1F150), negative squared (U+1F170) and regional indicator (U+1F1E6) alphabets, each A-Z.
_ENCLOSED_ALPHABETS = (0x1F150, 0x1F170, 0x1F1E6)
_WHITESPACE_RUN = re.compile(r"\s{2,}|[^\S ]")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text and where each of its pieces came from in the original.

    The text is built from segments: ``starts[k]`` is where segment k begins in
    the normalised text, ``origins[k]`` the original span it came from, and
    ``identity[k]`` whether it is the original unchanged (then positions map
    one to one) or a replacement (then any position in it maps to its whole
    original span).
    """

    text: str
    original: str
    starts: tuple[int, ...] = ()
    origins: tuple[tuple[int, int], ...] = ()
    identity: tuple[bool, ...] = ()

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span [start, end) (end exclusive)."""
        if not self.starts:  # nothing changed
            return start, end
        return self._position(start, first=True), self._position(end - 1, first=False)

    def replaced(self) -> list[tuple[int, int]]:
        """The spans of the normalised text that replace something (not the original)."""
        ends = (*self.starts[1:], len(self.text))
        return [
            (s, e) for s, e, same in zip(self.starts, ends, self.identity, strict=True) if not same
        ]

    def _position(self, i: int, *, first: bool) -> int:
        k = bisect.bisect_right(self.starts, i) - 1
        o_start, o_end = self.origins[k]
        if self.identity[k]:
            o = o_start + (i - self.starts[k])
            return o if first else o + 1
        return o_start if first else o_end


class _Builder:
    __slots__ = ("identity", "origins", "pieces", "pos", "starts")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.starts: list[int] = []
        self.origins: list[tuple[int, int]] = []
        self.identity: list[bool] = []
        self.pos = 0

    def add(self, text: str, o_start: int, o_end: int, same: bool) -> None:
        if not text:
            return
        if same and self.identity and self.identity[-1] and self.origins[-1][1] == o_start:
            s, _ = self.origins[-1]
            self.origins[-1] = (s, o_end)  # extend the identity segment
        else:
            self.starts.append(self.pos)
            self.origins.append((o_start, o_end))
            self.identity.append(same)
        self.pieces.append(text)
        self.pos += len(text)

    def build(self, original: str) -> Normalized:
        return Normalized(
            "".join(self.pieces),
            original,
            tuple(self.starts),
            tuple(self.origins),
            tuple(self.identity),
        )


def normalize(text: str) -> Normalized:
    """``text`` normalised for matching (see the module docstring), with its span map."""
    if text.isascii() and "\x1b" not in text:
        if _WHITESPACE_RUN.search(text) is None:
            return Normalized(text, text)
        return _collapse_ascii(text)
    return _normalize_unicode(text)


def _collapse_ascii(text: str) -> Normalized:
    b = _Builder()
    last = 0
    for m in _WHITESPACE_RUN.finditer(text):
        b.add(text[last : m.start()], last, m.start(), True)
        b.add(" ", m.start(), m.end(), False)
        last = m.end()
    b.add(text[last:], last, len(text), True)
    return b.build(text)


# A text with any character outside ASCII is read in tokens: a run of ASCII characters
# and single spaces (kept as it is, in one piece), a run of other whitespace (one space),
# or one other character (folded, through a cache). One accented letter in a long English
# turn used to send every character through the slow path one by one.
# A terminal escape sequence (CSI such as colours, OSC such as a hyperlink; any other ESC and
# the character after it) is dropped.
_TOKEN = re.compile(
    r"((?:[^\s\x1b\x80-\U0010ffff]|\x20(?=\S))+)|(\s+)"
    r"|(\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?)|.",
    re.DOTALL,
)


def _normalize_unicode(text: str) -> Normalized:
    b = _Builder()
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        if m.lastindex == 1:
            b.add(m.group(), start, end, True)
        elif m.lastindex == 2:
            b.add(" ", start, end, m.group() == " ")
        elif m.lastindex == 3:
            continue  # an escape sequence
        else:
            ch = m.group()
            folded = _fold_char(ch)
            if folded == ch:
                b.add(ch, start, end, True)
            elif folded:
                b.add(folded, start, end, False)
    return b.build(text)


def without_marks(text: str) -> str:
    """``text`` with its combining marks (accents, the virama, ...) dropped."""
    return "".join(c for c in text if not unicodedata.combining(c))


@functools.lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """What one character other than ASCII and whitespace reads as ("" when it is dropped:
    invisible, a format character, a combining mark, a tag outside the ASCII range)."""
    cp = ord(ch)
    if _TAG_FIRST <= cp <= _TAG_LAST:
        return chr(cp - _TAG_FIRST) if 0xE0020 <= cp <= 0xE007E else ""
    if ch in _INVISIBLE or unicodedata.category(ch) == "Cf":
        return ""
    for first in _ENCLOSED_ALPHABETS:
        if first <= cp < first + 26:
            return chr(ord("A") + cp - first)
    folded = _CONFUSABLES.get(ch)
    if folded is None:
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch:
            folded = without_marks(folded)
            folded = "".join(_CONFUSABLES.get(c, c) for c in folded)
        elif unicodedata.combining(ch):
            folded = ""
    return folded


_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g", "8": "b",
     "@": "a", "$": "s", "!": "i", "|": "l"}
)  # fmt: skip
# A word of letters and leet characters holding at least one letter and one leet character.
# It starts where such a word starts (the lookbehind): tried from every position of a long
# run of digits, the lookaheads made a 32,000-digit turn take seconds.
_LEET_WORD = re.compile(
    r"(?<![a-z0-9@$!|])(?=[a-z0-9@$!|]*[a-z])(?=[a-z0-9@$!|]*[0134578@$!|9])[a-z0-9@$!|]{2,}"
)
_LEET_CHARS = frozenset("01345789@$!|")


_TRAILING_DIGITS = re.compile(r"\d+$")
# Words ending in two digits or more that are names, not leetspeak ("rul35" is leetspeak).
_DIGIT_NAMES = frozenset(
    "rot13 base16 base32 base36 base58 base62 base64 base85 utf16 utf32 ipv4 ipv6 sha256 "
    "sha512 md5 win10 win11 covid19".split()
)


def _leet(word: str, table: dict[int, str]) -> str:
    """``word`` folded, unless its only leet characters are trailing digits that read as a
    name or a number (``mp3``, ``base64``, ``rot13``, ``order12345``): words like those are
    not leetspeak, while ``rul35`` is."""
    stem = _TRAILING_DIGITS.sub("", word)
    if stem != word and _LEET_CHARS.isdisjoint(stem):
        tail = word[len(stem) :]
        if len(stem) < 2 or not 1 < len(tail) < 4 or not _LEET_CHARS.issuperset(tail):
            return word  # a name or a number: mp3, order12345, inv2023
        if word in _DIGIT_NAMES:
            return word
    return word.translate(table)


def fold_for_rules(text: str) -> str:
    """Lower case with simple leetspeak folded (``1`` read as ``i``), same length as
    ``text`` (so positions still map through the :class:`Normalized` it came from)."""
    low = text.lower()
    if _LEET_CHARS.isdisjoint(low):
        return low
    return _LEET_WORD.sub(lambda m: _leet(m.group(), _LEET), low)


_LEET_AS_L = {**_LEET, ord("1"): "l"}


def fold_for_rules_l(text: str) -> str | None:
    """As :func:`fold_for_rules`, with ``1`` read as ``l`` (``p011cy``); None when the
    text has no ``1``, so there is nothing else to try."""
    low = text.lower()
    if "1" not in low:
        return None
    return _LEET_WORD.sub(lambda m: _leet(m.group(), _LEET_AS_L), low)


# -- digits spelled out ----------------------------------------------------------------------

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "nought": "0", "naught": "0", "one": "1", "two": "2",
    "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9",
}  # fmt: skip
_DIGIT_WORD = "(?:zero|oh|nought|naught|one|two|three|four|five|six|seven|eight|nine)"
_SPELLED_TOKEN = rf"(?:(?:double|triple)[ -]{_DIGIT_WORD}|{_DIGIT_WORD}|\d+)"
# Digit words (and digit groups among them) separated by spaces, commas or dashes.
_SPELLED_RUN = re.compile(
    rf"\b{_SPELLED_TOKEN}(?:(?: ?[,-] ?| ){_SPELLED_TOKEN})+\b", re.IGNORECASE
)
_SPELLED_PART = re.compile(rf"(double|triple)[ -]({_DIGIT_WORD})|({_DIGIT_WORD})|(\d+)", re.I)
#: Fewest digit words a run needs to be read as a number ("one or two" stays words).
MIN_SPELLED = 4
_RUN_WORDS = frozenset(_DIGIT_WORDS) | {"double", "triple"}


def _has_spelled_run(low: str) -> bool:
    """Whether ``low`` has :data:`MIN_SPELLED` digit words in a row: a cheap look at its
    words before any pattern runs."""
    if "," in low or "-" in low:
        low = low.replace(",", " ").replace("-", " ")
    words = low.split()
    if _DIGIT_WORDS.keys().isdisjoint(words):
        return False
    run = 0
    for word in words:
        if word in _DIGIT_WORDS:
            run += 1
            if run >= MIN_SPELLED:
                return True
        elif word not in _RUN_WORDS and not word.isdigit():
            run = 0
    return False


def spelled_digits(text: str) -> Normalized | None:
    """``text`` with runs of digits spelled out in English ("four one five, double five")
    written as digits ("41555"), and the map back to ``text``; None when it has none.

    A run needs :data:`MIN_SPELLED` digit words and six digits at least; it becomes
    one run of digits, without the separators it had.
    """
    if not _has_spelled_run(text.lower()):
        return None
    b: _Builder | None = None
    last = 0
    for m in _SPELLED_RUN.finditer(text):
        words = 0
        digits: list[str] = []
        for part in _SPELLED_PART.finditer(m.group()):
            repeat, word, single, number = part.groups()
            if repeat:
                words += 1
                digits.append(_DIGIT_WORDS[word.lower()] * (2 if repeat.lower() == "double" else 3))
            elif single:
                words += 1
                digits.append(_DIGIT_WORDS[single.lower()])
            else:
                digits.append(number)
        value = "".join(digits)
        if words < MIN_SPELLED or len(value) < 6:
            continue
        if b is None:
            b = _Builder()
        b.add(text[last : m.start()], last, m.start(), True)
        b.add(value, m.start(), m.end(), False)
        last = m.end()
    if b is None:
        return None
    b.add(text[last:], last, len(text), True)
    return b.build(text)
