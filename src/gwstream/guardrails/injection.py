"""Prompt-injection detection: weighted rules over normalised text, with a score.

Each rule is a pattern over the text as :mod:`~gwstream.guardrails.normalize`
leaves it, lower-cased and leetspeak-folded, with a weight in (0, 1]. The
score is the strongest rule's weight, raised by every further rule that
fires (1 - prod(1 - w)); a turn is flagged at :data:`THRESHOLD`. The verdict
names the strongest rule.

Patterns look for the instruction, not for its words: "ignore" alone, "my
previous message", "Dan from billing", "the system says", "act as my
authorised representative" are everyday contact-center phrases, so rules
ask for an imperative aimed at the assistant's instructions, prompt,
rules or persona. Encoded payloads (base64, hex, rot13) are decoded and
their text judged by the same rules; a request to decode something and obey
it is a rule of its own. Instructions split over lines are joined; an
instruction buried in a long message is found wherever it sits.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass

from gwstream.guardrails.normalize import Normalized, fold_for_rules, normalize

THRESHOLD = 0.5

_PRIOR = r"(?:(?:all|any|every|each)\s+)?(?:(?:of\s+)?(?:the|your|my|these|those|this|its)\s+)?(?:(?:previous|prior|preceding|above|earlier|former|foregoing|original|initial|old|existing|current|given|default|standard|system|developer|safety|content|built[- ]in|programmed|hidden|internal)\s+){0,3}"
_RULES_NOUN = r"(?:instructions?|directions?|directives?|rules?|guidelines?|guidance|prompts?|system\s+prompt|programming|constraints?|restrictions?|polic(?:y|ies)|guardrails?|filters?|commands?|orders?|context|training|limitations?|boundaries|protocols?|safeguards?|settings)"

_RAW_RULES: list[tuple[str, float, str]] = [
    # -- direct overrides ---------------------------------------------------------------
    (
        "override",
        0.9,
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|discard|neglect|overlook|dismiss|erase|delete|remove|cancel|void|suspend|deactivate|disable|turn off|stop following|stop obeying|do not follow|don'?t follow|no longer follow)\s+{_PRIOR}{_RULES_NOUN}\b",
    ),
    (
        "override",
        0.75,
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:(?:that\s+)?(?:you\s+(?:were|have been)\s+)?(?:told|said|written|given|instructed)|above|before|previously|prior|so far|up to (?:now|this point))\b",
    ),
    (
        "override",
        0.8,
        r"\b(?:new|updated|revised|real|actual|true|override|overriding|priority|secret|hidden|admin|administrator|system)\s+(?:instructions?|directives?|orders?|commands?|rules?|prompt)\s*(?::|-|follow|are|is|apply|take precedence|supersede)",
    ),
    (
        "override",
        0.7,
        r"\b(?:from now on|henceforth|for the rest of (?:this|the) conversation|starting now|effective immediately),?\s+(?:you\s+(?:will|must|shall|are|should)|always|only|never|respond|answer|reply|act|speak|ignore)\b",
    ),
    (
        "override",
        0.7,
        r"\b(?:these|the following|my)\s+instructions\s+(?:override|supersede|replace|take (?:precedence|priority) over)\b",
    ),
    (
        "override",
        0.6,
        r"\byour\s+(?:new|real|true|only)\s+(?:task|job|goal|purpose|objective|mission|role)\s+(?:is|will be|now)\b",
    ),
    (
        "override",
        0.55,
        r"\b(?:instead|rather),?\s+(?:you\s+(?:will|must|should)\s+)?(?:reply|respond|answer|say|output|print|write)\s+(?:only\s+)?(?:with\s+)?[\"'“]",
    ),
    # -- system prompt extraction ---------------------------------------------------------
    (
        "system_extraction",
        0.9,
        r"\b(?:reveal|show|print|display|output|repeat|recite|tell|give|share|leak|dump|expose|disclose|list|write|return|provide|paste|copy|echo|spell out|what (?:is|are|was|were))\b[^.?!\n]{0,40}\b(?:system\s+(?:prompt|message|instructions?)|(?:initial|original|hidden|secret|internal|confidential|developer|pre-?prompt|preprompt|starting|underlying|base)\s+(?:prompt|instructions?|rules|message|directives?|configuration|guidelines))\b",
    ),
    (
        "system_extraction",
        0.85,
        r"\b(?:repeat|print|output|recite|copy|reproduce|echo|show|display|write out|spell out)\b[^.?!\n]{0,30}\b(?:(?:everything|all|the text|the words|what(?:ever)? (?:is|was) written|the (?:content|contents|message)s?)\s+(?:above|before|prior to|preceding)|(?:verbatim|word for word|exactly as (?:written|given)))",
    ),
    (
        "system_extraction",
        0.8,
        r"\b(?:what|which)\s+(?:were|are)\s+you\s+(?:told|instructed|programmed|prompted|configured)\s+(?:to do|before|at the (?:start|beginning)|initially|originally|in your (?:prompt|instructions))",
    ),
    (
        "system_extraction",
        0.75,
        r"\b(?:your|the)\s+(?:system\s+prompt|prompt\s+(?:text|template)|(?:hidden|secret|internal|initial|original)\s+(?:instructions|rules|prompt|guidelines))\b",
    ),
    (
        "system_extraction",
        0.6,
        r"\b(?:begin|start)\s+(?:your (?:reply|answer|response)\s+)?with\s+(?:the words\s+)?[\"'“]?(?:you are|my instructions|system)",
    ),
    # -- role play and jailbreak personas -------------------------------------------------
    (
        "roleplay",
        0.9,
        r"\b(?:developer|dev|god|debug|admin|maintenance|unrestricted|jailbreak|jailbroken|unfiltered|uncensored|dan|evil|chaos|opposite|anti)\s+mode\s+(?:is\s+)?(?:now\s+)?(?:enabled|activated|engaged|unlocked)\b|\b(?:enable|activate|enter|switch (?:to|into)|turn on|engage|unlock)\s+(?:the\s+)?(?:developer|dev|god|debug|admin|unrestricted|jailbreak|jailbroken|unfiltered|uncensored|dan|evil)\s+mode\b",
    ),
    (
        "roleplay",
        0.9,
        r"\b(?:do anything now|jailbreak(?:ed|ing)?|jailbroken|dan\s*(?:\d+(?:\.\d+)?)?\s*(?:prompt|mode|persona|jailbreak)|mongo tom|evil confidant|always intelligent and machiavellian)\b(?![\w-])",
    ),
    (
        "roleplay",
        0.85,
        r"\b(?:pretend|imagine|act|behave|roleplay|role-play|play the role|respond|answer|speak)\b[^.\n]{0,40}\b(?:(?:an?|the)\s+)?(?:ai|assistant|model|chatbot|bot|language model|llm|system|entity|persona|character|version of (?:yourself|you))\b[^.\n]{0,40}\b(?:without|with no|free (?:of|from)|not bound|unbound|no longer bound|unrestricted|unfiltered|uncensored|no (?:rules|restrictions|limits|filters|guidelines|ethics|morals|boundaries))",
    ),
    (
        "roleplay",
        0.85,
        r"\b(?:you are|you're|you will be|you have become|you are now|you're now|from now on you are)\s+(?:no longer|not)\s+(?:an?\s+)?(?:ai|assistant|chatbot|language model|bound|restricted|limited|constrained|(?:a |an )?(?:contact[- ]center|customer service|support) (?:assistant|agent|bot))\b",
    ),
    (
        "roleplay",
        0.8,
        r"\b(?:you are|you're|you will be|you are now|you're now|act as|pretend to be|pretend you are|become|roleplay as|play)\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|unlimited|jailbroken|evil|rogue|amoral|immoral|unethical|lawless|rule-?free|unbound|liberated|free|rebel|malicious|hacked|root)\s+(?:ai|assistant|model|chatbot|bot|version|persona|character|entity|llm|system|hacker|admin)",
    ),
    (
        "roleplay",
        0.75,
        r"\b(?:no|without|free of|free from|ignore|ignoring|bypass|bypassing|any)\s+(?:ethical|moral|safety|content|openai|usage|legal)\s+(?:guidelines|constraints|restrictions|filters|policies|rules|limits|boundaries|considerations|concerns)\b",
    ),
    (
        "roleplay",
        0.65,
        r"\b(?:stay|remain|keep)\s+in\s+character\b|\bbreak(?:ing)?\s+character\b|\bcharacter\s+(?:break|slip)\b",
    ),
    (
        "roleplay",
        0.6,
        r"\b(?:can|will|must|should)\s+(?:do|say|answer)\s+anything\b[^.\n]{0,40}\b(?:without|no)\b|\bnot\s+bound\s+by\b|\bfreed?\s+from\s+(?:the\s+)?(?:typical\s+)?(?:confines|restrictions|rules|limitations)\b",
    ),
    (
        "roleplay",
        0.6,
        r"\b(?:two|both|dual)\s+(?:responses|answers|outputs|personas|replies)\b[^.\n]{0,80}\b(?:normal|classic|standard|filtered)\b[^.\n]{0,80}\b(?:jailbreak|jailbroken|unfiltered|developer|dan|unrestricted)\b",
    ),
    # -- exfiltration -------------------------------------------------------------------------
    (
        "exfiltration",
        0.9,
        r"!\[[^\]]{0,100}\]\(\s*https?://[^)\s]*(?:\{[^}]{0,40}\}|\$\{|%7b|<[a-z_ ]{2,30}>|\[[a-z_ ]{2,30}\]|(?:[?&](?:data|d|q|c|conv|conversation|chat|history|log|msg|message|prompt|secret|token|key|pw|password|info|payload|text|content|summary|s)=))",
    ),
    (
        "exfiltration",
        0.8,
        r"\b(?:append|add|include|insert|embed|encode|put|attach|place|url-?encode)\b[^.\n]{0,60}\b(?:conversation|chat|history|messages?|transcript|system prompt|instructions|secrets?|password|api key|tokens?|(?:user|customer|personal)\s+(?:data|details|information))\b[^.\n]{0,60}\b(?:url|link|image|query|parameter|markdown|endpoint|webhook|https?://)",
    ),
    (
        "exfiltration",
        0.75,
        r"\b(?:render|display|show|output|include|insert)\b[^.\n]{0,40}\b(?:markdown\s+)?image\b[^.\n]{0,80}https?://",
    ),
    (
        "exfiltration",
        0.7,
        r"\b(?:send|post|forward|transmit|upload|exfiltrate|leak|email)\b[^.\n]{0,40}\b(?:conversation|chat history|transcript|system prompt|instructions|all (?:previous )?messages|customer data|user data)\b[^.\n]{0,40}\b(?:to|at)\s+(?:https?://|www\.|[\w.-]+@|[\w-]+\.(?:com|net|org|io|ru|xyz))",
    ),
    # -- decode and obey -------------------------------------------------------------------
    (
        "encoded",
        0.85,
        r"\b(?:decode|decipher|decrypt|translate|convert|unscramble|interpret|rot13|rot-13|base64|base-64|hex)\b[^\n]{0,120}\b(?:follow|obey|execute|carry out|comply|do (?:what|as) it (?:says|instructs)|act on|perform|run|apply|adhere to|treat (?:it|this) as (?:your )?(?:instructions?|commands?))\b",
    ),
    (
        "encoded",
        0.7,
        r"\b(?:follow|obey|execute|carry out|comply with|act on|perform)\b[^\n]{0,60}\b(?:decoded|hidden|encoded|embedded|secret)\s+(?:instructions?|message|text|commands?|payload|string)\b",
    ),
]

_RULES = [(name, weight, re.compile(pattern)) for name, weight, pattern in _RAW_RULES]

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){10,}(?![0-9A-Fa-f])")
_ENCODING_HINT = re.compile(
    r"\b(?:rot\s*-?\s*13|rot13|caesar|cipher|decode|encoded|base\s*-?\s*64|hex)\b"
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the injection rules say about a text."""

    score: float
    rule: str | None
    #: Span of the strongest match in the original text (None when nothing fired, or
    #: when it fired inside a decoded payload: then the payload's span).
    span: tuple[int, int] | None = None

    @property
    def flagged(self) -> bool:
        return self.score >= THRESHOLD


