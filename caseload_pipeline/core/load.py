"""Loading: validated months replace their rows in `staff` and `allocations`
(sql/staging/*.sql), with pseudonymised ids, and `load_log` records the files.

A month is loaded from the staged files of the run that validated it, and only
if they still have the hashes validation saw (core/staging.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from caseload_pipeline.core.completeness import RowsNotLoaded, rows_not_loaded
from caseload_pipeline.core.contract import CASELOAD, STAFF
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.sql import sql
from caseload_pipeline.core.staging import read_staged
from caseload_pipeline.core.warehouse import set_refresh_months


def load_validated(con: duckdb.DuckDBPyConnection, settings: Settings,
                   months: Sequence[Month], run_id: str) -> None:
    """Load months that run `run_id` validated and that passed, and recompute
    their reassignment (and that of the month after each). Each month is loaded
    from the run's own staging, and only if its staged files are what
    validation read. The caller owns the transaction: on `RowsNotLoaded` (a
    join lost or repeated validated rows) it must roll back."""
    pause_point("before-load")
    loading = []
    for month in months:
        staged = read_staged(settings, month, run_id)
        if staged.blocking:  # never load a month that failed, whoever asks
            raise RuntimeError(f"{month} failed validation and cannot be loaded")
        caseload, staff = staged.check_validated(CASELOAD), staged.check_validated(STAFF)
        files = [(f["name"], f["sha256"], f["rows"]) for f in staged.files.values()]
        load_month(con, month, caseload, staff, files, run_id)
        loading.append(staged)
        pause_point("load")
    lost = rows_not_loaded(con, loading)  # nothing validated may vanish in a join
    if lost:
        raise RowsNotLoaded(lost)
    refresh_reassignment(con, months)


def load_month(con: duckdb.DuckDBPyConnection, month: Month, caseload: Path, staff: Path,
               files: Sequence[tuple[str, str, int]], run_id: str) -> None:
    """Replace one month's staff and allocations from validated staging files.

    The caller owns the transaction, so a batch of months lands together or
    not at all. `files` is (name, sha256, rows) for load_log.
    """
    con.execute("SET VARIABLE month = ?::DATE", [month.first_day])
    con.execute("SET VARIABLE staff_path = ?", [str(staff)])
    con.execute("SET VARIABLE caseload_path = ?", [str(caseload)])
    for table in ("allocations", "staff", "load_log"):
        con.execute(f"DELETE FROM {table} WHERE month = ?", [month.first_day])
    con.execute("INSERT INTO staff " + sql("staging/stg_staff"))
    con.execute("INSERT INTO allocations " + sql("staging/stg_allocations"))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for name, digest, rows in files:
        con.execute("INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?)",
                    [month.first_day, name, digest, rows, now, run_id])


def refresh_reassignment(con: duckdb.DuckDBPyConnection, months: Sequence[Month]) -> None:
    set_refresh_months(con, months)
    con.execute(sql("staging/reassignment"))


def loaded_files(database: Path, months: Sequence[Month] | None = None
                 ) -> dict[Month, dict[str, str]]:
    """{month: {file name: sha256}} from a database's load_log (opened read-only),
    for `months` or every month. DuckDB's error is the caller's to judge."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        query = "SELECT month, file, sha256 FROM load_log"
        if months is None:
            rows = con.execute(query).fetchall()
        else:
            rows = con.execute(f"{query} WHERE month IN (SELECT unnest(?::DATE[]))",
                               [[m.first_day for m in months]]).fetchall()
    finally:
        con.close()
    loaded: dict[Month, dict[str, str]] = {}
    for day, name, digest in rows:
        loaded.setdefault(Month(day.year, day.month), {})[name] = digest
    return loaded
