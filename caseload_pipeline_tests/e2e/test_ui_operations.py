"""Operate the pipeline as the analyst does, through the running UI's GraphQL API
(see the `operated` fixture): backfill every month that has files, watch the
audit tables refresh by themselves, drop a new month into incoming/ and see the
sensor run it, while another process keeps querying the published DuckDB file."""

from __future__ import annotations

import duckdb
import pytest

from caseload_pipeline_tests.e2e.conftest import (
    AUTOMATION_SENSOR,
    BACKFILL_MONTHS,
    SENSOR_MONTH,
    analyst_months,
)

# month_files is the files in incoming/: read, never materialized by the pipeline
MONTH_GROUP_ASSETS = {"data_quality", "staff", "allocations", "load_log",
                      "worker_monthly", "team_monthly", "role_monthly"}
LOCK_WORDS = ("could not set lock", "conflicting lock", "database is locked")

pytestmark = pytest.mark.e2e


def analyst_query(path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_code_location_shows_the_flow_in_described_groups(dagster_dev):
    nodes = dagster_dev.graphql("""{ assetNodes { assetKey { path } groupName description
        } }""")["assetNodes"]
    groups = {n["groupName"] for n in nodes}
    assert {"extract", "validate", "load", "metrics", "audit", "report"} <= groups
    assert [n["assetKey"] for n in nodes if not n["description"]] == []
    names = {n["assetKey"]["path"][-1] for n in nodes}
    assert MONTH_GROUP_ASSETS | {"month_files", "audit_team_averages",
                                 "audit_comparison"} <= names
    assert dagster_dev.sensor(AUTOMATION_SENSOR)["sensorState"]["status"] == "RUNNING"
    schedule = dagster_dev.graphql("""{ scheduleOrError(scheduleSelector: {
        repositoryLocationName: "caseload_pipeline", repositoryName: "__repository__",
        scheduleName: "monthly_schedule"}) { ... on Schedule { cronSchedule executionTimezone
        scheduleState { status } } } }""")["scheduleOrError"]
    assert schedule == {"cronSchedule": "0 7 5 * *", "executionTimezone": "Europe/London",
                        "scheduleState": {"status": "RUNNING"}}


def test_backfill_of_every_month_with_files_is_one_successful_run(dagster_dev, operated):
    assert operated["sensor_stopped"] == "STOPPED"
    assert {"/".join(k) for k in operated["asset_keys"]} == MONTH_GROUP_ASSETS
    runs = operated["backfill_runs"]
    assert len(runs) == 1, runs  # single-run backfill policy: one run for all months
    assert [r["status"] for r in runs] == ["SUCCESS"]
    for run in runs:
        messages = " ".join(dagster_dev.run_messages(run["runId"])).lower()
        assert not any(word in messages for word in LOCK_WORDS)
    assert operated["months_after_backfill"] == BACKFILL_MONTHS
    backfill = operated["backfill"]
    assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, operated.get("timeout"))
    assert len(backfill["runs"]) == 1


def test_audit_tables_refresh_by_themselves_after_the_backfill(dagster_dev, operated):
    audit_runs = operated["audit_runs"]
    assert any(r["status"] == "SUCCESS" for r in audit_runs), (audit_runs,
                                                                 operated.get("timeout"))
    assert all(r["status"] == "SUCCESS" for r in audit_runs), audit_runs
    assert {"audit_team_averages", "audit_role_averages", "audit_comparison"} <= \
        audit_runs[-1]["assets"]
    # the 2023/24 audit now averages the loaded months (two from the backfill, and the
    # sensor's month too when the refresh came after it)
    covered = analyst_query(dagster_dev.duckdb_path,
                            "SELECT team, months_covered FROM audit_team_averages"
                            " WHERE audit = '2023/24' AND source = 'monthly' ORDER BY team")
    assert covered, "no monthly audit averages for 2023/24"
    assert all(months in (2, 3) for _, months in covered), covered


def test_a_month_dropped_into_incoming_is_run_by_the_sensor_within_a_minute(
        dagster_dev, operated):
    assert operated["sensor_started"] == "RUNNING"
    sensor_runs = operated["sensor_runs"]
    # only the new month: those the backfill loaded are not requested again
    assert [r["tags"].get("dagster/partition") for r in sensor_runs] == [SENSOR_MONTH], \
        (sensor_runs, operated.get("timeout"))
    [run] = sensor_runs
    delay = run["creationTime"] - operated["dropped_at"]
    assert delay <= 60, f"the sensor took {delay:.0f} s"
    assert run["status"] == "SUCCESS"
    assert analyst_months(dagster_dev.duckdb_path) == [*BACKFILL_MONTHS, SENSOR_MONTH]


def test_no_run_failed_and_the_analyst_was_never_blocked(dagster_dev, operated):
    assert [r for r in operated["all_runs"] if r["status"] == "FAILURE"] == []
    records = dagster_dev.reader.assert_never_failed(min_queries=8)
    # the analyst saw the backfilled months while keeping the file open
    assert any(r["months"] == BACKFILL_MONTHS for r in records)
