"""Launch Dagster runs from the command line, in the persistent instance, so
every run the CLI starts shows in the UI's run history."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

from dagster import DagsterEventType, DagsterInstance

from caseload_pipeline.cli.instance import prepare_dagster_home
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.staging import read_staged
from caseload_pipeline.defs.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    messages: list[str] = field(default_factory=list)


def _failure_messages(instance: DagsterInstance, run_id: str) -> list[str]:
    """Plain messages of the run's failed steps (no stack traces)."""
    messages = []
    for record in instance.get_records_for_run(
        run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    ).records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data
        error = getattr(data, "error", None)
        if error is not None:
            cause = error
            # a Failure raised in an asset carries our message as its own
            while cause.cause is not None and "Failure" not in cause.cls_name:
                cause = cause.cause
            message = cause.message.strip()
            # the pipeline's own errors (a full disk, ...) are sentences written
            # to be read: without their class path, and once, not per event
            message = re.sub(r"^caseload_pipeline\.[\w.]+: ", "", message)
            if message not in messages:
                messages.append(message)
    return messages


def _job(settings: Settings, name: str):
    # Built from these settings, not the module-level `defs`, whose resources
    # were fixed by the environment at import time.
    from caseload_pipeline.defs import build_definitions

    return build_definitions(settings).resolve_job_def(name)


def run_months(settings: Settings, months: list[Month]) -> RunOutcome:
    """One run of the monthly job over [first, last] of `months`."""
    prepare_dagster_home(settings)
    instance = DagsterInstance.get()
    job = _job(settings, "monthly_job")
    tags = {
        PARTITION_RANGE_START_TAG: str(months[0]),
        PARTITION_RANGE_END_TAG: str(months[-1]),
        "caseload/started_by": "cli",
    }
    result = job.execute_in_process(instance=instance, tags=tags, run_config=QUIET,
                                    raise_on_error=False)
    messages = []
    if not result.success:
        for month in months:
            with contextlib.suppress(FileNotFoundError):
                messages += [f.message for f in read_staged(settings, month).blocking]
        if not messages:
            messages = _failure_messages(instance, result.run_id)
    return RunOutcome(result.run_id, result.success, messages)


def run_audit(settings: Settings) -> RunOutcome:
    prepare_dagster_home(settings)
    instance = DagsterInstance.get()
    job = _job(settings, "audit_job")
    result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False,
                                    tags={"caseload/started_by": "cli"})
    messages = [] if result.success else _failure_messages(instance, result.run_id)
    return RunOutcome(result.run_id, result.success, messages)
