"""Versioned prompts and experiments: which system instruction a session's turns get.

A tenant's prompts (``tenants.<id>.prompts``, else the default ``prompts``)
are named by use case; a turn names its use case in ``metadata.use_case``
(``default`` when it does not). Each use case has versions, each with a
system template, an optional lightweight template for a session whose token
budget runs low, and few-shot examples. With several versions, a weighted
split decides which version a session gets:

- the choice is a pure function of the session key and the use case (a hash
  mapped onto the cumulative weights of the versions in sorted order), so
  every instance and every restart agrees;
- it is made once, on the session's first turn of that use case, and kept in
  the session's state: a weight change, a restart or a rebalance never moves
  a running conversation to another version. Only a version removed from the
  configuration is chosen again (and logged).

Templates use ``${name}`` (:class:`string.Template`): a value is inserted as
it is, never expanded again, and no attribute or index lookups exist. Every
variable a template names is checked at start-up (configuration error); a
turn variable (``turn_variables``, read from the turn's metadata) that a
turn lacks, or gives empty, refuses the turn ``missing_prompt_variable``, whichever
version its session got: a prompt is never sent with a hole in it, and an experiment
never decides which turns are refused. Turn-supplied values go through the tenant's PII
redaction like the turn's own text.

Few-shot examples are trimmed at start-up, oldest first, to the version's
``examples_max_tokens``, and go to the gateway as user and assistant
messages between the system instruction and the history.
"""

from __future__ import annotations

import hashlib
import logging
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gwstream.errors import ConfigError
from gwstream.gateways.base import ChatMessage
from gwstream.logs import turn_fields
from gwstream.pipeline.context import Outcome, Reason, TurnContext
from gwstream.pipeline.stage import Next
from gwstream.policies import FewShotExample, PromptSettings, PromptVersionSettings
from gwstream.tokens import TOKENS_PER_MESSAGE, TokenCounter

log = logging.getLogger(__name__)

DEFAULT_USE_CASE = "default"
#: The turn metadata key naming the use case.
USE_CASE_KEY = "use_case"
_MESSAGE = TOKENS_PER_MESSAGE + 1  # the role is one token


def split_point(session_key: str, use_case: str) -> float:
    """Where a session falls in [0, 1) for a use case's split: uniform and stable."""
    digest = hashlib.blake2b(f"{use_case}\x00{session_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def trim_examples(
    examples: list[FewShotExample], max_tokens: int | None, counter: TokenCounter
) -> tuple[tuple[ChatMessage, ...], int, int]:
    """The newest examples whose messages fit in ``max_tokens`` (None: all of them).

    Returns the messages (user, assistant, user, ...), the tokens they take
    (per-message overhead included) and how many examples were dropped.
    """
    costs = [2 * _MESSAGE + counter.count(e.user) + counter.count(e.assistant) for e in examples]
    kept, used = len(examples), sum(costs)
    if max_tokens is not None:
        while kept and used > max_tokens:
            used -= costs[len(examples) - kept]
            kept -= 1
    messages: list[ChatMessage] = []
    for e in examples[len(examples) - kept :]:
        messages += (ChatMessage("user", e.user), ChatMessage("assistant", e.assistant))
    return tuple(messages), used, len(examples) - kept


class _Template:
    """A template with the configured variables filled in; turn variables per turn."""

    def __init__(self, text: str, variables: Mapping[str, str]) -> None:
        template = string.Template(text)
        self.turn_names = tuple(n for n in template.get_identifiers() if n not in variables)
        # Without turn variables the text is fixed: rendered once. Inserted values are
        # never read again as a template (they may contain "$").
        self._static = template.substitute(variables) if not self.turn_names else None
        self._template = template
        self._variables = dict(variables)

    def render(self, turn_values: Mapping[str, str]) -> str:
        if self._static is not None:
            return self._static
        return self._template.substitute({**self._variables, **turn_values})


@dataclass(frozen=True, slots=True)
class PromptVersion:
    id: str
    system: _Template
    lightweight: _Template | None
    examples: tuple[ChatMessage, ...]
    examples_tokens: int

    @property
    def turn_names(self) -> tuple[str, ...]:
        names = self.system.turn_names
        if self.lightweight is not None:
            names = (*names, *(n for n in self.lightweight.turn_names if n not in names))
        return names


