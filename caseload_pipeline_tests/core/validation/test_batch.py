"""Many months validated in one suite run per file kind give each file exactly the
findings its own suite gives (same wording, counts, lines, examples, passes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseload_pipeline.core.contract import CASELOAD, STAFF
from caseload_pipeline.core.extract import extract_file
from caseload_pipeline.core.months import parse_month
from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.validation import gx_runner, suites
from caseload_pipeline.core.validation.rules import MonthContext, derive_columns, rules_for
from caseload_pipeline.core.validation.suites import (
    run_file_rules,
    validate_month,
    validate_months,
)
from caseload_pipeline_tests import department as dep


def _one_suite_per_file(ctx, caseload, staff):
    """Validation as it was before batching: one suite run per file."""
    findings, roster = [], None
    if staff is not None and staff.readable:
        roster = derive_columns(STAFF, staff.frame, ctx, None)
        findings += run_file_rules(staff, roster, rules_for(STAFF, ctx, None))
    if caseload is not None and caseload.readable:
        derived = derive_columns(CASELOAD, caseload.frame, ctx, roster)
        findings += run_file_rules(caseload, derived, rules_for(CASELOAD, ctx, roster))
    return findings


def _caseload(month: str, change=None):
    rows = dep.caseload_rows(month)
    if change:
        change(rows)
    return rows


def _set(row: int, column: str, value: str):
    def change(rows):
        rows[row][dep.CASELOAD_HEADER.index(column)] = value
    return change


def _staff_set(row: int, column: str, value: str):
    staff = [list(r) for r in dep.STAFF]
    staff[row][dep.STAFF_HEADER.index(column)] = value
    return staff


def _busy(rows):  # W1 over 60 allocations, repeating some pairs
    day = rows[0][2]
    rows += [[f"B{i % 58}", "W1", day, "Review Team", "low", "low", "5", "", ""]
             for i in range(62)]


MONTHS = {  # month -> (caseload rows or None for no file, staff rows or None)
    "2022-01": (_caseload("2022-01"), dep.STAFF),
    "2022-02": (_caseload("2022-02", _set(2, "snapshot_date", "2022-01-31")), dep.STAFF),
    "2022-03": (_caseload("2022-03", _set(0, "allocated_on", "01/04/2022")),
                _staff_set(1, "fte", "1.5")),
    "2022-04": (_caseload("2022-04", lambda r: r.append(list(r[0]))),
                _staff_set(2, "worker_id", "W1")),
    "2022-05": (_caseload("2022-05", _busy), None),
    "2022-06": (_caseload("2022-06", _set(4, "snapshot_date", "2022-06-31")),
                _staff_set(3, "team", "Narnia")),
    "2022-07": ([], dep.STAFF),  # header only
    "2022-08": (_caseload("2022-08", _set(1, "worker_id", "")), []),
    "2022-09": (_caseload("2022-09", _set(3, "allocated_on", "1899-12-31")),
                _staff_set(0, "role", "Wizard")),
    "2022-10": (None, _staff_set(4, "case_holding", "maybe")),
    "2022-11": (_caseload("2022-11", _set(5, "travel_minutes", "abc")), dep.STAFF),
}
# the same case and worker in two months is not a duplicate
MONTHS["2022-12"] = ([list(r) for r in MONTHS["2022-11"][0]], dep.STAFF)


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    reference = load_reference(dep.write_reference(root))
    out = []
    previous: dict[str, int] = {}
    for month, (caseload, staff) in MONTHS.items():
        files = {}
        for kind, header, rows in ((CASELOAD, dep.CASELOAD_HEADER, caseload),
                                   (STAFF, dep.STAFF_HEADER, staff)):
            if rows is not None:
                path = dep.write_csv(root / f"{kind}_{month}.csv", header, rows)
                files[kind] = extract_file(path, kind)
        ctx = MonthContext(parse_month(month), reference, dict(previous))
        out.append((ctx, files.get(CASELOAD), files.get(STAFF)))
        previous = {k: len(f.frame) for k, f in files.items() if f.readable}
    return out


@pytest.fixture(params=["every row", "distinct values"])
def judged_on(request, monkeypatch):
    """Both ways a file's rows reach GX: these test files are small, so they are
    judged on every row unless the threshold says otherwise."""
    if request.param == "distinct values":
        monkeypatch.setattr(suites, "EVERY_ROW_UP_TO", -1)
    return request.param


def test_a_small_file_is_judged_on_every_row_a_large_one_on_its_distinct_values(
        items, monkeypatch):
    ctx, caseload, staff = items[0]
    rules = rules_for(CASELOAD, ctx, None)

    def parts():
        check = suites._Check(0, ctx, caseload, rules, suites.FileRows(caseload), None)
        try:
            check.read_parts()
            return set(check.parts)
        finally:
            check.rows.close()

    assert parts() == {"(rows)"}
    monkeypatch.setattr(suites, "EVERY_ROW_UP_TO", caseload.rows - 1)
    # one part per set of columns the rules read, and the rows that could break
    # an identity rule
    assert {"(ids)", "team", "travel_minutes", "complexity"} <= parts()
    assert "(rows)" not in parts()


@pytest.mark.slow  # runs every suite twice, both ways
def test_batched_findings_equal_one_suite_per_file(items, judged_on):
    expected = [_one_suite_per_file(*item) for item in items]
    batched = validate_months(items)
    assert batched == expected
    # the cases above do break rules, of each kind
    broken = {f.rule.split(" must")[0].split(" should")[0]
              for findings in batched for f in findings if not f.passed}
    assert len(broken) >= 10, broken
    assert [validate_month(*item) for item in items[:3]] == expected[:3]


def test_one_suite_run_per_kind_plus_one_for_table_rules(items, monkeypatch):
    calls = []
    run_suite = gx_runner.run_suite

    def counting(kind, frame, suite):
        calls.append(kind)
        return run_suite(kind, frame, suite)

    monkeypatch.setattr(gx_runner, "run_suite", counting)
    validate_months(items)
    # the empty files (2022-07 caseload, 2022-08 staff) keep their own suites
    assert sorted(calls) == sorted([STAFF, CASELOAD, "files", CASELOAD, STAFF])


def test_an_erroring_shared_expectation_is_blocking_for_every_file(items, monkeypatch,
                                                                   judged_on):
    run_suite = gx_runner.run_suite

    def breaking(kind, frame, suite):
        if kind == STAFF:
            frame = frame.drop(columns=["_fte"])
        return run_suite(kind, frame, suite)

    monkeypatch.setattr(gx_runner, "run_suite", breaking)
    staff_fte = [f for findings in validate_months(items) for f in findings
                 if f.file.startswith("staff_") and f.column == "fte"
                 and f.rule.startswith("fte must be a number")]
    # (the empty staff file's own suite goes through the same broken runner)
    assert len(staff_fte) == sum(1 for _, _, s in items if s is not None)
    assert all(f.blocking and "the check could not run" in f.message for f in staff_fte)


def test_no_items_no_findings():
    assert validate_months([]) == []


def test_a_month_without_files_has_no_findings(tmp_path: Path):
    assert validate_month(
        MonthContext(parse_month("2022-01"), load_reference(dep.write_reference(tmp_path)), {}),
        None, None) == []


def test_a_single_month_keeps_one_suite_per_file(items, monkeypatch):
    calls = []
    run_suite = gx_runner.run_suite

    def counting(kind, frame, suite):
        calls.append(kind)
        return run_suite(kind, frame, suite)

    expected = _one_suite_per_file(*items[1])
    monkeypatch.setattr(gx_runner, "run_suite", counting)
    assert validate_month(*items[1]) == expected
    assert calls == [STAFF, CASELOAD]
