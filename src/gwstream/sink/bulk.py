"""Cost events as the processor writes them, parsed in bulk into the cost table's Arrow form.

The sink's cost records are almost all written by gwstream's processor, in
one form: :meth:`CostEvent.to_json <gwstream.events.Event.to_json>`. Parsing
them one at a time through pydantic (the model, or even a strict TypedDict)
and then building Arrow columns from the rows cost about 10 us per event, half
of the sink's time. Here a whole batch of payloads is read by Arrow's JSON
reader (C++, about 3 us per event with every check below) straight into
columns, and the rows that pass go to DuckDB without ever becoming Python
objects.

What this path accepts is a strict subset of what :class:`CostEvent` plus
:func:`~gwstream.sink.rows.storage_problem` accept, with the same values:

- the reader itself refuses, for the whole chunk, anything not in the form:
  a type other than the field's (``"seq": "4"``, ``"seq": 1.5``,
  ``"cached": 1``), an integer past 2^63-1, an unknown or repeated field, an
  invalid escape, anything that is not one JSON object per payload;
- per row, every field the model requires is present and not null, ids match
  the model's pattern and length, timestamps are RFC 3339 with seconds and an
  offset (then converted exactly as pydantic does), money is a plain decimal
  the ``DECIMAL(18,9)`` column holds exactly, counts are not negative, the
  latency is finite and not negative, the literals are the model's, and a
  budget carries its mode and well-formed values.

A row that fails a check, and every row of a chunk the reader refused, is
handed back by index: the caller validates it with the model, which stores
it if it is valid in another form (an older event, a finer cost, an
exponent) and logs and skips it if not. Bad input therefore costs speed,
never correctness. When the reader refuses a batch, its halves are read
again, down to :data:`SMALLEST` payloads, so one bad record costs about one
more reading of the batch and sends at most that many records through the
model; a batch refused everywhere (a topic in another form) stops being
re-read after :data:`REREADS` times its size.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from gwstream.events import ID_PATTERN, BudgetInfo, CostEvent
from gwstream.sink.schema import COSTS
from gwstream.sink.writer import arrow_schema

__all__ = ["REREADS", "SMALLEST", "parse_costs"]

#: Payloads in the smallest group the reader is retried on: a refused group of this many
#: or fewer goes through the model whole.
SMALLEST = 32
#: Re-reading a refused batch by halves stops once it has read this many times the
#: batch's payloads again (a batch refused everywhere then costs at most that much).
REREADS = 2

_STR = pa.string()
_INT = pa.int64()
_BUDGET = pa.struct(
    [
        ("mode", _STR),
        ("session_tokens_used", _INT),
        ("session_tokens_left", _INT),
        ("session_window_start", _STR),
        ("tenant_spend_day", _STR),
        ("tenant_limit_day", _STR),
        ("tenant_spend_month", _STR),
        ("tenant_limit_month", _STR),
        ("currency", _STR),
    ]
)
# The wire form: every field of CostEvent, with the JSON type the processor writes.
_WIRE = pa.schema(
    [
        ("event_id", _STR),
        ("turn_id", _STR),
        ("tenant_id", _STR),
        ("session_id", _STR),
        ("seq", _INT),
        ("produced_at", _STR),
        ("occurred_at", _STR),
        ("gateway", _STR),
        ("request_model", _STR),
        ("input_tokens", _INT),
        ("output_tokens", _INT),
        ("usage_source", _STR),
        ("tokenizer", _STR),
        ("cost", _STR),
        ("currency", _STR),
        ("price_source", _STR),
        ("budget", _BUDGET),
        ("status", _STR),
        ("latency_ms", pa.float64()),
        ("cached", pa.bool_()),
        ("avoided_cost", _STR),
        ("use_case", _STR),
        ("prompt_version", _STR),
        ("cached_input_tokens", _INT),
        ("price_version", _STR),
    ]
)
if _WIRE.names != list(CostEvent.model_fields):
    raise RuntimeError("sink/bulk.py's wire schema no longer lists CostEvent's fields")
if [f.name for f in _BUDGET] != list(BudgetInfo.__dataclass_fields__):
    raise RuntimeError("sink/bulk.py's budget schema no longer lists BudgetInfo's fields")

_PARSE = pa_json.ParseOptions(explicit_schema=_WIRE, unexpected_field_behavior="error")
_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 26)

# Required (the model has no default for them, or the fast path insists on the
# processor writing them): present and not null.
_REQUIRED = (
    "event_id",
    "request_model",
    "price_source",
    "cached",
    "latency_ms",
    "seq",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
)
_IDS = ("turn_id", "tenant_id", "session_id")
_COUNTS = ("seq", "input_tokens", "output_tokens", "cached_input_tokens")
# Arrow scalars made once: a Python number in a compute call is converted on every
# call (pyarrow even tries to import dateutil each time).
_MAX_ID = pa.scalar(128, pa.int32())
_ZERO = pa.scalar(0, _INT)
_ZERO_MS = pa.scalar(0.0, pa.float64())
# The model's AwareDatetime accepts more; this is the form the processor writes.
_TIMESTAMP = (
    r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# Plain decimals, not negative, that DECIMAL(18,9) holds exactly: stored as written, no
# rounding needed (anything else goes through the model: rejected, or rounded and counted).
_MONEY = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?$"
_CURRENCY = r"^[A-Z]{3}$"
_USAGE = pa.array(["gateway", "tiktoken", "none"])
_STATUSES = pa.array(["ok", "refused", "failed", "invalid_output"])
_MODES = pa.array(["standard", "lightweight"])
_UTC = pa.timestamp("us", tz="UTC")
_OUT = arrow_schema(COSTS)


def _matches(values: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(values, pattern)


def _null_or(values: pa.Array, check: pa.Array) -> pa.Array:
    return pc.or_kleene(pc.is_null(values), check)


def _accepted(t: pa.Table) -> pa.Array:
    """Per row: True when every check passes (null counts as failing)."""
    checks: list[pa.Array] = [pc.is_valid(t[name]) for name in _REQUIRED]
    for name in _IDS:
        checks += [_matches(t[name], ID_PATTERN), pc.less_equal(pc.utf8_length(t[name]), _MAX_ID)]
    checks += [_matches(t[name], _TIMESTAMP) for name in ("produced_at", "occurred_at")]
    checks += [_matches(t[name], _MONEY) for name in ("cost", "avoided_cost")]
    checks += [pc.greater_equal(t[name], _ZERO) for name in _COUNTS]
    checks += [
        _matches(t["currency"], _CURRENCY),
        pc.is_in(t["usage_source"], value_set=_USAGE),
        _null_or(t["status"], pc.is_in(t["status"], value_set=_STATUSES)),
        pc.greater_equal(t["latency_ms"], _ZERO_MS),
        pc.is_finite(t["latency_ms"]),
    ]
    budget = t["budget"]
    if budget.null_count < len(budget):
        b = {name: pc.struct_field(budget, name) for name in _BUDGET.names}
        in_budget = [
            pc.is_in(b["mode"], value_set=_MODES),
            _null_or(b["session_tokens_used"], pc.greater_equal(b["session_tokens_used"], _ZERO)),
            _null_or(b["session_tokens_left"], pc.greater_equal(b["session_tokens_left"], _ZERO)),
            _null_or(b["session_window_start"], _matches(b["session_window_start"], _TIMESTAMP)),
        ]
        in_budget += [
            _null_or(b[name], _matches(b[name], _MONEY))
            for name in _BUDGET.names
            if name.startswith("tenant_")
        ]
        ok_budget = in_budget[0]
        for check in in_budget[1:]:
            ok_budget = pc.and_kleene(ok_budget, check)
        checks.append(_null_or(budget, ok_budget))
    ok = checks[0]
    for check in checks[1:]:
        ok = pc.and_kleene(ok, check)
    return pc.fill_null(ok, False)


def _rows(t: pa.Table) -> pa.Table:
    """Accepted wire rows as the cost table's Arrow batch (its columns, in its order)."""
    budget = t["budget"]
    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        "budget_mode": pc.struct_field(budget, "mode"),
        "session_tokens_used": pc.struct_field(budget, "session_tokens_used"),
        "session_tokens_left": pc.struct_field(budget, "session_tokens_left"),
        "tenant_limit_day": pc.struct_field(budget, "tenant_limit_day"),
        "tenant_limit_month": pc.struct_field(budget, "tenant_limit_month"),
    }
    out = []
    for f in _OUT:
        values = columns[f.name] if f.name in columns else t[f.name]
        out.append(pc.cast(values, f.type))  # only the timestamps change type
    return pa.Table.from_arrays(out, schema=_OUT)


