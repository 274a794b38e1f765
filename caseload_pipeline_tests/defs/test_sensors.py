"""The incoming-files sensor evaluated tick by tick with its cursor, and the
automation sensor that refreshes the audit tables."""

from __future__ import annotations

import json
import os
import time

import dagster as dg
import duckdb
import pytest

from caseload_pipeline.core.contract import sha256_of
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.sql import sql
from caseload_pipeline.defs import build_definitions
from caseload_pipeline.defs.resources import CaseloadData
from caseload_pipeline.defs.sensors import AUTOMATION_SENSOR_NAME, SENSOR_NAME
from caseload_pipeline_tests.department import STAFF, write_month, write_reference

MONTH = "2023-06"
MONTH_TABLES = ["data_quality", "staff", "allocations", "load_log", "worker_monthly",
                "team_monthly", "role_monthly"]


class Department:
    def __init__(self, tmp_path, instance):
        self.instance = instance
        self.data = tmp_path / "data"
        write_reference(self.data)  # months run from 2022-05 to the last complete month
        self.incoming = self.data / "incoming"
        self.incoming.mkdir(parents=True)
        self.settings = load_settings({"CASELOAD_DATA_DIR": str(self.data)})
        self.defs = build_definitions(self.settings)
        self.repo = self.defs.get_repository_def()
        self.sensor = self.repo.get_sensor_def(SENSOR_NAME)
        self.cursor: str | None = None

    def tick(self):
        """Evaluate the sensor as the daemon does, carrying the cursor forward."""
        # The resource holds a run's lock while a run executes (setup and
        # teardown), so its contexts are opened with `with`, as the daemon does.
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"caseload_data": CaseloadData.from_settings(self.settings)},
            repository_def=self.repo,
        ) as context:
            result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return result

    def settle(self, *names: str, age: float = 60.0) -> None:
        """Set the files' mtime in the past (a copy that finished a while ago)."""
        names = names or tuple(p.name for p in self.incoming.iterdir())
        for name in names:
            when = time.time() - age
            os.utime(self.incoming / name, (when, when))

    def write_month(self, month: str = MONTH, **kwargs) -> None:
        write_month(self.data, month, **kwargs)
        self.settle(f"caseload_{month}.csv", f"staff_{month}.csv")

    def cursor_files(self) -> dict:
        return json.loads(self.cursor)["files"]


@pytest.fixture
def dept(tmp_path):
    with dg.instance_for_test() as instance:
        yield Department(tmp_path, instance)


def requested(result) -> list[str]:
    return [r.partition_key for r in result.run_requests]


def test_sensor_is_on_every_thirty_seconds_for_the_monthly_job(dept):
    assert dept.sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert dept.sensor.minimum_interval_seconds == 30
    assert dept.sensor.job_name == "monthly_job"


def test_new_month_is_requested_once(dept):
    dept.write_month()
    first = dept.tick()
    assert requested(first) == [MONTH]
    assert first.run_requests[0].tags["dagster/partition"] == MONTH
    files = dept.cursor_files()
    assert files[f"caseload_{MONTH}.csv"]["sha256"] == sha256_of(
        dept.incoming / f"caseload_{MONTH}.csv")
    assert {"size", "mtime_ns"} <= set(files[f"staff_{MONTH}.csv"])
    again = dept.tick()
    assert requested(again) == []
    assert "no new or changed months" in again.skip_message


def test_touched_but_same_content_is_not_requested(dept):
    dept.write_month()
    assert requested(dept.tick()) == [MONTH]
    before = dept.cursor_files()[f"staff_{MONTH}.csv"]["mtime_ns"]
    dept.settle(f"staff_{MONTH}.csv", age=30)  # a different mtime, same bytes
    result = dept.tick()
    assert requested(result) == []
    # the new mtime was seen (and the file re-hashed to the same digest)
    assert dept.cursor_files()[f"staff_{MONTH}.csv"]["mtime_ns"] != before


def test_changed_content_is_requested_again_with_a_new_run_key(dept):
    dept.write_month()
    [first] = dept.tick().run_requests
    dept.write_month(staff=[*STAFF, ["W6", "Review Team", "SW", "1", "yes", "no"]])
    [second] = dept.tick().run_requests
    assert second.partition_key == MONTH
    assert second.run_key != first.run_key
    assert requested(dept.tick()) == []


