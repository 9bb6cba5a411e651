"""The guardrail stages: prompt injection and PII, on the way in and on the way out.

:class:`InputGuardStage` runs before the conversation stage, so that what it
changes is what the gateway gets and what the session's history keeps:

- the injection rules (:mod:`gwstream.guardrails.injection`) score the turn;
  a flagged turn is, by the tenant's policy, answered and recorded (``flag``),
  answered with the instruction replaced by ``[FILTERED]`` (``filter``), or
  refused ``blocked_injection`` without calling the gateway (``block``);
- the PII types of the policy are replaced by typed placeholders
  (``[CARD_1]``) that stay the same for the same value within the session.

:class:`OutputGuardStage` runs just inside the conversation stage, so that an
answer enters the history, the response event and the stored outcome with
the policy's output PII types replaced; a turn that asked for a JSON answer
(``response_format: json``, or a ``response_schema``) whose answer is not JSON,
or does not satisfy the schema, ends ``invalid_output`` rather than ``ok``.

Findings (scores, rules, counts by type; never a value) go on the context,
and from there on the outcome and the audit event.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from gwstream.events import GuardInfo
from gwstream.guardrails.injection import detect
from gwstream.guardrails.normalize import Normalized, normalize
from gwstream.guardrails.pii import Entity, find_pii
from gwstream.guardrails.redact import PROCESS_KEYS, PlaceholderKeys, Placeholders, redact
from gwstream.pipeline.context import Outcome, Reason, Status, TurnContext
from gwstream.pipeline.session import Session
from gwstream.pipeline.stage import Next
from gwstream.policies import GuardrailPolicy

FILTERED = "[FILTERED]"

Policies = Callable[[str], GuardrailPolicy]


def _placeholders(session: Session, keys: PlaceholderKeys) -> Placeholders:
    if session.placeholders is None:
        p = Placeholders(keys=keys)
        session.placeholders = p.to_dict()
        return p
    return Placeholders.from_dict(session.placeholders, keys)


def _counts(entities: Sequence[Entity]) -> dict[str, int]:
    return dict(Counter(e.type for e in entities))


def _add(counts: dict[str, int], entities: Sequence[Entity]) -> None:
    for e in entities:
        counts[e.type] = counts.get(e.type, 0) + 1


def _replace_pii(
    ctx: TurnContext,
    policy: GuardrailPolicy,
    text: str,
    keys: PlaceholderKeys,
    normalized: Normalized | None = None,
) -> tuple[str, list[Entity]]:
    """``text`` with the policy's PII types replaced by the session's placeholders."""
    entities = find_pii(text, policy.pii, regions=policy.phone_regions, normalized=normalized)
    if not entities:
        return text, entities
    placeholders = _placeholders(ctx.session, keys)
    text = redact(text, entities, placeholders)
    ctx.session.placeholders = placeholders.to_dict()
    return text, entities


def pii_redactor(
    policies: Policies, keys: PlaceholderKeys = PROCESS_KEYS
) -> Callable[[TurnContext, str], str]:
    """Redacts another value a turn supplies (a prompt variable) like the turn's text;
    what it replaces counts toward the turn's findings."""

    def redact_value(ctx: TurnContext, text: str) -> str:
        policy = policies(ctx.turn.tenant_id)
        if not policy.pii:
            return text
        text, entities = _replace_pii(ctx, policy, text, keys)
        if entities:
            guard = ctx.guard if ctx.guard is not None else GuardInfo()
            _add(guard.pii, entities)
            ctx.guard = guard
        return text

    return redact_value


class InputGuardStage:
    def __init__(self, policies: Policies, keys: PlaceholderKeys = PROCESS_KEYS) -> None:
        self._policies = policies
        self._keys = keys

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        policy = self._policies(ctx.turn.tenant_id)
        text = ctx.user_text
        n = normalize(text)
        # The prompt stage may have redacted a prompt variable already: add to its counts.
        guard = ctx.guard if ctx.guard is not None else GuardInfo()
        if policy.injection != "off":
            verdict = detect(text, n)
            guard.injection_score, guard.injection_rule = verdict.score, verdict.rule
            if verdict.flagged:
                guard.injection_action = policy.injection
                if policy.injection == "block":
                    if policy.pii:  # counted (and hashed) for the audit; nothing is sent
                        text, found = _replace_pii(ctx, policy, text, self._keys, n)
                        _add(guard.pii, found)
                        if found:
                            ctx.text = text
                    ctx.guard = guard
                    return Outcome.refused(Reason.BLOCKED_INJECTION)
                if policy.injection == "filter":
                    if verdict.span is None:  # found in a decoded or rejoined form
                        text = FILTERED
                    else:
                        s, e = verdict.span
                        text = f"{text[:s]}{FILTERED}{text[e:]}"
                    n = normalize(text)
        if policy.pii:
            text, entities = _replace_pii(ctx, policy, text, self._keys, n)
            _add(guard.pii, entities)
        if text is not ctx.user_text:
            ctx.text = text
        if guard.injection_score or guard.pii:
            ctx.guard = guard
        return await call_next(ctx)


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    import jsonschema  # type: ignore[import-untyped]

    schema = orjson.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _schema_validator(schema: dict[str, Any]) -> Any | None:
    """A validator for ``schema``; None when it is not a valid JSON Schema."""
    import jsonschema

    try:
        return _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode())
    except jsonschema.SchemaError:
        return None


def check_json_answer(text: str | None, schema: dict[str, Any] | None) -> Reason | None:
    """Why ``text`` is not the JSON answer asked for (None: it is)."""
    try:
        document = orjson.loads(text or "")
    except orjson.JSONDecodeError:
        return Reason.INVALID_JSON
    if schema is None:
        return None
    validator = _schema_validator(schema)
    if validator is None:
        return Reason.INVALID_RESPONSE_SCHEMA
    return None if validator.is_valid(document) else Reason.SCHEMA_MISMATCH


class OutputGuardStage:
    def __init__(self, policies: Policies, keys: PlaceholderKeys = PROCESS_KEYS) -> None:
        self._policies = policies
        self._keys = keys

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        turn = ctx.turn
        if turn.response_schema is not None and _schema_validator(turn.response_schema) is None:
            # No answer could ever satisfy it: refused before the gateway bills a call.
            return Outcome.refused(Reason.INVALID_RESPONSE_SCHEMA)
        outcome = await self._redacted(ctx, await call_next(ctx))
        if outcome.status is Status.OK and (
            turn.response_format == "json" or turn.response_schema is not None
        ):
            problem = check_json_answer(outcome.text, turn.response_schema)
            if problem is not None:
                # Billed and kept for the record, but not passed off as an answer: it
                # does not enter the history either.
                return outcome.but(status=Status.INVALID_OUTPUT, reason=problem)
        return outcome

    async def _redacted(self, ctx: TurnContext, outcome: Outcome) -> Outcome:
        policy = self._policies(ctx.turn.tenant_id)
        if outcome.status is not Status.OK or not outcome.text or not policy.output_pii:
            return outcome
        entities = find_pii(outcome.text, policy.output_pii, regions=policy.phone_regions)
        if not entities:
            return outcome
        placeholders = _placeholders(ctx.session, self._keys)
        text = redact(outcome.text, entities, placeholders)
        ctx.session.placeholders = placeholders.to_dict()
        if ctx.guard is None:
            ctx.guard = GuardInfo()
        ctx.guard.output_pii = _counts(entities)
        return outcome.but(text=text)
