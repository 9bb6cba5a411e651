"""PII detection: e-mail addresses, phones, payment cards, IBANs, national ids, IP addresses.

:func:`find_pii` finds entities in the normalised text (so fullwidth digits,
zero-width characters and look-alike letters do not hide a value) and
reports them as spans of the original text. Digits spelled out in English
("four one five ...", "double five") are read as digits
(:func:`~gwstream.guardrails.normalize.spelled_digits`) and reported as the
words' span. Every detector checks what a pattern alone cannot:

- **e-mail addresses**, also written to dodge a filter: ``john dot doe at
  example dot com``, ``john(at)example(dot)org``, ``john [at] example [dot]
  com``, ``john.doe @ example.com`` (a known top-level domain; a bare ``at``
  after a single word needs a word like "email" before it, so that "look at
  example dot com" is not an address);
- **cards**: 12 to 19 digits (single spaces or dashes between groups, or
  groups of four joined by dots or slashes throughout), a
  known issuer prefix (Visa, Mastercard 51-55 and 2221-2720, Amex, Discover,
  JCB, Diners, UnionPay, Maestro, Mir) and the Luhn checksum; a card run
  together with other digits is tried group by group;
- **IBANs** (:mod:`~gwstream.guardrails.ibans`): the country's length and the
  mod-97 checksum, any case, spaced, dashed or not;
- **phone numbers** (:mod:`~gwstream.guardrails.phones`): parsed and
  validated by ``phonenumbers`` (Google's libphonenumber metadata): international numbers (``+`` or ``00``) for any
  country, national ones for the regions configured (the tenant's
  countries); never a number inside a word or code (``ORD-2024-118844``), a
  date, an IP address, a card, an identity number or a bank sort code;
- **US SSNs**: area not 000, 666 or 9xx, group not 00, serial not 0000;
  without separators only with a word naming it;
- **national identity numbers** (:mod:`~gwstream.guardrails.ids`): UK NINO,
  Spanish DNI/NIE, Italian codice fiscale, French NIR, German Steuer-ID,
  Dutch BSN, Brazilian CPF, Canadian SIN, Indian Aadhaar, each by its check
  digits and, where digits alone say too little, a word naming it;
- **IP addresses**: validated by :mod:`ipaddress`, v4 and v6; a dotted quad
  after "version", "release", "build" and the like is a version.

Types a policy names select detectors (:func:`selected`): ``NATIONAL_ID``
selects every national identity number (the default policy names it); any
other type, ``SSN`` included, selects itself alone.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gwstream.guardrails.ibans import find_ibans
from gwstream.guardrails.ids import NATIONAL_IDS, find_ids, luhn_ok
from gwstream.guardrails.normalize import Normalized, normalize, spelled_digits
from gwstream.guardrails.phones import CJK, IBAN_SHAPED, find_phones
from gwstream.policies import DEFAULT_PHONE_REGIONS

EMAIL, PHONE, CARD, IBAN, SSN, IPV4, IPV6 = "EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IPV4", "IPV6"
NATIONAL_ID = "NATIONAL_ID"
#: Every entity type the detectors report.
TYPES: tuple[str, ...] = (EMAIL, PHONE, CARD, IBAN, IPV4, IPV6, *NATIONAL_IDS)
_FAMILIES = {NATIONAL_ID: NATIONAL_IDS}


def selected(types: Iterable[str]) -> frozenset[str]:
    """The entity types that the types a policy names select (see the module docstring)."""
    return _selected(tuple(types))


@functools.lru_cache(maxsize=64)
def _selected(types: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for t in types:
        out.update(_FAMILIES.get(t, (t,)))
    return frozenset(out)


#: Regions whose national phone formats are recognised when a tenant names none.
DEFAULT_REGIONS: tuple[str, ...] = DEFAULT_PHONE_REGIONS


@dataclass(frozen=True, slots=True)
class Entity:
    """A PII value at [start, end) of the original text (end exclusive)."""

    type: str
    start: int
    end: int


# -- e-mail --------------------------------------------------------------------------------

# Internationalised addresses too (RFC 6531): letters and digits of any script in the
# local part (and an apostrophe: o'brien@...) and the domain's labels, a quoted local part,
# an IP literal for a domain.
_EMAIL_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_EMAIL = re.compile(
    r'(?:(?<![\w.%+\'-])[^\W_][\w.%+\'-]*|(?<![\w"])"[^"\r\n@]{1,64}")@'
    rf"(?:{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*\.(?:[^\W\d_]{{2,24}}|xn--[a-z0-9-]{{1,59}})(?![\w-])"
    r"|\[(?:IPv6:)?[0-9A-Fa-f.:]{2,45}\])"
)
_CJK_CHAR = re.compile(f"[{CJK}]")
# Image and document names ("logo@2x.png"): their extensions are no top-level domains.
_FILE_EXTENSIONS = frozenset(
    "png jpg jpeg gif svg webp bmp ico tif tiff heic pdf txt csv doc docx xls xlsx ppt pptx "
    "json xml htm html js css mp3 mp4 wav".split()
)


def _email(text: str, m: re.Match[str]) -> tuple[str, int, int] | None:
    """The address ``m`` found, trimmed where a script written without spaces touches it
    ("メールはjane@example.esです" holds jane@example.es); None for a file name."""
    start, end = m.span()
    at = text.index("@", start)
    local = text[start:at]
    if text[start] != '"' and (cjk := list(_CJK_CHAR.finditer(local))):
        last = cjk[-1].end()
        if last < len(local):  # letters of another script follow: the address starts there
            start += last
    domain = text[at + 1 : end]
    first = None if domain.startswith("[") else _CJK_CHAR.search(domain)
    if first is not None and first.start() > 0 and domain[first.start() - 1] != ".":
        end = at + 1 + first.start()
        domain = text[at + 1 : end].rstrip(".-")
        end = at + 1 + len(domain)
        tld = domain.rpartition(".")[2]
        if "." not in domain or len(tld) < 2 or not tld.isalpha():
            return None
    if domain.rpartition(".")[2].lower() in _FILE_EXTENSIONS:
        return None
    return (EMAIL, start, end)


# Written to dodge a filter: "at" and "dot" as words or in brackets, spaces around "@",
# the "@" escaped (HTML, URL, JSON or Python escapes left in the text as they were typed).
_OBF_AT_TOKENS = (" at ", "(at)", "[at]", "{at}", "<at>", "@")
_ESCAPED_AT = ("&#64;", "&#x40;", "&commat;", "%40", "\\u0040", "\\x40")
_OBF_DOT = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+|\.)"
_OBF_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|us|uk|de|fr|es|it|nl|be|ch|at|"
    "ie|pt|pl|se|no|dk|fi|in|br|mx|au|jp|sg|za|ca|ru|cn|nz|eu|email|online|mail|test|example"
)
_OBF_DOMAIN = re.compile(rf"{_OBF_LABEL}(?:{_OBF_DOT}{_OBF_LABEL})*{_OBF_DOT}(?:{_TLDS})(?![\w-])")
# The local part may spell its separators out too: "sam underscore lee at ...".
_OBF_LOCAL_SEP = rf"(?:{_OBF_DOT}|\s+(?:underscore|dash|hyphen)\s+)"
_OBF_LOCAL = re.compile(rf"(?<![\w.%+-])[a-z0-9][a-z0-9_%+-]*(?:{_OBF_LOCAL_SEP}[a-z0-9_%+-]+)*$")
_EMAIL_CUE = re.compile(r"(?:e-?mail|mail|address|contact|reach|write|send|inbox)\b[^.!?]{0,30}$")


def _obfuscated_emails(low: str) -> Iterable[tuple[int, int]]:
    """Addresses in lower-cased ``low`` with "at" or "dot" spelled out or bracketed, or
    spaces around the "@"."""
    tokens: tuple[str, ...] = _OBF_AT_TOKENS
    if "&" in low or "%" in low or "\\" in low:
        tokens += _ESCAPED_AT
    for token in tokens:
        i = low.find(token)
        while i >= 0:
            found = _obfuscated_email(low, i, i + len(token), token == " at ")
            if found is not None:
                yield found
            i = low.find(token, i + 1)


def _obfuscated_email(low: str, start: int, end: int, word_at: bool) -> tuple[int, int] | None:
    """The address around the "at" at [start, end) of ``low``, if there is one."""
    if low[start] == "@":
        while start > 0 and low[start - 1] == " ":
            start -= 1
        while end < len(low) and low[end] == " ":
            end += 1
        if end - start == 1:
            return None  # an ordinary address: found by the plain pattern
    else:
        while start > 0 and low[start - 1] == " ":
            start -= 1
        while end < len(low) and low[end] == " ":
            end += 1
    domain = _OBF_DOMAIN.match(low, end)
    if domain is None or (word_at and "dot" not in domain.group() and "." not in domain.group()):
        return None
    local = _OBF_LOCAL.search(low, max(0, start - 64), start)
    if local is None:
        return None
    if word_at and local.group().isalpha():
        # "look at example dot com": one word before a bare "at" is an address only
        # when the turn says it is one
        if _EMAIL_CUE.search(low, max(0, local.start() - 40), local.start()) is None:
            return None
    return local.start(), domain.end()


# -- cards ---------------------------------------------------------------------------------

# Maximal runs of digits with single spaces or dashes between them.
# After a comma that follows a digit only when no group of three digits follows (a CSV
# field after an id, not the thousands of 1,234,567).
_DIGIT_RUN = re.compile(r"(?<![\w./-])(?!(?<=\d,)\d{3}(?!\d))\d(?:[ -]?\d)*(?![\w])")
# The same run right after letters ("x4111...", "visa4111..."): a card only if it is one whole.
_ATTACHED_RUN = re.compile(r"\d(?<=[^\W\d_]\d)(?:[ -]?\d)*(?![\w])")
_GROUP_SEP = re.compile(r"[ -]")


def card_brand(digits: str) -> str | None:
    """The issuer of a card number by its prefix and length (None: no known issuer)."""
    n = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or 644 <= p3 <= 649 or p2 == 65 or 622126 <= p6 <= 622925) and 16 <= n <= 19:
        return "discover"
    if (3528 <= p4 <= 3589 and 16 <= n <= 19) or (p4 in (1800, 2131) and n == 15):
        return "jcb"
    if (300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095) and 14 <= n <= 19:
        return "diners"
    if p2 in (62, 81) and 16 <= n <= 19:
        return "unionpay"
    if 2200 <= p4 <= 2204 and 16 <= n <= 19:
        return "mir"
    if (p2 == 50 or 56 <= p2 <= 69) and 12 <= n <= 19:
        return "maestro"
    return None


def _is_card(digits: str, text: str | None = None, start: int = 0) -> bool:
    """A card's length and check digit, and a known issuer's prefix, or any prefix when
    ``text`` names it as a card just before ``start``: a mistyped or made-up card is still
    one to keep."""
    if not 12 <= len(digits) <= 19:
        return False
    if card_brand(digits) is None and (text is None or not _card_cued(text, start)):
        return False
    return luhn_ok(digits)


# A card named just before its number ("card number:", "my Visa is", "Kreditkarte").
_CARD_CUE = re.compile(
    r"(?:\bcards?|\bcredit|\bdebit|\bvisa|master ?card|\bamex|\bjcb|maestro|discover|diners|"
    r"union ?pay|\bcc|karte|\bcarte|tarjeta|cart[aã]o|\bcarta|\bkaart|\bkort|\bkarta|"
    r"\bpa(?:id|y|ying) (?:with|by|using)|クレジット|カード|信用卡|银行卡|카드)[^\n\d]{0,30}$",
    re.IGNORECASE,
)
# The name of another numbering of card lengths right before it ("barcode 6181...",
# "IMEI: 3569..."): a check digit that holds by chance makes no card of it. (An order or
# reference number that is a valid card is still redacted: it may be one.)
_NOT_CARD = re.compile(
    r"\b(?:barcode|ean|upc|gtin|isbn|imei)"
    r"(?:\s*(?:no\.?|number|nr|#|code))?\W{0,2}\s*$",
    re.IGNORECASE,
)


def _card_cued(text: str, start: int) -> bool:
    return _CARD_CUE.search(text, max(0, start - 45), start) is not None


def _card_groups(groups: Sequence[str]) -> bool:
    """Whether digit groups are written as cards are: run together, or in groups of three
    digits or more (4-4-4-4, Amex 4-6-5), a shorter one only at the end (bytes or codes
    written in pairs, "65 67 61 72 64 20", are no card)."""
    return all(len(g) >= 3 for g in groups[:-1])


def _card_window(
    groups: Sequence[tuple[int, int, str]], first: int, last: int, card_length: bool
) -> bool:
    """Whether groups ``first``..``last`` of a longer run (written as a card's, groups of
    three digits or more) can be a card on their own: not a piece of a number of a card's
    length in the same groups of four
    ("Membership no. 5971 0282 2512 3937" holds no 12-digit card; "4111 1111 1111 1111
    2027", 20 digits, holds one). ``card_length``: the whole run has 19 digits or fewer."""
    window = [g[2] for g in groups[first : last + 1]]
    if card_length and all(len(g) == 4 for g in window):
        before = first > 0 and len(groups[first - 1][2]) == 4
        after = last + 1 < len(groups) and len(groups[last + 1][2]) == 4
        return not (before or after)
    return True


# Groups of four (Amex 4-6-5) joined by dots or slashes, the same one throughout.
_DOTTED_CARD = re.compile(r"(?<![\w.,/-])\d{4}([./])\d{4,6}(?:\1\d{4,5}){1,3}(?![\w]|[./]\d)")


_DIGITS = re.compile(r"\d+")


def _cards(text: str) -> Iterable[tuple[int, int]]:
    if "." in text or "/" in text:
        for m in _DOTTED_CARD.finditer(text):
            if _is_card(m.group().replace(m.group(1), "")):
                yield m.start(), m.end()
    for m in _ATTACHED_RUN.finditer(text):
        run = m.group()
        if _is_card(_GROUP_SEP.sub("", run)) and _card_groups(_DIGITS.findall(run)):
            yield m.start(), m.end()
    for m in _DIGIT_RUN.finditer(text):
        run = m.group()
        digits = _GROUP_SEP.sub("", run)
        if len(digits) < 12 or text[m.start() - 1 : m.start()] == "+":
            continue  # too short, or a phone in international form (+4915123464187)
        if (
            len(digits) <= 19
            and _is_card(digits, text, m.start())
            and _card_groups(_DIGITS.findall(run))
        ):
            if not _NOT_CARD.search(text, max(0, m.start() - 30), m.start()):
                yield m.start(), m.end()
            continue
        # Run together with other numbers ("4111 1111 1111 1111 12 27"): from each group,
        # the longest sequence of whole groups that is a card. A card has at most 19
        # digits, so only the groups within 19 digits of the first are joined: linear in
        # the run (a 32,000-character run of spaced digits took minutes when every
        # sequence was tried).
        groups = [(g.start(), g.end(), g.group()) for g in _DIGITS.finditer(run)]
        if len(groups) < 2:
            continue
        i = 0
        while i < len(groups):
            joined, candidates = "", []
            for j in range(i, len(groups)):
                if j > i and len(groups[j - 1][2]) < 3:
                    break  # groups of one or two digits are no card's (bytes, codes)
                joined += groups[j][2]
                if len(joined) > 19:
                    break
                if len(joined) >= 12:
                    candidates.append((j, joined))
            found = next(
                (
                    j
                    for j, d in reversed(candidates)
                    if _is_card(d) and _card_window(groups, i, j, len(digits) <= 19)
                ),
                None,
            )
            if found is None:
                i += 1
                continue
            if _NOT_CARD.search(text, max(0, m.start() - 30), m.start()):
                break  # the run is named as another number
            yield m.start() + groups[i][0], m.start() + groups[found][1]
            i = found + 1


# -- SSNs and IP addresses ---------------------------------------------------------------

_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_VERSION_CUE = re.compile(
    r"\b(?:version|ver|v|release|build|firmware|fw|update|updated|upgrade|upgraded|patch|sdk|"
    r"api|app|os|software|chapter|ch|section|sec|clause|paragraph|para|article|art|figure|"
    r"fig|§)\.?(?:\s+(?:is|was|now|number|no\.?|nr|to|of|at|on))*\s*[:#=]?\s*$",
    re.IGNORECASE,
)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])"
)


