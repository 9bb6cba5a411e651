"""Conversations: the session's history goes with each turn, cut to fit the model.

The gateway request is the system instruction, the prompt version's few-shot
examples (see :mod:`gwstream.pipeline.prompt`), then as much of the session's
history as fits, then the current turn. What fits: the routed
model's context window minus the output tokens reserved (the route's
``max_tokens``), counted as OpenAI bills chat messages (tiktoken, offline,
with the per-message overhead). The oldest messages are dropped first, by
whole exchanges (the history sent never opens with an answer whose question
was dropped); the system instruction and the current turn never are, and a turn that cannot
fit with them alone is refused ``context_overflow``. A session with a token
budget (see :mod:`gwstream.pipeline.budget`) also fits under what it has
left: history is dropped to make room, and a turn that still cannot fit is
refused ``budget_exhausted``. A turn whose text has nothing to read (only
whitespace, control and invisible format characters: ``"   "``, ``"\u200b"``)
is refused ``empty_text``: no call, no cost.

After an answer, the turn and the answer join the history (each with its
token count, so no message is counted twice); failed and refused turns do
not. The stored history is bounded to ``max_messages``.
"""

from __future__ import annotations

import unicodedata

from gwstream.gateways.base import ChatMessage
from gwstream.pipeline.context import Outcome, Reason, Status, TurnContext
from gwstream.pipeline.session import Message
from gwstream.pipeline.stage import Next
from gwstream.tokens import REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCounter


def says_nothing(text: str) -> bool:
    """Whether ``text`` is only whitespace, control and format characters (a zero-width
    space, a byte-order mark, a NUL): nothing a model could answer."""
    for c in text:
        if c.isalnum() or unicodedata.category(c)[0] not in "CZ":
            return False
    return True


_ROLE_TOKENS = 1  # "system", "user" and "assistant" are one token each in every encoding we use
_MESSAGE = TOKENS_PER_MESSAGE + _ROLE_TOKENS


class ConversationStage:
    def __init__(self, counter: TokenCounter, max_messages: int) -> None:
        self._counter = counter
        self._max = max_messages
        self._system_tokens: dict[str, int] = {}

    def _system(self, text: str) -> int:
        n = self._system_tokens.get(text)
        if n is None:
            n = self._counter.count(text)
            if len(self._system_tokens) < 256:
                self._system_tokens[text] = n
        return n

    @staticmethod
    def _room(ctx: TurnContext, fixed: int) -> int | Reason | None:
        """Tokens left for history: under the model's window and the session's allowance,
        less the reserved output. None: no limit known; a Reason: the turn cannot fit."""
        route = ctx.route
        output = (route.output_bound or 0) if route else 0
        window = route.context_window if route else None
        room: int | None = None
        if window is not None:
            room = window - output - fixed
            if room < 0:
                return Reason.CONTEXT_OVERFLOW
        if ctx.token_allowance is not None:
            budget_room = ctx.token_allowance - output - fixed
            if budget_room < 0:
                return Reason.BUDGET_EXHAUSTED
            room = budget_room if room is None else min(room, budget_room)
        return room

    async def __call__(self, ctx: TurnContext, call_next: Next) -> Outcome:
        turn, history = ctx.turn, ctx.session.history
        text = ctx.user_text
        if says_nothing(text):
            return Outcome.refused(Reason.EMPTY_TEXT)
        user_tokens = self._counter.count(text)
        fixed = (
            REPLY_PRIMING_TOKENS
            + 2 * _MESSAGE
            + self._system(ctx.system)
            + ctx.examples_tokens
            + user_tokens
        )
        room = self._room(ctx, fixed)
        if isinstance(room, Reason):
            return Outcome.refused(room)
        if room is None:
            kept = len(history)
            used = sum(m.tokens for m in history) + _MESSAGE * kept
        else:
            kept = used = 0
            for m in reversed(history):
                cost = m.tokens + _MESSAGE
                if used + cost > room:
                    break
                used += cost
                kept += 1
            # Whole exchanges only: never an answer whose question did not fit.
            if 0 < kept and history[len(history) - kept].role == "assistant":
                used -= history[len(history) - kept].tokens + _MESSAGE
                kept -= 1
        window_msgs = history[len(history) - kept :] if kept else []
        ctx.history = tuple(ChatMessage(m.role, m.content) for m in window_msgs)
        ctx.prompt_tokens = fixed + used

        outcome = await call_next(ctx)

        if outcome.status is Status.OK and outcome.text is not None:
            answer_tokens = (
                outcome.output_tokens
                if outcome.usage_source == "gateway" and outcome.output_tokens
                else self._counter.count(outcome.text)
            )
            ctx.session.add_exchange(
                Message("user", text, user_tokens, turn.turn_id),
                Message("assistant", outcome.text, answer_tokens, turn.turn_id),
                self._max,
            )
        return outcome.but(history_messages=kept)
