"""Pydantic validation errors in plain words, for people who write configuration.

Pydantic's messages are written for Python programmers (``Value error, ...``,
``Input should be greater than or equal to 0``, locations carrying union
member tags such as ``processes.literal['auto']``, links to its docs).
:func:`problems` turns a :class:`~pydantic.ValidationError` into one
:class:`Problem` per setting: its path as the user wrote it, a short message
(``must be >= 0``), and for an unknown name the closest known one. The
callers (the configuration loader, the simulator's options) say where the
path came from: a YAML key, an environment variable, a command-line flag.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

__all__ = ["Problem", "closest", "plain_message", "problems"]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One setting that failed validation.

    ``path`` is pydantic's location without union member tags; ``message``
    says what is wrong in plain words; ``type`` is pydantic's error type
    (``extra_forbidden`` for an unknown name, or a custom type such as
    ``missing_secret``) and ``ctx`` its context; ``known`` holds the names
    the enclosing model accepts (set for unknown names) and ``suggestion``
    the closest of them, if any is close.
    """

    path: Path
    message: str
    type: str
    ctx: Mapping[str, Any]
    known: tuple[str, ...] = ()
    suggestion: str | None = None


def problems(model: type[BaseModel], exc: ValidationError) -> list[Problem]:
    """``exc`` (raised validating ``model``) as one problem per setting, in pydantic's order.

    A value that fails every member of a union (``processes: many`` for
    ``int | Literal["auto"]``) is one problem, ``must be a whole number or 'auto'``.
    """
    found: dict[Path, Problem] = {}
    for err in exc.errors(include_url=False, include_input=False):
        path, owner, tagged = _resolve(model, err["loc"])
        message = plain_message(err)
        known: tuple[str, ...] = ()
        suggestion = None
        if err["type"] == "extra_forbidden" and owner is not None and path:
            known = tuple(owner.model_fields)
            suggestion = closest(str(path[-1]), known)
        earlier = found.get(path)
        if earlier is not None and tagged:
            message = _either(earlier.message, message)
        elif earlier is not None:
            message = f"{earlier.message}; {message}"
        found[path] = Problem(path, message, err["type"], err.get("ctx") or {}, known, suggestion)
    return list(found.values())


def closest(name: str, known: Sequence[str]) -> str | None:
    """The known name ``name`` was most likely meant to be, if one is close enough."""
    low = name.lower()
    matches = difflib.get_close_matches(low, [k.lower() for k in known], n=1, cutoff=0.6)
    if not matches:
        return None
    match = matches[0]
    # A loose likeness must be a part of the name (output_cost -> output_cost_per_token),
    # not a few shared letters (extra -> text).
    if difflib.SequenceMatcher(None, low, match).ratio() < 0.75 and not (
        low in match or match in low
    ):
        return None
    return next(k for k in known if k.lower() == match)


def plain_message(err: ErrorDetails) -> str:
    """What is wrong with one value, in plain words (no location, no input, no URL)."""
    kind, ctx, msg = err["type"], err.get("ctx") or {}, err["msg"]
    if kind in _BOUNDS:
        bound = ctx[_BOUND_KEYS[kind]]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "must be >= 0", not ">= 0.0"
        return f"must be {_BOUNDS[kind]} {bound}"
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in ("string_too_short", "too_short"):
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must have at least {n} {_unit(kind)}"
    if kind in ("string_too_long", "too_long"):
        return f"must have at most {ctx.get('max_length')} {_unit(kind)}"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        return f"must be one of {expected}" if " or " in expected else f"must be {expected}"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should be "):
        msg = "must be " + msg.removeprefix("Input should be ")
    return msg


_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}
_BOUND_KEYS = {
    "greater_than_equal": "ge",
    "greater_than": "gt",
    "less_than_equal": "le",
    "less_than": "lt",
}
_PLAIN = {
    "missing": "required but not set",
    "extra_forbidden": "no such setting",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "frozen_set_type": "must be a list",
    "dict_type": "must be a mapping (name: value)",
    "model_type": "must be a mapping of settings (name: value)",
    "model_attributes_type": "must be a mapping of settings (name: value)",
}


def _unit(kind: str) -> str:
    return "characters" if kind.startswith("string") else "items"


def _either(first: str, second: str) -> str:
    """Two union members' complaints as one: ``must be a whole number or 'auto'``."""
    if first.startswith("must be ") and second.startswith("must be "):
        return f"{first} or {second.removeprefix('must be ').removeprefix('one of ')}"
    return f"{first}, or {second}"


def _resolve(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[Path, Any, bool]:
    """``loc`` without union member tags; the model that holds its last name (when the
    last name is one of a model's fields or an unknown one); whether a tag was dropped."""
    path: list[str | int] = []
    annotation: Any = model
    owner: Any = None
    tagged = False
    for item in loc:
        annotation = _strip(annotation)
        owner = None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            owner = annotation
            field = annotation.model_fields.get(str(item))
            annotation = field.annotation if field is not None else None
            path.append(item)
        elif _is_union(annotation):
            tagged = True  # the member pydantic tried: not part of what the user wrote
            annotation = next(
                (m for m in get_args(annotation) if getattr(m, "__name__", None) == item), None
            )
        elif get_origin(annotation) in (dict, Mapping):
            annotation = get_args(annotation)[1]
            path.append(item)
        elif get_origin(annotation) in (list, tuple, set, frozenset, Sequence):
            args = get_args(annotation)
            annotation = args[0] if args else None
            path.append(item)
        elif annotation is None or isinstance(item, int):
            path.append(item)
        else:
            tagged = True  # a validator's tag on a plain value (function-after[...])
    return tuple(path), owner, tagged


def _strip(annotation: Any) -> Any:
    """``X`` for ``Annotated[X, ...]`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation):
            members = [m for m in get_args(annotation) if m is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)
