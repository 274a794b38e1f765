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
from caseload_pipeline.validation.rules import MonthContext
from caseload_pipeline.validation.suites import validate_months
from caseload_pipeline.warehouse import (
    load_month,
    previous_rows,
    record_findings,
    refresh_reassignment,
)

# Months validated together share one suite run per file kind (GX costs about half
# a second per run); this many staged rows at most, to bound the memory it takes.
MAX_BATCH_ROWS = 1_000_000


def validate_staged(con: duckdb.DuckDBPyConnection, settings: Settings, reference: Reference,
                    month: Month) -> StagedMonth:
    """Run the month's suites on its staged files; store and return the findings."""
    return validate_staged_months(con, settings, reference, [month])[0]


def _batches(staged: list[StagedMonth]) -> list[list[StagedMonth]]:
    batches: list[list[StagedMonth]] = []
    rows = 0
    for month in staged:
        size = sum(f["rows"] for f in month.files.values())
        if not batches or rows + size > MAX_BATCH_ROWS:
            batches.append([])
            rows = 0
        batches[-1].append(month)
        rows += size
    return batches


def validate_staged_months(con: duckdb.DuckDBPyConnection, settings: Settings,
                           reference: Reference, months: Sequence[Month]) -> list[StagedMonth]:
    """`validate_staged` for many months, their files validated together; each
    month's findings are stored against it exactly as `validate_staged` would."""
    staged_months = [read_staged(settings, month) for month in months]
    for batch in _batches(staged_months):
        items = [(MonthContext(s.month, reference, previous_rows(con, s.month)),
                  staged_as_extracted(s, CASELOAD), staged_as_extracted(s, STAFF))
                 for s in batch]
        for staged, found in zip(batch, validate_months(items), strict=True):
            staged.findings = list(staged.extraction) + found
            staged.save()
            record_findings(con, staged.month, staged.findings)
    return staged_months


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
