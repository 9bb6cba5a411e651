"""Versioned prompts: templates, few-shot trimming, the sticky weighted split."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError
from tests.unit.pipeline.scripted import RESULT, TURN, ScriptedGateway
from tests.unit.pipeline.test_stages import COUNTER, Next, ctx

from gwstream.config import Settings
from gwstream.gateways.base import ChatMessage
from gwstream.pipeline import Outcome, Reason, Session, Status, TurnContext
from gwstream.pipeline.call import CallGateway
from gwstream.pipeline.conversation import ConversationStage
from gwstream.pipeline.guard import pii_redactor
from gwstream.pipeline.prompt import PromptStage, build_use_cases, split_point, trim_examples
from gwstream.pipeline.stage import compose
from gwstream.policies import FewShotExample, GuardrailPolicy, PromptSettings

OK = Outcome.answered(RESULT)


def prompts(**use_cases: dict[str, object]) -> dict[str, PromptSettings]:
    return {name: PromptSettings.model_validate(p) for name, p in use_cases.items()}


def stage(p: dict[str, PromptSettings], *, redact: bool = False) -> PromptStage:
    cases = build_use_cases(p, COUNTER, where="prompts")
    policies = lambda tenant: GuardrailPolicy()  # noqa: E731
    return PromptStage({"acme": cases}, redact=pii_redactor(policies) if redact else None)


SPLIT = prompts(
    default={
        "versions": {
            "v1": {"system": "You help ${brand} customers.", "lightweight": "Short, ${brand}."},
            "v2": {"system": "You are ${brand}'s friendly agent."},
            "v3": {"system": "Answer for ${brand} in one paragraph."},
        },
        "split": {"v1": 0.5, "v2": 0.3, "v3": 0.2},
        "variables": {"brand": "Acme"},
    }
)


def session_ctx(session_id: str, session: Session | None = None, **meta: str) -> TurnContext:
    t = TURN.model_copy(update={"session_id": session_id, "metadata": meta})
    return ctx(session or Session(), t=t)


# -- configuration errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ({"versions": {"v1": {"system": "Hi ${name}"}}}, "variables ['name'] are not defined"),
        ({"versions": {"v1": {"system": "Costs $5"}}}, "not a valid template"),
        (
            {"versions": {"v1": {"system": "a"}, "v2": {"system": "b"}}},
            "2 versions need a split",
        ),
        (
            {"versions": {"v1": {"system": "a"}}, "split": {"v1": 0.6, "v9": 0.4}},
            "split names unknown versions ['v9']",
        ),
        (
            {"versions": {"v1": {"system": "a"}, "v2": {"system": "b"}}, "split": {"v1": 0.6}},
            "split weights sum to 0.6; they must sum to 1",
        ),
        (
            {
                "versions": {"v1": {"system": "a"}, "v2": {"system": "b"}},
                "split": {"v1": 1.5, "v2": -0.5},
            },
            "must not be negative",
        ),
        (
            {
                "versions": {"v1": {"system": "${x}"}},
                "variables": {"x": "1"},
                "turn_variables": ["x"],
            },
            "both in variables and turn_variables",
        ),
        ({"versions": {"v 1": {"system": "a"}}}, "version id 'v 1'"),
    ],
)
def test_a_bad_prompt_configuration_fails_at_start_up(p: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings(tenants={"acme": {"prompts": {"default": p}}})


def test_weights_that_sum_to_one_up_to_rounding_are_accepted() -> None:
    p = PromptSettings.model_validate(
        {
            "versions": {"a": {"system": "a"}, "b": {"system": "b"}, "c": {"system": "c"}},
            "split": {"a": 0.1, "b": 0.2, "c": 0.7},
        }
    )
    assert p.split is not None


# -- templates ---------------------------------------------------------------------------


async def test_the_system_instruction_is_the_chosen_versions_template_filled_in() -> None:
    c = session_ctx("s1")
    out = await stage(SPLIT)(c, Next(OK))
    assert out is OK
    expected = {
        "v1": "You help Acme customers.",
        "v2": "You are Acme's friendly agent.",
        "v3": "Answer for Acme in one paragraph.",
    }
    assert c.prompt_version in expected and c.system == expected[c.prompt_version]
    assert c.use_case == "default"


async def test_a_configured_value_is_inserted_literally_never_expanded_again() -> None:
    p = prompts(
        default={
            "versions": {"v1": {"system": "Hi from ${brand}"}},
            "variables": {"brand": "$x ${y}"},
        }
    )
    c = session_ctx("s1")
    await stage(p)(c, Next(OK))
    assert c.system == "Hi from $x ${y}"


async def test_a_turn_variable_comes_from_the_turns_metadata_and_its_absence_refuses_the_turn() -> (
    None
):
    p = prompts(
        default={
            "versions": {"v1": {"system": "Customer tier: ${tier}. Say {0} and $$5."}},
            "turn_variables": ["tier"],
        }
    )
    c = session_ctx("s1", tier="gold")
    await stage(p)(c, Next(OK))
    assert c.system == "Customer tier: gold. Say {0} and $5."

    for meta in ({}, {"tier": ""}, {"tier": "   "}):
        nxt = Next(OK)
        out = await stage(p)(session_ctx("s2", **meta), nxt)
        assert (out.status, out.reason) == (Status.REFUSED, Reason.MISSING_PROMPT_VARIABLE)
        assert nxt.seen == []  # never sent with a hole in it


async def test_a_turn_without_a_turn_variable_is_refused_whichever_version_its_session_got() -> (
    None
):
    # v1 does not use ${tier}, v2 does: the split must not decide which turns are refused.
    p = prompts(
        default={
            "versions": {"v1": {"system": "Plain."}, "v2": {"system": "Tier ${tier}."}},
            "split": {"v1": 0.5, "v2": 0.5},
            "turn_variables": ["tier"],
        }
    )
    got: dict[str | None, Outcome] = {}
    for n in range(40):
        c = session_ctx(f"s{n}")
        out = await stage(p)(c, Next(OK))
        got[c.prompt_version] = out
    assert set(got) == {"v1", "v2"}
    assert all(o.reason == Reason.MISSING_PROMPT_VARIABLE for o in got.values())


async def test_pii_in_a_turn_variable_is_replaced_like_pii_in_the_turn() -> None:
    p = prompts(
        default={
            "versions": {"v1": {"system": "Customer: ${contact}"}},
            "turn_variables": ["contact"],
        }
    )
    c = session_ctx("s1", contact="jane.doe@example.com")
    await stage(p, redact=True)(c, Next(OK))
    assert c.system == "Customer: [EMAIL_1]"
    assert c.guard is not None and c.guard.pii == {"EMAIL": 1}


async def test_an_unknown_use_case_is_refused_and_the_default_one_needs_no_metadata() -> None:
    p = prompts(billing={"versions": {"v1": {"system": "Billing help."}}})
    nxt = Next(OK)
    out = await stage(p)(session_ctx("s1"), nxt)
    assert (out.reason, nxt.seen) == (Reason.UNKNOWN_USE_CASE, [])
    c = session_ctx("s1", use_case="billing")
    await stage(p)(c, Next(OK))
    assert (c.system, c.use_case, c.prompt_version) == ("Billing help.", "billing", "v1")


async def test_a_tenant_without_prompts_keeps_the_global_instruction() -> None:
    c = ctx(Session(), t=TURN.model_copy(update={"tenant_id": "globex"}))
    await stage(SPLIT)(c, Next(OK))
    assert (c.system, c.prompt_version) == ("Be brief.", None)


async def test_the_lightweight_mode_uses_the_versions_lightweight_template() -> None:
    for session_id in (f"s{i}" for i in range(50)):
        c = session_ctx(session_id)
        c.mode, c.system = "lightweight", "global lightweight"
        await stage(SPLIT)(c, Next(OK))
        if c.prompt_version == "v1":
            assert c.system == "Short, Acme."
        else:  # no lightweight template: the global one the budget stage set stays
            assert c.system == "global lightweight"


# -- few-shot examples -------------------------------------------------------------------


def _examples(n: int) -> list[FewShotExample]:
    return [FewShotExample(user=f"question {i}", assistant=f"answer {i}") for i in range(n)]


def test_examples_are_trimmed_oldest_first_to_the_token_limit() -> None:
    all_msgs, all_tokens, dropped = trim_examples(_examples(5), None, COUNTER)
    assert (len(all_msgs), dropped) == (10, 0)
    per_example = all_tokens // 5
    msgs, tokens, dropped = trim_examples(_examples(5), 2 * per_example + 1, COUNTER)
    assert dropped == 3 and tokens <= 2 * per_example + 1
    assert [m.content for m in msgs] == ["question 3", "answer 3", "question 4", "answer 4"]
    assert [m.role for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert trim_examples(_examples(5), 1, COUNTER)[:2] == ((), 0)


async def test_examples_are_counted_and_sent_between_the_instruction_and_the_history() -> None:
    p = prompts(
        default={
            "versions": {
                "v1": {
                    "system": "Be brief.",
                    "examples": [{"user": "hours?", "assistant": "9 to 5."}] * 3,
                    "examples_max_tokens": 40,
                }
            }
        }
    )
    gw = ScriptedGateway(RESULT)
    run = compose(
        [stage(p), ConversationStage(COUNTER, max_messages=20)], CallGateway({"default": gw})
    )
    c = session_ctx("s1")
    await run(c)
    sent = gw.requests[0].messages
    assert [m.content for m in sent] == ["hours?", "9 to 5.", "hours?", "9 to 5.", TURN.text]
    expected = COUNTER.count_messages([ChatMessage("system", "Be brief."), *sent])
    assert c.prompt_tokens == expected


# -- the split -----------------------------------------------------------------------------

#: Over 10,000 sessions each variant's share is within 2 percentage points of its weight
#: (4 standard deviations of a share of 0.5; the split point is a hash, so the test is
#: deterministic, and this says the hash is not biased).
SHARE_TOLERANCE = 0.02


async def test_over_ten_thousand_sessions_each_variants_share_is_near_its_weight() -> None:
    s = stage(SPLIT)
    seen: Counter[str] = Counter()
    for i in range(10_000):
        c = session_ctx(f"session-{i}")
        await s(c, Next(OK))
        assert c.prompt_version is not None
        seen[c.prompt_version] += 1
    for version, weight in {"v1": 0.5, "v2": 0.3, "v3": 0.2}.items():
        assert abs(seen[version] / 10_000 - weight) <= SHARE_TOLERANCE, seen


def test_split_points_are_uniform_and_depend_on_session_and_use_case() -> None:
    points = [split_point(f"acme:s{i}", "default") for i in range(10_000)]
    assert all(0 <= p < 1 for p in points)
    deciles = Counter(int(p * 10) for p in points)
    assert all(abs(n - 1_000) < 150 for n in deciles.values()), deciles
    assert split_point("acme:s1", "default") != split_point("acme:s1", "billing")


async def test_a_session_keeps_its_variant_across_restarts_and_weight_changes() -> None:
    chosen: dict[str, str] = {}
    stored: dict[str, bytes] = {}
    for i in range(300):
        session = Session()
        c = session_ctx(f"s{i}", session)
        await stage(SPLIT)(c, Next(OK))
        assert c.prompt_version is not None
        chosen[f"s{i}"] = c.prompt_version
        stored[f"s{i}"] = session.encode()  # what the changelog keeps
    # A restart: a new stage (and process) reading the sessions back from their state,
    # with the weights changed mid-conversation.
    reweighted = prompts(
        default={**SPLIT["default"].model_dump(), "split": {"v1": 0.0, "v2": 0.0, "v3": 1.0}}
    )
    for sid, raw in stored.items():
        c = session_ctx(sid, Session.decode(raw))
        await stage(reweighted)(c, Next(OK))
        assert c.prompt_version == chosen[sid]
    # New sessions follow the new weights.
    c = session_ctx("new-session")
    await stage(reweighted)(c, Next(OK))
    assert c.prompt_version == "v3"


async def test_a_session_whose_version_was_removed_is_given_a_configured_one() -> None:
    session = Session(variants={"default": "v0-retired"})
    c = session_ctx("s1", session)
    await stage(SPLIT)(c, Next(OK))
    assert c.prompt_version in {"v1", "v2", "v3"}
    assert session.variants == {"default": c.prompt_version}


async def test_every_event_of_the_turn_carries_the_variant() -> None:
    from datetime import UTC, datetime

    from gwstream.pipeline import Origin, build_events
    from gwstream.pipeline.price import PriceStage
    from gwstream.pricing import PriceTable

    run = compose([PriceStage(PriceTable.load()), stage(SPLIT)], Next(OK))
    c = session_ctx("s1")
    out = await run(c)
    events = build_events(
        c.turn, out.but(produced_at=datetime(2026, 12, 1, tzinfo=UTC)), Origin(0, 1)
    )
    for e in (events.response, events.cost, events.audit):
        assert (e.use_case, e.prompt_version) == ("default", c.prompt_version)  # type: ignore[union-attr]


async def test_pii_found_in_a_variable_and_in_the_turn_is_counted_together() -> None:
    from gwstream.pipeline.guard import InputGuardStage

    p = prompts(
        default={
            "versions": {"v1": {"system": "Customer: ${contact}"}},
            "turn_variables": ["contact"],
        }
    )
    t = TURN.model_copy(
        update={"metadata": {"contact": "jane.doe@example.com"}, "text": "Call +44 20 7946 0958"}
    )
    c = ctx(Session(), t=t)
    nxt = Next(OK)
    await compose([stage(p, redact=True), InputGuardStage(lambda _: GuardrailPolicy())], nxt)(c)
    assert c.guard is not None and c.guard.pii == {"EMAIL": 1, "PHONE": 1}
    assert "jane.doe" not in c.system and "7946" not in c.user_text
