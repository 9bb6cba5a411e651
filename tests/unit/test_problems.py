"""Pydantic's errors in plain words: paths as written, short messages, closest names."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gwstream.problems import Problem, problems


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float = Field(0.0, ge=0, le=1)


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int | Literal["auto"] = 1
    inner: Inner | None = None
    items: list[Inner] = []
    named: dict[str, Inner] = {}
    either: Inner | int = 0
    label: str = "x"

    @field_validator("label")
    @classmethod
    def _no_spaces(cls, v: str) -> str:
        if " " in v:
            raise ValueError("label must not contain spaces")
        return v


def found(**data: object) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return problems(Outer, caught.value)


def test_a_value_failing_every_union_member_is_one_problem_in_one_sentence() -> None:
    [p] = found(count="many")
    assert (p.path, p.message) == (("count",), "must be a whole number or 'auto'")


def test_paths_keep_list_indexes_and_mapping_keys_but_drop_member_tags() -> None:
    got = found(
        inner={"rate": 2},
        items=[{}, {"rate": -1}],
        named={"a.b": {"rate": "x"}},
        either={"rate": 3},
    )
    assert [(p.path, p.message) for p in got] == [
        (("inner", "rate"), "must be <= 1"),
        (("items", 1, "rate"), "must be >= 0"),
        (("named", "a.b", "rate"), "must be a number"),
        (("either", "rate"), "must be <= 1"),  # if it was meant as a mapping
        (("either",), "must be a whole number"),  # if not
    ]


def test_an_unknown_name_carries_the_names_its_model_takes_and_the_closest() -> None:
    [nested, top] = found(cuont=2, inner={"rat": 0.5})  # in the model's field order
    assert (top.path, top.type, top.suggestion) == (("cuont",), "extra_forbidden", "count")
    assert (nested.path, nested.suggestion, nested.known) == (("inner", "rat"), "rate", ("rate",))
    [far] = found(zzz=1)
    assert far.suggestion is None and "label" in far.known


def test_a_validators_message_loses_pydantics_prefix() -> None:
    [p] = found(label="a b")
    assert p.message == "label must not contain spaces"


def test_a_suggestion_shares_more_than_a_few_letters_with_the_name() -> None:
    from gwstream.problems import closest

    fields = ["turn_id", "session_id", "text", "metadata"]
    assert closest("extra", fields) is None  # "ext" is not "text"
    assert closest("sesion_id", fields) == "session_id"
    assert closest("output_cost", ["output_cost_per_token", "input_cost_per_token"]) == (
        "output_cost_per_token"
    )