class UseCase:
    """One tenant's use case: its versions and the cumulative split over them."""

    def __init__(
        self,
        name: str,
        versions: Mapping[str, PromptVersion],
        split: Mapping[str, float],
        turn_variables: tuple[str, ...],
    ):
        self.name = name
        self.versions = dict(versions)
        #: What every turn of the use case must supply, whichever version its session got
        #: (an experiment must not decide which turns are refused).
        self.turn_variables = turn_variables
        bounds: list[tuple[float, str]] = []
        total = 0.0
        for version in sorted(split):
            if split[version] > 0:
                total += split[version]
                bounds.append((total, version))
        self._bounds = tuple(bounds)

    def choose(self, session_key: str) -> str:
        """The version a new session gets (deterministic in the session key)."""
        at = split_point(session_key, self.name) * self._bounds[-1][0]
        for bound, version in self._bounds:
            if at < bound:
                return version
        return self._bounds[-1][1]


def build_use_cases(
    prompts: Mapping[str, PromptSettings], counter: TokenCounter, *, where: str
) -> dict[str, UseCase]:
    """Compile one tenant's prompt settings; ConfigError (naming ``where``) on a bad one."""
    cases: dict[str, UseCase] = {}
    for name, p in prompts.items():
        versions = {
            vid: _version(vid, v, p, counter, where=f"{where}.{name}.versions.{vid}")
            for vid, v in p.versions.items()
        }
        split = p.split if p.split is not None else {next(iter(p.versions)): 1.0}
        cases[name] = UseCase(name, versions, split, tuple(p.turn_variables))
    return cases


def _version(
    vid: str, v: PromptVersionSettings, p: PromptSettings, counter: TokenCounter, *, where: str
) -> PromptVersion:
    try:
        system = _Template(v.system, p.variables)
        lightweight = _Template(v.lightweight, p.variables) if v.lightweight else None
    except (KeyError, ValueError) as exc:  # the settings validated this; a guard, not a path
        raise ConfigError(f"{where}: {exc}") from None
    examples, tokens, dropped = trim_examples(v.examples, v.examples_max_tokens, counter)
    if dropped:
        log.log(
            logging.WARNING if dropped == len(v.examples) else logging.INFO,
            "%s: %d of %d few-shot examples dropped (oldest first) to fit %d tokens",
            where,
            dropped,
            len(v.examples),
            v.examples_max_tokens,
        )
    return PromptVersion(vid, system, lightweight, examples, tokens)


#: Redacts a turn-supplied variable value by the tenant's PII policy (see guard.py).
Redactor = Callable[[TurnContext, str], str]


class PromptStage:
    """Sets the turn's system instruction, examples and variant from the tenant's prompts.

    Runs after the session budget (which decides the mode) and the input
    guardrails, before the conversation stage (which fits the history around
    what this stage chose). Tenants without prompts keep the global one.
    """

    def __init__(
        self,
        tenants: Mapping[str, Mapping[str, UseCase]],
        default: Mapping[str, UseCase] | None = None,
        *,
        redact: Redactor | None = None,
    ) -> None:
        self._tenants = tenants
        self._default = default or {}
        self._redact = redact

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        turn = ctx.turn
        cases = self._tenants.get(turn.tenant_id, self._default)
        if not cases:
            return await call_next(ctx)
        name = turn.metadata.get(USE_CASE_KEY, DEFAULT_USE_CASE)
        case = cases.get(name)
        if case is None:
            return Outcome.refused(Reason.UNKNOWN_USE_CASE)
        version = self._version(ctx, case)
        ctx.use_case, ctx.prompt_version = name, version.id
        metadata = turn.metadata
        for var in case.turn_variables:
            value = metadata.get(var)
            if value is None or not value.strip():  # an empty value is a hole too
                return Outcome.refused(Reason.MISSING_PROMPT_VARIABLE)
        values: dict[str, str] = {}
        for var in version.turn_names:
            value = metadata[var]
            values[var] = self._redact(ctx, value) if self._redact is not None else value
        if ctx.mode == "lightweight":
            if version.lightweight is not None:
                ctx.system = version.lightweight.render(values)
        else:
            ctx.system = version.system.render(values)
        ctx.examples, ctx.examples_tokens = version.examples, version.examples_tokens
        return await call_next(ctx)

    @staticmethod
    def _version(ctx: TurnContext, case: UseCase) -> PromptVersion:
        session = ctx.session
        chosen = session.variants.get(case.name) if session.variants is not None else None
        version = case.versions.get(chosen) if chosen is not None else None
        if version is None:
            if chosen is not None:
                log.warning(
                    "session of tenant %s had prompt version %s of use case %s, which is no "
                    "longer configured: choosing again",
                    ctx.turn.tenant_id,
                    chosen,
                    case.name,
                    extra=turn_fields(ctx.turn),
                )
            version = case.versions[case.choose(ctx.turn.key)]
            session.variants = {**(session.variants or {}), case.name: version.id}
        return version
