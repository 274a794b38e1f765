"""Validation of staged months (the pipeline) and of loose files (`caseload
validate FILE...`, loading nothing): the same Great Expectations suites either
way, and the findings stored in `data_quality`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import duckdb

from caseload_pipeline.core.contract import CASELOAD, FILE_NAME, STAFF
from caseload_pipeline.core.extract import extract_file
from caseload_pipeline.core.findings import ERROR, Finding
from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.reference import Reference
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.staging import StagedMonth, read_staged, staged_as_extracted
from caseload_pipeline.core.validation.rules import MonthContext
from caseload_pipeline.core.validation.suites import validate_month, validate_months


def validate_paths(settings: Settings, paths: list[Path], reference: Reference) -> list[Finding]:
    findings: list[Finding] = []
    by_month: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        match = FILE_NAME.match(path.name)
        if not path.is_file():
            findings.append(Finding(path.name, "the file must exist", ERROR,
                                    detail=f"not found: {path}"))
        elif not match:
            findings.append(Finding(path.name, "the file name must be like "
                                    "caseload_2023-06.csv or staff_2023-06.xlsx", ERROR))
        else:
            by_month[match.group(2)][match.group(1).lower()].append(path)
    for month_text, kinds in sorted(by_month.items()):
        month = parse_month(month_text)
        extracted = {}
        for kind, kind_paths in kinds.items():
            if len(kind_paths) > 1:
                findings.append(Finding(kind_paths[0].name, "a month must have one file of "
                                        "each kind, CSV or Excel, not both", ERROR,
                                        detail=" and ".join(p.name for p in kind_paths)))
                continue
            extracted[kind] = extract_file(kind_paths[0], kind)
            findings += extracted[kind].findings
        # Without the warehouse there is no previous month to compare row counts with.
        ctx = MonthContext(month, reference, previous_rows={})
        findings += validate_month(ctx, extracted.get(CASELOAD), extracted.get(STAFF))
    return findings


# Months validated together share one suite run per file kind (GX costs about half
# a second per run); this many staged rows at most, to bound the memory it takes.
MAX_BATCH_ROWS = 1_000_000


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
                           reference: Reference, months: Sequence[Month],
                           run_id: str) -> list[StagedMonth]:
    """Run the suites on the files run `run_id` staged for `months`, validated
    together; store each month's findings against it in `data_quality`, and in
    the run's manifest with the hashes of the staged files validated."""
    staged_months = [read_staged(settings, month, run_id) for month in months]
    for batch in _batches(staged_months):
        items = [(MonthContext(s.month, reference, previous_rows(con, s.month)),
                  staged_as_extracted(s, CASELOAD), staged_as_extracted(s, STAFF))
                 for s in batch]
        for staged, found in zip(batch, validate_months(items), strict=True):
            staged.findings = list(staged.extraction) + found
            staged.save()
            record_findings(con, staged.month, staged.findings)
            pause_point("validate")
    return staged_months


def previous_rows(con: duckdb.DuckDBPyConnection, month: Month) -> dict[str, int]:
    """Rows of each kind in the latest loaded month before `month` (for the 50 % rule)."""
    rows = con.execute(
        "SELECT file, rows FROM load_log WHERE month = (SELECT max(month) FROM load_log"
        " WHERE month < ?)", [month.first_day]).fetchall()
    return {name.split("_", 1)[0].lower(): count for name, count in rows}


def record_findings(con: duckdb.DuckDBPyConnection, month: Month,
                    findings: Sequence[Finding]) -> None:
    """Replace the month's data_quality rows with the latest check's findings."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")  # one commit, not one per row
    con.execute("DELETE FROM data_quality WHERE month = ?", [month.first_day])
    if findings:
        con.executemany(
            "INSERT INTO data_quality (month, file, rule, severity, passed, unexpected_count,"
            " example_lines, message, checked_at, column_name) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [[month.first_day, f.file, f.rule, f.severity, f.passed, f.unexpected_count,
              f.example_lines, f.message, now, f.column] for f in findings],
        )
    con.execute("COMMIT")
