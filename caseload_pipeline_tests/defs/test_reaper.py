"""A run whose process died is marked failed and gives back its pool slot
(issue 8, point 2): Dagster cannot tell by itself that an in-process run's
process is gone, and its `report_run_failed` does not free the run's
concurrency slots; the reaper does both (defs/reaper.py).

The dead runs are real: `caseload materialize` started as a process over the
package's dagster.yaml (the `caseload_warehouse` pool limited to one step),
stopped in its validation step (which holds the pool slot) and killed with
SIGKILL.
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.defs import build_definitions
from caseload_pipeline.defs.reaper import reap_dead_runs
from caseload_pipeline.defs.resources import CaseloadData
from caseload_pipeline.defs.sensors import DEAD_RUNS_SENSOR_NAME
from caseload_pipeline_tests.conftest import Project, new_project
from caseload_pipeline_tests.e2e.cli_process import CliProcess

MONTH = "2022-05"


@pytest.fixture
def killed(tmp_path) -> Project:
    """A project whose only run was killed in its validation step."""
    project = new_project(tmp_path)
    project.write_month(MONTH)
    process = CliProcess(["materialize", "--month", MONTH], project.env(), project.root,
                         pause_in="validate")
    process.wait_paused()
    process.kill()
    return project


def instance_of(project: Project) -> DagsterInstance:
    return DagsterInstance.from_config(str(project.root / "dagster_home"))


def slot_holders(instance: DagsterInstance) -> set[str]:
    return instance.event_log_storage.get_concurrency_run_ids()


@pytest.mark.slow  # kills a `caseload` process, then starts another
def test_report_run_failed_keeps_the_pool_slot_and_the_reaper_frees_it(killed: Project):
    settings = load_settings(killed.env())
    with instance_of(killed) as instance:
        [run] = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        assert slot_holders(instance) == {run.run_id}
        # What Dagster offers for "failed from outside": the slot stays taken. If a
        # Dagster upgrade changes this, the reaper's own freeing can go.
        instance.report_run_failed(run, "marked failed by the test")
        assert slot_holders(instance) == {run.run_id}

        reap_dead_runs(instance, settings)

        assert slot_holders(instance) == set()
        assert not any((killed.data_dir / ".pipeline" / "staging").iterdir())


@pytest.mark.slow  # kills a `caseload` process, then starts another
def test_a_run_after_a_killed_one_does_not_wait_for_ever(killed: Project):
    with instance_of(killed) as instance:
        [dead] = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))

    after = CliProcess(["materialize", "--month", MONTH], killed.env(), killed.root,
                       name="after")
    assert after.wait(timeout=240) == 0, after.output

    with instance_of(killed) as instance:
        run = instance.get_run_by_id(dead.run_id)
        assert run.status == DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(dead.run_id)]
        assert slot_holders(instance) == set()
    assert any("ended without finishing it" in m for m in messages)


def test_the_dead_runs_sensor_reaps_on_its_own(killed: Project, monkeypatch):
    for name, value in killed.env().items():  # as the daemon's environment would hold
        monkeypatch.setenv(name, value)
    settings = load_settings(killed.env())
    repo = build_definitions(settings).get_repository_def()
    sensor = repo.get_sensor_def(DEAD_RUNS_SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with instance_of(killed) as instance:
        [dead] = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        with dg.build_sensor_context(
                instance=instance, repository_def=repo,
                resources={"caseload_data": CaseloadData.from_settings(settings)}) as context:
            result = sensor.evaluate_tick(context)
        assert f"run {dead.run_id} had died" in result.skip_message
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        assert slot_holders(instance) == set()
        with dg.build_sensor_context(
                instance=instance, repository_def=repo,
                resources={"caseload_data": CaseloadData.from_settings(settings)}) as context:
            assert sensor.evaluate_tick(context).skip_message == "no run has died"


@pytest.mark.slow  # two `caseload` processes, and the watcher looks every 15 s
def test_a_run_waiting_for_the_pool_says_for_whom(tmp_path):
    """Not dead, only busy: the pool slot is held by a live run; the CLI's run
    waits for it, saying so, and goes on when it is free."""
    project = new_project(tmp_path)
    project.write_month(MONTH)
    holder = CliProcess(["materialize", "--month", MONTH], project.env(), project.root,
                        pause_in="validate", name="holder")
    holder.wait_paused()
    waiter = CliProcess(["materialize", "--month", MONTH], project.env(), project.root,
                        name="waiter")
    try:
        waiter.wait_for_output("waiting for the caseload_warehouse pool (limit 1): held by run",
                               timeout=120)
    finally:
        holder.resume()
    assert holder.wait() == 0, holder.output
    assert waiter.wait() == 0, waiter.output
    assert "(monthly_tables)" in waiter.output
