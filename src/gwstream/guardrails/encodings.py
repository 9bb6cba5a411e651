"""Text hidden in encodings, for the injection rules to judge: base64, base32 and hex runs,
%-escapes, HTML references, \\u escapes, Morse code, bits and character codes, Braille,
MIME encoded words, uuencode, ascii85, the NATO alphabet, rot13, Caesar shifts and text
written backwards.

Each decoder is tried only when the text has its marks, so a typical turn pays for a few
counts and set lookups. :func:`reads_as_words` and its helpers tell decoded words from
noise with a list of everyday English words.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import urllib.parse

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,6}(?![A-Za-z0-9+/=])")
# Hex digits run together, or in pairs each followed by the same separator, or bytes
# written 0x54 0x65 ... (spaces or commas between), or in groups of four (5965 7320 ...).
_HEX = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{20,}|[0-9A-Fa-f]{2}([ :])(?:[0-9A-Fa-f]{2}\1){8,}[0-9A-Fa-f]{2}"
    r"|(?:0[xX][0-9A-Fa-f]{2}[ ,]{1,2}){8,}0[xX][0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}(?: [0-9A-Fa-f]{4}){5,}(?: [0-9A-Fa-f]{2})?)"
    r"(?![0-9A-Za-z])"
)
#: Whether a turn may hold bytes written 0x54 0x65 ..., or hex in groups of four.
HEX_BYTES = re.compile(r"0[xX][0-9A-Fa-f]{2}[ ,]{1,2}0[xX][0-9A-Fa-f]{2}")
# (Printable ASCII's bytes are 20-7e: each group of four opens with a digit 2-7, which
# fails fast on the letters of ordinary text.)
HEX_QUADS = re.compile(r"[2-7][0-9a-f]{3} [2-7][0-9a-f]{3} [2-7][0-9a-f]{3} [2-7][0-9a-f]{3}")
# Common English words, and what rot13 makes of them (none of which is English): text
# holding more of the second than of the first is judged with rot13 undone.
_ENGLISH = frozenset(
    "the and you your to of is in it for on that this with all my me are not do can what "
    "now from have will please previous instructions ignore reveal system prompt".split()
)
ROT13_ENGLISH = frozenset(codecs.encode(w, "rot13") for w in _ENGLISH)
# A word that is all base64 (or hex), maybe quoted or ending a sentence.
_PAYLOAD_WORD = re.compile(r"[\"'(\[{<:]*[a-z0-9+/]{20,}={0,6}[.,;:!?)\"'\]}>]*$")
_HEX_PAIRS = frozenset(f"{i:02x}" for i in range(256))
#: Shortest run (without spaces) worth decoding when nothing asks for decoding.
MIN_BARE_PAYLOAD = 20


def decoded_payloads(
    original: str, hinted: bool = True, nested: bool = True
) -> list[tuple[str, int, int]]:
    """Text hidden in base64 (or base32) or hex runs, with the run's span in ``original``; without a
    ``hinted`` request to decode, only runs of :data:`MIN_BARE_PAYLOAD` characters that
    decode to text with words in it. A run that decodes to another run (base64 written in
    hex) is decoded once more when ``nested``."""
    out = []
    for m in _BASE64.finditer(original):
        blob = m.group()
        if blob.isdigit() or (blob.isalpha() and (blob.islower() or blob.isupper())):
            continue  # a plain word or number, not an encoding
        if not hinted and len(blob) < MIN_BARE_PAYLOAD:
            continue
        text = None
        if _BASE32.match(blob):  # upper case and 2-7 only: base32 more likely than base64
            try:
                text = _printable(base64.b32decode(blob + "=" * (-len(blob) % 8)))
            except (binascii.Error, ValueError):
                text = None
        if text is None:
            try:
                raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
            except (binascii.Error, ValueError):
                continue
            text = _printable(raw)
        out.extend(_payload(text, m, hinted, nested))
    for m in _HEX.finditer(original):
        try:
            raw = bytes.fromhex(re.sub(r"[ :,]|0[xX]", "", m.group()))
        except ValueError:
            continue
        out.extend(_payload(_printable(raw), m, hinted, nested))
    return out


def _payload(
    text: str | None, m: re.Match[str], hinted: bool, nested: bool
) -> list[tuple[str, int, int]]:
    """What run ``m`` decoded to (``text``) is worth judging: text with words in it (any,
    when ``hinted``), or what it decodes to in turn when it is itself a run."""
    if not text:
        return []
    if nested and " " not in text and _BASE64.fullmatch(text):
        inner = decoded_payloads(text, hinted, False)
        if inner:
            return [(again, m.start(), m.end()) for again, _, _ in inner]
    return [(text, m.start(), m.end())] if hinted or " " in text else []


_BASE32 = re.compile(r"^[A-Z2-7]{16,}=*$")
_URL_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}")
_CODE_POINT_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))")
_MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z",
}  # fmt: skip
_MORSE_CHARS = frozenset(".-/| \n\t")
# Morse code inside a longer text: eight codes or more, words parted by "/" or "|". (In
# these run patterns the first character's class comes before the lookbehind: tried at
# every position of a long text, a leading lookbehind costs tens of microseconds.)
_MORSE_RUN = re.compile(
    r"[.\-](?<![\w.\-][.\-])[.\-]{0,6}(?:(?:[ \t]*[/|][ \t]*|[ \t]+)[.\-]{1,7}){7,}(?![\w.\-])"
)
# Bytes written as bits inside a longer text: six groups of eight or more.
_BITS_RUN = re.compile(r"[01](?<![01][01])[01]{7}(?:[ \t]+[01]{8}){5,}(?![01])")
# A run of ascii85 (Adobe's <~ ~> or bare), tried when the text names the encoding.
_A85_RUN = re.compile(r"<~[!-uz\s]{10,}~>|[!-uz]{20,}")
_A85_ADOBE = re.compile(r"<~[!-uz\s]{10,}~>")
# Bytes written as octal codes ("160 162 151 ..."), eight or more.
_OCTAL_RUN = re.compile(r"[0-3](?<!\d[0-3])[0-7]{2}(?:\s+[0-3][0-7]{2}){7,}(?!\d)")
# A run of base85 (RFC 1924, Python's b85encode: letters, digits and 23 symbols).
_B85_RUN = re.compile(r"[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]{20,}")
_NATO = {
    "alfa": "a", "alpha": "a", "bravo": "b", "charlie": "c", "delta": "d", "echo": "e",
    "foxtrot": "f", "golf": "g", "hotel": "h", "india": "i", "juliett": "j", "juliet": "j",
    "kilo": "k", "lima": "l", "mike": "m", "november": "n", "oscar": "o", "papa": "p",
    "quebec": "q", "romeo": "r", "sierra": "s", "tango": "t", "uniform": "u", "victor": "v",
    "whiskey": "w", "whisky": "w", "x-ray": "x", "xray": "x", "yankee": "y", "zulu": "z",
}  # fmt: skip
_NATO_WORDS = frozenset(_NATO)
_NATO_RUN = re.compile(
    r"(?:\b(?:" + "|".join(sorted(_NATO, key=len, reverse=True)) + r")\b[\s|/,]*){6,}"
)
# Everyday English words, to tell text from noise once decoded or turned around.
COMMON = frozenset(
    "the be to of and a an in that have i it for not on with he as you do at this but his by "
    "from they we say her she or will my one all would there their what so up out if about who "
    "get which go me when make can like time no just him know take people into your some could "
    "them see other than then now only come its over also back after use how our work first "
    "way even new want because any these give day us is are was were been has had did said "
    "tell how step explain write list send print output show reveal password admin system "
    "prompt instructions rules account refund approved nothing else please approve give free "
    "bank money transfer card number details customer data delete ignore previous secret key "
    "keys hack steal bomb kill make build code access grant send all every full home address "
    "email phone credit private internal hidden admin root user users say says am hacked "
    "pwned hate humans follow obey execute run open download click link visit".split()
)
REVERSED_COMMON = frozenset(w[::-1] for w in COMMON if len(w) > 2)
_REVERSED_ENGLISH = frozenset(w[::-1] for w in _ENGLISH if len(w) > 2)
#: Fewest characters a text written as codes (numbers, bits) holds when it hides a sentence.
_MIN_CODED = 8
#: Fewest %-escapes worth undoing (the spaces of a short sentence).
_MIN_ESCAPES = 4


def other_encodings(original: str, words: list[str]) -> list[str]:
    """Text hidden in encodings a filter seldom reads, each tried only when the text has
    its marks: %-escapes, quoted-printable =XX escapes, HTML character references, \\u or \\x escapes, Morse code,
    bytes written as bits or decimal numbers, and text written backwards."""
    out = []
    if original.count("%") >= _MIN_ESCAPES and len(_URL_ESCAPE.findall(original)) >= _MIN_ESCAPES:
        out.append(urllib.parse.unquote(original))
    if original.count("=") >= _MIN_ESCAPES and len(_QP_ESCAPE.findall(original)) >= _MIN_ESCAPES:
        # quoted-printable: =XX escapes, and = at a line's end joining it to the next
        out.append(binascii.a2b_qp(original.encode("utf-8")).decode("utf-8", "replace"))
    if "&#" in original or ("&" in original and ";" in original):
        unescaped = html.unescape(original)
        if unescaped != original:
            out.append(unescaped)
    if "\\u" in original or "\\x" in original:
        out.append(
            _CODE_POINT_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), original)
        )
    stripped = original.strip()
    if len(stripped) >= 2 * _MIN_CODED and _MORSE_CHARS.issuperset(stripped):
        out.append(
            " ".join(
                "".join(_MORSE.get(code, "") for code in word.split())
                for word in stripped.replace("|", "/").split("/")
            )
        )
    if len(words) >= _MIN_CODED:
        decoded = _numbers_as_text(words)
        if decoded is not None:
            out.append(decoded)
        if _REVERSED_ENGLISH.intersection(words) and sum(
            w in _REVERSED_ENGLISH for w in words
        ) > sum(w in _ENGLISH for w in words):
            out.append(original[::-1])
    out.extend(_embedded_codes(original, words))
    out.extend(_written_codes(original))
    return out


def _embedded_codes(original: str, words: list[str]) -> list[str]:
    """Morse code, bits and NATO spelling inside a longer text (a question around them),
    each looked for only when the text holds enough of its marks."""
    out = []
    if original.count(".") + original.count("-") >= 2 * _MIN_CODED:
        for m in _MORSE_RUN.finditer(original):
            run = m.group().replace("|", "/")
            out.append(
                " ".join(
                    "".join(_MORSE.get(code, "") for code in word.split())
                    for word in run.split("/")
                )
            )
    if original.count("0") + original.count("1") >= 6 * 8:
        for m in _BITS_RUN.finditer(original):
            text = _numbers_as_text(m.group().split())
            if text is not None:
                out.append(text)
    if not _NATO_WORDS.isdisjoint(words) and len(_NATO_WORDS.intersection(words)) >= 5:
        for m in _NATO_RUN.finditer(original.lower()):
            # Words parted by "/", "|", a comma, a line break or two spaces.
            spelled = re.split(r"\s*[|/,\n]\s*|\s{2,}", m.group().strip(" |/,\n"))
            out.append(
                " ".join("".join(_NATO.get(w, "") for w in part.split()) for part in spelled)
            )
    return out


EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]+")
_BRAILLE = dict(
    zip(
        map(chr, (0x2801, 0x2803, 0x2809, 0x2819, 0x2811, 0x280B, 0x281B, 0x2813, 0x280A,
                  0x281A, 0x2805, 0x2807, 0x280D, 0x281D, 0x2815, 0x280F, 0x281F, 0x2817,
                  0x280E, 0x281E, 0x2825, 0x2827, 0x283A, 0x282D, 0x283D, 0x2835)),
        "abcdefghijklmnopqrstuvwxyz",
        strict=True,
    )
)  # fmt: skip
_BRAILLE_RUN = re.compile(r"[\u2800-\u28ff]{2,}(?:\s+[\u2800-\u28ff]+)+")
# Character codes in a list ("String.fromCharCode(105,103,...)", "[73, 103, ...]").
_CODE_LIST = re.compile(r"\d(?<!\d\d)\d{1,2}(?:\s*,\s*\d{2,3}){7,}(?!\d)")
# A MIME encoded word (RFC 2047): =?charset?B?base64?= or =?charset?Q?quoted?=.
_MIME_WORD = re.compile(r"=\?[\w.-]+\?([BbQq])\?([^?\s]+)\?=")
_UU_BEGIN = re.compile(r"^begin [0-7]{3} \S+\s*$", re.MULTILINE)
CAESAR_HINT = re.compile(r"\b(?:caesar|cipher|shift(?:ed)?\s+(?:\w+\s+){0,3}(?:by\s+)?\d{1,2})\b")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_SHIFTS = [str.maketrans(_LETTERS, _LETTERS[k:] + _LETTERS[:k]) for k in range(26)]


def _written_codes(original: str) -> list[str]:
    """Text written in Braille, as a list of character codes, in MIME encoded words, in
    ascii85 between Adobe's brackets, as octal codes or uuencoded, each looked for only when
    the text has its marks."""
    out = []
    if not original.isascii() and max(original) >= "\u2800":
        for m in _BRAILLE_RUN.finditer(original):
            out.append("".join(_BRAILLE.get(c, " " if c.isspace() else "") for c in m.group()))
    if original.count(",") >= 7:
        for m in _CODE_LIST.finditer(original):
            codes = [int(c) for c in re.split(r"\s*,\s*", m.group())]
            if all(32 <= c < 127 for c in codes):
                out.append("".join(map(chr, codes)))
    if "=?" in original and "?=" in original:
        decoded_words = _MIME_WORD.sub(_mime_word, original)
        if decoded_words != original:
            out.append(decoded_words)
    if "<~" in original and "~>" in original:  # ascii85 in Adobe's brackets
        out.extend(_ascii85(_A85_ADOBE, original))
    if original.count(" ") >= 7 and (octal := _OCTAL_RUN.search(original)) is not None:
        codes = [int(c, 8) for c in octal.group().split()]
        if all(32 <= c < 127 for c in codes):
            out.append("".join(map(chr, codes)))
    if "begin " in original and (begin := _UU_BEGIN.search(original)) is not None:
        decoded = bytearray()
        for line in original[begin.end() :].splitlines():
            if line.strip() in ("end", "`", ""):
                continue
            try:
                decoded += binascii.a2b_uu(line)
            except binascii.Error:
                break
        if text := _printable(bytes(decoded)):
            out.append(text)
    return out


def _mime_word(m: re.Match[str]) -> str:
    """One MIME encoded word's text (itself when it does not decode)."""
    data = m.group(2)
    try:
        if m.group(1) in "Bb":
            raw = base64.b64decode(data + "=" * (-len(data) % 4))
        else:
            raw = binascii.a2b_qp(data.replace("_", " "))
    except (binascii.Error, ValueError):
        return m.group()
    return raw.decode("utf-8", "replace")


