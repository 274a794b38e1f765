"""Input formats (SPEC 3): Excel workbooks are read like CSV (numeric and date
cells, header variants), CSV with a byte-order mark and CRLF or LF line ends,
UK dates, and extra columns reported once as information and never loaded."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from caseload_pipeline.core.extract import extract_file
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import Project, new_project, read_tables

CSV_MONTH, XLSX_MONTH, BOM_MONTH = "2022-05", "2022-06", "2022-07"
MARKER = "EXTRA-COLUMN-MARKER-7731"

XLSX_CASELOAD_HEADER = ["Case ID", "Worker ID", "Snapshot Date", " Team ", "Complexity", "RISK",
                        "Travel-Minutes", "Allocated On", "Reassignment Reason"]
XLSX_STAFF_HEADER = ["Worker ID", "Team", "Role", "FTE", "Case Holding", "Protected-Caseload"]


def _excel_caseload(month: str) -> list[list]:
    """department.caseload_rows as a spreadsheet holds them: dates as date cells,
    minutes as numbers, blanks as empty cells."""
    year, number = map(int, month.split("-"))
    rows = []
    for row in dep.caseload_rows(month):
        cells = [value if value != "" else None for value in row]
        cells[2] = dt.datetime(year, number, 28)  # a date-time cell at midnight
        cells[6] = None if cells[6] is None else int(cells[6])
        cells[7] = None if cells[7] is None else dt.date(year, number, 1)
        rows.append(cells)
    return rows


def _excel_staff() -> list[list]:
    flags = {"yes": True, "no": False, "y": "Y", "n": 0}
    return [[w, team, role, float(fte), flags[holding], flags[protected]]
            for w, team, role, fte, holding, protected in dep.STAFF]


def _bom_crlf_uk(project: Project, month: str) -> None:
    """The month as a UTF-8-with-BOM, CRLF CSV with UK dates and two extra columns."""
    year, number = month.split("-")
    header = ",".join(dep.CASELOAD_HEADER + ["Notes", "Post code"])
    lines = [header]
    for row in dep.caseload_rows(month):
        row = list(row)
        row[2] = f"28/{number}/{year}"
        if row[7]:
            row[7] = f"01/{number}/{year}"
        lines.append(",".join(row + [MARKER, "ZZ1 1ZZ"]))
    (project.incoming / f"caseload_{month}.csv").write_bytes(
        "\ufeff".encode() + "\r\n".join(lines).encode() + b"\r\n")
    staff = [",".join(dep.STAFF_HEADER)] + [",".join(r) for r in dep.STAFF]
    (project.incoming / f"staff_{month}.csv").write_bytes(
        "\ufeff".encode() + "\r\n".join(staff).encode() + b"\r\n")


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> Project:
    project = new_project(tmp_path_factory.mktemp("formats"))
    # May: plain CSV with LF line ends
    project.write_month(CSV_MONTH)
    for kind in ("caseload", "staff"):
        path = project.incoming / f"{kind}_{CSV_MONTH}.csv"
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    # June: the same department as Excel workbooks
    dep.write_xlsx(project.incoming / f"caseload_{XLSX_MONTH}.xlsx", XLSX_CASELOAD_HEADER,
                   _excel_caseload(XLSX_MONTH))
    dep.write_xlsx(project.incoming / f"staff_{XLSX_MONTH}.xlsx", XLSX_STAFF_HEADER,
                   _excel_staff())
    # July: BOM, CRLF, UK dates, extra columns
    _bom_crlf_uk(project, BOM_MONTH)
    result = project.materialize("--from", CSV_MONTH, "--to", BOM_MONTH)
    assert result.code == 0, result.text
    return project


def _month_rows(tables, table: str, month: str, drop: tuple[str, ...] = ()):
    frame = tables[table]
    rows = frame[frame["month"] == pd.Timestamp(f"{month}-01")]
    return rows.drop(columns=["month", *drop]).sort_values(
        list(rows.columns.drop(["month", *drop]))).reset_index(drop=True)


def test_excel_and_csv_months_load_the_same_rows(formats: Project):
    tables = read_tables(formats.analyst_path)
    date_columns = ("snapshot_date", "allocated_on")
    for month in (XLSX_MONTH, BOM_MONTH):
        assert len(_month_rows(tables, "staff", month)) == 5
        assert _month_rows(tables, "staff", month).equals(
            _month_rows(tables, "staff", CSV_MONTH)), month
        assert len(_month_rows(tables, "allocations", month)) == 8
        assert _month_rows(tables, "allocations", month, date_columns).equals(
            _month_rows(tables, "allocations", CSV_MONTH, date_columns)), month
        for table in ("worker_monthly", "team_monthly", "role_monthly"):
            assert _month_rows(tables, table, month).equals(
                _month_rows(tables, table, CSV_MONTH)), (table, month)


@pytest.mark.parametrize("month", [XLSX_MONTH, BOM_MONTH])
def test_date_cells_and_uk_dates_are_read_as_dates(formats: Project, month: str):
    with duckdb.connect(str(formats.analyst_path), read_only=True) as con:
        snapshot, allocated = con.execute(
            "SELECT list(DISTINCT snapshot_date), list(allocated_on) FILTER"
            " (WHERE allocated_on IS NOT NULL) FROM allocations WHERE month = ?",
            [dt.date.fromisoformat(f"{month}-01")]).fetchone()
    year, number = map(int, month.split("-"))
    assert snapshot == [dt.date(year, number, 28)]
    assert allocated == [dt.date(year, number, 1)]


def test_numeric_cells_and_flags_from_excel(formats: Project):
    with duckdb.connect(str(formats.analyst_path), read_only=True) as con:
        staff = con.execute(
            "SELECT fte, case_holding, protected_caseload, capacity_points FROM staff"
            " WHERE month = DATE '2022-06-01' ORDER BY ALL").fetchall()
        travel = con.execute(
            "SELECT list(travel_minutes ORDER BY travel_minutes NULLS FIRST) FROM allocations"
            " WHERE month = DATE '2022-06-01'").fetchone()[0]
    # W2 (0.5, protected: 20 x 0.5 x 0.9), W5 (OT 0.8 x 25), W1/W3 (20), W4 (manager, not holding)
    assert staff == [
        (0.5, True, True, 9.0),
        (0.8, True, False, 20.0),
        (1.0, False, False, 10.0),
        (1.0, True, False, 20.0),
        (1.0, True, False, 20.0),
    ]
    assert travel == [None, 0, 0, 10, 30, 45, 95, 200]


def test_extra_columns_are_reported_once_and_not_loaded(formats: Project):
    with duckdb.connect(str(formats.analyst_path), read_only=True) as con:
        info = con.execute(
            "SELECT month, file, severity, message FROM data_quality"
            " WHERE severity = 'info' ORDER BY ALL").fetchall()
        columns = {c for (c,) in con.execute(
            "SELECT DISTINCT column_name FROM information_schema.columns").fetchall()}
        texts = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE data_type = 'VARCHAR'").fetchall()
        leaked = [
            (t, c) for t, c in texts
            if con.execute(f'SELECT count(*) FROM "{t}" WHERE "{c}" LIKE ?',
                           [f"%{MARKER}%"]).fetchone()[0]
        ]
    assert info == [(dt.date(2022, 7, 1), "caseload_2022-07.csv", "info",
                     "caseload_2022-07.csv: extra columns are ignored and not loaded: "
                     "Notes, Post code")]
    assert not {"notes", "post_code"} & columns
    assert leaked == []


def test_validate_reports_extra_columns_as_information(formats: Project):
    files = [str(formats.incoming / f"{k}_{BOM_MONTH}.csv") for k in ("caseload", "staff")]
    result = formats.cli("validate", *files)
    assert result.code == 0, result.text
    info = [line for line in result.lines if line.startswith("INFO: ")]
    assert info == ["INFO: caseload_2022-07.csv: extra columns are ignored and not loaded: "
                    "Notes, Post code"]


def test_excel_cells_become_the_text_a_person_sees(tmp_path):
    path = dep.write_xlsx(tmp_path / "staff_2022-06.xlsx",
                          ["Worker-ID", "TEAM", "Role", "FTE", "Case Holding", "extra"],
                          [[1001, "Review Team", "SW", 0.5, True, None],
                           [None, None, None, None, None, None],  # a blank row is skipped
                           ["W2", " Review Team ", "SW", 1, False, dt.date(2022, 6, 3)]])
    extracted = extract_file(path, "staff")
    assert [f.rule for f in extracted.findings] == ["extra columns are ignored and not loaded"]
    frame = extracted.frame
    assert list(frame.index) == [2, 4]  # line numbers as the sheet shows them
    assert frame.loc[2, ["worker_id", "team", "fte", "case_holding"]].tolist() == [
        "1001", "Review Team", "0.5", "true"]
    assert frame.loc[4, ["worker_id", "team", "fte", "case_holding"]].tolist() == [
        "W2", "Review Team", "1", "false"]
    assert pd.isna(frame.loc[2, "protected_caseload"])


def test_csv_blank_lines_keep_line_numbers(tmp_path):
    path = tmp_path / "caseload_2022-06.csv"
    path.write_text("case_id,worker_id,complexity\n\nC1,W1,low\n\n\nC2,W1,huge\n")
    frame = extract_file(path, "caseload").frame
    assert list(frame.index) == [3, 6]
    assert frame.loc[6, "complexity"] == "huge"
