"""Logging set-up: plain lines for people, or one JSON object per line for log pipelines.

``log_format: json`` (``GWSTREAM_LOG_FORMAT=json``) writes each record as one
line: ``ts`` (UTC, RFC 3339), ``level``, ``logger``, ``message``, ``child``
(under ``gwstream run --processes``: a child's lines and the supervisor's
lines about one), the exception when there is one, and the
ids a record carries as fields of their own (:data:`FIELDS`: turn, session and
tenant ids, gateway, outcome, attempts, partition, offset), so that a log store
can filter by them. gwstream never logs a turn's text, in either format.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]

_HANDLER = "gwstream"

#: Record attributes (passed as ``extra=``) that JSON lines carry as fields.
FIELDS = (
    "turn_id",
    "session_id",
    "tenant_id",
    "gateway",
    "outcome",
    "attempts",
    "partition",
    "offset",
    "exit_code",
)


def turn_fields(turn: Any) -> dict[str, Any]:
    """The ``extra=`` of a log record about ``turn``: its ids, never its text."""
    return {"turn_id": turn.turn_id, "session_id": turn.session_id, "tenant_id": turn.tenant_id}


class JsonFormatter(logging.Formatter):
    def __init__(self, child: str | None = None) -> None:
        super().__init__()
        self._child = child

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        child = record.__dict__.get("child", self._child)
        if child is not None:
            doc["child"] = child
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def json_logs() -> bool:
    """Whether :func:`configure` set up JSON lines (then even the last error is one)."""
    return any(
        h.get_name() == _HANDLER and isinstance(h.formatter, JsonFormatter)
        for h in logging.getLogger().handlers
    )


def configure(level: str, fmt: LogFormat = "text", *, child: str | None = None) -> None:
    """Route every logger to stderr in ``fmt`` at ``level``; chatty libraries at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(child))
    else:
        who = f"child {child} " if child is not None else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s {who}%(name)s: %(message)s")
        )
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER:  # ours from an earlier call; others stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = max(logging.WARNING, logging.getLevelName(level))
    for noisy in ("aiokafka", "httpx"):  # httpx logs every request at INFO
        logging.getLogger(noisy).setLevel(quiet)
    handler.addFilter(LibraryRepeats())


_stopping = False


def stopping() -> None:
    """The process is stopping cleanly (a first SIGTERM or SIGINT): the Kafka client's
    errors about connections closing under it are expected from now on."""
    global _stopping
    _stopping = True


class LibraryRepeats(logging.Filter):
    """Lets through one line per message of the Kafka client per ``window_s``.

    While a broker is away aiokafka logs the same connection error for every
    attempt, thousands of ERROR lines a minute, which would page whoever
    alerts on ERROR; gwstream's own warning about the outage is logged once.
    The first line of each message goes out, the repeats within the window
    are counted, and the next one that goes out says how many were left out.
    Once the process is :func:`stopping`, its errors are logged as warnings.
    """

    def __init__(self, window_s: float = 60.0, prefix: str = "aiokafka") -> None:
        super().__init__()
        self._window_s = window_s
        self._prefix = prefix
        #: message template -> (when it last went out, repeats left out since)
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefix):
            return True
        if _stopping and record.levelno >= logging.ERROR:
            # A connection closed as we leave: not worth an alert on every rolling restart.
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        key = f"{record.name}:{record.msg}"
        last, left_out = self._seen.get(key, (float("-inf"), 0))
        if record.created - last < self._window_s:
            self._seen[key] = (last, left_out + 1)
            return False
        if len(self._seen) > 1_000:
            self._seen.clear()
        self._seen[key] = (record.created, 0)
        if left_out:
            record.msg = (
                f"{record.msg} ({left_out} more like it in the last {self._window_s:.0f}s left out)"
            )
        return True
