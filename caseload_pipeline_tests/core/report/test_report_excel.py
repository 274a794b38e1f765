"""The Excel workbook holds the warehouse's figures as numbers, one sheet per section."""

from __future__ import annotations

import datetime as dt

import duckdb
import openpyxl
import pytest

from caseload_pipeline.core.report import write_audit_report

SHEETS = ["Summary", "Teams", "Roles", "Comparison", "Weighting", "Reassignment", "Survey",
          "Trend", "Benchmarks", "Data quality", "Early warning"]


@pytest.fixture(scope="module")
def workbook(warehouse, tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("xlsx")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        _, xlsx = write_audit_report(con, "2023/24", out, weights=weights,
                                     benchmark_areas=["England", "Coventry"])
    return openpyxl.load_workbook(xlsx)


def records(ws, first_row: int = 1, last_row: int | None = None) -> list[dict]:
    rows = list(ws.iter_rows(min_row=first_row, max_row=last_row, values_only=True))
    header, *body = rows
    # A block lower on the sheet is narrower than the table above it: drop unnamed columns.
    return [{k: v for k, v in zip(header, r, strict=True) if k is not None}
            for r in body if any(v is not None for v in r)]


def rounded(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_one_sheet_per_section(workbook):
    assert workbook.sheetnames == SHEETS
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.b, ws.title
        assert ws.column_dimensions["A"].width >= 8, ws.title


def test_teams_sheet_equals_warehouse(workbook, warehouse, read_only):
    expected = rounded(read_only(warehouse), """
        SELECT team, round(avg_caseload, 1), round(avg_caseload_per_fte, 1),
               round(avg_weighted_caseload, 1), months_covered, months_expected, source
        FROM audit_team_averages WHERE audit = '2023/24' ORDER BY avg_caseload DESC, team""")
    ws = workbook["Teams"]
    assert [tuple(r.values()) for r in records(ws)] == expected
    # Numbers are numbers, shown with one decimal place.
    cell = ws["B2"]
    assert cell.data_type == "n" and cell.number_format == "0.0"


def test_roles_and_comparison_sheets_equal_warehouse(workbook, warehouse, read_only):
    con = read_only(warehouse)
    roles = rounded(con, """
        SELECT role, round(avg_caseload, 1), round(avg_caseload_per_fte, 1), months_covered,
               months_expected, source
        FROM audit_role_averages WHERE audit = '2023/24' ORDER BY avg_caseload DESC, role""")
    assert [tuple(r.values()) for r in records(workbook["Roles"])] == roles
    comparison = rounded(con, """
        SELECT team, previous_audit, previous_team, round(avg_caseload, 1),
               round(previous_avg_caseload, 1), round(change, 1),
               round(100 * change / previous_avg_caseload, 1), direction, previous_source
        FROM audit_comparison WHERE audit = '2023/24' ORDER BY avg_caseload DESC, team""")
    assert [tuple(r.values()) for r in records(workbook["Comparison"])] == comparison


def test_trend_sheet_is_team_monthly_in_the_window(workbook, warehouse, read_only):
    expected = rounded(read_only(warehouse), """
        SELECT month, team, workers, round(fte, 1), cases, round(avg_caseload, 1),
               round(avg_caseload_per_fte, 1), round(avg_weighted_caseload, 1),
               round(median_caseload, 1), max_caseload, reassigned_cases,
               round(100 * reassignment_rate, 1)
        FROM team_monthly WHERE month BETWEEN '2023-01-01' AND '2023-06-01'
        ORDER BY team, month""")
    got = [tuple(r.values()) for r in records(workbook["Trend"])]
    # openpyxl reads dates back as datetimes.
    got = [(r[0].date() if isinstance(r[0], dt.datetime) else r[0], *r[1:]) for r in got]
    assert got == expected
    assert len(got) == 4 * 5
    assert workbook["Trend"]["A2"].is_date


def test_weighting_and_reassignment_sheets(workbook, warehouse, read_only):
    con = read_only(warehouse)
    teams = records(workbook["Weighting"], last_row=5)
    bands = dict(((t, (g, a, r)) for t, g, a, r in con.execute("""
        SELECT w.team, count(*) FILTER (band = 'green'), count(*) FILTER (band = 'amber'),
               count(*) FILTER (band = 'red')
        FROM worker_monthly w JOIN staff s USING (month, worker_key)
        WHERE s.case_holding AND w.month BETWEEN '2023-01-01' AND '2023-06-01'
        GROUP BY w.team""").fetchall()))
    for row in teams:
        assert (row["Worker-months green"], row["Worker-months amber"],
                row["Worker-months red"]) == bands[row["Team"]]
    scheme = records(workbook["Weighting"], first_row=7)
    assert {"Weighting setting": "complexity high (points per case)", "Value": "5"} in scheme
    reassignment = records(workbook["Reassignment"], last_row=5)
    expected = rounded(con, """
        SELECT team, sum(cases), sum(reassigned_cases),
               round(100 * sum(reassigned_cases) / sum(cases), 1)
        FROM team_monthly WHERE month BETWEEN '2023-01-01' AND '2023-06-01'
        GROUP BY team ORDER BY sum(reassigned_cases) / sum(cases) DESC, team""")
    assert [tuple(r.values())[:4] for r in reassignment] == expected


def test_summary_survey_benchmarks_and_data_quality(workbook):
    summary = {r["Item"]: r["Value"] for r in records(workbook["Summary"])}
    assert summary["Audit"] == "2023/24"
    assert summary["Months expected"] == 6 and summary["Months with data"] == 5
    assert summary["Months without data"] == "April 2023"
    assert summary["Previous audit"] == "2019/20"
    assert [tuple(r.values()) for r in records(workbook["Survey"])] == [
        ("2017", 43.0), ("2019", 81.0), ("2022/23", 73.0)]
    bench = records(workbook["Benchmarks"])
    assert bench[0]["Area"] == "This department"
    assert bench[0]["Cases per FTE"] == summary["Department average caseload per FTE"]
    assert [(r["Area"], r["Year"], r["Cases per FTE"], r["Cases"]) for r in bench[1:]] == [
        ("England", "2025", 15.2, 321661), ("Coventry", "2025", 12.8, 3014)]
    assert "30 September" in bench[1]["Population"]
    dq = records(workbook["Data quality"])
    assert [(r["File"], r["Severity"], r["Rows"]) for r in dq] == [
        ("caseload_2023-02.csv", "warning", 3), ("staff_2023-04.csv", "error", 2)]