def test_half_a_month_is_not_requested_until_both_files_are_there(dept):
    dept.write_month()
    (dept.incoming / f"staff_{MONTH}.csv").unlink()
    result = dept.tick()
    assert requested(result) == []
    assert f"staff_{MONTH}.csv" in result.skip_message
    dept.write_month()
    assert requested(dept.tick()) == [MONTH]


def test_months_outside_the_partitions_are_ignored(dept):
    dept.write_month("2021-01")  # before audits.yaml's first month
    dept.write_month("2099-01")  # not complete yet
    result = dept.tick()
    assert requested(result) == []
    assert "2021-01" in result.skip_message and "2099-01" in result.skip_message


def test_a_file_still_being_written_waits_for_the_next_tick(dept):
    write_month(dept.data, MONTH)  # mtime: now
    assert requested(dept.tick()) == []
    dept.settle()
    assert requested(dept.tick()) == [MONTH]


def test_unchanged_size_and_mtime_are_not_hashed_again(dept):
    dept.write_month()
    dept.tick()
    # Pretend the cursor remembered another digest for the same size and mtime:
    # the sensor trusts it (no re-hash), so the month looks changed.
    cursor = json.loads(dept.cursor)
    cursor["files"][f"staff_{MONTH}.csv"]["sha256"] = "0" * 64
    dept.cursor = json.dumps(cursor)
    assert requested(dept.tick()) == [MONTH]
    assert dept.cursor_files()[f"staff_{MONTH}.csv"]["sha256"] == "0" * 64


def test_same_content_gives_the_same_run_key_even_with_a_lost_cursor(dept):
    dept.write_month()
    [first] = dept.tick().run_requests
    dept.cursor = None
    [second] = dept.tick().run_requests
    assert second.run_key == first.run_key  # Dagster never launches a run key twice


def test_months_already_loaded_with_these_files_are_not_requested(dept):
    dept.write_month()
    dept.write_month("2023-05")
    # the analyst copy says 2023-06 was loaded from exactly these files
    con = duckdb.connect(str(dept.settings.duckdb_path))
    con.execute(sql("schema"))
    for name in (f"caseload_{MONTH}.csv", f"staff_{MONTH}.csv"):
        con.execute("INSERT INTO load_log VALUES (DATE '2023-06-01', ?, ?, 1, now(), 'r1')",
                    [name, sha256_of(dept.incoming / name)])
    con.close()
    # an analyst holds it open meanwhile
    reader = duckdb.connect(str(dept.settings.duckdb_path), read_only=True)
    try:
        assert requested(dept.tick()) == ["2023-05"]
    finally:
        reader.close()
    # the loaded month changes: it is requested
    dept.write_month(staff=[*STAFF, ["W6", "Review Team", "SW", "1", "yes", "no"]])
    assert requested(dept.tick()) == [MONTH]


def test_months_of_a_running_run_or_backfill_wait_for_it(dept):
    dept.write_month()
    dept.write_month("2023-05")
    # a running run of 2023-06 (as `caseload materialize --from --to` creates it)
    run = dept.instance.create_run(
        job_name="monthly_job", run_id=None, run_config=None, resolved_op_selection=None,
        step_keys_to_execute=None, status=dg.DagsterRunStatus.STARTED,
        tags={"dagster/asset_partition_range_start": MONTH,
              "dagster/asset_partition_range_end": MONTH},
        root_run_id=None, parent_run_id=None,
        job_snapshot=None, execution_plan_snapshot=None, parent_job_snapshot=None,
        asset_selection=None, asset_check_selection=None, op_selection=None,
        remote_job_origin=None, job_code_origin=None, asset_graph=dept.repo.asset_graph)
    result = dept.tick()
    assert requested(result) == ["2023-05"]
    assert dept.tick().run_requests == []
    # a backfill of 2023-04 is running: that month waits for it, 2023-03 does not
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

    dept.write_month("2023-04")
    dept.write_month("2023-03")
    dept.instance.add_backfill(PartitionBackfill(
        backfill_id="b1", status=BulkActionStatus.REQUESTED, from_failure=False, tags={},
        backfill_timestamp=time.time(), partition_names=["2023-04"]))
    assert requested(dept.tick()) == ["2023-03"]
    result = dept.tick()
    assert requested(result) == []
    assert "2023-04 is being run" in result.skip_message
    # an asset backfill, as the UI's "Materialize" of partitions creates it
    dept.write_month("2023-02")
    dept.instance.add_backfill(PartitionBackfill.from_asset_partitions(
        backfill_id="b2", asset_graph=dept.repo.asset_graph, partition_names=["2023-02"],
        asset_selection=[dg.AssetKey(k) for k in MONTH_TABLES],
        backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=dept.instance,
        all_partitions=False, title=None, description=None, run_config=None))
    result = dept.tick()
    assert requested(result) == []
    assert "2023-02 is being run" in result.skip_message
    for backfill_id in ("b1", "b2"):
        dept.instance.update_backfill(dept.instance.get_backfill(backfill_id).with_status(
            BulkActionStatus.COMPLETED_SUCCESS))
    dept.instance.report_run_canceled(run)  # the run is over; its month was not loaded
    assert requested(dept.tick()) == ["2023-02", "2023-04", MONTH]


