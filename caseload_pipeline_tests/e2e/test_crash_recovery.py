"""A crash costs nothing (issue 8, point 2): `caseload materialize` killed with
SIGKILL in each step of a run leaves the analysts' file at a consistent
snapshot; the next run, unaided, gives the tables an uninterrupted run gives,
leaves no temporary file or staging of the dead process behind, and the killed
run is FAILED in the instance, not STARTED for ever with its pool slot held.

The runs are real `caseload` processes over the package's dagster.yaml (the
`caseload_warehouse` pool limited to one step), stopped at a pause point
(core/pause.py) and killed with their process group.
"""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from caseload_pipeline.core.early_warning import EARLY_WARNING_TABLES
from caseload_pipeline.core.locks import HELD, read_note
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import (
    VOLATILE,
    Project,
    assert_same_tables,
    new_project,
    read_tables,
)
from caseload_pipeline_tests.e2e.cli_process import CliProcess

pytestmark = pytest.mark.e2e

# What the audit job writes; killed in its first step, none of it has changed yet.
AUDIT_TABLES = ("audit_team_averages", "audit_role_averages", "audit_comparison",
                "staff_survey", "benchmarks", *EARLY_WARNING_TABLES)
# Where the run is killed, in the order a run reaches them (core/pause.py). Up
# to and including the months' publish, the analysts' file is still the one
# before the run; the audit job comes after it.
MONTH_POINTS = ["extract", "validate", "before-load", "load", "loaded", "metrics", "publish"]
AUDIT_POINTS = ["audit", "report"]


def write_may(project: Project) -> None:
    project.write_month("2022-05")


def write_june_july(project: Project) -> None:
    project.write_month("2022-06", caseload=dep.reassignment_rows("2022-06"))
    project.write_month("2022-07", staff=[*dep.STAFF, ["W7", "Carers Team", "OT", "1", "y", "n"]])


def tables(path) -> dict:
    return read_tables(path, exclude_columns=VOLATILE)


class References:
    """The same department run without interruption."""

    def __init__(self, root):
        project = new_project(root / "range")
        write_may(project)
        assert project.materialize("--month", "2022-05").code == 0
        self.after_may = tables(project.analyst_path)
        write_june_july(project)
        result = project.materialize("--from", "2022-06", "--to", "2022-07")
        assert result.code == 0, result.text
        self.after_range = tables(project.analyst_path)


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> References:
    return References(tmp_path_factory.mktemp("references"))


def killed_in(project: Project, point: str, args: list[str]) -> CliProcess:
    process = CliProcess(["materialize", *args], project.env(), project.root, pause_in=point)
    assert process.wait_paused() == point
    process.kill()
    return process


def leftovers(project: Project) -> list[str]:
    data = project.data_dir
    found = [p.name for p in data.glob(".caseload.duckdb.*")]
    found += [str(p) for p in (data / "reports").glob("*/.caseload_audit_*")]
    staging = data / ".pipeline" / "staging"
    found += [str(p) for p in staging.iterdir()] if staging.is_dir() else []
    runs = data / ".pipeline" / "runs"
    # a run lock still noted "held" is a dead run nobody has marked failed
    found += [p.name for p in runs.glob("*.lock")
              if read_note(p) is None or read_note(p).state == HELD]
    return found


def run_statuses(project: Project) -> dict[str, DagsterRunStatus]:
    with DagsterInstance.from_config(str(project.root / "dagster_home")) as instance:
        return {r.run_id: r.status for r in instance.get_runs(RunsFilter())}


def started_runs(project: Project) -> list[str]:
    return [r for r, s in run_statuses(project).items()
            if s in (DagsterRunStatus.STARTED, DagsterRunStatus.STARTING)]


@pytest.mark.parametrize("point", MONTH_POINTS + AUDIT_POINTS)
def test_a_run_killed_in_any_step_costs_nothing(references: References, tmp_path, point):
    project = new_project(tmp_path)
    write_may(project)
    assert project.materialize("--month", "2022-05").code == 0
    write_june_july(project)

    killed_in(project, point, ["--from", "2022-06", "--to", "2022-07"])

    # The analysts' file is a consistent snapshot: the one before the run; killed
    # in the audit tables, the months' snapshot with the audit tables before the
    # run; killed while writing the report, everything (the report is a file).
    snapshot = tables(project.analyst_path)
    if point in MONTH_POINTS:
        assert_same_tables(references.after_may, snapshot)
    elif point == "audit":
        expected = {name: (references.after_may if name in AUDIT_TABLES
                           else references.after_range)[name] for name in snapshot}
        assert_same_tables(expected, snapshot)
    else:
        assert_same_tables(references.after_range, snapshot)
    [dead] = started_runs(project)  # the instance cannot know by itself

    result = project.materialize("--from", "2022-06", "--to", "2022-07")

    assert result.code == 0, result.text
    assert_same_tables(references.after_range, tables(project.analyst_path))
    assert_same_tables(references.after_range, tables(project.working_path))
    assert leftovers(project) == []
    assert run_statuses(project)[dead] == DagsterRunStatus.FAILURE
    assert started_runs(project) == []