def _ips(text: str, types: frozenset[str]) -> Iterable[tuple[str, int, int]]:
    if IPV4 in types and "." in text:
        for m in _IPV4.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            if _VERSION_CUE.search(text[max(0, m.start() - 20) : m.start()]):
                continue  # "version 10.2.3.4" is a version number
            yield IPV4, m.start(), m.end()
    if (IPV6 in types and "::" in text) or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            value = m.group()
            if value.count(":") < 2 or not any(c in value for c in "0123456789abcdefABCDEF"):
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield IPV6, m.start(), m.end()


# -- all together --------------------------------------------------------------------------

_NON_DIGIT = re.compile(r"\D+")


def find_pii(
    text: str,
    types: Iterable[str] = TYPES,
    *,
    regions: Sequence[str] = DEFAULT_REGIONS,
    normalized: Normalized | None = None,
) -> list[Entity]:
    """Every entity of ``types`` (see :func:`selected`) in ``text``, as spans of ``text``,
    in order, not overlapping (a longer, more specific one wins)."""
    wanted = selected(types)
    n = normalized if normalized is not None else normalize(text)
    t = n.text
    found: list[tuple[str, int, int]] = []
    if EMAIL in wanted:
        if "@" in t:
            found.extend(span for m in _EMAIL.finditer(t) if (span := _email(t, m)) is not None)
        found.extend((EMAIL, s, e) for s, e in _obfuscated_emails(t.lower()))
    numeric = wanted - {EMAIL}
    if numeric:
        # Digits spelled out are found as digits, and reported as the words' span.
        spelled = spelled_digits(t) if numeric & _DICTATED else None
        if spelled is None:
            lines = _with_line_breaks(n)
            found.extend(_numeric(t, numeric, regions, found, lines=lines))
        else:
            found.extend(
                (kind, *spelled.span(s, e))
                for kind, s, e in _numeric(spelled.text, numeric, regions, [], spelled.replaced())
            )
    found.sort(key=lambda f: (f[1], -(f[2] - f[1])))
    out: list[Entity] = []
    last_end = -1
    for kind, s, e in found:
        if s < last_end:
            continue  # inside one already taken
        o_start, o_end = n.span(s, e)
        out.append(Entity(kind, o_start, o_end))
        last_end = e
    return out


