"""An analyst holding `caseload.duckdb` open in another process (read-only or
read-write) never makes a run fail (SPEC 6): the run publishes a new file, the
analyst's connection keeps working on its snapshot, and a new connection sees
the new month."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import duckdb
import pytest

from caseload_pipeline_tests.conftest import Project, new_project

ANALYST = textwrap.dedent("""
    import sys
    import duckdb

    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read-only")

    def months():
        return [str(m) for (m,) in con.execute(
            "SELECT DISTINCT month FROM team_monthly ORDER BY month").fetchall()]

    print("open", months(), flush=True)
    for line in sys.stdin:  # one query per line the test sends, on the same connection
        print("query", months(), flush=True)
    con.close()
""")


def _months(path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [str(m) for (m,) in con.execute(
            "SELECT DISTINCT month FROM team_monthly ORDER BY month").fetchall()]


def _reply(analyst: subprocess.Popen, word: str) -> list[str]:
    line = analyst.stdout.readline()
    assert line.startswith(word + " "), (line, analyst.stderr.read() if analyst.poll() else "")
    return ast.literal_eval(line[len(word) + 1:])


@pytest.fixture(scope="module")
def lock_project(tmp_path_factory) -> Project:
    project = new_project(tmp_path_factory.mktemp("lock"))
    project.write_month("2022-05")
    result = project.materialize("--month", "2022-05")
    assert result.code == 0, result.text
    return project


@pytest.mark.parametrize(("mode", "month"), [
    pytest.param("read-only", "2022-06", marks=pytest.mark.slow),  # read-write is the harder
    ("read-write", "2022-07")])
def test_a_run_succeeds_while_an_analyst_holds_the_file(lock_project: Project, mode, month):
    before = _months(lock_project.analyst_path)
    assert before and f"{month}-01" not in before
    lock_project.write_month(month)
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(lock_project.analyst_path), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _reply(analyst, "open") == before

        result = lock_project.materialize("--month", month)

        assert result.code == 0, result.text
        assert "could not set lock" not in result.text.lower()
        assert "conflicting lock" not in result.text.lower()
        # the analyst's connection still answers, from the snapshot it opened
        analyst.stdin.write("again\n")
        analyst.stdin.flush()
        assert _reply(analyst, "query") == before
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
    assert analyst.returncode == 0, analyst.stderr.read()
    # a new connection sees the new month
    assert _months(lock_project.analyst_path) == sorted(before + [f"{month}-01"])
