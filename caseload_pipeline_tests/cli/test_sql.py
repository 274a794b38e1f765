"""`caseload sql`: a query on the analysts' database, read-only, printed as a
table; a wrong query or a write exits 1 with DuckDB's own words and no trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from caseload_pipeline_tests.conftest import ENV_NAMES, Project, file_digest

QUERY = ("SELECT team, round(avg_caseload, 1) AS average FROM audit_team_averages"
         " WHERE audit = '2023/24' ORDER BY team")


def test_prints_the_result_as_a_table(audit_project: Project):
    with duckdb.connect(str(audit_project.analyst_path), read_only=True) as con:
        expected = con.execute(QUERY).fetchall()
    assert len(expected) >= 3

    result = audit_project.cli("sql", QUERY)

    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert any("team" in line and "average" in line for line in lines)
    for team, average in expected:
        assert any(team in line and f" {average} " in line for line in lines), (team, average)


def test_a_wrong_query_exits_1_with_a_plain_message(audit_project: Project):
    result = audit_project.cli("sql", "SELECT team FROM team_monthy")

    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("caseload sql: Catalog Error: Table with name team_monthy")
    assert "Traceback" not in result.text


def test_a_write_is_refused_and_changes_nothing(audit_project: Project):
    before = file_digest(audit_project.analyst_path)
    working = file_digest(audit_project.working_path)

    result = audit_project.cli("sql", "DELETE FROM allocations")

    assert result.code == 1
    assert "read-only" in result.err and "Traceback" not in result.text
    assert file_digest(audit_project.analyst_path) == before
    assert file_digest(audit_project.working_path) == working


def test_before_any_run_it_says_what_writes_the_database(project: Project):
    result = project.cli("sql", "SELECT 1")

    assert result.code == 1
    assert "no analysts' database" in result.err and "caseload materialize" in result.err
    assert not project.analyst_path.exists()


def test_a_reader_that_stops_early_is_no_error(audit_project: Project):
    """`caseload sql ... | head`: no trace when head closes the pipe."""
    caseload = Path(sys.executable).with_name("caseload")
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES} | audit_project.env()
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c",
         f"'{caseload}' sql --max-rows 200000 'SELECT * FROM range(200000)' | head -n 1"],
        env=env, capture_output=True, text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("┌")
    assert result.stderr == ""
