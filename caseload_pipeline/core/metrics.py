"""The monthly metric tables (SPEC 5): worker, team and role per month, from the
loaded `allocations` and `staff` (sql/metrics/*.sql)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.sql import sql
from caseload_pipeline.core.warehouse import METRICS_DUE, months_due, set_refresh_months

METRIC_TABLES = ("worker_monthly", "team_monthly", "role_monthly")


def refresh_metrics(con: duckdb.DuckDBPyConnection, months: Sequence[Month]) -> None:
    """Recompute the monthly metric tables for these months and any loaded month
    still due for its metrics (a run stopped between its load and its metrics),
    and the month after each, whose reassignment flags may have changed."""
    wanted = set(months) | set(months_due(con))
    extended = sorted(wanted | {m.next() for m in wanted})
    set_refresh_months(con, extended)
    for table in METRIC_TABLES:
        con.execute(f"DELETE FROM {table} WHERE month IN (SELECT month FROM refresh_months)")
        pause_point("metrics")
        con.execute(f"INSERT INTO {table} " + sql(f"metrics/{table}"))
    con.execute(f"DELETE FROM {METRICS_DUE}")