CLEAN = Verdict(0.0, None, None)


def _match(text: str) -> list[tuple[float, str, int, int]]:
    hits = []
    for name, weight, pattern in _RULES:
        m = pattern.search(text)
        if m is not None:
            hits.append((weight, name, m.start(), m.end()))
    return hits


def _decoded_payloads(original: str) -> list[tuple[str, int, int]]:
    """Text hidden in base64 or hex runs, with the run's span in ``original``."""
    out = []
    for m in _BASE64.finditer(original):
        blob = m.group()
        if blob.isdigit() or (blob.isalpha() and (blob.islower() or blob.isupper())):
            continue  # a plain word or number, not an encoding
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
        except (binascii.Error, ValueError):
            continue
        text = _printable(raw)
        if text:
            out.append((text, m.start(), m.end()))
    for m in _HEX.finditer(original):
        try:
            raw = bytes.fromhex(re.sub(r"[ :]", "", m.group()))
        except ValueError:
            continue
        text = _printable(raw)
        if text:
            out.append((text, m.start(), m.end()))
    return out


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() or c == " " for c in text)
    return text if len(text) >= 8 and letters >= 0.8 * len(text) else None


def detect(text: str, normalized: Normalized | None = None) -> Verdict:
    """The injection verdict for ``text``."""
    n = normalized if normalized is not None else normalize(text)
    folded = fold_for_rules(n.text)
    hits: list[tuple[float, str, tuple[int, int] | None]] = [
        (w, name, n.span(s, e)) for w, name, s, e in _match(folded)
    ]
    if "\n" in text:  # words split over lines: also try the lines joined without a space
        joined = fold_for_rules(normalize(re.sub(r"[ \t]*\n[ \t]*", "", text)).text)
        hits.extend((w, name, None) for w, name, _, _ in _match(joined))
    if _ENCODING_HINT.search(folded) is not None:
        rot = codecs.decode(folded, "rot13")
        hits.extend((w, name, None) for w, name, _, _ in _match(rot) if name != "encoded")
    if len(text) >= 16:
        for payload, s, e in _decoded_payloads(n.original):
            for w, _, _, _ in _match(fold_for_rules(normalize(payload).text)):
                hits.append((max(w, 0.8), "encoded", (s, e)))
    if not hits:
        return CLEAN
    hits.sort(key=lambda h: -h[0])
    remaining = 1.0
    for w, _, _ in hits:
        remaining *= 1 - w
    best = hits[0]
    return Verdict(round(1 - remaining, 4), best[1], best[2])
