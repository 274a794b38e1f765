"""Launch Dagster runs from the command line, in the persistent instance, so
every run the CLI starts shows in the UI's run history."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

from caseload_pipeline.cli.instance import prepare_dagster_home
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.run_lock import RunLock
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.defs.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from caseload_pipeline.defs.reaper import reap_dead_runs
from caseload_pipeline.defs.resources import WAREHOUSE_POOL

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# How often a run started here looks for dead runs while it goes (seconds).
REAP_EVERY = 15.0
progress = logging.getLogger("caseload_pipeline.progress")


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
            message = re.sub(r"^(caseload_pipeline\.[\w.]+|dagster\.[\w.]+\.Failure): ", "",
                             message)
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


def _say_if_waiting_for_the_pool(instance: DagsterInstance, run_id: str) -> None:
    """A step of our run queued for the `caseload_warehouse` pool says for whom it
    waits (Dagster itself says so only in its debug log)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    info = storage.get_concurrency_info(WAREHOUSE_POOL)
    if any(p.run_id == run_id and p.assigned_timestamp is None for p in info.pending_steps):
        holders = ", ".join(f"run {s.run_id[:8]} ({s.step_key})"
                            for s in info.claimed_slots) or "nobody yet"
        progress.info("waiting for the %s pool (limit %s): held by %s", WAREHOUSE_POOL,
                      info.slot_count, holders)


@contextlib.contextmanager
def _watching_meanwhile(instance: DagsterInstance, settings: Settings, run_id: str,
                        every: float = REAP_EVERY) -> Iterator[None]:
    """While our run goes, keep looking for runs whose process died (one may hold
    the pool slot we wait for; the UI's sensors do the same when it runs), and
    say so when we wait for the pool."""
    stop = threading.Event()

    def watch():
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # a busy instance: next time
                reap_dead_runs(instance, settings)
                _say_if_waiting_for_the_pool(instance, run_id)

    watcher = threading.Thread(target=watch, name="caseload-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=5)


@contextlib.contextmanager
def open_instance(settings: Settings) -> Iterator[DagsterInstance]:
    """The persistent instance (DAGSTER_HOME), opened once for a command's runs:
    opening it reads and checks its SQLite databases, about half a second."""
    prepare_dagster_home(settings)
    with DagsterInstance.get() as instance:
        yield instance


def _execute(settings: Settings, instance: DagsterInstance, name: str, tags: dict[str, str],
             months: list[Month]):
    """Run job `name` in this process, holding the run's lock throughout."""
    job = _job(settings, name)
    reap_dead_runs(instance, settings)  # a dead run must not keep us waiting
    run_id = str(uuid.uuid4())
    run_lock = RunLock(settings, run_id, f"caseload {name} (run {run_id[:8]})", months)
    run_lock.hold()
    succeeded = False
    try:
        with _watching_meanwhile(instance, settings, run_id):
            result = job.execute_in_process(instance=instance, tags=tags, run_config=QUIET,
                                            raise_on_error=False, run_id=run_id)
        succeeded = result.success
        messages = []
        if not result.success:
            messages = (_refusal_messages(instance, run_id)
                        or _failure_messages(instance, run_id))
        return RunOutcome(run_id, result.success, messages, _loaded_months(instance, run_id))
    finally:
        run_lock.release(succeeded)


def run_months(settings: Settings, instance: DagsterInstance, months: list[Month]
               ) -> RunOutcome:
    """One run of the monthly job over [first, last] of `months`."""
    tags = {
        PARTITION_RANGE_START_TAG: str(months[0]),
        PARTITION_RANGE_END_TAG: str(months[-1]),
        "caseload/started_by": "cli",
    }
    return _execute(settings, instance, "monthly_job", tags, months)


def _loaded_months(instance: DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return sorted({r.event_log_entry.dagster_event.partition for r in records
                   if r.event_log_entry.dagster_event.asset_key.to_user_string() == "staff"})


def run_audit(settings: Settings, instance: DagsterInstance) -> RunOutcome:
    return _execute(settings, instance, "audit_job", {"caseload/started_by": "cli"}, [])
