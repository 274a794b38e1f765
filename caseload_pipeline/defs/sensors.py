"""Sensors (SPEC 7).

* `incoming_files_sensor`: months are requested when both of their files are
  in `incoming/` and their content is new or changed: all such months in one
  `monthly_job` run per stretch of consecutive months (a partition range), so
  that a folder of two years of files costs one run, not 24. Content is the
  sha256 of each file; the cursor (JSON) keeps every file's size, mtime and
  hash, so a file is re-hashed only when its size or mtime changed, and the
  months already handled with their content digest. The run key is derived
  from the months and their digests, so the same content is never requested
  twice, even with a reset cursor. A month whose files match what the analyst
  database's `load_log` says was loaded is not requested again either (files
  loaded by the CLI before the UI started, or by a backfill), nor, for now, a
  month that a queued, starting, running or cancelling run, a running backfill
  or a live run of any instance (its run lock, core/run_lock.py) covers (it is
  looked at again when they are done). Files younger than SETTLE_SECONDS may
  still be being copied: they wait for the next tick. Each tick first reaps
  runs whose process died (defs/reaper.py), so their months do not wait for
  ever.
* `dead_runs_sensor`: reaps runs whose process died on its own, so that their
  pool slots are freed even while the incoming-files sensor is stopped.
* `caseload_automation_sensor`: evaluates the assets' automation conditions (the audit
  tables refresh after months change). Dagster's implicit default automation
  sensor starts STOPPED in a fresh instance, so the audit tables would never
  refresh by themselves; this one is declared RUNNING.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from caseload_pipeline.core.contract import (
    files_by_month,
    sha256_of,
    skipped_files,
)
from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.defs.partitions import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
)
from caseload_pipeline.defs.reaper import reap_dead_runs
from caseload_pipeline.defs.resources import CaseloadData, run_months

SENSOR_NAME = "incoming_files_sensor"
AUTOMATION_SENSOR_NAME = "caseload_automation_sensor"
DEAD_RUNS_SENSOR_NAME = "dead_runs_sensor"
MINIMUM_INTERVAL_SECONDS = 30
# A file modified less than this long ago may still be being copied or saved:
# it is looked at again on the next tick.
SETTLE_SECONDS = 5.0


def month_digest(hashes: dict[str, str]) -> str:
    """One digest for a month's files: file names and their sha256, sorted."""
    text = "\n".join(f"{name}:{digest}" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(months: list[Month], digests: dict[Month, str]) -> str:
    """The same months with the same content always get the same key."""
    if len(months) == 1:
        return f"{months[0]}:{digests[months[0]][:16]}"
    text = "\n".join(f"{m}:{digests[m]}" for m in months)
    return f"{months[0]}..{months[-1]}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def consecutive(months: list[Month]) -> list[list[Month]]:
    """[2023-01, 2023-02, 2023-05] -> [[2023-01, 2023-02], [2023-05]]: a run covers a
    partition range, and a month between two requested ones may have no files."""
    stretches: list[list[Month]] = []
    for month in sorted(months):
        if stretches and stretches[-1][-1].next() == month:
            stretches[-1].append(month)
        else:
            stretches.append([month])
    return stretches


def month_request(months: list[Month], digests: dict[Month, str]) -> RunRequest:
    tags = {"caseload/started_by": "sensor"}
    if len(months) == 1:
        return RunRequest(partition_key=str(months[0]), run_key=run_key(months, digests),
                          tags=tags)
    return RunRequest(run_key=run_key(months, digests), tags={
        **tags, PARTITION_RANGE_START_TAG: str(months[0]),
        PARTITION_RANGE_END_TAG: str(months[-1])})


def _read_cursor(cursor: str | None) -> tuple[dict, dict]:
    try:
        data = json.loads(cursor) if cursor else {}
        return dict(data.get("files", {})), dict(data.get("handled", {}))
    except (ValueError, TypeError, AttributeError):
        return {}, {}


def loaded_files(duckdb_path: Path, months: list[Month]) -> dict[Month, dict[str, str]]:
    """{month: {file name: sha256}} from the analyst copy's load_log (read-only:
    the pipeline never writes that file in place, so this never blocks a run);
    nothing for a file that cannot be read or has no load_log (an old or
    foreign one)."""
    if not months or not duckdb_path.is_file():
        return {}
    import duckdb

    from caseload_pipeline.core import load

    try:
        return load.loaded_files(duckdb_path, months)
    except duckdb.Error:
        return {}


RECENT_BACKFILLS = 100
ACTIVE_RUN_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED,
                       DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                       DagsterRunStatus.CANCELING]


def _months(keys) -> set[Month]:
    months = set()
    for key in keys:
        try:
            months.add(parse_month(key))
        except ValueError:  # another kind of partition
            continue
    return months


def _backfill_months(backfill, asset_graph) -> set[Month] | None:
    """The months a backfill targets; None when that cannot be told."""
    try:
        if not backfill.is_asset_backfill:
            return _months(backfill.partition_names or [])
        data = backfill.get_asset_backfill_data(asset_graph)
        return _months(k.partition_key for k in data.target_subset.iterate_asset_partitions()
                       if k.partition_key)
    except Exception:  # noqa: BLE001 - Dagster's stored form changed: be careful
        return None


