"""The monthly schedule (SPEC 7): on the 5th at 07:00 Europe/London, materialize
the month that has just ended; the audit tables follow through their
automation condition (assets/audit.py, sensors.build_automation_sensor).

`build_schedule_from_partitioned_job` would target the same partition (the
last complete month, in the partitions' Europe/London time) but it cannot
skip: a month whose files are not in `incoming/` yet would start a run that
fails. So this is a plain `@schedule` that computes the
partition itself and skips, naming the missing files, when they are not there.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from caseload_pipeline.core.contract import find_month_files
from caseload_pipeline.core.months import Month
from caseload_pipeline.defs.partitions import TIMEZONE
from caseload_pipeline.defs.resources import CaseloadData

SCHEDULE_NAME = "monthly_schedule"
CRON = "0 7 5 * *"  # 07:00 on the 5th of every month


def previous_month(when: dt.datetime) -> Month:
    """The month before the one `when` falls in, on the London calendar."""
    local = when.astimezone(ZoneInfo(TIMEZONE)) if when.tzinfo else when
    return Month(local.year, local.month).previous()


def build_monthly_schedule(monthly_job, partitions_def):

    @schedule(
        name=SCHEDULE_NAME,
        job=monthly_job,
        cron_schedule=CRON,
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.RUNNING,
        description="On the 5th at 07:00 (Europe/London) materialize the month that has just "
        "ended, then the audit tables follow. Skipped, naming the files, when the month's "
        "files are not in incoming/ yet.",
    )
    def monthly_schedule(context: ScheduleEvaluationContext, caseload_data: CaseloadData):
        when = context.scheduled_execution_time or dt.datetime.now(ZoneInfo(TIMEZONE))
        month = previous_month(when)
        key = str(month)  # the partition key format, %Y-%m
        if key not in partitions_def.get_partition_keys(current_time=when):
            return SkipReason(f"{key} is not one of the pipeline's months "
                              f"(they start at {partitions_def.get_first_partition_key()})")
        incoming = caseload_data.settings().incoming_dir
        files = find_month_files(incoming, month)
        if files.missing:
            return SkipReason(f"{key}: files not in {incoming} yet: {'; '.join(files.missing)}. "
                              "The incoming-files sensor runs the month when they arrive.")
        return RunRequest(partition_key=key, run_key=key,
                          tags={"caseload/started_by": "schedule"})

    return monthly_schedule