def caesar(folded: str) -> str | None:
    """``folded`` with the letter shift undone that turns the most of its other words into
    everyday words (three at least), when a turn names a Caesar cipher or a shift."""
    tokens = re.findall(r"[a-z']+", folded)
    plain = [w in COMMON for w in tokens]
    best, best_words = None, 2
    for table in _SHIFTS[1:]:
        words = sum(
            1
            for w, known in zip(tokens, plain, strict=True)
            if not known and w.translate(table) in COMMON
        )
        if words > best_words:
            best, best_words = folded.translate(table), words
    return best


def hinted_codes(original: str, backwards: bool) -> list[str]:
    """Encodings worth trying only when the turn asks for decoding: ascii85 and base85, and
    the whole text turned around when some of its words are everyday words written
    ``backwards``."""
    out = []
    if any(len(w) >= 20 for w in original.split()):
        out.extend(_ascii85(_A85_RUN, original))
        for m in _B85_RUN.finditer(original):
            try:
                text = _printable(base64.b85decode(m.group()))
            except (binascii.Error, ValueError):
                continue
            if text:
                out.append(text)
    if backwards:
        out.append(original[::-1])
    return out


def _ascii85(runs: re.Pattern[str], original: str) -> list[str]:
    """The text in each ascii85 run of ``original`` (Adobe's ``<~ ~>`` or bare)."""
    out = []
    for m in runs.finditer(original):
        run = m.group()
        try:
            raw = base64.a85decode(run, adobe=run.startswith("<~"), ignorechars=b" \t\n\r")
        except (binascii.Error, ValueError):
            continue
        if text := _printable(raw):
            out.append(text)
    return out


