"""The cost sink: cost events from Kafka into DuckDB, and the reports read from it.

- :mod:`~gwstream.sink.writer`: the DuckDB schema, views and batch writer;
- :mod:`~gwstream.sink.consumer`: the Kafka loop feeding the writer;
- :mod:`~gwstream.sink.report`: spend reports rendered as table, CSV or JSON.
"""

from __future__ import annotations

from gwstream.errors import SinkError
from gwstream.sink.consumer import BatchCallback, BatchResult, CostSink, SinkStats
from gwstream.sink.report import ReportFormat, render, spend_report
from gwstream.sink.writer import COST_TABLE, SPEND_VIEW, CostWriter, storage_problem

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
