"""The views analysts read: their SQL, their filters, one way to read them.

Every view is a query over the relations ``costs``, ``audits`` and
``notices`` (the tables ``cost_events``, ``audit_events`` and
``budget_notices``) and, for reconciliation, ``vendor`` and ``pulls`` (the
vendors' own figures), narrowed by the filters of a read. In the database file
each view also exists unfiltered (``CREATE VIEW``), for SQL users. The CLI
report, the HTTP API, the dashboard and Parquet export all read through
:func:`read_view` / :func:`view_sql`, so they agree.

Statuses: a turn is ``ok``, ``refused``, ``failed`` or ``invalid_output``;
``cached`` counts the ok turns the answer cache served, with no gateway
call. A replayed turn (answered again from its session's state after a
crash) republishes the same event ids, so the sink stores it once; audit
rows that were stored only from a replay say ``replayed``. Refused turns are
never "unpriced": they reached no model.

Money stays exact (``DECIMAL(18,9)`` sums); rates are rounded to 6 places.

The modules, by concern:

- ``filters``: :class:`Filters`, and the WITH clause that narrows the tables
  by them;
- ``registry``: :data:`VIEWS`, every view by name, and the read path
  (:func:`read_view`, :func:`view_sql`, :class:`ViewResult`, :func:`create_views`);
- ``definition``: what a view is (:class:`View`) and the SQL pieces views share;
- the views, their SQL and columns, by subject: ``spend``; ``usage`` (sessions,
  the cache, budgets, tenant limits); ``audits`` (gateway outcomes, guardrail
  findings); ``variants`` (prompt variants); ``reconciliation`` (against the
  vendors' metrics).

Import from this package; the modules are its layout, not its interface.
"""

from gwstream.sink.views.definition import View
from gwstream.sink.views.filters import NO_FILTERS, Filters
from gwstream.sink.views.reconciliation import RECONCILIATION_COLUMNS
from gwstream.sink.views.registry import (
    VIEWS,
    ViewResult,
    create_views,
    read_view,
    view_sql,
    write_parquet,
)
from gwstream.sink.views.spend import SPEND_VIEW
from gwstream.sink.views.variants import VARIANT_COLUMNS, VARIANT_VIEW

__all__ = [
    "NO_FILTERS",
    "RECONCILIATION_COLUMNS",
    "SPEND_VIEW",
    "VARIANT_COLUMNS",
    "VARIANT_VIEW",
    "VIEWS",
    "Filters",
    "View",
    "ViewResult",
    "create_views",
    "read_view",
    "view_sql",
    "write_parquet",
]
