"""The monthly assets as the partition view and run history show them: months
stand on their own, and what a step rewrites it reports, month by month."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.defs import build_definitions
from caseload_pipeline.defs.partitions import monthly_partitions
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import Project

MONTH_TABLES = ["data_quality", "staff", "allocations", "load_log", "worker_monthly",
                "team_monthly", "role_monthly"]


class Instance:
    """The project's Dagster instance, opened the way the UI would."""

    def __init__(self, project: Project):
        self.project = project
        self.months = monthly_partitions(load_settings(project.env()))

    def __enter__(self):
        self.instance = dg.DagsterInstance.from_config(str(self.project.root / "dagster_home"))
        return self

    def __exit__(self, *exc):
        self.instance.dispose()

    def status(self, asset: str, months: list[str]) -> dict[str, str]:
        found = self.instance.get_status_by_partition(dg.AssetKey(asset), months, self.months)
        return {month: status.value if status else None for month, status in found.items()}

    def materializations(self, asset: str, month: str) -> list:
        return self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[month]),
            limit=10).records


def loaded_months(project: Project, table: str = "staff") -> list[str]:
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        rows = con.execute(f"SELECT DISTINCT strftime(month, '%Y-%m') FROM {table}"
                           " ORDER BY 1").fetchall()
    return [m for (m,) in rows]


@pytest.mark.slow  # the fast loop keeps the refused month
def test_a_month_without_files_is_skipped_and_the_others_load(project: Project):
    project.write_month("2022-07")
    project.write_month("2022-09")  # 2022-08 has no files
    result = project.materialize("--from", "2022-07", "--to", "2022-09")
    assert result.code == 0, result.text
    assert any("2022-08: skipped, no files in incoming/" in line for line in result.lines)
    assert loaded_months(project) == ["2022-07", "2022-09"]
    with Instance(project) as dagster:
        assert dagster.status("staff", ["2022-07", "2022-08", "2022-09"]) == {
            "2022-07": "MATERIALIZED", "2022-08": None, "2022-09": "MATERIALIZED"}


def test_a_refused_month_fails_on_its_own_and_the_good_months_load(project: Project):
    project.write_month("2023-05")
    project.write_month("2023-06", staff=dep.STAFF + [["W1", "Review Team", "SW", "1",
                                                        "yes", "no"]])  # W1 twice
    project.write_month("2023-07")
    result = project.materialize("--from", "2023-05", "--to", "2023-07")
    assert result.code == 1, result.text
    refusal = [line for line in result.lines
               if line.startswith("staff_2023-06.csv: worker_id must appear only once")]
    assert len(refusal) == 1, result.text
    assert "Loaded despite that: 2023-05, 2023-07" in result.text
    assert loaded_months(project) == ["2023-05", "2023-07"]
    # the audit tables followed the months that loaded
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM audit_team_averages").fetchone()[0] > 0
    with Instance(project) as dagster:
        for table in MONTH_TABLES[1:]:
            assert dagster.status(table, ["2023-05", "2023-06", "2023-07"]) == {
                "2023-05": "MATERIALIZED", "2023-06": "FAILED",
                "2023-07": "MATERIALIZED"}, table
        # the refused month's findings are recorded, so its validation record exists
        assert dagster.status("data_quality", ["2023-06"]) == {"2023-06": "MATERIALIZED"}
        # the run's log has each month's progress lines, written together rather than
        # as an entry each (every entry is a write to the instance's storage)
        run = dagster.instance.get_runs(dg.RunsFilter(job_name="monthly_job"), limit=1)[0]
        lines = [e.user_message for e in dagster.instance.all_logs(run.run_id)
                 if not e.is_dagster_event]
        months = [line for line in lines if ": extracted " in line]
        assert sum(line.count(": extracted ") for line in months) == 3, lines
        assert len(months) < 3, lines
        assert any(line.startswith("loaded 2 month(s)") for line in lines), lines


