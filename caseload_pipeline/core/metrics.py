"""The monthly metric tables (SPEC 5): worker, team and role per month, from the
loaded `allocations` and `staff` (sql/metrics/*.sql)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.sql import sql
from caseload_pipeline.core.warehouse import set_refresh_months

METRIC_TABLES = ("worker_monthly", "team_monthly", "role_monthly")


def refresh_metrics(con: duckdb.DuckDBPyConnection, months: Sequence[Month]) -> None:
    """Recompute the monthly metric tables for these months (and the month after
    each, whose reassignment flags may have changed)."""
    extended = sorted(set(months) | {m.next() for m in months})
    set_refresh_months(con, extended)
    for table in METRIC_TABLES:
        con.execute(f"DELETE FROM {table} WHERE month IN (SELECT month FROM refresh_months)")
        pause_point("metrics")
        con.execute(f"INSERT INTO {table} " + sql(f"metrics/{table}"))


def month_summary(settings: Settings, month: Month) -> tuple[list[tuple], list[tuple]]:
    """A month's team rows (team, workers, cases, avg, per fte, weighted) and role
    rows (role, workers, cases, avg), read from the analysts' published copy."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        teams = con.execute(
            "SELECT team, workers, cases, avg_caseload, avg_caseload_per_fte,"
            " avg_weighted_caseload FROM team_monthly WHERE month = ? ORDER BY team",
            [month.first_day]).fetchall()
        roles = con.execute(
            "SELECT role, workers, cases, avg_caseload FROM role_monthly WHERE month = ?"
            " ORDER BY role", [month.first_day]).fetchall()
    return teams, roles
