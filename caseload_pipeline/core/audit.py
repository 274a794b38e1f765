"""The audit tables (SPEC 5): audit-period averages by team and role and the
comparison with the previous audit, recomputed whole from the monthly tables
(sql/audit/*.sql; they are small)."""

from __future__ import annotations

import duckdb

from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.sql import sql

AUDIT_TABLES = ("audit_team_averages", "audit_role_averages", "audit_comparison")


def refresh_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in AUDIT_TABLES:
        con.execute(f"DELETE FROM {table}")
        pause_point("audit")
        con.execute(f"INSERT INTO {table} " + sql(f"audit/{table}"))
