"""How a turn frames what the injection rules found in it, which weighs their findings.

- A question about assistants in general, asked of no one in particular ("is it true that
  AI can be jailbroken?", "how do developers keep a model from leaking its system
  prompt?"): the persona and extraction rules fire on its words; in such a question they
  weigh half.
- An attack's words quoted as an example of them ('messages with phrases like "ignore your
  instructions"'), or put as a hypothetical ("what would you say if someone asked you to
  ignore your instructions?"): a mention, not an instruction; the rules that fired on it
  count once, at half weight, unless a rule fires again on the text after it (an example
  given first, then meant).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gwstream.guardrails.normalize import PUNCTUATION, fold_for_rules, normalize
from gwstream.guardrails.rules import HARM_RE

#: A rule's finding: its weight, its kind, and its span of the original text (None: found
#: in another reading of the turn).
Finding = tuple[float, str, tuple[int, int] | None]

# Questions about assistants in general (see above): only short ones.
_ASKED_ABOUT_MAX = 240
_ASKED_ABOUT_WEIGHT = 0.5
_ABOUT_KINDS = frozenset({"roleplay", "system_extraction"})
# Quotations given as examples (see above; 'a customer typed "what were you told?"'). Words
# that introduce a quotation to be acted on ("translate:", "say", "repeat") are not
# among the cues, so an instruction handed over in quotes still counts in full.
_MENTION_CUE = re.compile(
    r"\b(?:like|such as|e\.g\.|for example|for instance|containing|contains?|phrases?|words?"
    r"|wording|the term|the phrase|typed|wrote|writes|written|reading|saying|(?:that|which) says?"
    r"|(?:that|which) said)\W*$"
)
_OPENING_QUOTES, _CLOSING_QUOTES = "\"'\u201c\u2018\u00ab", "\"'\u201d\u2019\u00bb"
_MENTION_WEIGHT = 0.5
_HYPOTHETICAL_WORDS = re.compile(r"\b(?:if|when|whenever|suppose|imagine)\b", re.IGNORECASE)
_OPENING_QUOTE_SET = frozenset(_OPENING_QUOTES)
_THIRD_PERSON_AI = re.compile(
    r"\b(?:ai|a\.i\.|llms?|gpts?|chatgpt|claude|gemini|copilot|llama|bard|(?:language |ai )?models?"
    r"|chatbots?|(?:ai |virtual )?assistants?|developers?|researchers?|companies|attackers?|hackers?"
    r"|people|someone|phones?|iphones?|androids?|(?:a|an) (?:system prompt|jailbreak|prompt injection))\b"
)
# What a question asks of the one it is put to, not about them: "can you explain", "do you know".
_REQUEST_FRAME = re.compile(
    r"\b(?:can|could|would|will) (?:you|u) (?:please )?(?:explain|tell me|describe|help me understand"
    r"|clarify|summari[sz]e)\b|\bdo (?:you|u) know\b|\b(?:thank you|thanks)\b"
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|u|ur|you're|youre)\b")
_QUESTION_WORDS = frozenset(
    "what what's whats how how's why is are can could do does did who which when where should "
    "would will has have".split()
)


# A hypothetical put to the assistant ("what would you say if someone asked you to ...").
_HYPOTHETICAL_CUE = re.compile(
    r"\b(?:if|when|whenever|suppose|imagine)\s+(?:someone|somebody|a user|users|people|a customer"
    r"|customers|anyone|a person|a hacker|hackers|i)\s+(?:\w+\s+)?(?:asks?|asked|tells?|told|wants?"
    r"|wanted|tries|tried|says?|said|typed|types)(?:\s+(?:you|u))?(?:\s+to)?\W*$",
    re.IGNORECASE,
)


def _mentioned(original: str, span: tuple[int, int]) -> bool:
    """Whether ``span`` of ``original`` is mentioned rather than meant: a quotation given as
    an example, or a hypothetical (see above)."""
    if _HYPOTHETICAL_CUE.search(original, max(0, span[0] - 60), span[0]) is not None:
        return True
    return _quoted_mention(original, span)


def _quoted_mention(original: str, span: tuple[int, int]) -> bool:
    """Whether ``span`` of ``original`` is a quotation given as an example (see above)."""
    start, end = span
    before = original[max(0, start - 40) : start].rstrip()
    if not before or before[-1] not in _OPENING_QUOTES:
        return False
    after = original[end : end + 12].lstrip(" .,!?;:")
    closes = (not after and end == len(original)) or (bool(after) and after[0] in _CLOSING_QUOTES)
    return closes and _MENTION_CUE.search(before[:-1].lower()) is not None


def _mentions_weighed(
    text: str, hits: list[Finding], fires: Callable[[str], bool]
) -> list[Finding]:
    """``hits`` with the rules that fired on one quoted mention counted once, at
    :data:`_MENTION_WEIGHT` of the strongest; unchanged when a rule fires on the text after
    the last mention (an example quoted first, then the instruction itself: a rule reports
    its first match only)."""
    mentions = {sp for _, _, sp in hits if sp is not None and _mentioned(text, sp)}
    if not mentions:
        return hits
    rest = text[max(end for _, end in mentions) :]
    if fires(fold_for_rules(normalize(rest).text)):
        return hits
    strongest: dict[tuple[int, int], tuple[float, str]] = {}
    kept: list[Finding] = []
    for w, k, sp in hits:
        if sp in mentions:
            if w > strongest.get(sp, (0.0, k))[0]:
                strongest[sp] = (w, k)
        else:
            kept.append((w, k, sp))
    return kept + [(w * _MENTION_WEIGHT, k, sp) for sp, (w, k) in strongest.items()]


def _asked_about(folded: str) -> bool:
    """Whether ``folded`` asks about assistants in the third person (see above): it opens
    with a question word, names them, asks for no harm and speaks to no one."""
    first = folded.split(maxsplit=1)[:1]
    if not first or first[0].strip(PUNCTUATION) not in _QUESTION_WORDS:
        return False
    if _THIRD_PERSON_AI.search(folded) is None or HARM_RE.search(folded) is not None:
        return False
    return _SECOND_PERSON.search(_REQUEST_FRAME.sub(" ", folded)) is None


def framed(
    text: str, folded: str, hits: list[Finding], fires: Callable[[str], bool]
) -> list[Finding]:
    """``hits`` of ``text`` (``folded`` as the rules read it) weighed by how the turn frames
    them (see above); ``fires`` says whether any rule fires on a folded text."""
    if "?" in text and len(folded) <= _ASKED_ABOUT_MAX and _asked_about(folded):
        hits = [(w * _ASKED_ABOUT_WEIGHT if k in _ABOUT_KINDS else w, k, sp) for w, k, sp in hits]
    if not _OPENING_QUOTE_SET.isdisjoint(text) or _HYPOTHETICAL_WORDS.search(text):
        hits = _mentions_weighed(text, hits, fires)
    return hits