@pytest.mark.slow  # three runs; the fast loop keeps the skipped and the refused month
def test_reloading_a_month_refreshes_and_reports_the_month_after(project: Project):
    project.write_month("2022-05")
    project.write_month("2022-06", caseload=dep.reassignment_rows("2022-06"))
    assert project.materialize("--from", "2022-05", "--to", "2022-06").code == 0

    def june_reassigned() -> int:
        with duckdb.connect(str(project.analyst_path), read_only=True) as con:
            return con.execute("SELECT reassigned_cases FROM team_monthly WHERE team ="
                               " 'Review Team' AND month = '2022-06-01'").fetchone()[0]

    assert june_reassigned() == 1  # C1 moved from W1 to W3
    # May delivered again with C1 already at W3: in June nothing is new to its worker
    may = dep.caseload_rows("2022-05")
    may[0][1] = "W3"
    project.write_month("2022-05", caseload=may)
    result = project.materialize("--month", "2022-05")
    assert result.code == 0, result.text
    assert june_reassigned() == 0
    with Instance(project) as dagster:
        latest = dagster.materializations("allocations", "2022-06")[0]
        assert latest.run_id == dagster.materializations("allocations", "2022-05")[0].run_id
        reason = latest.asset_materialization.metadata["reason"].value
        assert reason == "reassignment recomputed: 2022-05 was reloaded"
        for table in ("worker_monthly", "team_monthly", "role_monthly"):
            assert dagster.materializations(table, "2022-06")[0].run_id == latest.run_id


def test_allocations_declare_their_dependency_on_the_month_before(tmp_path):
    dep.write_reference(tmp_path)
    defs = build_definitions(load_settings({"CASELOAD_DATA_DIR": str(tmp_path)}))
    allocations = dg.AssetKey("allocations")
    assets = defs.resolve_assets_def(allocations)
    assert allocations in assets.asset_deps[allocations]
    mapping = assets.get_partition_mapping(allocations)
    assert isinstance(mapping, dg.TimeWindowPartitionMapping)
    assert (mapping.start_offset, mapping.end_offset) == (-1, -1)


def test_partitions_follow_the_london_calendar_as_the_schedule_does(tmp_path):
    dep.write_reference(tmp_path)
    months = monthly_partitions(load_settings({"CASELOAD_DATA_DIR": str(tmp_path)}))
    assert months.timezone == "Europe/London"
    # 00:30 on 1 July in London is still 30 June in UTC: June is complete in London
    when = dt.datetime(2023, 7, 1, 0, 30, tzinfo=ZoneInfo("Europe/London"))
    assert months.get_partition_keys(current_time=when)[-1] == "2023-06"


@pytest.mark.parametrize("key_in_env", [True, False])
def test_the_resource_carries_the_settings_and_never_the_key(tmp_path, monkeypatch, key_in_env):
    from caseload_pipeline.defs.resources import CaseloadData

    env = {"CASELOAD_DATA_DIR": str(tmp_path / "data"),
           "CASELOAD_PSEUDONYM_KEY_FILE": str(tmp_path / "key")}
    if key_in_env:
        env["CASELOAD_PSEUDONYM_KEY"] = "a-key-of-sixteen-or-more"
        monkeypatch.setenv("CASELOAD_PSEUDONYM_KEY", env["CASELOAD_PSEUDONYM_KEY"])
    settings = load_settings(env)
    resource = CaseloadData.from_settings(settings)
    # the key is configured as the variable's name, which is all the UI shows
    assert "a-key-of-sixteen-or-more" not in repr(resource)
    with dg.build_resources({"data": resource}) as resources:
        resolved = resources.data.settings()
    assert resolved.data_dir == settings.data_dir
    assert resolved.pseudonym_key_file == settings.pseudonym_key_file
    assert resolved.pseudonym_key == (env.get("CASELOAD_PSEUDONYM_KEY"))


def test_a_subset_selection_still_reports_every_table_it_rewrote(project: Project,
                                                                  monkeypatch):
    """Selecting one monthly table in the UI runs the whole step (it cannot do less),
    and the step reports every table it wrote, not only the selected one."""
    from caseload_pipeline.cli.instance import prepare_dagster_home

    project.write_month("2022-05")
    for name, value in project.env().items():  # as the run process would see them
        monkeypatch.setenv(name, value)
    settings = load_settings(project.env())
    prepare_dagster_home(settings)
    defs = build_definitions(settings)
    with Instance(project) as dagster:
        result = defs.resolve_job_def("monthly_job").execute_in_process(
            instance=dagster.instance, partition_key="2022-05",
            asset_selection=[dg.AssetKey("team_monthly")], raise_on_error=False)
        assert result.success
        for table in MONTH_TABLES:
            assert dagster.status(table, ["2022-05"]) == {"2022-05": "MATERIALIZED"}, table
