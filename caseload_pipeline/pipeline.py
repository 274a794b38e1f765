"""The pipeline's steps as plain functions: the Dagster assets and the CLI call
these, and the tests can too. Each takes the settings and the months to do."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from caseload_pipeline.contract import CASELOAD, STAFF
from caseload_pipeline.months import Month
from caseload_pipeline.reference import Reference
from caseload_pipeline.settings import Settings
from caseload_pipeline.staging import StagedMonth, read_staged, staged_as_extracted
from caseload_pipeline.validation.rules import MonthContext, validate_month
from caseload_pipeline.warehouse import (
    load_month,
    previous_rows,
    record_findings,
    refresh_reassignment,
)


def validate_staged(con: duckdb.DuckDBPyConnection, settings: Settings, reference: Reference,
                    month: Month) -> StagedMonth:
    """Run the month's suites on its staged files; store and return the findings."""
    staged = read_staged(settings, month)
    ctx = MonthContext(month, reference, previous_rows(con, month))
    findings = list(staged.extraction) + validate_month(
        ctx, staged_as_extracted(staged, CASELOAD), staged_as_extracted(staged, STAFF))
    staged.findings = findings
    staged.save()
    record_findings(con, month, findings)
    return staged


def load_validated(con: duckdb.DuckDBPyConnection, settings: Settings,
                   months: Sequence[Month], run_id: str) -> None:
    """Load months that passed validation, all in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for month in months:
            staged = read_staged(settings, month)
            if staged.blocking:  # never load a month that failed, whoever asks
                raise RuntimeError(f"{month} failed validation and cannot be loaded")
            files = [(f["name"], f["sha256"], f["rows"]) for f in staged.files.values()]
            load_month(con, month, staged.parquet(CASELOAD), staged.parquet(STAFF), files,
                       run_id)
        refresh_reassignment(con, months)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
