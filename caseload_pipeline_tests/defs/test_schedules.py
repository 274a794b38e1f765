"""The monthly schedule, evaluated as the daemon would at chosen times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dagster import DefaultScheduleStatus, build_schedule_context

from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.defs import build_definitions
from caseload_pipeline.defs.resources import CaseloadData
from caseload_pipeline.defs.schedules import SCHEDULE_NAME, previous_month
from caseload_pipeline_tests.department import write_month, write_reference

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def department(tmp_path):
    data = tmp_path / "data"
    write_reference(data)  # audits.yaml: the first month is 2022-05
    settings = load_settings({"CASELOAD_DATA_DIR": str(data)})
    repo = build_definitions(settings).get_repository_def()
    return data, settings, repo


def tick(department, when: dt.datetime):
    _, settings, repo = department
    with build_schedule_context(
        scheduled_execution_time=when,
        resources={"caseload_data": CaseloadData.from_settings(settings)},
        repository_def=repo,
    ) as context:  # the resource has a setup and teardown (runs' locks)
        return repo.get_schedule_def(SCHEDULE_NAME).evaluate_tick(context)


def test_schedule_is_on_and_fires_on_the_fifth_at_seven_london_time(department):
    schedule = department[2].get_schedule_def(SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 7 5 * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "monthly_job"


def test_requests_the_previous_month_when_its_files_are_there(department):
    write_month(department[0], "2023-06")
    result = tick(department, dt.datetime(2023, 7, 5, 7, 0, tzinfo=LONDON))
    assert result.skip_message is None
    [request] = result.run_requests
    assert request.partition_key == "2023-06"
    assert request.tags["dagster/partition"] == "2023-06"
    assert request.run_key == "2023-06"


def test_skips_naming_the_missing_files(department):
    result = tick(department, dt.datetime(2023, 7, 5, 7, 0, tzinfo=LONDON))
    assert result.run_requests == []
    message = result.skip_message
    assert "2023-06" in message
    assert "caseload_2023-06.csv or caseload_2023-06.xlsx" in message
    assert "staff_2023-06.csv or staff_2023-06.xlsx" in message


def test_skips_naming_only_the_file_still_missing(department):
    write_month(department[0], "2023-06")
    (department[0] / "incoming" / "caseload_2023-06.csv").unlink()
    result = tick(department, dt.datetime(2023, 7, 5, 7, 0, tzinfo=LONDON))
    assert result.run_requests == []
    assert "caseload_2023-06.csv" in result.skip_message
    assert "staff_2023-06" not in result.skip_message


def test_january_runs_december_of_the_year_before(department):
    write_month(department[0], "2023-12")
    [request] = tick(department, dt.datetime(2024, 1, 5, 7, 0, tzinfo=LONDON)).run_requests
    assert request.partition_key == "2023-12"


def test_month_before_the_first_partition_is_skipped(department):
    write_month(department[0], "2022-04")  # audits.yaml starts at 2022-05
    result = tick(department, dt.datetime(2022, 5, 5, 7, 0, tzinfo=LONDON))
    assert result.run_requests == []
    assert "2022-04" in result.skip_message


def test_previous_month_is_on_the_london_calendar():
    # 23:30 UTC on 31 July is already 1 August in London (BST)
    assert str(previous_month(dt.datetime(2023, 7, 31, 23, 30, tzinfo=dt.UTC))) == "2023-07"
    assert str(previous_month(dt.datetime(2023, 7, 31, 22, 30, tzinfo=dt.UTC))) == "2023-06"
