"""Phone numbers in a turn's text: candidates by shape, judged by context, parsed by
``phonenumbers`` (Google's libphonenumber metadata).

A candidate is a run of digits with the separators people write; what comes
before it can name it as something else (an order, a part, a price) or as a
phone ("call me on"); a national number must be valid in one of the
policy's regions, a number with a country code of a possible length for it.
Used by :func:`gwstream.guardrails.pii.find_pii`.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterable, Sequence

import phonenumbers

# A phone-like run: optional + or 00, digits with spaces, dots, dashes, slashes or
# parentheses between them, 6 to 17 digits in all; after a comma that follows a digit only
# when no group of three digits follows (a CSV field after an id, not 1,234,567).
# Scripts written without spaces (Chinese, Japanese, Korean) end a number where they touch
# it ("電話番号は090-1234-5671です"); letters of other scripts and digits make it a code.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_IN_WORD = rf"[^\W{CJK}]"
_PHONE = re.compile(
    rf"(?<!{_IN_WORD})(?<![+./-])(?!(?<=\d,)\d{{3}}(?!\d))(?:\+|\(\+)?\(?\d[\d \t.()/-]{{4,22}}\d\)?"
    rf"(?P<ext>,?\s?(?:x\.?|ext\.?|extn\.?|extension)\s?\d{{1,6}})?(?!{_IN_WORD})",
    re.IGNORECASE,
)
# Words that name a number as something other than a phone.
_OTHER_NAMES = (
    r"order|ord|ref|reference|invoice|inv|ticket|case|tracking|track|account|acct|a/c|"
    r"policy|claim|sku|item|id|serial|iban|card|code|pin|zip|postcode|"
    r"confirmation|booking|customer|member|membership|contract|meter|parcel|shipment|batch|"
    r"lot|model|version|build|receipt|transaction|voucher|coupon|licen[cs]e|registration|"
    r"part|pn|p/n|units?|qty|quantity|reservation|application|incident|"
    r"vin|plate|isbn|imei|mac|ip|ssn|sin|bsn|cpf|nino|dni|nie|aadhaar|nir|tax id|"
    r"barcode|ean|upc|gtin|"
    # the same in German, Dutch, French, Spanish and Italian
    r"(?:rechnungs|bestell|kunden|auftrags|sendungs|vertrags|mitglieds|versicherungs|vorgangs|"
    r"buchungs|referenz|artikel|konto|produkt|serien|fall|factuur|klant|order|zaak|referentie)"
    r"(?:nummer|nr)|aktenzeichen|commande|facture|dossier|contrat|colis|pedido|factura|"
    r"expediente|p[oó]liza|ordine|fattura|pratica"
)
# Such a word (or a currency sign) just before a number.
_NOT_PHONE = re.compile(
    rf"(?:{_OTHER_NAMES}|no|number|#|[$\u00a3\u20ac\u00a5])"
    r"(?:\s+(?:id|no|number|code|is|was|nr|#)\.?){0,3}\W{0,3}$",
    re.IGNORECASE,
)
# Shapes that are something else: a decimal amount, a dotted quad that could be an IP
# address (its first part up to 255; 192.168.1.300 is a mistyped one), an IBAN-shaped run (two letters, two digits, groups of
# four). A bank sort code (12-34-56), a CPF's shape (123.456.789-09), a range of years
# ((2019-2024)), bytes written as bits (01110011), and a line of an invoice ("50) ....
# 1000.00": dot leaders) too.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_NOT_PHONE_SHAPE = re.compile(
    rf"^\d+[.,]\d{{1,2}}$|^{_OCTET}(?:\.\d{{1,3}}){{3}}$|^\d\d-\d\d-\d\d$|^\d{{3}}\.\d{{3}}\.\d{{3}}-\d\d$"
    r"|^\(?(?:19|20)\d\d\s?[-\u2013/]\s?(?:19|20)\d\d\)?$|^[01]{8}$"
    # a number and a code in brackets after it (ERROR 1045 (28000)); numbers in ones and
    # twos without a trunk 0 (lottery draws, seats: 7 14 22 35 41 49)
    r"|^\d+\s?\(\d+\)$|^[1-9]\d?(?:[ \t]\d{1,2}){3,}$"
    # a date and the hour after it (a log line's 2024-05-02 12:45); a coordinate (52.520008);
    # a dotted quad ending in one digit (999.300.12.1)
    r"|^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\s"
    r"|^[1-9]\d{0,2}\.\d{4,}$|^\d{1,3}(?:\.\d{1,3}){2}\.\d$"
    # a time's seconds with their fraction (07.123456), a decimal (05.123456 BTC); a Dutch
    # mobile written 06.12345678 has eight digits after the dot
    r"|^\d{1,2}\.\d{3,6}$"
)
_TIME_AFTER = re.compile(r"^:\d\d")
_NOT_PHONE_PART = re.compile(r"\.\.")
# Written as phones are, so a phone even when no region's ranges hold it (made-up, mistyped
# and test numbers are still someone's to keep; order numbers are not written so): exactly
# as North American numbers are ((212) 555-0147, 212-555-0147, 1-212-555-0147,
# 212.555.0147); a country code, then groups (brackets, spaces, dashes or dots between
# them); an area code in brackets, after a trunk prefix or none, then groups; or a trunk 0
# and three groups or more (0469 973 65 35).
_WRITTEN_AS_PHONE = re.compile(
    r"(?:1[-. ])?(?:\(\d{3}\)\s?\d{3}[-. ]|\d{3}([-.])\d{3}\1)\d{4}"
    r"|(?:\+|\(\+)\d{1,4}\)?(?:[ ()./-]+\d+)+|(?:\d{1,2}[ -]?)?\(\d{2,5}\)[ -]?\d{2,8}(?:[ .-]\d{2,4})*"
    r"|0\d{1,4}(?:[ -]\d{2,4}){2,4}"
)
IBAN_SHAPED = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,3})?"
)
# Between two letters and a letter, digits are a NINO, valid or not (QQ 12 34 56 C).
_NINO_BEFORE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2} ?$")
_NINO_AFTER = re.compile(r" ?[A-Za-z](?![A-Za-z0-9])")
# A token mixing letters and digits just before: the number continues a code.
_CODE_BEFORE = re.compile(r"(?:\b[A-Za-z]+\d[A-Za-z\d]*|\b\d+[A-Za-z][A-Za-z\d]*)\s$")
_CURRENCY_AFTER = re.compile(
    r"^\s?(?:usd|eur|gbp|chf|inr|jpy|aud|cad|dollars?|euros?|pounds?|rupees?)\b", re.IGNORECASE
)
_CUE_WORDS = (
    r"(?:phone|call|ring|mobile|cell|tel|telephone|text|sms|whatsapp|fax|reach|contact|"
    r"landline|number is|my number|dial|tel[eé]fono|telefone|t[eé]l[eé]phone|portable|"
    r"telefon|handy|telefoon|m[oó]vil|celular|cellulare|numero|telefonnummer|handynummer|"
    r"rufnummer|mobilnummer|festnetznummer|telefoonnummer)(?:s|ed|ing)?\b"
    r"|pick(?:s|ed)? up|get hold of|get in touch|voicemail|missed call"
    r"|電話|携帯|連絡先|电话|手机|號碼|号码|전화|연락처|휴대폰"
)
_PHONE_CUE = re.compile(rf"(?:{_CUE_WORDS})[^.\n]{{0,40}}$", re.IGNORECASE)
# The same word right before the number, or a few small words after it ("call me at").
_PHONE_CUE_CLOSE = re.compile(
    rf"(?:{_CUE_WORDS})(?:\W+(?:is|at|on|me|us|to|my|our|the|back|now|instead|number|no|nr|"
    r"via|under|account|profile|file|record))*\W*$",
    re.IGNORECASE,
)
# "My order number is ...": the number is named as something else, whatever "number is"
# says; "part 7730-2291-004" too.
_OTHER_NUMBER = re.compile(
    rf"\b(?:{_OTHER_NAMES})\s+(?:number|no\.?|#)(?:\s+(?:is|was))?\W{{0,3}}$", re.IGNORECASE
)
# The name of an id right before a number ("INV 0045...", "ref #0012...").
_ID_BEFORE = re.compile(rf"\b(?:{_OTHER_NAMES})\W{{0,3}}$", re.IGNORECASE)
# The name right against it ("ORD-0682-2338", "order 0682-2338"): the number is the id's.
_ID_AGAINST = re.compile(rf"\b(?:{_OTHER_NAMES})[ -]?$", re.IGNORECASE)
#: How far back from the number _ID_AGAINST looks: the longest name and a separator.
_ID_AGAINST_REACH = 16
# Named as a phone just after ("... is the best way to reach me").
# (Not a JSON key: '1765000000, "text": ...' is a timestamp before a field named text.)
_PHONE_CUE_AFTER = re.compile(rf"[^.\n]{{0,30}}?(?<![\"'])\b(?:{_CUE_WORDS})", re.IGNORECASE)
# Any such word anywhere: most texts have none, and skip looking after each number.
_ANY_CUE = re.compile(rf"\b(?:{_CUE_WORDS})", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


class _Spans:
    """Spans, asked whether any overlaps a range in O(log n): a turn may hold thousands
    (a long run of ID-shaped text), and a phone candidate is checked against all of them."""

    __slots__ = ("_max_end", "_starts")

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self._starts = [s for s, _ in ordered]
        self._max_end = list(itertools.accumulate((e for _, e in ordered), max))

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self._starts, end)  # the spans starting before ``end``
        return i > 0 and self._max_end[i - 1] > start


def find_phones(
    text: str,
    regions: Sequence[str],
    taken: list[tuple[int, int]],
    spelled: Sequence[tuple[int, int]] = (),
) -> Iterable[tuple[int, int]]:
    """Phone numbers; digits in a ``spelled`` span were dictated, not written, so their
    lack of grouping says nothing."""
    taken_spans = spelled_spans = None  # built for the first candidate: most turns have none
    cue_words: bool | None = None  # whether the text names phones anywhere (found once)

    def named_after(end: int) -> bool:
        nonlocal cue_words
        if cue_words is None:
            cue_words = _ANY_CUE.search(text) is not None
        return cue_words and _PHONE_CUE_AFTER.match(text, end) is not None

    for m in _PHONE.finditer(text):
        # An extension (x123, ext. 22) is part of the number's span, not of what is parsed.
        start, end = m.start(), m.start("ext") if m.group("ext") else m.end()
        raw = text[start:end]
        # Trim an unbalanced bracket the pattern took at either end.
        if raw.endswith(")") and raw.count("(") < raw.count(")"):
            raw, end = raw[:-1], end - 1
        if raw.startswith("(") and raw.count("(") > raw.count(")"):
            raw, start = raw[1:], start + 1
        raw = raw.rstrip(" -./")
        end = start + len(raw)
        digits = sum(c.isdigit() for c in raw)
        if (
            not 6 <= digits <= 17
            or _DATE_LIKE.match(raw)
            or _NOT_PHONE_SHAPE.match(raw)
            or _NOT_PHONE_PART.search(raw)
            or _TIME_AFTER.match(text, end)
            or (start >= 2 and text[start - 1] == ":" and text[start - 2].isdigit())
        ):
            continue
        if taken:
            taken_spans = taken_spans or _Spans(taken)
            if taken_spans.overlaps(start, end):
                continue
        before = text[max(0, start - 30) : start]
        international = raw.startswith(("+", "(+", "00"))
        if spelled:
            spelled_spans = spelled_spans or _Spans(spelled)
        dictated = spelled_spans is not None and spelled_spans.overlaps(start, end)
        if _CODE_BEFORE.search(before) or _ID_AGAINST.search(
            before, max(0, len(before) - _ID_AGAINST_REACH)
        ):
            continue  # the tail of a code such as "1Z 999 AA1 01 2345 6784", or an id's
        if digits == 6 and _NINO_BEFORE.search(before) and _NINO_AFTER.match(text, end):
            continue
        if raw.startswith("00") and (_ID_BEFORE.search(before) or _OTHER_NUMBER.search(before)):
            # "invoice INV-0045-8812-2231", "customer number is 0070-1144-93": a 00 prefix
            # is an id's zeros there
            continue
        cued = None if international else _introduced(before)
        if not international:
            # Not a national number: introduced as something else, followed by a currency,
            # longer than national numbers are unless it starts with a trunk 0 (card-like
            # digits that failed the card checks), or short and not introduced as a phone.
            # Written as phone numbers are (an area code in brackets, a trunk 0 and
            # groups): what comes before does not make it something else.
            shaped = (
                dictated or "(" in raw or (raw.startswith("0") and any(c in raw for c in " -./"))
            )
            if not cued and not shaped and _NOT_PHONE.search(before):
                continue
            if _CURRENCY_AFTER.match(text[end : end + 10]):
                continue
            if digits >= 12 and (
                not raw.lstrip("(").startswith("0") or (raw.isdigit() and not cued)
            ):
                continue  # a product code, written in one piece (0449532927933: an EAN)
            if digits < 8 and not cued:
                continue
        if _parse_phone(raw, regions, international) is None and not (
            7 <= digits <= 15
            and (
                _WRITTEN_AS_PHONE.fullmatch(raw)
                or (
                    (cued if cued is not None else _introduced(before))
                    and _PHONE_CUE_CLOSE.search(before) is not None
                )
                or named_after(end)
            )
        ):
            # No number of a known region, nor written as one: a phone only when introduced
            # as one ("call me on 0080-268 17": made-up, mistyped and foreign numbers are
            # still someone's), or written as one (_WRITTEN_AS_PHONE).
            continue
        if (
            not international
            and not dictated
            and not _looks_like_phone(raw, before)
            and not named_after(end)
        ):
            continue
        yield start, (m.end() if m.group("ext") else end)


def _introduced(before: str) -> bool:
    """Whether the text just before a number introduces it as a phone (and not as another
    number: "my order number is")."""
    return _PHONE_CUE.search(before) is not None and not _OTHER_NUMBER.search(before)


@functools.lru_cache(maxsize=512)
def _lengths(region: str) -> tuple[frozenset[int], str | None]:
    """A region's possible national number lengths, and its trunk prefix."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None:
        return frozenset(), None
    return frozenset(meta.general_desc.possible_length or ()), meta.national_prefix


