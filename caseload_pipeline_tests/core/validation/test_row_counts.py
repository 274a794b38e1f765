"""The 50 % row-count warning compares each month with the month before it,
whether that month was loaded before or is in the same run (issue 8, item 6)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from caseload_pipeline_tests.conftest import Project

RULE = "the row count should be within 50 % of the previous month's"


def _caseload(month: str, rows: int) -> list[list]:
    """`rows` allocations spread over the rostered workers W1, W2, W3 and W5."""
    day = f"{month}-28"
    workers = ["W1", "W2", "W3", "W5"]
    return [[f"C{n}", workers[n % 4], day, "", "low", "low", "0", "", ""] for n in range(rows)]


def _row_count_warnings(project: Project) -> list[tuple]:
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        return con.execute(
            "SELECT month, message FROM data_quality WHERE rule LIKE ? AND NOT passed"
            " ORDER BY month, file", [RULE + "%"]).fetchall()


def test_a_month_is_compared_with_the_month_before_it_in_the_same_run(project: Project):
    """From an empty warehouse, June has 10 % of May's rows: June is warned."""
    project.write_month("2022-05", caseload=_caseload("2022-05", 100))
    project.write_month("2022-06", caseload=_caseload("2022-06", 10))

    result = project.materialize("--from", "2022-05", "--to", "2022-06")

    assert result.code == 0, result.text
    assert _row_count_warnings(project) == [
        (dt.date(2022, 6, 1), f"caseload_2022-06.csv: {RULE} (2022-05: 100 rows): found 10 rows"),
    ]


@pytest.mark.slow  # four runs
def test_a_month_of_the_run_stands_in_for_its_loaded_rows(project: Project):
    """May and June loaded with 100 rows each. A run of June again (now 10 rows)
    and July (12 rows): June is compared with loaded May, July with the June of
    this run, not the June loaded before."""
    for month in ("2022-05", "2022-06"):
        project.write_month(month, caseload=_caseload(month, 100))
    assert project.materialize("--from", "2022-05", "--to", "2022-06").code == 0
    assert _row_count_warnings(project) == []
    project.write_month("2022-06", caseload=_caseload("2022-06", 10))
    project.write_month("2022-07", caseload=_caseload("2022-07", 12))

    result = project.materialize("--from", "2022-06", "--to", "2022-07")

    assert result.code == 0, result.text
    assert _row_count_warnings(project) == [
        (dt.date(2022, 6, 1), f"caseload_2022-06.csv: {RULE} (2022-05: 100 rows): found 10 rows"),
    ]
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        july = con.execute("SELECT message FROM data_quality WHERE month = DATE '2022-07-01'"
                           " AND rule LIKE ? AND file LIKE 'caseload%'", [RULE + "%"]).fetchall()
    assert july == [(f"caseload_2022-07.csv: {RULE} (2022-06: 10 rows): passed",)]


def test_validate_compares_the_files_it_is_given(project: Project):
    project.write_month("2022-05", caseload=_caseload("2022-05", 300))
    project.write_month("2022-06", caseload=_caseload("2022-06", 21))
    files = sorted(str(p) for p in project.incoming.iterdir())

    result = project.cli("validate", *files)

    assert result.code == 0, result.text
    assert [line for line in result.lines if RULE in line] == [
        f"WARNING: caseload_2022-06.csv: {RULE} (2022-05: 300 rows): found 21 rows"]