def common_words(text: str) -> int:
    return sum(w in COMMON for w in re.findall(r"[a-z']+", text.lower()))


def turned_around(text: str) -> bool:
    """Whether ``text`` holds more everyday words written backwards than forwards (three at
    least)."""
    tokens = re.findall(r"[a-z']+", text.lower())
    backwards = sum(t[::-1] in COMMON for t in tokens if len(t) > 1)
    return backwards >= 3 and backwards > sum(t in COMMON for t in tokens if len(t) > 1)


def reads_as_words(text: str) -> bool:
    """Whether decoded ``text`` is words someone wrote: three everyday English words at least,
    more than the same text read forwards when it was turned around."""
    words = re.findall(r"[a-z']+", text.lower())
    common = sum(w in COMMON for w in words)
    return common >= 3 or (common >= 2 and 2 * common >= len(words))


def _numbers_as_text(words: list[str]) -> str | None:
    """Bytes written as eight bits or as decimal character codes, one per word."""
    if all(len(w) in (7, 8) and set(w) <= {"0", "1"} for w in words):
        codes = [int(w, 2) for w in words]
    elif all(w.isdigit() and len(w) <= 3 for w in words):
        codes = [int(w) for w in words]
    else:
        return None
    if not all(32 <= c < 127 for c in codes):
        return None
    return "".join(map(chr, codes))


