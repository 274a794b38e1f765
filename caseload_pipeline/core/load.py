"""Loading: validated months replace their rows in `staff` and `allocations`
(sql/staging/*.sql), with pseudonymised ids, and `load_log` records the files.

A month is loaded from the staged files of the run that validated it, and only
if they still have the hashes validation saw (core/staging.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
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
    loading, batch = [], []
    for month in months:
        staged = read_staged(settings, month, run_id)
        if staged.blocking:  # never load a month that failed, whoever asks
            raise RuntimeError(f"{month} failed validation and cannot be loaded")
        files = [(f["name"], f["sha256"], f["rows"]) for f in staged.files.values()]
        batch.append(MonthFiles(month, staged.check_validated(CASELOAD),
                                staged.check_validated(STAFF), files))
        loading.append(staged)
    load_months(con, batch, run_id)
    pause_point("load")
    lost = rows_not_loaded(con, loading)  # nothing validated may vanish in a join
    if lost:
        raise RowsNotLoaded(lost)
    refresh_reassignment(con, months)


@dataclass(frozen=True)
class MonthFiles:
    """A month's validated staging files, and (name, sha256, rows) of the files
    they came from, for load_log."""

    month: Month
    caseload: Path
    staff: Path
    files: Sequence[tuple[str, str, int]]


def load_months(con: duckdb.DuckDBPyConnection, batch: Sequence[MonthFiles],
                run_id: str) -> None:
    """Replace the months' staff and allocations from validated staging files.

    All months go in one statement per table: a history of 88 small months
    costs what one month does, not 88 times its statements. The caller owns the
    transaction, so the months land together or not at all.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE months_to_load"
                " (month DATE, caseload_path VARCHAR, staff_path VARCHAR)")
    con.execute("INSERT INTO months_to_load SELECT unnest(?::DATE[]), unnest(?::VARCHAR[]),"
                " unnest(?::VARCHAR[])", [[m.month.first_day for m in batch],
                                          [str(m.caseload) for m in batch],
                                          [str(m.staff) for m in batch]])
    # read_parquet takes its list of files as a constant, not from the table
    con.execute("SET VARIABLE staff_paths = ?::VARCHAR[]", [[str(m.staff) for m in batch]])
    con.execute("SET VARIABLE caseload_paths = ?::VARCHAR[]",
                [[str(m.caseload) for m in batch]])
    for table in ("allocations", "staff", "load_log"):
        con.execute(f"DELETE FROM {table} WHERE month IN (SELECT month FROM months_to_load)")
    con.execute("INSERT INTO staff " + sql("staging/stg_staff"))
    con.execute("INSERT INTO allocations " + sql("staging/stg_allocations"))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    logged = [(m.month.first_day, *file) for m in batch for file in m.files]
    if logged:
        con.execute("INSERT INTO load_log SELECT unnest(?::DATE[]), unnest(?::VARCHAR[]),"
                    " unnest(?::VARCHAR[]), unnest(?::INTEGER[]), ?, ?",
                    [*([row[i] for row in logged] for i in range(4)), now, run_id])


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
