"""Runs whose process died are marked failed, and what they held is freed.

A run killed (SIGKILL, out of memory, a machine stopped) cannot say it ended:
Dagster would show it STARTED for ever, and the `caseload_warehouse` pool slot
its step held would make every later run wait for ever. The process running a
run holds the run's lock (core/run_lock.py); a run whose lock is free while its
note still says "held" died. `reap_dead_runs` marks such a run failed in the
instance, frees its concurrency slots (Dagster's `report_run_failed` does not;
caseload_pipeline_tests/defs/test_reaper.py pins both), and removes its staging
and lock file. It runs before the CLI launches a run and every 15 s while that
run waits, and on every tick of the sensors, whatever started the UI.

Dagster's own `free_concurrency_slots_for_run`, `get_concurrency_run_ids` and
`supports_global_concurrency_limits` are methods of the instance's event log
storage (what Dagster's daemon uses for the same purpose), not exported names.
"""

from __future__ import annotations

import logging
import time

from dagster import DagsterInstance

from caseload_pipeline.core.settings import Settings

progress = logging.getLogger("caseload_pipeline.progress")

# A run lock released while the instance still shows the run going, for this
# long: the process died between its last step and writing the run's end.
ENDED_GRACE = 60.0
# A dead run of another Dagster instance (a second DAGSTER_HOME over the same
# data folder) is left for that instance's reaper this long.
FOREIGN_GRACE = 24 * 3600.0


def _died_message(pid: int | None) -> str:
    process = f"The process running this run (pid {pid})" if pid else "The run's process"
    return (f"{process} ended without finishing it: it was killed, or the machine stopped. "
            "Marked failed by caseload, which freed its pool slot. Nothing it left half "
            "done was published; run its months again.")


def reap_dead_runs(instance: DagsterInstance, settings: Settings) -> list[str]:
    """Mark dead runs failed and free what they held; one line per run reaped."""
    from caseload_pipeline.core.locks import FileLock
    from caseload_pipeline.core.run_lock import (
        DIED,
        ENDED,
        clean_leftovers,
        forget_run,
        remove_staging,
        run_traces,
    )

    guard = FileLock(settings.pipeline_dir / "reaper.lock", "reaper", "the run reaper")
    if not guard.try_acquire():
        return []  # another process is at it right now
    try:
        reaped = []
        now = time.time()
        for trace in run_traces(settings):
            if trace.state not in (DIED, ENDED):
                continue
            run = instance.get_run_by_id(trace.run_id)
            if trace.state == ENDED and (
                    run is None or run.is_finished or now - trace.ended_at < ENDED_GRACE):
                continue  # ended normally (cleaned later by clean_leftovers)
            if run is None:  # another instance's run: its own reaper marks it failed
                remove_staging(settings, trace.run_id)
                if trace.note is None or now - trace.note.since > FOREIGN_GRACE:
                    forget_run(settings, trace.run_id)
                continue
            if not run.is_finished:
                instance.report_run_failed(run, _died_message(trace.note and trace.note.pid))
                reaped.append(f"run {trace.run_id} had died: marked failed, its pool slot "
                              "freed")
            free_slots(instance, trace.run_id)
            forget_run(settings, trace.run_id)
        free_slots_of_finished_runs(instance)
        clean_leftovers(settings)
    finally:
        guard.release()
    for line in reaped:
        progress.info(line)
    return reaped


def free_slots(instance: DagsterInstance, run_id: str) -> None:
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slots_for_run(run_id)


def free_slots_of_finished_runs(instance: DagsterInstance) -> None:
    """A finished run holds no slot; one that still does (ended by Dagster's code
    server after its process died, say) gives it back."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    for run_id in storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
