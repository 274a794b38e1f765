"""Launch Dagster runs from the command line, in the persistent instance, so
every run the CLI starts shows in the UI's run history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

from caseload_pipeline.cli.instance import prepare_dagster_home
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.defs.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    messages: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)  # months whose tables the run wrote


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


def _refusal_messages(instance: DagsterInstance, run_id: str) -> list[str]:
    """The findings of the run's failed blocking checks, as the check tables hold them."""
    messages = []
    for record in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed or evaluation.severity != AssetCheckSeverity.ERROR:
            continue
        table = evaluation.metadata.get("findings")
        messages += [row.data["message"] for row in getattr(table, "records", None) or []]
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
        messages = (_refusal_messages(instance, result.run_id)
                    or _failure_messages(instance, result.run_id))
    return RunOutcome(result.run_id, result.success, messages,
                      _loaded_months(instance, result.run_id))


def _loaded_months(instance: DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return sorted({r.event_log_entry.dagster_event.partition for r in records
                   if r.event_log_entry.dagster_event.asset_key.to_user_string() == "staff"})


def run_audit(settings: Settings) -> RunOutcome:
    prepare_dagster_home(settings)
    instance = DagsterInstance.get()
    job = _job(settings, "audit_job")
    result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=False,
                                    tags={"caseload/started_by": "cli"})
    messages = [] if result.success else _failure_messages(instance, result.run_id)
    return RunOutcome(result.run_id, result.success, messages)
