"""Writers wait their turn in code, and what loads is what was validated
(issue 8, points 1 and 3), with real `caseload` processes and an instance
whose dagster.yaml sets no pool limit (as a plain `dagster dev` over an empty
DAGSTER_HOME): nothing but the working database's own lock keeps the writers
apart."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from caseload_pipeline_tests.conftest import Project, file_digest, new_project
from caseload_pipeline_tests.department import caseload_rows
from caseload_pipeline_tests.e2e.cli_process import CliProcess

pytestmark = pytest.mark.e2e

MONTH = "2022-06"
NO_POOLS = """telemetry:
  enabled: false
"""
WAITING = "waiting for the working database"


@pytest.fixture
def unpooled(tmp_path) -> Project:
    project = new_project(tmp_path)
    home = project.root / "dagster_home"
    (home / "dagster.yaml").write_text(NO_POOLS)
    project.write_month(MONTH)
    return project


def materialize(project: Project, name: str, pause_in: str | None = None,
                **env: str) -> CliProcess:
    return CliProcess(["materialize", "--month", MONTH], project.env() | env, project.root,
                      pause_in=pause_in, name=name)


def loaded_files(project: Project) -> dict[str, str]:
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        return dict(con.execute("SELECT file, sha256 FROM load_log").fetchall())


def test_a_file_replaced_after_validation_is_not_what_loads(unpooled: Project):
    """The issue's scenario: run A validated a good month; the file is then
    replaced by a bad one and run B starts on the same month. A loads what it
    validated; B refuses the bad file; load_log holds the hash of what loaded."""
    good = file_digest(unpooled.incoming / f"caseload_{MONTH}.csv")
    a = materialize(unpooled, "a", pause_in="before-load")
    a.wait_paused()  # validated, about to load, holding the working database

    bad = [[*row[:4], "extreme", *row[5:]] for row in caseload_rows(MONTH)] * 7
    bad = [[f"C{i}", *row[1:]] for i, row in enumerate(bad)]  # 56 rows, ids unique
    unpooled.write_month(MONTH, caseload=bad)
    b = materialize(unpooled, "b")
    b.wait_for_output(f"{MONTH}: extracted")  # B staged the bad file meanwhile
    b.wait_for_output(WAITING)  # and waits for A, saying so
    assert f"(pid {a.process.pid}) has held it since" in b.output  # names the holder
    a.resume()

    assert a.wait() == 0, a.output
    assert b.wait() == 1, b.output
    assert "complexity" in b.output
    assert loaded_files(unpooled)[f"caseload_{MONTH}.csv"] == good
    with duckdb.connect(str(unpooled.analyst_path), read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (complexity = 'extreme')"
                           " FROM allocations").fetchone() == (len(caseload_rows(MONTH)), 0)
    for process in (a, b):
        assert "Traceback" not in process.output
        assert "Could not set lock" not in process.output


def test_a_writer_gives_up_after_the_lock_timeout_with_a_plain_message(unpooled: Project):
    holder = materialize(unpooled, "holder", pause_in="validate")
    holder.wait_paused()
    try:
        waiter = materialize(unpooled, "waiter", CASELOAD_LOCK_TIMEOUT="4")
        assert waiter.wait() == 1, waiter.output
    finally:
        holder.resume()
    assert holder.wait() == 0, holder.output

    text = waiter.output
    assert WAITING in text  # said while waiting
    assert "gave up waiting for the working database" in text
    assert f"(pid {holder.process.pid}) has held it since" in text
    assert "CASELOAD_LOCK_TIMEOUT" in text
    assert "Traceback" not in text and "Could not set lock" not in text
    # the run failed in the instance, and its Dagster log shows the wait too
    with DagsterInstance.from_config(str(unpooled.root / "dagster_home")) as instance:
        failed = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
        assert len(failed) == 1
        messages = [e.message for e in instance.all_logs(failed[0].run_id)]
    assert any(WAITING in m for m in messages)


def test_a_killed_holder_never_blocks_the_next_writer(unpooled: Project):
    holder = materialize(unpooled, "holder", pause_in="load")
    holder.wait_paused()  # inside the load's transaction
    waiter = materialize(unpooled, "waiter")
    waiter.wait_for_output(WAITING)
    holder.kill()

    assert waiter.wait(timeout=240) == 0, waiter.output
    assert set(loaded_files(unpooled)) == {f"caseload_{MONTH}.csv", f"staff_{MONTH}.csv"}
    assert "Traceback" not in waiter.output
