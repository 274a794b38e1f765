"""The analysts' examples run as written: the README's query, and the Python
and CSV-export examples of docs/tables.md (with DuckDB 2 and a 1.x client).

Each runs in a fresh folder laid out as a clone after the Quick start: `.venv`
(the environment running these tests) and `data/` (a department loaded by the
pipeline), so the commands are copied from the documents unchanged."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline_tests.conftest import ENV_NAMES, Project
from caseload_pipeline_tests.external import REPO_ROOT, duckdb_client

README = REPO_ROOT / "README.md"
TABLES_DOC = REPO_ROOT / "docs" / "tables.md"


def code_block(document: Path, after: str, language: str) -> str:
    """The first ```language block following the line that starts with `after`."""
    text = document.read_text(encoding="utf-8")
    start = text.index("\n" + after)
    found = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M).search(text, start)
    assert found, f"no {language} block after {after!r} in {document.name}"
    return found.group(1)


@pytest.fixture
def clone(audit_project: Project, tmp_path) -> Path:
    """A folder where `.venv/bin/caseload` and `data/caseload.duckdb` exist."""
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / ".venv").symlink_to(Path(sys.prefix))
    (folder / "data").symlink_to(audit_project.data_dir)
    return folder


def run_shell(block: str, cwd: Path) -> subprocess.CompletedProcess:
    # The documents' commands rely on the default data folder, not on settings.
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return subprocess.run(["bash", "-euc", block], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def averages(project: Project) -> list[tuple[str, float]]:
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        return con.execute("SELECT team, round(avg_caseload, 1) FROM audit_team_averages"
                           " WHERE audit = '2023/24' ORDER BY team").fetchall()


def test_the_readme_query_runs_as_written(audit_project: Project, clone: Path):
    block = code_block(README, "### Querying the results", "bash")
    assert "caseload sql" in block

    result = run_shell(block, clone)

    assert result.returncode == 0, result.stderr
    expected = averages(audit_project)
    assert expected
    for team, average in expected:
        assert re.search(rf"│ {re.escape(team)}\s+│\s+{average} │", result.stdout), (
            team, average, result.stdout)


@pytest.mark.parametrize("version", [None, "1.1.3"], ids=["duckdb-2", "duckdb-1.1.3"])
def test_the_python_example_runs_with_duckdb_2_and_1x(audit_project: Project, clone: Path,
                                                      version):
    python = sys.executable if version is None else duckdb_client(version)
    example = code_block(TABLES_DOC, "**Python**", "python")

    result = subprocess.run([str(python), "-c", example], cwd=clone, capture_output=True,
                            text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{team} {avg}" for team, avg in averages(
        audit_project)]


def test_the_csv_export_for_excel_runs_as_written(audit_project: Project, clone: Path):
    block = code_block(TABLES_DOC, "**Excel**", "bash")

    result = run_shell(block, clone)

    assert result.returncode == 0, result.stderr
    with (clone / "team_monthly.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with duckdb.connect(str(audit_project.analyst_path), read_only=True) as con:
        columns = [c for (c, *_) in con.execute("DESCRIBE team_monthly").fetchall()]
        expected = con.execute("SELECT month, team, cases FROM team_monthly"
                               " ORDER BY month, team").fetchall()
    assert rows[0] == columns
    picked = [(r[columns.index("month")], r[columns.index("team")],
               int(r[columns.index("cases")])) for r in rows[1:]]
    assert picked == [(str(m), t, c) for m, t, c in expected]