def _with_line_breaks(n: Normalized) -> str:
    """``n``'s text with a line break again where normalisation made one a space (the same
    length): a phone at the end of a CSV row must not run on into the next row's first
    field ("+1 582 767 5844\n101,..." is a phone and an id, not one 14-digit number)."""
    t = n.text
    if "\n" not in n.original:
        return t
    chars: list[str] | None = None
    for s, e in n.replaced():
        if e - s == 1 and t[s] == " ":
            o_start, o_end = n.span(s, e)
            if "\n" in n.original[o_start:o_end]:
                chars = chars if chars is not None else list(t)
                chars[s] = "\n"
    return "".join(chars) if chars is not None else t


# A dash, underscore or slash between a word and a number ("card-4111...", "ssn-123-45-6789",
# "tel-+44 20...", "visa_4111..."): read as a space, so that the number is found as it is
# after "card " (and a word that names it as something else, "order-...", still does).
_ATTACHED = re.compile(r"[-_/](?<=[^\W\d_].)(?=\+?\d)")  # the class first: scanned fast


def _detach(t: str) -> str:
    """``t`` with a number attached to the word before it parted from it (same length)."""
    return _ATTACHED.sub(" ", t) if ("-" in t or "_" in t or "/" in t) else t


# Types whose values are dictated digit by digit.
_DICTATED = frozenset((PHONE, CARD, *NATIONAL_IDS))


