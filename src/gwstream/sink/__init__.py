"""The sink: cost and audit events from Kafka into DuckDB, and the reports read from it.

- :mod:`~gwstream.sink.schema`: the tables and their migrations;
- :mod:`~gwstream.sink.views`: the analysts' views, their filters, one way to read them;
- :mod:`~gwstream.sink.writer`: the batch writer;
- :mod:`~gwstream.sink.consumer`: the Kafka loop feeding the writer;
- :mod:`~gwstream.sink.api`: the HTTP API and dashboard served while the sink runs;
- :mod:`~gwstream.sink.report`: reports rendered as table, CSV or JSON.
"""

from __future__ import annotations

from gwstream.errors import SinkError
from gwstream.sink.consumer import BatchCallback, BatchResult, CostSink, SinkStats
from gwstream.sink.report import ReportFormat, render, spend_report
from gwstream.sink.rows import storage_problem
from gwstream.sink.views import SPEND_VIEW
from gwstream.sink.writer import COST_TABLE, CostWriter

__all__ = [
    "COST_TABLE",
    "SPEND_VIEW",
    "BatchCallback",
    "BatchResult",
    "CostSink",
    "CostWriter",
    "ReportFormat",
    "SinkError",
    "SinkStats",
    "render",
    "spend_report",
    "storage_problem",
]