def _could_be(digits: str, region: str) -> bool:
    """Cheap check before parsing: the digits' length fits the region's numbers (after
    its trunk prefix, or a leading 1 for the NANP)."""
    lengths, trunk = _lengths(region)
    n = len(digits)
    if n in lengths:
        return True
    return trunk is not None and digits.startswith(trunk) and n - len(trunk) in lengths


def _parse_phone(raw: str, regions: Sequence[str], international: bool) -> object | None:
    candidates: Sequence[str | None]
    if raw.startswith("00"):
        raw, candidates = "+" + raw[2:], (None,)
    elif international:
        candidates = (None,)
    else:
        digits = "".join(c for c in raw if c.isdigit())
        candidates = [r for r in regions if _could_be(digits, r)]
    for region in candidates:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
        # Written with a country code (+44, 001): a number of a possible length for that
        # country is a phone even when its range is unassigned or reserved (fictional
        # 555 and Ofcom drama numbers, test data), since nothing else is written so.
        if region is None and phonenumbers.is_possible_number(number):
            return number
    return None


def _looks_like_phone(raw: str, before: str) -> bool:
    """A national-format number: written like one (grouped, a trunk 0, brackets), or
    introduced as one."""
    if _PHONE_CUE.search(before):
        return True
    if "(" in raw or raw.startswith("0"):
        return True
    return sum(not c.isdigit() for c in raw) >= 1