def test_automation_sensor_is_on_and_requests_the_audit_tables_after_months(dept):
    automation = dept.repo.get_sensor_def(AUTOMATION_SENSOR_NAME)
    assert automation.default_status == dg.DefaultSensorStatus.RUNNING
    # no implicit (and stopped) default automation sensor next to ours
    assert [s.name for s in dept.repo.sensor_defs if s.name.startswith("default_")] == []
    with dg.instance_for_test() as instance:
        result = dg.evaluate_automation_conditions(defs=dept.defs, instance=instance)
        assert result.total_requested == 0  # nothing loaded, nothing to refresh
        for key in MONTH_TABLES:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=MONTH))
        result = dg.evaluate_automation_conditions(defs=dept.defs, instance=instance,
                                                   cursor=result.cursor)
        refreshed = {r.key.to_user_string() for r in result.results if r.true_subset.size}
        assert {"audit_team_averages", "audit_role_averages", "audit_comparison"} <= refreshed
        result = dg.evaluate_automation_conditions(defs=dept.defs, instance=instance,
                                                   cursor=result.cursor)
        assert result.total_requested == 0  # once per change


START, END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def test_waiting_months_are_one_run_per_stretch_of_consecutive_months(dept):
    """Two years of files dropped at once cost one run, not 24; a month with no
    files splits the range (a run covers every month of its range)."""
    months = [f"{y}-{m:02d}" for y in (2022, 2023) for m in range(1, 13)
              if f"{y}-{m:02d}" >= "2022-05"] + ["2024-01", "2024-02", "2024-04"]
    for month in months:
        dept.write_month(month)
    result = dept.tick()
    assert [(r.partition_key, r.tags.get(START), r.tags.get(END))
            for r in result.run_requests] == [
        (None, "2022-05", "2024-02"), ("2024-04", None, None)]
    assert all(r.tags["caseload/started_by"] == "sensor" for r in result.run_requests)
    keys = [r.run_key for r in result.run_requests]
    assert keys[0].startswith("2022-05..2024-02:")
    # the same months with the same content get the same keys, even with a lost cursor
    dept.cursor = None
    assert [r.run_key for r in dept.tick().run_requests] == keys
    # a changed month is requested alone, under a key of its own
    dept.write_month("2023-02", staff=[*STAFF, ["W6", "Review Team", "SW", "1", "yes", "no"]])
    [again] = dept.tick().run_requests
    assert again.partition_key == "2023-02" and again.run_key not in keys


def test_months_a_live_run_of_another_instance_handles_wait_for_it(dept):
    """A run of another Dagster instance over the same data folder (the CLI with
    its own DAGSTER_HOME beside a plain `dagster dev`) is seen by its run lock."""
    from caseload_pipeline.core.months import Month
    from caseload_pipeline.core.run_lock import RunLock

    dept.write_month()
    other = RunLock(dept.settings, "run-of-another-instance", "caseload monthly_job",
                    [Month(2023, 6)])
    assert other.hold()
    try:
        result = dept.tick()
        assert requested(result) == []
        assert f"{MONTH} is being run" in result.skip_message
    finally:
        other.release(succeeded=False)
    assert requested(dept.tick()) == [MONTH]
