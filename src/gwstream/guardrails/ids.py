"""National identity numbers: their shapes, their check digits and the words that name them.

Each detector checks what the shape alone cannot, so that order numbers,
tracking codes, invoices, dates and prices stay unflagged:

- with letters in them, or a shape of their own, found wherever they are:
  **UK NINO** (prefix rules of HMRC's allocation, suffix A-D; the specimen
  prefix ``QQ`` included), **Spanish DNI and NIE** (check letter mod 23),
  **Italian codice fiscale** (check character, omocodia letters allowed),
  **French NIR** (INSEE number: sex, month, key mod 97), **Brazilian CPF**
  written ``123.456.789-09`` (two check digits);
- digits that could be anything else, found only with a word naming them
  close by (before or just after): **US SSN** without separators, **Canadian
  SIN** (Luhn), **Dutch BSN** (the 11-test), **Indian Aadhaar** (Verhoeff;
  also without a word when grouped ``2345 6789 0124`` and not introduced as
  an order, ticket or reference), **German Steuer-ID** (its structure and
  ISO 7064 check digit; also without a word when grouped ``12 345 678 901``),
  a CPF without its dots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SSN, NINO, DNI, NIE, CODICE_FISCALE = "SSN", "NINO", "DNI", "NIE", "CODICE_FISCALE"
AADHAAR, NIR, STEUER_ID, BSN, CPF, SIN = "AADHAAR", "NIR", "STEUER_ID", "BSN", "CPF", "SIN"
#: Every national identity number type (``SSN`` the US one).
NATIONAL_IDS: tuple[str, ...] = (
    SSN, NINO, DNI, NIE, CODICE_FISCALE, AADHAAR, NIR, STEUER_ID, BSN, CPF, SIN,
)  # fmt: skip

# -- check digits ----------------------------------------------------------------------------


def ssn_ok(digits: str) -> bool:
    """Area not 000, 666 or 9xx, group not 00, serial not 0000."""
    area = digits[:3]
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and digits[3:5] != "00"
        and digits[5:] != "0000"
    )


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_VERHOEFF_D = (
    "0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
    "5987604321", "6598710432", "7659821043", "8765932104", "9876543210",
)  # fmt: skip
_VERHOEFF_P = (
    "0123456789", "1576283094", "5803796142", "8916043527",
    "9453126870", "4286573901", "2793806415", "7046913258",
)  # fmt: skip


def verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = int(_VERHOEFF_D[c][int(_VERHOEFF_P[i % 8][int(ch)])])
    return c == 0


def cpf_ok(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    d = [ord(c) - 48 for c in digits]
    for n in (9, 10):
        if sum(d[i] * (n + 1 - i) for i in range(n)) * 10 % 11 % 10 != d[n]:
            return False
    return True


def bsn_ok(digits: str) -> bool:
    d = [ord(c) - 48 for c in digits]
    return any(d) and (sum(d[i] * (9 - i) for i in range(8)) - d[8]) % 11 == 0


def steuer_id_ok(digits: str) -> bool:
    """11 digits, no leading 0; in the first ten one digit twice or three times (not
    three in a row), every other at most once; ISO 7064 MOD 11,10 check digit."""
    if digits[0] == "0":
        return False
    counts = sorted((digits[:10].count(c) for c in set(digits[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    if counts[0] == 3 and any(c * 3 in digits[:10] for c in set(digits[:10])):
        return False
    product = 10
    for ch in digits[:10]:
        s = (ord(ch) - 48 + product) % 10 or 10
        product = s * 2 % 11
    return (11 - product) % 10 == ord(digits[10]) - 48


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(number: str, letter: str) -> bool:
    return _DNI_LETTERS[int(number) % 23] == letter.upper()


_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20,
         11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23),
        strict=True,
    )
)  # fmt: skip


def codice_fiscale_ok(code: str) -> bool:
    code = code.upper()
    total = 0
    for i, ch in enumerate(code[:15]):
        if i % 2 == 0:
            total += _CF_ODD[ch]
        else:
            total += ord(ch) - 48 if ch.isdigit() else ord(ch) - 65
    return chr(65 + total % 26) == code[15]


def nir_ok(compact: str) -> bool:
    """French NIR: 13 characters (Corsica's departments 2A and 2B), key = 97 - n mod 97."""
    body = compact[:13].upper()
    month = int(body[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    if body[5:7] == "2A":
        body = body[:5] + "19" + body[7:]
    elif body[5:7] == "2B":
        body = body[:5] + "18" + body[7:]
    if not body.isdigit():
        return False
    return 97 - int(body) % 97 == int(compact[13:])


_NINO_FIRST_NOT, _NINO_SECOND_NOT = frozenset("DFIQUV"), frozenset("DFIOQUV")
_NINO_UNUSED = frozenset(("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"))


def nino_prefix_ok(prefix: str) -> bool:
    """HMRC's allocation rules; ``QQ``, the prefix of its published specimen, passes too
    (an example a customer copies is still redacted)."""
    p = prefix.upper()
    if p == "QQ":
        return True
    return p[0] not in _NINO_FIRST_NOT and p[1] not in _NINO_SECOND_NOT and p not in _NINO_UNUSED


# -- shapes ----------------------------------------------------------------------------------

# One pass finds every run of digits (single spaces, dots or dashes between them); each
# detector looks at the runs of its length and at what is around them.
_RUN = re.compile(r"\d(?:[ .-]?\d)*")
_NINO = re.compile(r"([A-Za-z]{2})[ -]?(\d\d)[ -]?(\d\d)[ -]?(\d\d)[ -]?([A-Da-d])(?![A-Za-z0-9])")
_DNI = re.compile(r"(\d{8})[ -]?([A-Za-z])(?!\w)")
_NIE = re.compile(r"([XYZxyz])[ -]?(\d{7})[ -]?([A-Za-z])(?!\w)")
_OMO = "[0-9LMNPQRSTUVlmnpqrstuv]"
_CODICE_FISCALE = re.compile(
    rf"[A-Za-z]{{6}}{_OMO}{{2}}[ABCDEHLMPRSTabcdehlmprst]{_OMO}{{2}}"
    rf"[A-Za-z]{_OMO}{{3}}[A-Za-z](?![A-Za-z0-9])"
)
_NIR = re.compile(
    r"[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}(?![\w]|[ .,/-]\d)"
)
_CPF_FORMATTED = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}$")
_AADHAAR_GROUPED = re.compile(r"[2-9]\d{3}([ -])\d{4}\1\d{4}$")
_STEUER_GROUPED = re.compile(r"[1-9]\d ?\d{3} \d{3} \d{3}$")

# Words naming a number, before it (up to 50 characters) or just after (up to 25).
_CUES = {
    SSN: re.compile(
        r"\bssn\b|\bss ?(?:#|no\b|num)|social[ -]security|\bsoc\.? ?sec\b|\bmy social\b"
    ),
    SIN: re.compile(r"\bsin\b|\bnas\b|social insurance|assurance sociale"),
    BSN: re.compile(r"\bbsn\b|burger ?service ?nummer|citizen service number|\bsofi"),
    AADHAAR: re.compile(r"\baa?dh?aa?r|\buid(?:ai)?\b|unique identification"),
    STEUER_ID: re.compile(
        r"steuer|\bidnr\b|identifikationsnummer|\btax (?:id|identification)|\btin\b"
    ),
    CPF: re.compile(r"\bcpf\b|cadastro de pessoas"),
}
# Words saying digits are something else: no identity number without a word naming one.
_NOT_ID = re.compile(
    r"(?:order|ref|reference|invoice|ticket|case|tracking|parcel|shipment|account|acct|"
    r"policy|claim|booking|confirmation|transaction|receipt|serial|imei|meter|customer|"
    r"member|membership|contract|voucher|phone|mobile|call|tel|fax|#)\b\W*(?:\w+\W+)?$"
)


def _cued(kind: str, text: str, start: int, end: int) -> bool:
    window = text[max(0, start - 50) : start].lower() + " " + text[end : end + 25].lower()
    return _CUES[kind].search(window) is not None


def _not_id(text: str, start: int) -> bool:
    return _NOT_ID.search(text[max(0, start - 40) : start].lower()) is not None


def _plain_digits(
    raw: str, digits: str, text: str, start: int, wanted: frozenset[str]
) -> str | None:
    """The identity number type of digits ``raw`` at ``start`` of ``text``, or None."""
    end = start + len(raw)
    n = len(digits)
    if n == 9:
        for kind, ok in ((SSN, ssn_ok), (SIN, luhn_ok), (BSN, bsn_ok)):
            if kind in wanted and ok(digits) and _cued(kind, text, start, end):
                return kind
    elif n == 11:
        if CPF in wanted and cpf_ok(digits):
            if _CPF_FORMATTED.match(raw) or _cued(CPF, text, start, end):
                return CPF
        if STEUER_ID in wanted and steuer_id_ok(digits):
            if _cued(STEUER_ID, text, start, end):
                return STEUER_ID
            if _STEUER_GROUPED.match(raw) and not _not_id(text, start):
                return STEUER_ID
    elif n == 12 and AADHAAR in wanted and digits[0] not in "01" and verhoeff_ok(digits):
        if _cued(AADHAAR, text, start, end):
            return AADHAAR
        if _AADHAAR_GROUPED.match(raw) and not _not_id(text, start):
            return AADHAAR
    return None


def find_ids(text: str, wanted: frozenset[str]) -> Iterable[tuple[str, int, int]]:
    """National identity numbers of the ``wanted`` types in ``text``, as (type, start, end)."""
    for m in _RUN.finditer(text):
        start, end = m.span()
        if end - start < 6:  # short: only the codice fiscale's first digits
            if end - start == 2 and start >= 6 and CODICE_FISCALE in wanted:
                yield from _codice_fiscale(text, start)
            continue
        before = text[start - 1] if start else " "
        if before.isdigit():
            continue  # the tail of a run cut by a double separator
        raw = m.group().rstrip(" .-")
        end = start + len(raw)
        digits = raw.replace(" ", "").replace(".", "").replace("-", "")
        yield from _lettered(text, start, len(digits), before, wanted)
        if before.isalnum() or before in ".,/+-":
            continue  # inside a word or code, or part of a longer number
        after = text[end : end + 2]
        if after[:1].isalnum() or (after[:1] in ".,/-" and after[1:].isdigit()):
            if NIR in wanted and after[:1] in "ABab" and raw.endswith("2"):
                hit = _NIR.match(text, start)  # Corsica: 2A, 2B
                if hit is not None and nir_ok(hit.group().replace(" ", "")):
                    yield NIR, start, hit.end()
            continue
        if len(digits) == 15 and NIR in wanted:
            if _NIR.match(raw) and nir_ok(digits):
                yield NIR, start, end
        elif len(digits) in (9, 11, 12):
            kind = _plain_digits(raw, digits, text, start, wanted)
            if kind is not None:
                yield kind, start, end


def _word_start(text: str, i: int) -> bool:
    return i == 0 or not text[i - 1].isalnum()


def _codice_fiscale(text: str, start: int) -> Iterable[tuple[str, int, int]]:
    """The codice fiscale whose first two digits are at ``start``, if one is."""
    hit = _CODICE_FISCALE.match(text, start - 6)
    if hit is not None and _word_start(text, start - 6) and codice_fiscale_ok(hit.group()):
        yield CODICE_FISCALE, hit.start(), hit.end()


def _lettered(
    text: str, start: int, n: int, before: str, wanted: frozenset[str]
) -> Iterable[tuple[str, int, int]]:
    """The identity numbers whose letters surround the ``n`` digits at ``start``: a NINO's
    prefix and suffix, a DNI's check letter, a NIE's leading X, Y or Z."""
    if n == 6 and NINO in wanted:
        for back in (3, 2):
            hit = _NINO.match(text, start - back) if start >= back else None
            if hit is not None and _word_start(text, hit.start()):
                if nino_prefix_ok(hit.group(1)):
                    yield NINO, hit.start(), hit.end()
                break
    elif n == 8 and DNI in wanted:
        hit = _DNI.match(text, start)
        if (
            hit is not None
            and not before.isalnum()
            and before not in "-./,"
            and dni_ok(hit.group(1), hit.group(2))
        ):
            yield DNI, start, hit.end()
    elif n == 7 and NIE in wanted and start >= 1:
        back = 2 if start >= 2 and text[start - 1] in " -" else 1
        hit = _NIE.match(text, start - back)
        if (
            hit is not None
            and _word_start(text, hit.start())
            and dni_ok(str("XYZ".index(hit.group(1).upper())) + hit.group(2), hit.group(3))
        ):
            yield NIE, hit.start(), hit.end()
