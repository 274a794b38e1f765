"""Validation of staged months (the pipeline) and of loose files (`caseload
validate FILE...`, loading nothing): the same Great Expectations suites either
way, and the findings stored in `data_quality`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from caseload_pipeline.core.contract import (
    CASELOAD,
    NAME_RULE,
    STAFF,
    name_problem,
    parse_file_name,
)
from caseload_pipeline.core.extract import extract_file
from caseload_pipeline.core.findings import ERROR, Finding
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.reference import Reference
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.staging import (
    StagedMonth,
    note_validated,
    read_staged,
    staged_as_extracted,
)
from caseload_pipeline.core.validation.rules import MonthContext
from caseload_pipeline.core.validation.suites import validate_month, validate_months


def validate_paths(settings: Settings, paths: list[Path], reference: Reference) -> list[Finding]:
    from caseload_pipeline.core.validation import gx_runner

    gx_runner.preload()  # imported while the files are read
    findings: list[Finding] = []
    by_month: dict[Month, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        parsed = parse_file_name(path.name)
        if not path.is_file():
            findings.append(Finding(path.name, "the file must exist", ERROR,
                                    detail=f"not found: {path}"))
        elif not parsed:
            findings.append(Finding(path.name, NAME_RULE, ERROR, detail=name_problem(path.name)))
        else:
            kind, month = parsed
            by_month[month][kind].append(path)
    checked: dict[Month, dict[str, int]] = {}  # rows of each kind, for the 50 % rule
    for month, kinds in sorted(by_month.items()):
        extracted = {}
        for kind, kind_paths in kinds.items():
            if len(kind_paths) > 1:
                findings.append(Finding(kind_paths[0].name, "a month must have one file of "
                                        "each kind, CSV or Excel, not both", ERROR,
                                        detail=" and ".join(p.name for p in kind_paths)))
                continue
            extracted[kind] = extract_file(kind_paths[0], kind)
            findings += extracted[kind].findings
        checked[month] = {k: len(f.frame) for k, f in extracted.items() if f.readable}
        # Without the warehouse, row counts are compared with the files given only.
        findings += validate_month(context_for(month, reference, checked),
                                   extracted.get(CASELOAD), extracted.get(STAFF))
    return findings


def context_for(month: Month, reference: Reference,
                rows_by_month: dict[Month, dict[str, int]]) -> MonthContext:
    """The month's rule context; for the 50 % rule, each kind's rows in the
    latest earlier month of `rows_by_month` that has that kind."""
    previous: dict[str, int] = {}
    previous_months: dict[str, Month] = {}
    for earlier in sorted((m for m in rows_by_month if m < month), reverse=True):
        for kind, rows in rows_by_month[earlier].items():
            if kind not in previous:
                previous[kind], previous_months[kind] = rows, earlier
    return MonthContext(month, reference, previous, previous_months)


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
    the run's manifest with the hashes of the staged files validated.

    Row counts are compared with the month before, whether that month is in
    this run (its staged files) or was loaded before (`load_log`)."""
    staged_months = [read_staged(settings, month, run_id) for month in months]
    rows_by_month = loaded_rows(con) | {
        s.month: {kind: info["rows"] for kind, info in s.files.items()} for s in staged_months}
    for batch in _batches(staged_months):
        found_by_month: dict[Month, list[Finding]] = {}
        files = [{kind: staged_as_extracted(s, kind) for kind in (CASELOAD, STAFF)}
                 for s in batch]
        items = [(context_for(s.month, reference, rows_by_month), read[CASELOAD], read[STAFF])
                 for s, read in zip(batch, files, strict=True)]
        for staged, read, found in zip(batch, files, validate_months(items), strict=True):
            for kind in (k for k, file in read.items() if file is not None):
                note_validated(staged, kind)  # the suites have read it
            staged.findings = list(staged.extraction) + found
            staged.save()
            found_by_month[staged.month] = staged.findings
        record_findings(con, found_by_month)
        pause_point("validate")
    return staged_months


def loaded_rows(con: duckdb.DuckDBPyConnection) -> dict[Month, dict[str, int]]:
    """Rows of each kind of every loaded month, from `load_log`."""
    rows: dict[Month, dict[str, int]] = {}
    for day, name, count in con.execute("SELECT month, file, rows FROM load_log").fetchall():
        rows.setdefault(Month(day.year, day.month), {})[name.split("_", 1)[0].lower()] = count
    return rows


# data_quality's columns but checked_at, as record_findings writes them
_FINDING_SCHEMA = pa.schema([
    ("month", pa.date32()), ("file", pa.string()), ("rule", pa.string()),
    ("severity", pa.string()), ("passed", pa.bool_()), ("unexpected_count", pa.int64()),
    ("example_lines", pa.string()), ("message", pa.string()), ("column_name", pa.string()),
])


def record_findings(con: duckdb.DuckDBPyConnection,
                    findings: Mapping[Month, Sequence[Finding]]) -> None:
    """Replace each month's data_quality rows with its latest check's findings,
    all months in one statement (a history is thousands of findings)."""
    if not findings:
        return
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = pa.Table.from_pylist([
        {"month": month.first_day, "file": f.file, "rule": f.rule, "severity": f.severity,
         "passed": f.passed, "unexpected_count": f.unexpected_count,
         "example_lines": f.example_lines, "message": f.message, "column_name": f.column}
        for month, found in findings.items() for f in found], schema=_FINDING_SCHEMA)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM data_quality WHERE month IN (SELECT unnest(?::DATE[]))",
                    [[month.first_day for month in findings]])
        con.register("new_findings", table)
        con.execute("INSERT INTO data_quality BY NAME"
                    " SELECT *, ?::TIMESTAMP AS checked_at FROM new_findings", [now])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_findings")