def looks_rot13(words: list[str]) -> bool:
    """Whether text of ``words`` reads as English once rot13 is undone, and not before."""
    if len(words) < 4 or ROT13_ENGLISH.isdisjoint(words):
        return False
    rot = sum(w in ROT13_ENGLISH for w in words)
    return rot >= 2 and rot >= 0.2 * len(words) and rot > sum(w in _ENGLISH for w in words)


def may_hold_payload(words: list[str]) -> bool:
    """Whether a base64 or hex run may be among ``words``: a long one, or pairs of hex
    digits (eight different ones at least)."""
    if not words:
        return False
    if max(map(len, words)) >= MIN_BARE_PAYLOAD and any(
        len(w) >= MIN_BARE_PAYLOAD and _PAYLOAD_WORD.match(w) for w in words
    ):
        return True
    if len(words) < 10 or _HEX_PAIRS.isdisjoint(words):
        return False
    return len(_HEX_PAIRS.intersection(words)) >= 8


def may_hold_hinted_payload(words: list[str]) -> bool:
    """Whether a run worth decoding when the turn asks for it may be among ``words``: one of
    16 characters at least, or pairs of hex digits."""
    return bool(words) and (max(map(len, words)) >= 16 or not _HEX_PAIRS.isdisjoint(words))


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() or c == " " for c in text)
    return text if len(text) >= 8 and letters >= 0.8 * len(text) else None