def _read(payloads: Sequence[bytes]) -> tuple[pa.Table, list[int]] | None:
    """The accepted rows and the rejected indices, or None when the reader refused the lot."""
    try:
        wire = pa_json.read_json(
            io.BytesIO(b"\n".join(payloads)), read_options=_READ, parse_options=_PARSE
        )
        if wire.num_rows != len(payloads):  # a payload of two objects, or of none
            return None
        ok = _accepted(wire)
        rejected: list[int] = pc.indices_nonzero(pc.invert(ok)).to_pylist()
        return _rows(wire.filter(ok)), rejected
    except (pa.ArrowException, ValueError):
        # Not the processor's form, or a timestamp Arrow cannot convert (a 30th of
        # February): the model decides.
        return None


@dataclass(slots=True)
class _Batch:
    """What one :func:`parse_costs` call collects, and the re-reading it may still spend."""

    tables: list[pa.Table]
    rest: list[int]
    rereads: int
    """Payloads the reader may still read a second time while looking for refused ones."""


def _parse(payloads: Sequence[bytes], at: Sequence[int], out: _Batch) -> None:
    """Read ``payloads`` (which are ``at`` in the caller's list), by halves where refused."""
    read = _read(payloads)
    if read is not None:
        table, rejected = read
        if table.num_rows:
            out.tables.append(table)
        out.rest += [at[i] for i in rejected]
    elif len(payloads) <= SMALLEST or len(payloads) > out.rereads:
        # Small enough, or refusals are everywhere (a topic in another form): the
        # model takes them without more reading.
        out.rest += at
    else:  # find the payloads the reader refuses by halves: the rest stay fast
        out.rereads -= len(payloads)
        half = len(payloads) // 2
        _parse(payloads[:half], at[:half], out)
        _parse(payloads[half:], at[half:], out)


def _one_line_object(payload: bytes) -> bool:
    # The reader's input is one payload per line, each line an object: Arrow 26's reader
    # crashes the process on a block that begins with a top-level null.
    return (
        payload[:1] == b"{"
        and payload[-1:] == b"}"
        and b"\n" not in payload
        and b"\r" not in payload
    )


def parse_costs(payloads: Sequence[bytes]) -> tuple[list[pa.Table], list[int]]:
    """The cost table's rows of the payloads in the processor's form, and the rest's indices.

    Returns Arrow tables of the accepted rows (in payload order) and the
    indices into ``payloads`` of those to validate with the model, in order.
    """
    at = [i for i, payload in enumerate(payloads) if _one_line_object(payload)]
    out = _Batch([], sorted(set(range(len(payloads))) - set(at)), REREADS * len(payloads))
    if len(at) == len(payloads):
        _parse(payloads, range(len(payloads)), out)
    elif at:
        _parse([payloads[i] for i in at], at, out)
    out.rest.sort()
    return out.tables, out.rest