def _numeric(
    t: str,
    wanted: frozenset[str],
    regions: Sequence[str],
    already: list[tuple[str, int, int]],
    spelled: Sequence[tuple[int, int]] = (),
    lines: str | None = None,
) -> list[tuple[str, int, int]]:
    """The entities made of digits in ``t`` (after ``already``, found before: not phones)."""
    found: list[tuple[str, int, int]] = []
    # How many digits the text holds says which detectors can find anything: most turns
    # have none or a few, and skip the scans.
    digits = len(_NON_DIGIT.sub("", t))
    if digits < 4 and "::" not in t:
        return found
    detached = _detach(t)
    lines = detached if lines is None or lines is t else _detach(lines)
    t = detached
    if IBAN in wanted:  # the check digits and a bank code, at least
        found.extend((IBAN, s, e) for s, e in find_ibans(t))
    if CARD in wanted and digits >= 12:
        found.extend((CARD, s, e) for s, e in _cards(t))
    if SSN in wanted and digits >= 9:
        found.extend((SSN, m.start(), m.end()) for m in _SSN.finditer(t))
    if digits >= 6 and not wanted.isdisjoint(NATIONAL_IDS):
        found.extend(find_ids(t, wanted))
    if wanted & {IPV4, IPV6}:
        found.extend(_ips(t, wanted))
    if PHONE in wanted and digits >= 6:
        taken = [(s, e) for _, s, e in already]
        taken.extend((s, e) for _, s, e in found)
        taken.extend(m.span() for m in IBAN_SHAPED.finditer(t))  # valid or not, not a phone
        # Phones are read with the line breaks back (``lines``, as long as ``t``): a phone
        # ends with its line. A card wrapped over two lines is still one card.
        found.extend((PHONE, s, e) for s, e in find_phones(lines, regions, taken, spelled))
    return found