def months_in_flight(instance, asset_graph) -> set[Month] | None:
    """The months that a queued or running run or a running backfill covers
    (None: a backfill whose months cannot be told, so every month waits).

    An analyst who drops a year of files and backfills it in the UI gets one
    run, not one more per month from this sensor: those months wait, and once
    the runs are done load_log shows them loaded."""
    months: set[Month] = set()
    for run in instance.get_runs(filters=RunsFilter(statuses=ACTIVE_RUN_STATUSES)):
        months.update(run_months(run.tags))
    # A running backfill is REQUESTED. Its status enum is not public API, so it is
    # compared by value; the newest backfills are enough, running ones are recent.
    for backfill in instance.get_backfills(limit=RECENT_BACKFILLS):
        if backfill.status.value != "REQUESTED":
            continue
        targeted = _backfill_months(backfill, asset_graph)
        if targeted is None:
            return None
        months |= targeted
    return months


def build_incoming_sensor(monthly_job, partitions_def, settle_seconds: float = SETTLE_SECONDS):

    @sensor(
        name=SENSOR_NAME,
        job=monthly_job,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Runs a month when both of its files are in incoming/ and their content "
        "is new or changed (sha256).",
    )
    def incoming_files_sensor(context: SensorEvaluationContext, caseload_data: CaseloadData):
        settings = caseload_data.settings()
        for line in reap(context, settings):
            context.log.info(line)
        incoming = settings.incoming_dir
        old_files, handled = _read_cursor(context.cursor)
        if not incoming.is_dir():
            return SkipReason(f"no folder {incoming}")

        now = time.time()
        files: dict[str, dict] = {}  # the cursor's file entries for this tick
        ready: dict[Month, dict[str, str]] = {}  # month -> {name: sha256}
        notes: list[str] = []  # why months with files are not requested
        keys = set(partitions_def.get_partition_keys())
        for skipped in skipped_files(incoming):  # e.g. caseload_2023-13.csv: the rest go on
            notes.append(skipped.message)
            context.log.warning(skipped.message)
        present_months = files_by_month(incoming)
        for month, found in present_months.items():
            if found.missing:
                notes.append(f"{month} waits for {' and '.join(found.missing)}")
                continue
            if str(month) not in keys:
                notes.append(f"{month} is not one of the pipeline's months")
                continue
            hashes, settled = {}, True
            for path in (p for kind_paths in found.paths.values() for p in kind_paths):
                try:
                    stat = path.stat()
                except OSError:  # removed meanwhile
                    settled = False
                    break
                entry = old_files.get(path.name)
                unchanged = entry and (entry["size"], entry["mtime_ns"]) == (
                    stat.st_size, stat.st_mtime_ns)
                if unchanged:
                    digest = entry["sha256"]
                elif 0 <= now - stat.st_mtime < settle_seconds:
                    settled = False  # still being written, perhaps: next tick
                    break
                else:
                    digest = sha256_of(path)
                files[path.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                    "sha256": digest}
                hashes[path.name] = digest
            if settled:
                ready[month] = hashes
            else:
                notes.append(f"{month} has a file that is still changing")

        digests = {m: month_digest(h) for m, h in ready.items()}
        candidates = [m for m in ready if handled.get(str(m)) != digests[m]]
        if candidates:
            in_flight = months_in_flight(context.instance, context.repository_def.asset_graph)
            if in_flight is not None:
                from caseload_pipeline.core.run_lock import months_being_run

                in_flight |= months_being_run(settings)
            waiting = candidates if in_flight is None else [m for m in candidates
                                                            if m in in_flight]
            for month in waiting:
                notes.append(f"{month} is being run (a run or backfill is in progress)")
            candidates = [m for m in candidates if m not in waiting]
        already = loaded_files(settings.duckdb_path, candidates)
        wanted = []
        for month in candidates:
            handled[str(month)] = digests[month]
            if already.get(month) == ready[month]:
                context.log.info(f"{month}: these files are already loaded")
                continue
            wanted.append(month)
        requests = [month_request(stretch, digests) for stretch in consecutive(wanted)]
        # forget months whose files all went away (their run keys still stop repeats)
        present = {str(m) for m in present_months}
        handled = {m: d for m, d in handled.items() if m in present}
        cursor = json.dumps({"files": files, "handled": handled}, sort_keys=True)
        skip = None
        if not requests:
            skip = "no new or changed months" + (f"; {'; '.join(notes)}" if notes else "")
        return SensorResult(run_requests=requests, cursor=cursor,
                            skip_reason=SkipReason(skip) if skip else None)

    return incoming_files_sensor


def reap(context: SensorEvaluationContext, settings) -> list[str]:
    """Reap dead runs; a problem doing so is logged, never fails the tick."""
    try:
        return reap_dead_runs(context.instance, settings)
    except Exception as exc:  # noqa: BLE001 - the sensor's own work must go on
        context.log.warning(f"could not check for runs whose process died: {exc}")
        return []


def build_dead_runs_sensor():

    @sensor(
        name=DEAD_RUNS_SENSOR_NAME,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Marks runs whose process died (killed, out of memory, machine "
        "stopped) as failed and frees their caseload_warehouse pool slot.",
    )
    def dead_runs_sensor(context: SensorEvaluationContext, caseload_data: CaseloadData):
        reaped = reap(context, caseload_data.settings())
        return SkipReason("; ".join(reaped) if reaped else "no run has died")

    return dead_runs_sensor


def build_automation_sensor():
    return AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        description="Evaluates the assets' automation conditions: the audit tables refresh "
        "after months are loaded, once no month run is in progress.",
    )
