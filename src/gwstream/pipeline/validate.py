"""Input validation: a turn record's bytes become a :class:`TurnEvent`, or a named poison.

:func:`decode_turn` accepts exactly what ``topics/gw.turns.v1.schema.json``
accepts (the schema is generated from :class:`TurnEvent`, and a test checks
the two agree input by input). A rejection's detail goes to the dead-letter
headers, where anyone reading the topic sees it, so it names only our own
field names, positions, limits and error kinds: never the key, an unknown
field's name, a metadata key or any value from the payload.
"""

from __future__ import annotations

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gwstream.errors import PoisonRecord
from gwstream.events import TurnEvent
from gwstream.runtime import InRecord

_FIELDS = frozenset(TurnEvent.model_fields)
_ERRORS_SHOWN = 5


def decode_turn(record: InRecord) -> TurnEvent:
    """Validate one input record; raise PoisonRecord naming why (``bad_utf8``,
    ``not_json``, ``invalid_schema`` or ``key_mismatch``) without echoing it.

    pydantic parses and validates in one pass (the fast path); only a rejected
    record is read again, by orjson, to tell bad bytes or bad JSON from a bad turn.
    """
    raw = record.value or b""
    try:
        turn = TurnEvent.model_validate_json(raw)
    except ValidationError as exc:
        if not raw:  # a tombstone and an empty value told apart
            what = "a tombstone (null)" if record.value is None else "empty"
            raise PoisonRecord("not_json", f"the record's value is {what}") from None
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise _unreadable(raw) or _invalid(errors) from None
    if record.key != turn.key.encode():
        raise PoisonRecord("key_mismatch", _key_mismatch(record.key, turn))
    return turn


def _key_mismatch(key: bytes | None, turn: TurnEvent) -> str:
    """Which part of the record key differs from the payload's, without quoting either."""
    tenant, sep, session = (key or b"").partition(b":")  # ids hold no ":"
    if not sep:
        return "the record key is not tenant_id:session_id (it holds no ':')"
    differ = [
        name
        for name, part, value in (
            ("tenant_id", tenant, turn.tenant_id),
            ("session_id", session, turn.session_id),
        )
        if part != value.encode()
    ]
    verb = "differs" if len(differ) == 1 else "differ"
    return (
        f"the record key's {' and '.join(differ)} {verb} from the payload's "
        "(the key must be tenant_id:session_id)"
    )


def _unreadable(raw: bytes) -> PoisonRecord | None:
    """Why ``raw`` is no JSON text (bad UTF-8, or bad syntax and where), or None if it is."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return PoisonRecord("bad_utf8", f"invalid UTF-8 at byte {exc.start}")
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return PoisonRecord("not_json", f"not JSON: {exc.msg} at position {exc.pos}")
    return None


def _invalid(errors: list[ErrorDetails]) -> PoisonRecord:
    if errors[0]["type"] == "json_invalid":
        # JSON to orjson but not to pydantic's parser (nested deeper than it reads).
        msg = errors[0]["msg"]
        if "recursion limit" in msg:
            msg = "JSON nested deeper than 200 levels (the turn's and response_schema's)"
        return PoisonRecord("not_json", msg)
    return PoisonRecord("invalid_schema", _describe(errors))


def _describe(errors: list[ErrorDetails]) -> str:
    shown = "; ".join(f"{_where(e)}: {e['msg']}" for e in errors[:_ERRORS_SHOWN])
    more = len(errors) - _ERRORS_SHOWN
    return f"{shown}; and {more} more" if more > 0 else shown


def _where(error: ErrorDetails) -> str:
    """The error's location with every name that came from the payload masked."""
    loc = error["loc"]
    if not loc:
        return "(root)"
    head = loc[0]
    if error["type"] == "extra_forbidden" or head not in _FIELDS:
        return "(unknown field)"
    rest = (f"[{p}]" if isinstance(p, int) else ".<key>" for p in loc[1:])
    return f"{head}{''.join(rest)}"
