"""IBANs: two letters naming a country, two check digits and the account, checked with
mod-97, any case, run together or in groups parted by single spaces or dashes.

An IBAN of its country's registered length (ISO 13616) is read first; one of another
length (a country outside the registry, a mistyped or made-up account) is still an IBAN
when its check digits hold, run together or printed in groups of four.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import phonenumbers

from gwstream.guardrails.phones import IBAN_SHAPED

# IBAN length per country (ISO 13616 registry).
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})")


def iban_ok(compact: str) -> bool:
    """mod-97 of an IBAN without spaces, upper case."""
    moved = compact[4:] + compact[:4]
    n = 0
    for ch in moved:
        n = _mod97_step(n, ch)
    return n == 1


def _mod97_step(n: int, ch: str) -> int:
    """``n`` (a remainder mod 97) followed by ``ch`` (a letter counts as two digits, A=10)."""
    return (
        n * (100 if ch.isalpha() else 10) + (ord(ch) - 55 if ch.isalpha() else ord(ch) - 48)
    ) % 97


def find_ibans(text: str) -> Iterable[tuple[int, int]]:
    """The spans of IBANs in ``text``."""
    for m in _IBAN_START.finditer(text):
        country = m.group(1).upper()
        length = _IBAN_LENGTHS.get(country)
        if (length is None and country not in _COUNTRIES) or not IBAN_SHAPED.match(text, m.start()):
            continue  # no country, or too short for any IBAN
        if length is not None:  # its registered length read first: every IBAN but a few
            chars, ends, _ = _iban_chars(text, m.start(), length)
            if length in ends and iban_ok("".join(chars)):
                yield m.start(), ends[length]
                continue
        chars, ends, grouped = _iban_chars(text, m.start(), _IBAN_MAX)
        # Not of its country's registered length (a country outside the registry, a
        # mistyped or made-up account): still an IBAN if its check digits hold, run
        # together or printed in groups of four, read to the longest end that passes.
        if grouped:
            valid = _valid_lengths(chars)
            n = next((n for n in reversed(grouped) if n in valid), 0)
            if n:
                yield m.start(), ends[n]


#: IBAN lengths across the registry and the countries using IBANs outside it.
_IBAN_MIN, _IBAN_MAX = 15, 34
#: ISO 3166 country codes (the regions phonenumbers knows: every one that has phones).
_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)


def _valid_lengths(chars: Sequence[str]) -> set[int]:
    """The lengths at which ``chars`` (two letters, two digits, then letters and digits)
    pass mod-97, found in one pass: each prefix's remainder follows from the last."""
    head = 0  # the country and check digits, moved to the end: six digits
    for ch in chars[:4]:
        head = _mod97_step(head, ch)
    valid, r = set(), 0
    for n, ch in enumerate(chars[4:], 5):
        r = _mod97_step(r, ch)
        if (r * 1_000_000 + head) % 97 == 1:
            valid.add(n)
    return valid


def _iban_chars(text: str, start: int, limit: int) -> tuple[list[str], dict[int, int], list[int]]:
    """Up to ``limit`` letters and digits from ``start`` (single spaces or dashes between
    groups), upper case; where each possible end leaves them (the count of characters
    read, mapped to the offset after the last, for each count after which the text's word
    ends); and the counts of those ends, from 15, at which every group before the last
    had four characters (an IBAN's print form) or there was one group."""
    chars: list[str] = []
    ends: dict[int, int] = {}
    grouped: list[int] = []
    i, n = start, len(text)
    group, digit, regular, single = 0, False, True, True
    while i < n and len(chars) < limit:
        ch = text[i]
        if ch.isascii() and ch.isalnum():
            chars.append(ch.upper())
            group += 1
            digit = digit or ch.isdigit()
            i += 1
            if i >= n or not (text[i].isascii() and text[i].isalnum()):
                ends[len(chars)] = i
                # A last group of letters only is a word after the account ("... GFEC the")
                if regular and (single or digit) and len(chars) >= _IBAN_MIN:
                    grouped.append(len(chars))
            continue
        if ch not in " -" or i + 1 >= n or text[i + 1] in " -" or not chars:
            break
        regular = regular and group == 4
        group, digit, single = 0, False, False
        i += 1
    return chars, ends, grouped
