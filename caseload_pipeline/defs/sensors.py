"""Sensors (SPEC 7).

* `incoming_files_sensor`: a month is requested (one `monthly_job` run for its
  partition) when both of its files are in `incoming/` and their content is new
  or changed. Content is the sha256 of each file; the cursor (JSON) keeps every
  file's size, mtime and hash, so a file is re-hashed only when its size or
  mtime changed, and the months already handled with their content digest. The
  run key is derived from the digest, so the same content is never requested
  twice, even with a reset cursor. A month whose files match what the analyst
  database's `load_log` says was loaded is not requested again either (files
  loaded by the CLI before the UI started, or by a backfill), nor, for now, a
  month that a queued or running run or a running backfill covers (it is
  looked at again when they are done). Files younger than SETTLE_SECONDS may
  still be being copied: they wait for the next tick.
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
    find_month_files,
    months_with_files,
    sha256_of,
    skipped_files,
)
from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.defs.partitions import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
)
from caseload_pipeline.defs.resources import CaseloadData

SENSOR_NAME = "incoming_files_sensor"
AUTOMATION_SENSOR_NAME = "caseload_automation_sensor"
MINIMUM_INTERVAL_SECONDS = 30
# A file modified less than this long ago may still be being copied or saved:
# it is looked at again on the next tick.
SETTLE_SECONDS = 5.0


def month_digest(hashes: dict[str, str]) -> str:
    """One digest for a month's files: file names and their sha256, sorted."""
    text = "\n".join(f"{name}:{digest}" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(month: Month, digest: str) -> str:
    return f"{month}:{digest[:16]}"


def _read_cursor(cursor: str | None) -> tuple[dict, dict]:
    try:
        data = json.loads(cursor) if cursor else {}
        return dict(data.get("files", {})), dict(data.get("handled", {}))
    except (ValueError, TypeError, AttributeError):
        return {}, {}


def loaded_files(duckdb_path: Path, months: list[Month]) -> dict[Month, dict[str, str]]:
    """{month: {file name: sha256}} from the analyst copy's load_log (read-only:
    the pipeline never writes that file in place, so this never blocks a run)."""
    if not months or not duckdb_path.is_file():
        return {}
    import duckdb

    try:
        con = duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = con.execute(
            "SELECT month, file, sha256 FROM load_log WHERE month IN "
            "(SELECT unnest(?::DATE[]))", [[m.first_day for m in months]]).fetchall()
    except duckdb.Error:  # an old or foreign file without load_log
        return {}
    finally:
        con.close()
    loaded: dict[Month, dict[str, str]] = {}
    for day, name, digest in rows:
        loaded.setdefault(Month(day.year, day.month), {})[name] = digest
    return loaded


RECENT_BACKFILLS = 100
ACTIVE_RUN_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED,
                       DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


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
        tags = run.tags
        first = tags.get(PARTITION_RANGE_START_TAG) or tags.get(PARTITION_TAG)
        last = tags.get(PARTITION_RANGE_END_TAG) or tags.get(PARTITION_TAG)
        try:
            if first and last:
                months.update(parse_month(first).range_to(parse_month(last)))
        except ValueError:  # another kind of partition
            continue
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
        incoming = settings.incoming_dir
        old_files, handled = _read_cursor(context.cursor)
        if not incoming.is_dir():
            return SkipReason(f"no folder {incoming}")

        now = time.time()
        files: dict[str, dict] = {}  # the cursor's file entries for this tick
        ready: dict[Month, dict[str, str]] = {}  # month -> {name: sha256}
        notes: list[str] = []  # why months with files are not requested
        keys = set(partitions_def.get_partition_keys())
        present_months = months_with_files(incoming)
        for skipped in skipped_files(incoming):  # e.g. caseload_2023-13.csv: the rest go on
            notes.append(skipped.message)
            context.log.warning(skipped.message)
        for month in sorted(present_months):
            found = find_month_files(incoming, month)
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
            waiting = candidates if in_flight is None else [m for m in candidates
                                                            if m in in_flight]
            for month in waiting:
                notes.append(f"{month} is being run (a run or backfill is in progress)")
            candidates = [m for m in candidates if m not in waiting]
        already = loaded_files(settings.duckdb_path, candidates)
        requests = []
        for month in candidates:
            handled[str(month)] = digests[month]
            if already.get(month) == ready[month]:
                context.log.info(f"{month}: these files are already loaded")
                continue
            requests.append(RunRequest(
                partition_key=str(month),
                run_key=run_key(month, digests[month]),
                tags={"caseload/started_by": "sensor"},
            ))
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


def build_automation_sensor():
    return AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        description="Evaluates the assets' automation conditions: the audit tables refresh "
        "after months are loaded, once no month run is in progress.",
    )
