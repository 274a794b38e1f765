"""The way back from a damaged working database (`caseload rebuild`).

The analysts' copy is the last consistent state the pipeline published, so the
working database can be rebuilt from it; or from nothing, after which every
month with files in incoming/ is run again. Either way the damaged file is
kept beside, renamed, for whoever wants to look at it, never deleted.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from caseload_pipeline.core.contract import files_by_month, sha256_of
from caseload_pipeline.core.load import loaded_files
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.problems import PipelineProblem
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.sql import sql
from caseload_pipeline.core.warehouse import Warehouse, is_damage, open_working


@dataclass
class Rebuilt:
    set_aside: Path | None  # where the old working database went
    months: int = 0  # months the rebuilt database holds
    # months whose files in incoming/ are not what the rebuilt database holds
    differing: list[Month] = field(default_factory=list)


def set_aside(settings: Settings) -> Path | None:
    """Rename the working database (and its write-ahead log) out of the way."""
    working = settings.working_db_path
    if not working.exists():
        working.with_name(working.name + ".wal").unlink(missing_ok=True)
        return None
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    aside = working.with_name(f"{working.name}.damaged-{stamp}")
    working.rename(aside)
    wal = working.with_name(working.name + ".wal")
    if wal.exists():
        wal.rename(aside.with_name(aside.name + ".wal"))
    return aside


def start_empty(settings: Settings, holder: str) -> Rebuilt:
    """Set the working database aside; the next run starts from an empty one."""
    warehouse = Warehouse(settings, holder)
    lock = warehouse.writer_lock()
    lock.acquire(settings.lock_timeout)
    try:
        return Rebuilt(set_aside(settings))
    finally:
        lock.release()


def rebuild_from_snapshot(settings: Settings, holder: str) -> Rebuilt:
    """A new working database holding what the analysts' copy holds."""
    snapshot = settings.duckdb_path
    if not snapshot.is_file():
        raise PipelineProblem(
            f"There is no analysts' copy at {snapshot} to rebuild from: run `caseload "
            "rebuild --from-files` to rebuild from the files in incoming/.")
    warehouse = Warehouse(settings, holder)
    lock = warehouse.writer_lock()
    lock.acquire(settings.lock_timeout)
    try:
        working = settings.working_db_path
        working.parent.mkdir(parents=True, exist_ok=True)
        for leftover in working.parent.glob(f".{working.name}.rebuild.*.tmp*"):
            leftover.unlink()  # a rebuild killed half way (it held this lock)
        building = working.with_name(f".{working.name}.rebuild.{os.getpid()}.tmp")
        try:
            _copy_database(snapshot, building, settings.analyst_storage_version)
        except duckdb.Error as exc:
            building.unlink(missing_ok=True)
            if not is_damage(exc):
                raise
            raise PipelineProblem(
                f"The analysts' copy {snapshot} cannot be read either ({exc}): run "
                "`caseload rebuild --from-files` to rebuild from the files in "
                "incoming/.") from None
        aside = set_aside(settings)
        building.rename(working)
    finally:
        lock.release()
    loaded = loaded_files(working)
    return Rebuilt(aside, len(loaded), _differing(settings.incoming_dir, loaded))


def _copy_database(source: Path, target: Path, storage_version: str) -> None:
    """Copy every table of `source` into a new database file `target`, written
    by this DuckDB in the analysts' storage format (as a new working file is),
    whatever storage version the source has."""
    con = open_working(target, storage_version)
    try:
        quoted = str(source).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS snapshot (READ_ONLY)")
        name = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f'COPY FROM DATABASE snapshot TO "{name}"')
        con.execute("DETACH snapshot")
        con.execute(sql("schema"))  # tables the snapshot may not have (internal ones)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _differing(incoming: Path, loaded: dict[Month, dict[str, str]]) -> list[Month]:
    """Months with files in incoming/ that the database does not hold as they are."""
    differing = []
    for month, found in files_by_month(incoming).items():
        files = {p.name: sha256_of(p) for paths in found.paths.values() for p in paths}
        if loaded.get(month) != files:
            differing.append(month)
    return differing
